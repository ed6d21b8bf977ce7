// dcmmm report: draws every view from the JSON data block with plotly.js.
// Data-derived strings reach the DOM only through textContent, and plotly labels only via esc().
(function () {
  'use strict';
  var started = performance.now();
  var D = JSON.parse(document.getElementById('report-data').textContent);
  var CONFIG = { responsive: true, displaylogo: false };
  var pending = [];

  // Plotly renders a few HTML tags in labels and decodes &amp; &lt; &gt; (not &quot;): escape
  // those three in every data-derived label so that it is shown as literal text.
  function esc(s) {
    return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  }
  var weeks = D.weeks;
  var channels = D.channels.map(esc);
  var controls = D.controls.map(esc);
  var regions = D.regions.map(esc);
  var target = esc(D.target);

  function fmt(x) {
    if (x === null || !isFinite(x)) return '–';
    var a = Math.abs(x);
    if (a >= 1e6) return (x / 1e6).toFixed(2) + 'M';
    if (a >= 1e3) return (x / 1e3).toFixed(1) + 'k';
    return a >= 1 ? x.toFixed(2) : x.toPrecision(3);
  }
  function splitShapes() {
    var s = D.split, shapes = [];
    if (s.holdout_end > s.holdout_start) {
      shapes.push({ type: 'rect', xref: 'x', yref: 'paper', x0: weeks[s.holdout_start],
        x1: weeks[s.holdout_end - 1], y0: 0, y1: 1, fillcolor: '#f4a261', opacity: 0.18, line: { width: 0 } });
    }
    if (s.holdout_start > s.validation_start) {
      shapes.push({ type: 'rect', xref: 'x', yref: 'paper', x0: weeks[s.validation_start],
        x1: weeks[s.holdout_start - 1], y0: 0, y1: 1, fillcolor: '#8ecae6', opacity: 0.18, line: { width: 0 } });
    }
    return shapes;
  }
  function layout(extra) {
    var l = { margin: { l: 60, r: 20, t: 30, b: 50 }, hovermode: 'closest',
      legend: { orientation: 'h', y: -0.18 } };
    for (var k in extra) l[k] = extra[k];
    return l;
  }
  function plot(id, traces, lay) {
    var el = document.getElementById(id);
    lay = lay || {};
    // A chart taller than the default box gets a box as tall, so that its legend and axes stay
    // inside its own section instead of running over the next view's title.
    if (lay.height) el.style.height = lay.height + 'px';
    try {
      pending.push(Promise.resolve(Plotly.newPlot(el, traces, layout(lay), CONFIG)));
    } catch (e) {
      console.error('view ' + id + ' failed: ' + e);
      el.textContent = 'This view could not be drawn: ' + e;
    }
  }
  function range(n) { var a = []; for (var i = 0; i < n; i++) a.push(i); return a; }
  function sum(a) { return a.reduce(function (s, x) { return s + (x || 0); }, 0); }

  // Table of contents.
  var toc = document.getElementById('toc');
  document.querySelectorAll('section[data-view]').forEach(function (sec) {
    var a = document.createElement('a');
    a.href = '#' + sec.id;
    a.textContent = sec.querySelector('h2').textContent;
    toc.appendChild(a);
  });

  // 1. Summary: R² of the model beside the naive baselines.
  var sc = D.scores;
  plot('plot-1', [
    { type: 'bar', name: 'pooled R²', x: sc.map(function (s) { return esc(s.name); }), y: sc.map(function (s) { return s.r2_pooled; }) },
    { type: 'bar', name: 'within-region R²', x: sc.map(function (s) { return esc(s.name); }), y: sc.map(function (s) { return s.r2_within; }) }
  ], { barmode: 'group', yaxis: { title: { text: 'R²' } }, xaxis: { type: 'category' }, height: 320 });

  // 2. Training curves.
  var T = D.training;
  var tr = [{ type: 'scatter', mode: 'lines', name: 'stage 1: training loss', x: T.epoch1, y: T.loss1 }];
  if (T.validation1.some(function (v) { return v !== null; })) {
    tr.push({ type: 'scatter', mode: 'lines', name: 'stage 1: validation loss', x: T.epoch1, y: T.validation1 });
  }
  if (T.epoch2.length) {
    tr.push({ type: 'scatter', mode: 'lines', name: 'stage 2 (refit): training loss', x: T.epoch2, y: T.loss2 });
  }
  plot('plot-2', tr, { xaxis: { title: { text: 'epoch' } }, yaxis: { title: { text: 'loss' }, type: 'log' },
    shapes: [{ type: 'line', xref: 'x', yref: 'paper', x0: T.best_epochs, x1: T.best_epochs, y0: 0, y1: 1,
      line: { dash: 'dot', color: '#888' } }] });

  // 3. National actual vs predicted.
  plot('plot-3', [
    { type: 'scatter', mode: 'lines', name: 'actual', x: weeks, y: D.national_actual, line: { color: '#222' } },
    { type: 'scatter', mode: 'lines', name: 'predicted', x: weeks, y: D.national_predicted, line: { color: '#e76f51' } }
  ], { shapes: splitShapes(), yaxis: { title: { text: target } } });

  // 4. By region (selector).
  var sel = document.getElementById('region-select');
  D.regions.forEach(function (name, r) {
    var o = document.createElement('option');
    o.value = String(r);
    o.textContent = name;
    sel.appendChild(o);
  });
  function regionTraces(r) {
    return [
      { type: 'scatter', mode: 'lines+markers', marker: { size: 3 }, name: 'actual', x: weeks, y: D.region_actual[r], line: { color: '#222' } },
      { type: 'scatter', mode: 'lines', name: 'predicted', x: weeks, y: D.region_predicted[r], line: { color: '#e76f51' } }
    ];
  }
  plot('plot-4', regionTraces(0), { shapes: splitShapes(), title: { text: regions[0] }, yaxis: { title: { text: target } } });
  sel.addEventListener('change', function () {
    var r = Number(sel.value);
    Plotly.react('plot-4', regionTraces(r), layout({ shapes: splitShapes(), title: { text: regions[r] }, yaxis: { title: { text: target } } }), CONFIG);
  });

  // 5. Holdout scatter.
  var H = D.holdout;
  var lo = Math.min.apply(null, H.actual.concat(H.predicted, [0]));
  var hi = Math.max.apply(null, H.actual.concat(H.predicted, [1]));
  plot('plot-5', [
    { type: 'scatter', mode: 'markers', name: 'holdout region-weeks', x: H.actual, y: H.predicted,
      text: H.region.map(function (r, i) { return regions[r] + ', ' + esc(weeks[H.week[i]]); }),
      hovertemplate: '%{text}<br>actual %{x}<br>predicted %{y}<extra></extra>', marker: { size: 5, opacity: 0.6 } },
    { type: 'scatter', mode: 'lines', name: 'perfect forecast', x: [lo, hi], y: [lo, hi], line: { dash: 'dash', color: '#888' } }
  ], { xaxis: { title: { text: 'actual' } }, yaxis: { title: { text: 'predicted' } } });

  // 6. Residuals.
  plot('plot-6', [{ type: 'bar', name: 'actual − predicted', x: weeks,
    y: D.national_actual.map(function (a, t) { var p = D.national_predicted[t]; return a === null || p === null ? null : a - p; }) }],
    { shapes: splitShapes(), yaxis: { title: { text: 'national residual' } } });
  plot('plot-6b', [
    { type: 'histogram', name: 'training weeks', x: D.residual_train, histnorm: 'probability density', opacity: 0.6 },
    { type: 'histogram', name: 'holdout weeks', x: D.residual_holdout, histnorm: 'probability density', opacity: 0.6 }
  ], { barmode: 'overlay', xaxis: { title: { text: 'residual / region mean' }, tickformat: '.0%' } });

  // 7. Contributions over time (relative stacking handles negative parts).
  var C = D.components;
  var predictedTotal = range(weeks.length).map(function (t) { return sum(C.map(function (c) { return c.series[t]; })); });
  var c7 = C.map(function (c) { return { type: 'bar', name: esc(c.name), x: weeks, y: c.series }; });
  c7.push({ type: 'scatter', mode: 'lines', name: 'predicted', x: weeks, y: predictedTotal, line: { color: '#222' } });
  plot('plot-7', c7, { barmode: 'relative', bargap: 0, shapes: splitShapes(), height: 460, yaxis: { title: { text: target } } });

  // 8. Totals and shares.
  var grand = sum(C.map(function (c) { return c.total; }));
  var c8 = C.slice().sort(function (a, b) { return a.total - b.total; });
  plot('plot-8', [{ type: 'bar', orientation: 'h', y: c8.map(function (c) { return esc(c.name); }), x: c8.map(function (c) { return c.total; }),
    text: c8.map(function (c) { return fmt(c.total) + ' (' + (100 * c.total / grand).toFixed(1) + ' %)'; }),
    textposition: 'auto', marker: { color: c8.map(function (c) { return c.kind === 'channel' ? '#2a9d8f' : c.kind === 'control' ? '#e9c46a' : '#8d99ae'; }) } }],
    { yaxis: { type: 'category', automargin: true }, xaxis: { title: { text: 'total contribution (' + target + ')' } },
      height: Math.max(320, 24 * C.length + 80) });

  // 9. Waterfall: floating bars (base = running total before the step), then the total.
  var run = 0, wBase = [], wLen = [], wCol = [];
  C.forEach(function (c, i) {
    var from = i === 0 ? 0 : run;
    run = i === 0 ? c.total : run + c.total;
    wBase.push(Math.min(from, run)); wLen.push(Math.abs(run - from));
    wCol.push(i === 0 ? '#8d99ae' : c.total >= 0 ? '#2a9d8f' : '#e76f51');
  });
  wBase.push(0); wLen.push(run); wCol.push('#1f3b57');
  plot('plot-9', [{ type: 'bar', x: C.map(function (c) { return esc(c.name); }).concat(['total']),
    base: wBase, y: wLen, marker: { color: wCol },
    text: C.map(function (c) { return fmt(c.total); }).concat([fmt(grand)]), textposition: 'outside',
    hovertemplate: '%{x}: %{text}<extra></extra>' }],
    { xaxis: { type: 'category', automargin: true }, yaxis: { title: { text: target } }, showlegend: false });

  // 10. ROI and marginal ROI, sorted by ROI.
  var R = D.roi;
  var order = range(channels.length).sort(function (a, b) { return (R.roi[b] || 0) - (R.roi[a] || 0); });
  var pick = function (a) { return order.map(function (i) { return a[i]; }); };
  var xr = pick(channels);
  // With stability refits, error bars span [min, max] over the fits.
  var spanBars = function (values, ranges) {
    if (!ranges) { return undefined; }
    var v = pick(values), r = pick(ranges);
    return { type: 'data', symmetric: false, color: '#444',
      array: v.map(function (x, i) { return r[i][1] === null ? 0 : Math.max(0, r[i][1] - x); }),
      arrayminus: v.map(function (x, i) { return r[i][0] === null ? 0 : Math.max(0, x - r[i][0]); }) };
  };
  plot('plot-10', [
    { type: 'bar', name: 'ROI (direct)', x: xr, y: pick(R.roi), error_y: spanBars(R.roi, R.roi_range) },
    { type: 'bar', name: 'ROI (total, incl. DAG-mediated)', x: xr, y: pick(R.total_roi) },
    { type: 'bar', name: 'marginal ROI', x: xr, y: pick(R.mroi), error_y: spanBars(R.mroi, R.mroi_range) }
  ], { barmode: 'group', xaxis: { type: 'category', automargin: true }, yaxis: { title: { text: 'outcome per unit of spend' } } });

  // 11. Effectiveness over time (absent when the fit does not modulate it).
  if (D.effectiveness) {
    plot('plot-11', D.effectiveness.map(function (e, c) { return { type: 'scatter', mode: 'lines', name: channels[c], x: weeks, y: e }; }),
      { shapes: splitShapes(), yaxis: { title: { text: 'effectiveness multiplier' } } });
  } else {
    document.getElementById('plot-11').remove();
    document.getElementById('effectiveness-note').textContent = 'This fit does not modulate the ' +
      'channels\' effectiveness: every multiplier is 1 in every week (a two-stage fit holds the ' +
      'media part fixed at the media screen\'s estimates; or [model] effect_modulation = 0), ' +
      'so each channel\'s effect per unit of saturated activity is constant over time.';
  }

  // 12. Adstock decay.
  plot('plot-12', D.adstock.map(function (w, c) { return { type: 'scatter', mode: 'lines+markers', name: channels[c], x: range(w.length), y: w }; }),
    { xaxis: { title: { text: 'lag (weeks)' }, dtick: 1 }, yaxis: { title: { text: 'weight' } } });

  // 13. Saturation curves with the current level marked.
  var S = D.saturation;
  var s13 = S.y.map(function (y, c) { return { type: 'scatter', mode: 'lines', name: channels[c], x: S.x, y: y, legendgroup: 'c' + c }; });
  s13.push({ type: 'scatter', mode: 'markers', name: 'current average', x: S.current.map(function () { return 1; }), y: S.current,
    text: channels, hovertemplate: '%{text}: %{y:.3f}<extra></extra>', marker: { size: 9, color: '#222', symbol: 'diamond' } });
  plot('plot-13', s13, { xaxis: { title: { text: 'adstocked activity / current average' } }, yaxis: { title: { text: 'saturation (0–1)' } } });

  // 14. Response curves, against the spend multiplier (every channel on one scale, 1 = current
  // spend; the default) or against total spend (the toggle).
  var RC = D.curves;
  var palette = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
  function rgba(hex, a) {
    var v = parseInt(hex.slice(1), 16);
    return 'rgba(' + (v >> 16) + ',' + ((v >> 8) & 255) + ',' + (v & 255) + ',' + a + ')';
  }
  function curveTraces(bySpend) {
    var s14 = [];
    RC.channels.forEach(function (cv, c) {
      var col = palette[c % palette.length];
      // Without spend the multiplier is undefined: such a channel is only drawn against spend.
      var x = bySpend ? cv.spend : cv.current_spend > 0 ? cv.spend.map(function (s) { return s / cv.current_spend; }) : [];
      var y = function (v) { return x.length ? v : []; };
      if (cv.band) {
        // The 5–95 % band of the direct curve: the upper edge, then the lower edge filled to it.
        s14.push({ type: 'scatter', mode: 'lines', x: x, y: y(cv.band.p95), line: { width: 0, color: col },
          legendgroup: 'c' + c, showlegend: false, hoverinfo: 'skip' });
        s14.push({ type: 'scatter', mode: 'lines', name: channels[c] + ' (90 % band)', x: x, y: y(cv.band.p05),
          fill: 'tonexty', fillcolor: rgba(col, 0.18), line: { width: 0, color: col }, legendgroup: 'c' + c, hoverinfo: 'skip' });
      }
      s14.push({ type: 'scatter', mode: 'lines', name: channels[c] + ' (direct)', x: x, y: y(cv.direct), line: { color: col }, legendgroup: 'c' + c });
      s14.push({ type: 'scatter', mode: 'lines', name: channels[c] + ' (total)', x: x, y: y(cv.total), line: { color: col, dash: 'dash' }, legendgroup: 'c' + c });
      var k = 0, best = Infinity;
      cv.spend.forEach(function (s, i) { var d = Math.abs(s - cv.current_spend); if (d < best) { best = d; k = i; } });
      s14.push({ type: 'scatter', mode: 'markers', name: channels[c] + ' (current)', x: x.length ? [bySpend ? cv.current_spend : 1] : [],
        y: x.length ? [cv.direct[k]] : [], marker: { color: col, size: 9, symbol: 'diamond' }, legendgroup: 'c' + c, showlegend: false });
    });
    return s14;
  }
  function curveLayout(bySpend) {
    return { xaxis: { title: { text: bySpend ? 'total spend' : 'spend multiplier (1 = current spend)' } },
      yaxis: { title: { text: 'effect on ' + target } }, height: 460 };
  }
  var axis14 = document.getElementById('curves-axis');
  plot('plot-14', curveTraces(false), curveLayout(false));
  axis14.addEventListener('change', function () {
    var bySpend = axis14.value === 'spend';
    Plotly.react('plot-14', curveTraces(bySpend), layout(curveLayout(bySpend)), CONFIG);
  });
  document.getElementById('curves-source').textContent = 'Curves: ' + RC.source;

  // 15. DAG: network and heatmap.
  var W = D.dag.standardized, n = channels.length;
  var px = range(n).map(function (i) { return Math.cos(2 * Math.PI * i / n + Math.PI / 2); });
  var py = range(n).map(function (i) { return Math.sin(2 * Math.PI * i / n + Math.PI / 2); });
  var edges = [], notes = [], maxw = 0;
  for (var i = 0; i < n; i++) for (var j = 0; j < n; j++) maxw = Math.max(maxw, Math.abs(W[i][j]));
  var mid = { type: 'scatter', mode: 'markers', name: 'edge weight', x: [], y: [], text: [], hovertemplate: '%{text}<extra></extra>', marker: { size: 8, opacity: 0 }, showlegend: false };
  for (i = 0; i < n; i++) {
    for (j = 0; j < n; j++) {
      if (W[i][j] === 0) continue;
      var width = 1 + 5 * Math.abs(W[i][j]) / maxw;
      edges.push({ type: 'scatter', mode: 'lines', x: [px[i], px[j]], y: [py[i], py[j]], line: { width: width, color: '#6c8ebf' }, hoverinfo: 'skip', showlegend: false });
      notes.push({ x: 0.85 * px[j] + 0.15 * px[i], y: 0.85 * py[j] + 0.15 * py[i], ax: px[i], ay: py[i], axref: 'x', ayref: 'y', xref: 'x', yref: 'y',
        text: '', showarrow: true, arrowhead: 3, arrowsize: 1, arrowwidth: width, arrowcolor: '#6c8ebf' });
      mid.x.push((px[i] + px[j]) / 2); mid.y.push((py[i] + py[j]) / 2);
      mid.text.push(channels[i] + ' → ' + channels[j] + ': ' + W[i][j].toFixed(3));
    }
  }
  var nodes = { type: 'scatter', mode: 'markers+text', name: 'channels', x: px, y: py, text: channels, textposition: 'top center',
    marker: { size: 16, color: '#2a9d8f' }, hovertemplate: '%{text}<extra></extra>', showlegend: false };
  var ax = { visible: false, range: [-1.5, 1.5] };
  plot('plot-15', edges.concat([mid, nodes]), { xaxis: ax, yaxis: { visible: false, range: [-1.4, 1.4], scaleanchor: 'x' },
    annotations: notes, title: { text: edges.length ? edges.length + ' edges' : 'no edges above the threshold' } });
  plot('plot-15b', [{ type: 'heatmap', z: W, x: channels, y: channels, colorscale: 'Blues', zmin: 0,
    hovertemplate: '%{y} → %{x}: %{z:.3f}<extra></extra>' }],
    { xaxis: { type: 'category', title: { text: 'effect' }, automargin: true }, yaxis: { type: 'category', title: { text: 'cause' }, autorange: 'reversed', automargin: true } });

  // 16. Budget optimisation (optional).
  var A = D.allocation;
  var note16 = document.getElementById('allocation-note');
  if (A) {
    var lift = A.expected_outcome - A.current_outcome;
    plot('plot-16', [
      { type: 'bar', name: 'current', x: channels, y: A.current },
      { type: 'bar', name: 'recommended', x: channels, y: A.recommended }
    ], { barmode: 'group', xaxis: { type: 'category', automargin: true }, yaxis: { title: { text: 'spend' } } });
    var open = D.channels.filter(function (c, i) { return (A.open || [])[i]; });
    note16.textContent = 'Expected outcome: ' + fmt(A.current_outcome) + ' now, ' + fmt(A.expected_outcome) +
      ' recommended (lift ' + fmt(lift) + ', ' + (100 * lift / A.current_outcome).toFixed(1) + ' %).' +
      (open.length ? ' The data leave the response of ' + open.join(', ') +
        ' open (summary card): read the moves of these channels as the least certain.' : '');
  } else {
    document.getElementById('plot-16').remove();
    note16.textContent = 'No budget optimisation was run for this report (see `dcmmm optimize`).';
  }

  // 17. Data overview.
  plot('plot-17', D.spend.map(function (s, c) { return { type: 'scatter', mode: 'lines', stackgroup: 'spend', name: channels[c], x: weeks, y: s }; }),
    { yaxis: { title: { text: 'spend (sum over regions)' } } });
  if (D.control_series.length) {
    plot('plot-17b', D.control_series.map(function (s, k) { return { type: 'scatter', mode: 'lines', name: controls[k], x: weeks, y: s }; }),
      { yaxis: { title: { text: 'control (mean over regions)' } } });
  } else {
    document.getElementById('plot-17b').textContent = 'No control variables.';
  }

  // 18–19. Posterior (optional).
  var P = D.posterior;
  var note18 = document.getElementById('posterior-note');
  var note19 = document.getElementById('diagnostics-note');
  var traceSel = document.getElementById('trace-select');
  if (P) {
    var forestHeight = Math.max(320, 30 * channels.length + 110);
    var forest = function (id, rows, scale, title) {
      var mean = rows.map(function (r) { return r === null ? null : scale * r[0]; });
      plot(id, [{ type: 'scatter', mode: 'markers', name: 'posterior mean and 90 % interval', y: channels, x: mean,
        marker: { size: 9, color: '#1f3b57' },
        error_x: { type: 'data', symmetric: false, color: '#1f3b57', thickness: 2,
          array: rows.map(function (r) { return r === null ? 0 : scale * (r[2] - r[0]); }),
          arrayminus: rows.map(function (r) { return r === null ? 0 : scale * (r[0] - r[1]); }) },
        hovertemplate: '%{y}: %{x:.3f}<extra></extra>' }],
        { yaxis: { type: 'category', autorange: 'reversed', automargin: true }, xaxis: { title: { text: title } },
          showlegend: false, height: forestHeight });
    };
    forest('plot-18', P.share, 100, 'share of the media contribution (%)');
    if (P.roi.some(function (r) { return r !== null; })) {
      forest('plot-18b', P.roi, 1, 'ROI (outcome per unit of spend)');
    } else {
      document.getElementById('plot-18b').textContent = 'No spend: ROI is not defined.';
    }
    note18.textContent = 'Posterior (NUTS): ' + P.chains + ' chains × ' + P.draws + ' draws.';
    P.traces.forEach(function (t, i) {
      var o = document.createElement('option');
      o.value = String(i);
      o.textContent = t.name;
      traceSel.appendChild(o);
    });
    var traceViews = function (i) {
      var t = P.traces[i];
      var lines = t.draws.map(function (d, c) {
        return { type: 'scatter', mode: 'lines', name: 'chain ' + (c + 1), x: d.map(function (v, k) { return k * t.step; }), y: d,
          line: { width: 1, color: palette[c % palette.length] } };
      });
      var bars = t.ranks.map(function (r, c) {
        return { type: 'bar', name: 'chain ' + (c + 1), x: range(r.length), y: r, marker: { color: palette[c % palette.length] }, showlegend: false };
      });
      var even = P.draws / t.ranks[0].length;
      return [lines, { xaxis: { title: { text: 'draw' } }, yaxis: { title: { text: esc(t.name) } } },
        bars, { barmode: 'group', xaxis: { title: { text: 'rank bin (low → high)' } }, yaxis: { title: { text: 'draws per bin' } },
          shapes: [{ type: 'line', xref: 'paper', yref: 'y', x0: 0, x1: 1, y0: even, y1: even, line: { dash: 'dash', color: '#888' } }] }];
    };
    if (P.traces.length) {
      var v19 = traceViews(0);
      plot('plot-19', v19[0], v19[1]);
      plot('plot-19b', v19[2], v19[3]);
      traceSel.addEventListener('change', function () {
        var v = traceViews(Number(traceSel.value));
        Plotly.react('plot-19', v[0], layout(v[1]), CONFIG);
        Plotly.react('plot-19b', v[2], layout(v[3]), CONFIG);
      });
    }
    var table = document.getElementById('diagnostics-table');
    var head = table.createTHead().insertRow();
    ['parameter', 'R-hat', 'bulk ESS', 'tail ESS'].forEach(function (h) {
      var th = document.createElement('th');
      th.textContent = h;
      head.appendChild(th);
    });
    var body = table.createTBody();
    P.traces.forEach(function (t) {
      var row = body.insertRow();
      if (t.flagged) row.className = 'flagged';
      [t.name, t.rhat.toFixed(3), t.ess_bulk.toFixed(0), t.ess_tail.toFixed(0)].forEach(function (v) {
        row.insertCell().textContent = v;
      });
    });
  } else {
    ['plot-18', 'plot-18b', 'plot-19', 'plot-19b'].forEach(function (id) { document.getElementById(id).remove(); });
    traceSel.parentNode.remove();
    note18.textContent = 'No posterior was sampled for this fit: its figures are points (run `dcmmm fit --posterior` for intervals).';
    note19.textContent = 'No sampler ran for this fit.';
  }

  Promise.all(pending).then(function () {
    // Milliseconds since navigation start: when this script started (HTML and plotly.js parsed)
    // and when every plot was drawn.
    document.body.setAttribute('data-rendered', String(pending.length));
    document.body.setAttribute('data-script-start-ms', String(Math.round(started)));
    document.body.setAttribute('data-render-ms', String(Math.round(performance.now())));
  }, function (e) { console.error('rendering failed: ' + e); });
})();
