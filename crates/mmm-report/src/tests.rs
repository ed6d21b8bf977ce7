//! Unit tests: escaping of hostile names in the rendered file, and the numbers of the views checked
//! against the fitted model they come from.

use crate::*;
use mmm_data::{ColumnSpec, Panel, Week};
use mmm_fitted::attribution::observed_sum;
use mmm_fitted::{FitConfig, FitResults, Scorecard, TrainConfig, history_multipliers};
use mmm_orchestrator::fit_panel;
use ndarray::{Array2, Array3, Axis};
use std::sync::OnceLock;

const EVIL_SCRIPT: &str = "<script>alert(1)</script>";
const EVIL_JS: &str = "\"];alert(1);//";

fn uniform(seed: u64, n: usize, lo: f64, hi: f64) -> Vec<f64> {
    // A small LCG: deterministic inputs without another dependency.
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            lo + (hi - lo) * ((s >> 11) as f64 / (1u64 << 53) as f64)
        })
        .collect()
}

fn panel() -> Panel {
    let (r_n, t_n, c_n) = (3, 60, 3);
    let media =
        Array3::from_shape_vec((r_n, t_n, c_n), uniform(1, r_n * t_n * c_n, 0.0, 100.0)).unwrap();
    let controls = Array3::from_shape_vec((r_n, t_n, 1), uniform(2, r_n * t_n, 5.0, 10.0)).unwrap();
    let noise = uniform(3, r_n * t_n, -1.0, 1.0);
    let mut target = Array2::from_shape_fn((r_n, t_n), |(r, t)| {
        (1.0 + r as f64)
            * (100.0 + 0.2 * media[[r, t, 0]] + 0.1 * media[[r, t, 1]] + 0.05 * media[[r, t, 2]]
                - 2.0 * controls[[r, t, 0]]
                + noise[r * t_n + t])
    });
    let mut observed = Array2::from_elem((r_n, t_n), true);
    target[[0, 0]] = f64::NAN;
    observed[[0, 0]] = false;
    Panel {
        regions: vec!["north".into(), EVIL_SCRIPT.into(), "south & east".into()],
        weeks: (0..t_n)
            .map(|t| Week::Date(19_000 + 7 * t as i64))
            .collect(),
        channels: vec![EVIL_SCRIPT.into(), EVIL_JS.into(), "search".into()],
        controls: vec!["price</script>".into()],
        target,
        media,
        spend: None,
        controls_data: controls,
        observed,
    }
}

struct Fixture {
    panel: Panel,
    fitted: mmm_fitted::FittedModel,
    scorecard: Scorecard,
    results: FitResults,
}

/// What `dcmmm fit` computes once from a fit on its history (no refits).
fn results(fitted: &mmm_fitted::FittedModel, panel: &Panel) -> FitResults {
    FitResults::compute(fitted, panel, None).unwrap()
}

/// A quick fit of the test panels: 8 holdout weeks, hidden size 4, 30 epochs, 6 validation weeks.
fn fit_config() -> FitConfig {
    let mut cfg = FitConfig {
        holdout_weeks: 8,
        ..FitConfig::default()
    };
    cfg.model.hidden = 4;
    cfg.train = TrainConfig {
        epochs: 30,
        validation_weeks: Some(6),
        ..TrainConfig::default()
    };
    cfg
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let panel = panel();
        let cfg = fit_config();
        let spec = ColumnSpec {
            target: "sales<img src=x onerror=alert(1)>".into(),
            ..ColumnSpec::default()
        };
        let mut fitted = fit_panel(&panel, &spec, &cfg, &mut |_| {}).unwrap();
        // Force one DAG edge (channel 0 → channel 2) so the mediated paths are exercised.
        fitted.dag.weights[0][2] = 0.4;
        fitted.dag.standardized[0][2] = 0.3;
        let results = results(&fitted, &panel);
        let scorecard = Scorecard::compute(&fitted, &panel, &results.prediction).unwrap();
        Fixture {
            panel,
            fitted,
            scorecard,
            results,
        }
    })
}

/// Each channel's total effect (`FittedModel::total_effects`) summed over the observed cells of
/// `p`, the cells the report's curves and ROI sum over.
fn observed_totals(fitted: &mmm_fitted::FittedModel, p: &Panel) -> Vec<f64> {
    let effects = fitted.total_effects(p).unwrap();
    effects.outer_iter().map(|e| observed_sum(p, e)).collect()
}

fn input(f: &Fixture) -> ReportInput<'_> {
    ReportInput::new(&f.fitted, &f.panel, &f.scorecard, &f.results)
}

/// The JSON text of the data block.
fn data_block(html: &str) -> &str {
    let open = "<script type=\"application/json\" id=\"report-data\">";
    let start = html.find(open).expect("data block") + open.len();
    let len = html[start..].find("</script>").expect("data block end");
    &html[start..start + len]
}

