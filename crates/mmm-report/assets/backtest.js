// dcmmm backtest page: draws the per-origin scores from the JSON data block with plotly.js.
// Data-derived strings reach the DOM only through textContent, and plotly labels only via esc().
(function () {
  'use strict';
  var D = JSON.parse(document.getElementById('report-data').textContent);
  var CONFIG = { responsive: true, displaylogo: false };
  var pending = [];
  function esc(s) {
    return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  }
  var toc = document.getElementById('toc');
  document.querySelectorAll('section[data-view]').forEach(function (sec) {
    var a = document.createElement('a');
    a.href = '#' + sec.id;
    a.textContent = sec.querySelector('h2').textContent;
    toc.appendChild(a);
  });
  var x = D.origins.map(esc);
  function traces(key) {
    var t = [
      { type: 'scatter', mode: 'lines+markers', name: 'dcmmm', x: x, y: D.model.map(function (s) { return s[key]; }), line: { color: '#e76f51', width: 3 } },
      { type: 'scatter', mode: 'lines+markers', name: 'best naive', x: x, y: D.best_naive.map(function (s) { return s[key]; }), line: { color: '#222', dash: 'dash' } }
    ];
    D.baselines.forEach(function (b) {
      t.push({ type: 'scatter', mode: 'lines', name: 'naive ' + esc(b[0]), x: x,
        y: b[1].map(function (s) { return s === null ? null : s[key]; }), line: { dash: 'dot', width: 1 } });
    });
    return t;
  }
  function plot(id, key, title) {
    var lay = { margin: { l: 60, r: 20, t: 30, b: 60 }, hovermode: 'closest', legend: { orientation: 'h', y: -0.25 },
      xaxis: { type: 'category', title: { text: 'first forecast week' } }, yaxis: { title: { text: title } } };
    try {
      pending.push(Promise.resolve(Plotly.newPlot(document.getElementById(id), traces(key), lay, CONFIG)));
    } catch (e) {
      console.error('view ' + id + ' failed: ' + e);
    }
  }
  plot('plot-2', 'r2_pooled', 'pooled R²');
  plot('plot-2b', 'r2_within', 'within-region R²');
  plot('plot-2c', 'wmape', 'wMAPE');
  Promise.all(pending).then(function () {
    document.body.setAttribute('data-rendered', String(pending.length));
  }, function (e) { console.error('rendering failed: ' + e); });
})();