#[test]
fn hostile_names_are_escaped_everywhere() {
    let f = fixture();
    let warnings = vec![format!("channel `{EVIL_SCRIPT}` is zero in 40 % of weeks")];
    let inp = ReportInput {
        warnings: Some(&warnings),
        source: Some("data/<b>panel</b>.csv"),
        ..input(f)
    };
    let html = render_report(&inp).unwrap();
    // No hostile string appears raw anywhere in the file.
    for bad in [
        EVIL_SCRIPT,
        "<img src=x",
        "<b>panel",
        "price</script>",
        "alert(1)</script>",
    ] {
        assert!(!html.contains(bad), "raw {bad:?} in the report");
    }
    // Exactly the template's three script elements close: plotly, data, app.
    assert_eq!(html.matches("</script>").count(), 3);
    assert_eq!(html.matches("<script").count(), 3);
    // HTML contexts carry the escaped text.
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("data/&lt;b&gt;panel&lt;/b&gt;.csv"));
    // The data block is valid JSON that gives the original names back.
    let data: serde_json::Value = serde_json::from_str(data_block(&html)).unwrap();
    assert_eq!(data["channels"][0], EVIL_SCRIPT);
    assert_eq!(data["channels"][1], EVIL_JS);
    assert_eq!(data["regions"][1], EVIL_SCRIPT);
    assert_eq!(data["controls"][0], "price</script>");
    // The `"]` of the second name stays inside its JSON string.
    assert!(data_block(&html).contains(r#""\"];alert(1);//""#));
}

#[test]
fn embedded_assets_cannot_break_out_of_their_script_elements() {
    for (name, text) in [("plotly", PLOTLY_JS), ("app", APP_JS)] {
        let lower = text.to_ascii_lowercase();
        assert!(!lower.contains("</script"), "{name} contains </script");
        assert!(!lower.contains("<script"), "{name} contains <script");
    }
    assert!(PLOTLY_JS.contains(&format!(
        "plotly.js (cartesian - minified) v{PLOTLY_VERSION}"
    )));
}

#[test]
fn views_add_up_to_the_model() {
    let f = fixture();
    let d = ReportData::build(&input(f)).unwrap();
    let (pred, dec) = f.fitted.predict(&f.panel).unwrap();
    let rel = |a: f64, b: f64| (a - b).abs() / b.abs().max(1e-9);
    // Components sum to the prediction over all region-weeks.
    let grand: f64 = d.components.iter().map(|c| c.total).sum();
    assert!(rel(grand, pred.sum()) < 1e-9, "{grand} vs {}", pred.sum());
    assert_eq!(
        d.components.len(),
        3 + f.panel.n_controls() + f.panel.n_channels()
    );
    // The national series is the sum over observed cells, week by week (5 significant digits).
    for t in 0..f.panel.n_weeks() {
        let (mut a, mut q) = (0.0, 0.0);
        for r in 0..f.panel.n_regions() {
            if f.panel.observed[[r, t]] {
                a += f.panel.target[[r, t]];
                q += pred[[r, t]];
            }
        }
        assert!(rel(d.national_actual[t], a) < 1e-4);
        assert!(rel(d.national_predicted[t], q) < 1e-4);
    }
    // Region 0's first week is unobserved: null in the chart data.
    assert!(d.region_actual[0][0].is_nan());
    // Holdout cells are exactly the observed holdout region-weeks.
    let hold = f.fitted.split.holdout.clone();
    let expected = f
        .fitted
        .mask(&f.panel, hold.clone())
        .iter()
        .filter(|&&m| m)
        .count();
    assert_eq!(d.holdout.actual.len(), expected);
    assert!(d.holdout.week.iter().all(|t| hold.contains(t)));
    // ROI = contribution / spend, with spend the summed media of the panel, both over the
    // observed region-weeks (region 0's first week is not).
    for c in 0..f.panel.n_channels() {
        let spend = observed_sum(&f.panel, f.panel.media.index_axis(Axis(2), c));
        let contrib = observed_sum(&f.panel, dec.channels.index_axis(Axis(0), c));
        assert!(rel(d.roi.spend[c], spend) < 1e-12);
        assert!(rel(d.roi.roi[c], contrib / spend) < 1e-9);
    }
    // Effectiveness stays inside the GRU's bounds; adstock weights are a decaying distribution.
    let km = f.fitted.config.model.effect_modulation;
    let effectiveness = d
        .effectiveness
        .as_ref()
        .expect("the joint fit modulates effectiveness");
    assert_eq!(effectiveness.len(), f.panel.n_channels());
    for e in effectiveness.iter().flatten() {
        assert!((1.0 - km - 1e-9..=1.0 + km + 1e-9).contains(e));
    }
    assert!(effectiveness.iter().flatten().any(|&e| e != 1.0));
    for w in &d.adstock {
        assert_eq!(w.len(), views::ADSTOCK_LAGS);
        assert!(w.windows(2).all(|p| p[1] <= p[0] + 1e-12));
        assert!(w.iter().sum::<f64>() <= 1.0 + 1e-4);
    }
    // Saturation: 0 at 0, increasing, the marker on the curve at x = 1.
    for (y, cur) in d.saturation.y.iter().zip(&d.saturation.current) {
        assert_eq!(y[0], 0.0);
        assert!(y.windows(2).all(|p| p[1] >= p[0]));
        assert_eq!(d.saturation.x[20], 1.0);
        assert!(rel(y[20], *cur) < 1e-4);
    }
    assert!(d.allocation.is_none());
}

#[test]
fn effectiveness_is_left_out_when_the_fit_does_not_modulate_it() {
    // The same fit with the modulation bound at 0: every multiplier is exactly 1, and the page
    // gets nothing to draw (it says so instead).
    let f = fixture();
    let mut flat = f.fitted.clone();
    flat.config.model.effect_modulation = 0.0;
    let flat_results = results(&flat, &f.panel);
    let input = ReportInput::new(&flat, &f.panel, &f.scorecard, &flat_results);
    let d = ReportData::build(&input).unwrap();
    assert!(d.effectiveness.is_none());
    let html = render_report(&input).unwrap();
    assert!(data_block(&html).contains("\"effectiveness\":null"));
}

#[test]
fn model_curves_match_contributions_and_total_effects() {
    let f = fixture();
    let m = history_multipliers();
    assert_eq!(m.len(), 13);
    assert_eq!(f.results.multipliers, m);
    let curves = ResponseCurves::from_results(&f.results);
    let (_, dec) = f.fitted.predict(&f.panel).unwrap();
    let totals = observed_totals(&f.fitted, &f.panel);
    let one = m.iter().position(|&x| x == 1.0).unwrap();
    for (c, cv) in curves.channels.iter().enumerate() {
        let contrib = observed_sum(&f.panel, dec.channels.index_axis(Axis(0), c));
        assert_eq!(cv.direct[0], 0.0);
        assert!((cv.direct[one] - contrib).abs() <= 1e-9 * contrib.abs().max(1.0));
        assert!(cv.direct.windows(2).all(|p| p[1] >= p[0]));
        assert!((cv.total[one] - totals[c]).abs() <= 1e-8 * totals[c].abs().max(1.0));
        assert!(cv.total[0].abs() <= 1e-8 * totals[c].abs().max(1.0));
        assert!((cv.spend[one] - cv.current_spend).abs() <= 1e-12 * cv.current_spend);
    }
    // The forced edge 0 → 2 makes channel 0's total effect differ from its direct one.
    let c0 = &curves.channels[0];
    assert!((c0.total[one] - c0.direct[one]).abs() > 1e-9 * c0.direct[one].abs());
    // Channels without children: total = direct.
    assert_eq!(curves.channels[1].total, curves.channels[1].direct);
}

#[test]
fn optional_inputs_are_checked_and_embedded() {
    let f = fixture();
    let n = f.panel.n_channels();
    let bad = ResponseCurves {
        channels: vec![],
        source: "x".into(),
    };
    let inp = ReportInput {
        curves: Some(&bad),
        ..input(f)
    };
    assert!(matches!(ReportData::build(&inp), Err(Error::Input(_))));
    let alloc = Allocation {
        current: vec![1.0; n],
        recommended: vec![1.0; n + 1],
        current_outcome: 1.0,
        expected_outcome: 1.1,
        open: Vec::new(),
    };
    let inp = ReportInput {
        allocation: Some(&alloc),
        ..input(f)
    };
    assert!(matches!(ReportData::build(&inp), Err(Error::Input(_))));
    let alloc = Allocation {
        recommended: vec![2.0; n],
        ..alloc
    };
    let inp = ReportInput {
        allocation: Some(&alloc),
        ..input(f)
    };
    let d = ReportData::build(&inp).unwrap();
    assert_eq!(d.allocation.as_ref().unwrap().recommended, vec![2.0; n]);
    // Open flags, when given, are one per channel.
    for (flags, ok) in [(vec![true; n], true), (vec![true; n + 1], false)] {
        let alloc = Allocation {
            open: flags,
            ..alloc.clone()
        };
        let inp = ReportInput {
            allocation: Some(&alloc),
            ..input(f)
        };
        assert_eq!(ReportData::build(&inp).is_ok(), ok);
    }
    // A panel that does not match the model is refused.
    let mut other = f.panel.clone();
    other.channels.pop();
    other.media = other.media.slice(ndarray::s![.., .., ..n - 1]).to_owned();
    let inp = ReportInput {
        panel: &other,
        ..input(f)
    };
    assert!(matches!(ReportData::build(&inp), Err(Error::Input(_))));
}

#[test]
fn fill_substitutes_markers_once() {
    let out = fill("a {{X}} b {{Y}} {{Z}} {{", &[("X", "{{Y}}"), ("Y", "y")]);
    assert_eq!(out, "a {{Y}} b y {{Z}} {{");
}

#[test]
fn rounding_keeps_five_significant_digits() {
    let d = ReportData::build(&input(fixture())).unwrap();
    let json = serde_json::to_string(&d.national_actual).unwrap();
    for v in json.trim_matches(|c| c == '[' || c == ']').split(',') {
        let digits = v.trim_start_matches('-').replace('.', "");
        let digits = digits.split('e').next().unwrap().trim_start_matches('0');
        assert!(digits.len() <= 5 || v == "null", "{v}");
    }
}

#[test]
fn an_analysis_allocation_keeps_which_responses_are_open() {
    let f = fixture();
    let mut analysis = mmm_analysis::optimize(
        &f.fitted,
        &mmm_analysis::OptimizeConfig {
            window: Some(mmm_analysis::WindowSpec::All),
            ..mmm_analysis::OptimizeConfig::default()
        },
    )
    .unwrap();
    let names = &f.fitted.channels;
    // Flags given for every channel are kept in the model's channel order.
    for (c, name) in names.iter().enumerate() {
        analysis.channels.get_mut(name).unwrap().response_open = Some(c == 1);
    }
    let a = Allocation::from_analysis(&analysis, names).unwrap();
    a.validate(names.len()).unwrap();
    assert_eq!(a.open, (0..names.len()).map(|c| c == 1).collect::<Vec<_>>());
    // A fit that cannot tell gives no flags.
    for u in analysis.channels.values_mut() {
        u.response_open = None;
    }
    assert!(
        Allocation::from_analysis(&analysis, names)
            .unwrap()
            .open
            .is_empty()
    );
}

#[test]
fn analysis_curves_are_mapped_by_channel_name() {
    let f = fixture();
    let cfg = mmm_analysis::CurveConfig {
        window: mmm_analysis::WindowSpec::All,
        multipliers: vec![0.0, 0.5, 1.0, 2.0],
        ..mmm_analysis::CurveConfig::default()
    };
    let mut analysis = mmm_analysis::response_curves(&f.fitted, &cfg).unwrap();
    analysis.channels.reverse(); // order must come from the model, not the analysis file
    let curves = ResponseCurves::from_analysis(&analysis, &f.fitted.channels).unwrap();
    curves.validate(f.fitted.channels.len()).unwrap();
    for (name, cv) in f.fitted.channels.iter().zip(&curves.channels) {
        let a = &analysis
            .channels
            .iter()
            .find(|c| &c.channel == name)
            .unwrap()
            .national;
        assert_eq!(cv.direct, a.direct);
        assert_eq!(cv.total, a.total);
        assert_eq!(cv.spend, a.spend_grid);
        assert_eq!(cv.current_spend, a.spend);
    }
    let mut short = analysis.clone();
    short.channels.pop();
    assert!(matches!(
        ResponseCurves::from_analysis(&short, &f.fitted.channels),
        Err(Error::Input(_))
    ));
}

#[test]
fn total_curve_is_exact_where_a_child_was_inactive() {
    // Channel 2 (child of 0 through the forced edge) never active in region 0: the mediated
    // effect there comes from cells with no activity in the history, which the factor k must
    // still price exactly as the model does.
    let f = fixture();
    let mut p = f.panel.clone();
    p.media.slice_mut(ndarray::s![0, .., 2]).fill(0.0);
    let m = [0.0, 1.0, 2.0];
    let curves = f.fitted.history_curves(&p, &m).unwrap();
    let totals = observed_totals(&f.fitted, &p);
    let c0 = &curves[0];
    assert!((c0.total[1] - totals[0]).abs() <= 1e-8 * totals[0].abs().max(1.0));
    assert!(c0.total[0].abs() <= 1e-8 * totals[0].abs().max(1.0));
    assert!(c0.total[2] > c0.total[1]);
}

#[test]
fn the_summary_names_the_channels_whose_response_the_data_leave_open() {
    let f = fixture();
    let n = f.panel.n_channels();
    let clear = mmm_fitted::Evidence {
        effect: 400.0,
        kernel: 30.0,
        curve: 10.0,
        kernels_alike: 1,
        curves_alike: 1,
    };
    let mut evidence = vec![clear; n];
    evidence[0].effect = 4.0;
    let mut fitted = f.fitted.clone();
    fitted.screened_media = Some(mmm_fitted::ScreenedMedia {
        kernels: vec![[1.0, 1.2]; n],
        curves: vec![[1.0, 1.0]; n],
        effects: vec![0.1; n],
        media_share: 0.2,
        used: true,
        evidence,
    });
    let summary = |fitted: &mmm_fitted::FittedModel| {
        crate::views::summary_html(&ReportInput::new(
            fitted,
            &f.panel,
            &f.scorecard,
            &results(fitted, &f.panel),
        ))
    };
    let html = summary(&fitted);
    let note = html
        .split("<p class=\"note\">")
        .find(|p| p.starts_with("The data leave the response of"))
        .expect("a note on the undetermined channel");
    // The first channel (a hostile name, escaped), and only it.
    assert!(note.contains("&lt;script&gt;"), "{note}");
    assert!(note.contains("effect χ² 4,"), "{note}");
    assert!(
        !note.contains(&crate::escape::html(&f.fitted.channels[1])),
        "{note}"
    );
    // Nothing to say when the fit did not use the screened media part, when every channel is
    // clear, or when there was no screen.
    fitted.screened_media.as_mut().unwrap().used = false;
    assert!(!summary(&fitted).contains("leave the response"));
    let media = fitted.screened_media.as_mut().unwrap();
    media.used = true;
    media.evidence = vec![clear; n];
    assert!(!summary(&fitted).contains("leave the response"));
    fitted.screened_media = None;
    assert!(!summary(&fitted).contains("leave the response"));
}

#[test]
fn the_summary_lists_the_lift_tests_beside_the_model_answers() {
    let f = fixture();
    let summary = |fitted: &mmm_fitted::FittedModel| {
        crate::views::summary_html(&ReportInput::new(
            fitted,
            &f.panel,
            &f.scorecard,
            &results(fitted, &f.panel),
        ))
    };
    assert!(!summary(&f.fitted).contains("calibrated to"));
    let test = |multiplier: Option<f64>| mmm_fitted::LiftTestSpec {
        channel: f.panel.channels[0].clone(),
        start: mmm_fitted::Label::Index(19_000 + 7 * 10),
        end: mmm_fitted::Label::Index(19_000 + 7 * 19),
        regions: Vec::new(),
        lift: 1500.0,
        se: 150.0,
        multiplier,
        measured_until: None,
    };
    let mut fitted = f.fitted.clone();
    fitted.config.lift_tests = vec![test(None), test(Some(1.5)), test(Some(0.5))];
    fitted.config.lift_tests[2].measured_until = Some(mmm_fitted::Label::Index(19_000 + 7 * 25));
    // Weeks are dates here: the labels must be the data file's text.
    for t in &mut fitted.config.lift_tests {
        for label in [&mut t.start, &mut t.end]
            .into_iter()
            .chain(t.measured_until.as_mut())
        {
            if let mmm_fitted::Label::Index(day) = label {
                *label = mmm_fitted::Label::Text(Week::Date(*day).to_string());
            }
        }
    }
    let html = summary(&fitted);
    let table = html
        .split("<caption>Experiments the fit is calibrated to")
        .nth(1)
        .expect("a table of the lift tests");
    let table = &table[..table.find("</table>").unwrap()];
    let checks = fitted.lift_test_checks(&f.panel).unwrap();
    let rows: Vec<&str> = table.split("<tr><td>").skip(1).collect();
    assert_eq!(rows.len(), 3, "{table}");
    for (row, check) in rows.iter().zip(&checks) {
        // The hostile channel name is escaped; each row has the model's answer and its z.
        assert!(row.starts_with("&lt;script&gt;"), "{row}");
        assert!(
            row.contains(&format!("<td>{}</td>", crate::views::r5(check.model))),
            "{row}"
        );
        assert!(row.contains(&format!("<td>{:.2}</td>", check.z)), "{row}");
    }
    assert!(rows[0].contains("<td>contribution</td>") && rows[1].contains("<td>×1.5 spend</td>"));
    // Only the scale-down with a positive lift is flagged as a likely sign error.
    assert_eq!(html.matches("check its sign").count(), 1, "{html}");
    assert!(html.contains("lift_test 3: `&lt;script&gt;"), "{html}");
    let until = Week::Date(19_000 + 7 * 25).to_string();
    assert!(
        rows[2].contains(&format!("<td>×0.5 spend, read to {until}</td>")),
        "{}",
        rows[2]
    );
    // A test the data cannot answer stops the results (and so the report) with an error that
    // names it, rather than a table that leaves it out.
    fitted.config.lift_tests[1].end = mmm_fitted::Label::Text("1900-01-01".into());
    let err = FitResults::compute(&fitted, &f.panel, None).unwrap_err();
    assert!(err.to_string().contains("1900-01-01"), "{err}");
}

#[test]
fn the_summary_shows_the_fits_self_check_its_left_out_regions_and_its_media_path() {
    let f = fixture();
    let summary = |fitted: &mmm_fitted::FittedModel| {
        crate::views::summary_html(&ReportInput::new(
            fitted,
            &f.panel,
            &f.scorecard,
            &results(fitted, &f.panel),
        ))
    };
    let mut fitted = f.fitted.clone();
    fitted.warnings = vec![format!("training stopped at epoch 1 {EVIL_SCRIPT}")];
    fitted.left_out = vec!["new market".into()];
    let html = summary(&fitted);
    assert!(
        html.contains("<li>Self-check: training stopped at epoch 1 &lt;script&gt;"),
        "escaped warning"
    );
    assert!(html.contains("left out of training") && html.contains("new market"));
    fitted.warnings.clear();
    fitted.left_out.clear();
    let html = summary(&fitted);
    assert!(!html.contains("Self-check") && !html.contains("left out of training"));
    assert_eq!(
        html.contains("media path chosen on the validation slice"),
        fitted.path.is_some()
    );
}

#[test]
fn the_summary_card_shows_posterior_intervals_and_failed_diagnostics() {
    let f = fixture();
    let channel = |name: &str, share: [f64; 3], roi: Option<[f64; 3]>| crate::PosteriorChannel {
        name: name.into(),
        share,
        roi,
    };
    let mut post = crate::PosteriorSummary {
        chains: 4,
        draws: 1000,
        rhat_max: 1.004,
        ess_bulk_min: 812.0,
        divergences: 0,
        problems: vec![],
        channels: vec![
            channel(EVIL_SCRIPT, [0.25, 0.2, 0.31], Some([3.5, 2.75, 4.25])),
            channel("radio", [0.75, 0.69, 0.8], None),
        ],
        traces: vec![],
    };
    let render = |post: &crate::PosteriorSummary| {
        let inp = ReportInput {
            posterior: Some(post),
            ..input(f)
        };
        crate::views::summary_html(&inp)
    };
    let html = render(&post);
    assert!(
        html.contains("Posterior (NUTS, 4 chains × 1000 draws): R-hat max 1.004"),
        "{html}"
    );
    assert!(!html.contains("diagnostics failed"), "{html}");
    // Intervals beside the means, names escaped, no ROI where there is no spend.
    assert!(
        html.contains(
            "<td>25.0 %</td><td>20.0 % … 31.0 %</td><td>3.500</td><td>2.750 … 4.250</td>"
        ),
        "{html}"
    );
    assert!(
        html.contains("<td>radio</td><td>75.0 %</td><td>69.0 % … 80.0 %</td><td>–</td><td>–</td>"),
        "{html}"
    );
    assert!(!html.contains(EVIL_SCRIPT));

    post.divergences = 3;
    post.problems = vec!["3 divergent transitions: the intervals may be biased".into()];
    let html = render(&post);
    assert!(
        html.contains(
            "<ul class=\"warnings\"><li>Posterior (NUTS, 4 chains × 1000 draws): R-hat max 1.004, \
             bulk ESS min 812, 3 divergent transitions. The sampler's diagnostics failed: 3 \
             divergent transitions: the intervals may be biased</li></ul>"
        ),
        "{html}"
    );
}

#[test]
fn on_an_unbalanced_panel_the_roi_view_and_curves_agree_with_the_channel_summaries() {
    // Region 2 starts in week 25 and region 1 misses weeks 30–34: the media of those weeks were
    // recorded, the target was not. The summaries of `summary.json` sum over the observed
    // region-weeks; the report's ROI view and curves must sum over the same cells.
    let mut p = panel();
    for t in 0..25 {
        p.observed[[2, t]] = false;
        p.target[[2, t]] = f64::NAN;
    }
    for t in 30..35 {
        p.observed[[1, t]] = false;
        p.target[[1, t]] = f64::NAN;
    }
    let fitted = fit_panel(&p, &ColumnSpec::default(), &fit_config(), &mut |_| {}).unwrap();
    let results = results(&fitted, &p);
    let dec = &results.decomposition;
    let scorecard = Scorecard::compute(&fitted, &p, &results.prediction).unwrap();
    let d = ReportData::build(&ReportInput::new(&fitted, &p, &scorecard, &results)).unwrap();
    let summaries = fitted.channel_summaries(&p, dec).unwrap();
    let one = history_multipliers()
        .iter()
        .position(|&m| m == 1.0)
        .unwrap();
    let rel = |a: f64, b: f64| (a - b).abs() / b.abs().max(1e-9);
    for (c, s) in summaries.iter().enumerate() {
        assert_eq!(d.roi.spend[c], s.spend);
        assert_eq!(d.roi.contribution[c], s.contribution);
        assert_eq!(d.roi.total_contribution[c], s.total_contribution);
        assert_eq!(Some(d.roi.roi[c]), s.roi);
        assert_eq!(Some(d.roi.total_roi[c]), s.total_roi);
        assert_eq!(Some(d.roi.mroi[c]), s.mroi);
        // The curve at the current activity is the channel's contribution and spend.
        let curve = &d.curves.channels[c];
        assert_eq!(curve.current_spend, s.spend);
        assert!(rel(curve.direct[one], s.contribution) < 1e-9, "channel {c}");
        assert!(
            rel(curve.total[one], s.total_contribution) < 1e-8,
            "channel {c}"
        );
        // Summing over every region-week instead would count the 30 unobserved ones.
        let all_cells =
            dec.channels.index_axis(Axis(0), c).sum() / p.media.index_axis(Axis(2), c).sum();
        assert!(rel(all_cells, s.roi.unwrap()) > 1e-6, "channel {c}");
    }
}

/// A posterior summary of the fixture's channels with one trace per channel: chains drawn from
/// the same spread when `mixed`, chain c shifted by c otherwise.
fn posterior_summary(f: &Fixture, mixed: bool) -> crate::PosteriorSummary {
    let channels = &f.fitted.channels;
    let c_n = channels.len() as f64;
    crate::PosteriorSummary {
        chains: 3,
        draws: 600,
        rhat_max: 1.003,
        ess_bulk_min: 900.0,
        divergences: 0,
        problems: vec![],
        channels: channels
            .iter()
            .enumerate()
            .map(|(c, name)| crate::PosteriorChannel {
                name: name.clone(),
                share: [1.0 / c_n, 0.5 / c_n, 1.5 / c_n],
                roi: (c > 0).then_some([c as f64, c as f64 - 0.5, c as f64 + 0.75]),
            })
            .collect(),
        traces: channels
            .iter()
            .map(|name| crate::ParameterTrace {
                name: format!("share of {name}"),
                draws: (0..3)
                    .map(|chain| {
                        uniform(17 + chain as u64, 600, 0.0, 1.0)
                            .into_iter()
                            .map(|u| u + if mixed { 0.0 } else { chain as f64 })
                            .collect()
                    })
                    .collect(),
                rhat: 1.001,
                ess_bulk: 1500.0,
                ess_tail: 1400.0,
                flagged: !mixed,
            })
            .collect(),
    }
}

/// View 18 has one row per channel with the summary's numbers, in the model's order; view 19 one
/// trace per key parameter, thinned to at most `TRACE_POINTS` per chain, with its rank histograms.
#[test]
fn the_forest_plot_has_one_row_per_channel_with_the_summarys_numbers() {
    let f = fixture();
    let post = posterior_summary(f, true);
    let inp = ReportInput {
        posterior: Some(&post),
        ..input(f)
    };
    let data = ReportData::build(&inp).unwrap();
    let view = data.posterior.as_ref().unwrap();
    assert_eq!(view.share.len(), f.fitted.channels.len());
    assert_eq!(view.roi.len(), f.fitted.channels.len());
    for (c, ch) in post.channels.iter().enumerate() {
        assert_eq!(view.share[c], ch.share);
        assert_eq!(view.roi[c], ch.roi);
    }
    assert_eq!(view.traces.len(), post.traces.len());
    let t = &view.traces[0];
    assert_eq!(t.step, 3, "600 draws thinned to 200 points per chain");
    assert_eq!(t.draws.len(), 3);
    assert!(t.draws.iter().all(|d| d.len() == 200));
    assert_eq!(t.draws[1][2], post.traces[0].draws[1][6]);
    assert!(t.ranks.iter().all(|r| r.iter().sum::<usize>() == 600));
    // The numbers reach the page's data block, and a report without a posterior has none.
    let html = render_report(&inp).unwrap();
    assert!(data_block(&html).contains("\"posterior\":{\"chains\":3,\"draws\":600,"));
    let plain = ReportData::build(&input(f)).unwrap();
    assert!(plain.posterior.is_none());

    // A summary of other channels is refused.
    let mut other = post.clone();
    other.channels[0].name = "not a channel".into();
    let inp = ReportInput {
        posterior: Some(&other),
        ..input(f)
    };
    assert!(ReportData::build(&inp).is_err());
    let mut short = post.clone();
    short.traces[0].draws.pop();
    let inp = ReportInput {
        posterior: Some(&short),
        ..input(f)
    };
    assert!(ReportData::build(&inp).is_err());
}

/// Chains from one distribution spread their ranks evenly; chains shifted apart pile their ranks
/// at their own end (chain 0 all in the lowest third of the bins, chain 2 in the highest).
#[test]
fn rank_histograms_are_flat_for_mixed_chains_and_piled_for_separated_ones() {
    let f = fixture();
    let mixed = crate::posterior::rank_histograms(&posterior_summary(f, true).traces[0].draws);
    let even = 600 / crate::posterior::RANK_BINS;
    for chain in &mixed {
        assert_eq!(chain.len(), crate::posterior::RANK_BINS);
        assert!(chain.iter().all(|&n| n.abs_diff(even) <= 16), "{chain:?}");
    }
    let apart = crate::posterior::rank_histograms(&posterior_summary(f, false).traces[0].draws);
    let third = crate::posterior::RANK_BINS / 3;
    assert_eq!(
        apart[0][..third + 1].iter().sum::<usize>(),
        600,
        "{:?}",
        apart[0]
    );
    assert_eq!(
        apart[2][2 * third..].iter().sum::<usize>(),
        600,
        "{:?}",
        apart[2]
    );
    assert!(
        crate::posterior::rank_histograms(&[vec![], vec![]])
            .iter()
            .all(|c| c.iter().all(|&n| n == 0))
    );
}

/// Bands of analysis curves reach the report's curves, and a band of the wrong length is refused.
#[test]
fn curve_bands_are_mapped_and_checked() {
    let f = fixture();
    let mut curves = crate::ResponseCurves::from_results(&f.results);
    let n = curves.channels[0].direct.len();
    curves.channels[0].band = Some(crate::CurveBand {
        p05: vec![0.0; n],
        p95: vec![1.0; n],
    });
    assert!(curves.validate(f.fitted.channels.len()).is_ok());
    curves.channels[0].band.as_mut().unwrap().p95.pop();
    assert!(curves.validate(f.fitted.channels.len()).is_err());
}

/// A backtest page of two origins, with hostile names in the week labels, a warning and the
/// regions left out.
fn backtest_page() -> crate::BacktestPage {
    let sc = |a: f64, b: f64, c: f64| crate::ForecastScores {
        r2_pooled: a,
        r2_within: b,
        wmape: c,
    };
    let origin =
        |origin: usize, model: crate::ForecastScores, warnings: Vec<String>| crate::OriginRow {
            origin,
            first_forecast_week: format!("w{origin}{EVIL_SCRIPT}"),
            regions: 3,
            model,
            best_naive: sc(0.9, -0.5, 0.12),
            baselines: vec![
                ("train_mean".into(), sc(0.9, -0.8, 0.13)),
                (EVIL_SCRIPT.into(), sc(0.7, -0.5, 0.12)),
            ],
            path: "two-stage".into(),
            epochs: 12,
            fit_seconds: 1.5,
            warnings,
            left_out: vec![EVIL_SCRIPT.into()],
        };
    crate::BacktestPage {
        horizon: 8,
        origins: vec![
            origin(
                40,
                sc(0.95, 0.25, 0.0875),
                vec![format!("stopped at the first epoch {EVIL_SCRIPT}")],
            ),
            origin(44, sc(0.85, -0.75, 0.1125), vec![]),
        ],
        means: vec![
            ("dcmmm".into(), sc(0.9, -0.25, 0.1)),
            ("best naive".into(), sc(0.9, -0.5, 0.12)),
        ],
    }
}

/// The backtest page: one row per origin with its scores, the means (the model's in bold), every
/// warning and left-out region, names escaped; no origins is an error.
#[test]
fn the_backtest_page_lists_every_origin_and_escapes_the_data() {
    let page = backtest_page();
    let html = crate::render_backtest(&page, Some("panel<b>.csv")).unwrap();
    assert!(!html.contains(EVIL_SCRIPT) && !html.contains("panel<b>"));
    let table = &html[html.find("id=\"backtest-origins\"").unwrap()..];
    let table = &table[..table.find("</table>").unwrap()];
    assert_eq!(table.matches("<tr><td>").count(), 2);
    assert!(
        table.contains(
            "<td>40</td><td>w40&lt;script&gt;alert(1)&lt;/script&gt;</td><td>3</td><td>0.950</td>\
         <td>0.250</td><td>0.087</td><td>0.900</td><td>-0.500</td><td>0.120</td>"
        ),
        "{table}"
    );
    assert!(html.contains("stopped at the first epoch &lt;script&gt;"));
    assert!(html.contains("origin 44: regions left out of training"));
    assert!(html.contains(
        "<tr class=\"model\"><td>dcmmm</td><td>0.900</td><td>-0.250</td><td>0.100</td></tr>"
    ));
    let data = crate::backtest::BacktestData::build(&page);
    assert_eq!(
        data.model,
        vec![page.origins[0].model, page.origins[1].model]
    );
    assert_eq!(data.baselines.len(), 2);
    assert_eq!(
        data.baselines[1].0, EVIL_SCRIPT,
        "escaped in the data block, not here"
    );
    assert!(!data_block(&html).contains("<script>alert"));
    let empty = crate::BacktestPage {
        origins: vec![],
        ..page
    };
    assert!(crate::render_backtest(&empty, None).is_err());
}
