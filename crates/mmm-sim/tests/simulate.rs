//! Behavioural tests of the simulator: determinism, exact additivity, DAG totals, zero-effect
//! channel, response curves, marginal ROI against an independent re-derivation from the published
//! parameters, unbalanced panels, `true_outcome`, and loading the panel with `mmm-data`.

use mmm_sim::{Scenario, Simulation, TrueAdstock, simulate};
use ndarray::{Array2, Array3, Axis};
use std::path::PathBuf;

/// A small scenario exercising every feature (DAG, zero effect, impressions, absent channels,
/// late starts, heavy tails).
fn small() -> Scenario {
    Scenario::from_toml(
        r#"
name = "small"
regions = 6
weeks = 60
channels = 7
controls = 8
media_share = 0.3
dag_edges = 4
zero_effect_channels = 1
confounding = 0.5
absent_fraction = 0.2
impressions = true
late_start_fraction = 0.6
max_late_weeks = 10

[noise]
kind = "student_t"
sd = 0.04
df = 4.0
outlier_prob = 0.02
"#,
    )
    .unwrap()
}

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mmm-sim-test-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn files(dir: &std::path::Path) -> Vec<Vec<u8>> {
    [
        "panel.csv",
        "truth.json",
        "truth_contributions.csv",
        "scenario.toml",
    ]
    .iter()
    .map(|f| std::fs::read(dir.join(f)).unwrap())
    .collect()
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / a.abs().max(b.abs()).max(1e-300)
}

#[test]
fn same_seed_gives_identical_files_and_other_seed_differs() {
    for sc in [small(), Scenario::named("national").unwrap()] {
        let (d1, d2, d3) = (tmpdir("a"), tmpdir("b"), tmpdir("c"));
        simulate(&sc, 7).unwrap().write(&d1).unwrap();
        simulate(&sc, 7).unwrap().write(&d2).unwrap();
        simulate(&sc, 8).unwrap().write(&d3).unwrap();
        let (f1, f2, f3) = (files(&d1), files(&d2), files(&d3));
        assert_eq!(f1, f2, "{}: same seed, different files", sc.name);
        assert_ne!(f1[0], f3[0], "{}: different seeds, same panel", sc.name);
        assert_ne!(f1[1], f3[1], "{}: different seeds, same truth", sc.name);
        for d in [d1, d2, d3] {
            std::fs::remove_dir_all(d).unwrap();
        }
    }
}

#[test]
fn components_add_up_to_sales_exactly_and_through_the_csv() {
    let sim = simulate(&small(), 3).unwrap();
    let (nr, nt, nk) = sim.components().dim();
    for r in 0..nr {
        for t in 0..nt {
            let sum: f64 = (0..nk).map(|i| sim.components()[[r, t, i]]).sum();
            assert_eq!(sum, sim.sales()[[r, t]], "region {r} week {t}");
        }
    }
    // Through the files: group truth_contributions.csv by (region, week) and compare to panel.csv.
    let dir = tmpdir("add");
    sim.write(&dir).unwrap();
    let mut sums = std::collections::BTreeMap::<(String, String), f64>::new();
    let mut rdr = csv::Reader::from_path(dir.join("truth_contributions.csv")).unwrap();
    for rec in rdr.records() {
        let rec = rec.unwrap();
        *sums
            .entry((rec[0].to_string(), rec[1].to_string()))
            .or_default() += rec[3].parse::<f64>().unwrap();
    }
    let mut rdr = csv::Reader::from_path(dir.join("panel.csv")).unwrap();
    let mut n = 0;
    for rec in rdr.records() {
        let rec = rec.unwrap();
        let y: f64 = rec[2].parse().unwrap();
        let s = sums[&(rec[0].to_string(), rec[1].to_string())];
        assert!(rel(s, y) < 1e-12, "{} {}: {s} vs {y}", &rec[0], &rec[1]);
        n += 1;
    }
    assert_eq!(n, sums.len());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn unbalanced_rows_are_absent() {
    let sim = simulate(&small(), 5).unwrap();
    let starts = &sim.truth().params.region_start;
    assert!(starts.iter().any(|&s| s > 0), "no late region: {starts:?}");
    assert_eq!(starts[0], 0);
    let dir = tmpdir("unbal");
    sim.write(&dir).unwrap();
    let mut rdr = csv::Reader::from_path(dir.join("panel.csv")).unwrap();
    let mut first = std::collections::BTreeMap::<String, (String, usize)>::new();
    for rec in rdr.records() {
        let rec = rec.unwrap();
        let e = first
            .entry(rec[0].to_string())
            .or_insert((rec[1].to_string(), 0));
        e.1 += 1;
    }
    for (r, name) in sim.regions().iter().enumerate() {
        let (week, n) = &first[name];
        assert_eq!(*week, sim.weeks()[starts[r]].to_string(), "{name}");
        assert_eq!(*n, 60 - starts[r], "{name}");
        assert!(sim.observed(r, starts[r]));
        if starts[r] > 0 {
            assert!(!sim.observed(r, starts[r] - 1));
        }
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn totals_follow_the_dag_and_zero_effect_is_zero() {
    for seed in [1, 2, 3] {
        let sim = simulate(&small(), seed).unwrap();
        let t = sim.truth();
        let n = t.channels.len();
        assert_eq!(t.dag.edges.len(), 4);
        let mut zero_seen = 0;
        for (c, ct) in t.channel_truth.iter().enumerate() {
            let children: Vec<usize> = (0..n).filter(|&j| t.dag.adjacency[c][j] != 0.0).collect();
            if children.is_empty() {
                assert!(
                    rel(ct.total_contribution, ct.contribution) < 1e-12,
                    "{}: leaf total {} vs direct {}",
                    ct.name,
                    ct.total_contribution,
                    ct.contribution
                );
            } else {
                assert!(ct.total_contribution >= ct.contribution, "{}", ct.name);
                // Strictly larger when some child has an effect.
                if children
                    .iter()
                    .any(|&j| t.channel_truth[j].contribution > 0.0)
                {
                    assert!(
                        ct.total_contribution > ct.contribution * (1.0 + 1e-9),
                        "{}",
                        ct.name
                    );
                }
            }
            if ct.zero_effect {
                zero_seen += 1;
                assert_eq!(ct.contribution, 0.0);
                assert_eq!(ct.total_contribution, 0.0);
                assert_eq!(ct.roi, 0.0);
                assert!(
                    children.is_empty(),
                    "zero-effect channels are never parents"
                );
                let i = sim
                    .component_names()
                    .iter()
                    .position(|x| x == &ct.name)
                    .unwrap();
                assert!(
                    sim.components()
                        .index_axis(ndarray::Axis(2), i)
                        .iter()
                        .all(|&v| v == 0.0)
                );
                assert!(t.curves.channels[c].direct.iter().all(|&v| v == 0.0));
            } else {
                assert!(ct.contribution > 0.0, "{}", ct.name);
            }
        }
        assert_eq!(zero_seen, 1);
        let share: f64 = t.channel_truth.iter().map(|c| c.share).sum();
        assert!((share - 1.0).abs() < 1e-12);
        assert!(
            rel(t.media_share_of_sales, 0.3) < 1e-9,
            "{}",
            t.media_share_of_sales
        );
    }
}

#[test]
fn response_curves_match_contributions_and_are_monotone_concave() {
    let sim = simulate(&small(), 11).unwrap();
    let t = sim.truth();
    let n = t.channels.len();
    let ms = &t.curves.multipliers;
    assert_eq!(ms.len(), 31);
    let i1 = ms.iter().position(|&m| m == 1.0).unwrap();
    for (c, (ct, curve)) in t.channel_truth.iter().zip(&t.curves.channels).enumerate() {
        assert_eq!(curve.direct[0], 0.0);
        assert_eq!(curve.total[0], 0.0);
        let has_parent = (0..n).any(|i| t.dag.adjacency[i][c] != 0.0);
        if !has_parent {
            assert!(
                rel(curve.direct[i1], ct.contribution_with_tail) < 1e-12,
                "{}",
                ct.name
            );
            assert!(
                rel(curve.total[i1], ct.total_contribution_with_tail) < 1e-9,
                "{}",
                ct.name
            );
        }
        // The tail counts: carryover beyond the panel is non-negative.
        assert!(ct.contribution_with_tail >= ct.contribution);
        if ct.zero_effect {
            continue;
        }
        for w in curve.direct.windows(2) {
            assert!(w[1] >= w[0], "{}: direct curve not monotone", ct.name);
        }
        for w in curve.total.windows(2) {
            assert!(w[1] >= w[0], "{}: total curve not monotone", ct.name);
        }
        let f = |m: usize| curve.direct[m];
        // Diminishing returns at high spend (Hill saturates).
        assert!(
            f(30) - f(20) < f(20) - f(10),
            "{}: not concave-ish",
            ct.name
        );
        assert!(curve.total[i1] >= curve.direct[i1] - 1e-9 * curve.total[i1].abs());
    }
}

/// Recomputes every channel's direct contribution and the marginal ROI of root channels from the
/// PUBLISHED parameters and the media column only, independently of the simulator's code path.
#[test]
fn truth_is_reproducible_from_published_parameters() {
    let sim = simulate(&small(), 21).unwrap();
    let t = sim.truth();
    let p = &t.params;
    let (nr, nt, nc) = sim.media().dim();
    let h = nt + t.tail_weeks;
    for c in 0..nc {
        let cp = &p.channels[c];
        assert_eq!(cp.lag_weights.len(), 13);
        assert!((cp.lag_weights.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        match cp.adstock {
            TrueAdstock::Geometric { decay, .. } => {
                let r = cp.lag_weights[1] / cp.lag_weights[0];
                assert!(rel(r, decay) < 1e-9);
            }
            TrueAdstock::Delayed { .. } | TrueAdstock::Weibull { .. } => {}
        }
        let (k, s) = (cp.hill_half_saturation, cp.hill_slope);
        let hill = |a: f64| {
            if a <= 0.0 {
                0.0
            } else {
                a.powf(s) / (a.powf(s) + k.powf(s))
            }
        };
        let dhill = |a: f64| {
            if a <= 0.0 {
                0.0
            } else {
                s * a.powf(s - 1.0) * k.powf(s) / (a.powf(s) + k.powf(s)).powi(2)
            }
        };
        let (mut contrib_panel, mut contrib_all, mut slope) = (0.0, 0.0, 0.0);
        for r in 0..nr {
            let unit = p.region_size[r] * cp.scale;
            let coef = cp.beta * cp.rho[r] * p.region_size[r];
            for tt in 0..h {
                let a: f64 = (0..13)
                    .filter(|&l| l <= tt && tt - l < nt)
                    .map(|l| cp.lag_weights[l] * sim.media()[[r, tt - l, c]] / unit)
                    .sum();
                let v = coef * hill(a);
                contrib_all += v;
                if tt < nt && sim.observed(r, tt) {
                    contrib_panel += v;
                    let comp = sim.components()[[r, tt, 3 + t.controls.len() + c]];
                    assert!(
                        (v - comp).abs() <= 1e-9 * v.abs().max(1.0),
                        "c{c} r{r} t{tt}"
                    );
                }
                slope += coef * dhill(a) * a;
            }
        }
        let ct = &t.channel_truth[c];
        assert!(rel(contrib_panel, ct.contribution) < 1e-9 || ct.contribution == 0.0);
        let has_parent = (0..nc).any(|i| t.dag.adjacency[i][c] != 0.0);
        if !has_parent {
            // (A child's tail also holds activity its parents induce there, not in the CSV.)
            assert!(rel(contrib_all, ct.contribution_with_tail) < 1e-9 || ct.contribution == 0.0);
        }
        if !has_parent && !ct.zero_effect {
            // Root channel: a(m) = m·a(1), so d/dm Σ β ρ s h(a) at m = 1 is Σ β ρ s h'(a)·a.
            let mroi = slope / ct.planned_spend;
            assert!(
                rel(mroi, ct.mroi) < 1e-5,
                "{}: {mroi} vs {}",
                ct.name,
                ct.mroi
            );
            assert!(ct.mroi < ct.roi * 1.5, "{}: mROI far above ROI", ct.name);
        }
    }
}

#[test]
fn true_outcome_reproduces_the_simulation_and_the_curves() {
    let sim = simulate(&small(), 4).unwrap();
    let t = sim.truth();
    let planned = sim.planned_spend().clone();
    let media = sim.true_media_outcome(&planned).unwrap();
    let direct: f64 = t
        .channel_truth
        .iter()
        .map(|c| c.contribution_with_tail)
        .sum();
    assert!(rel(media, direct) < 1e-12, "{media} vs {direct}");
    // Doubling one channel's planned spend moves the outcome by the total curve's step 1 → 2.
    let c = 0;
    let mut doubled = planned.clone();
    doubled
        .index_axis_mut(ndarray::Axis(2), c)
        .mapv_inplace(|v| v * 2.0);
    let diff = sim.true_media_outcome(&doubled).unwrap() - media;
    let curve = &t.curves.channels[c].total;
    assert!(
        rel(diff, curve[20] - curve[10]) < 1e-9,
        "{diff} vs {}",
        curve[20] - curve[10]
    );
    let base = sim.true_outcome(&planned).unwrap();
    assert!(rel(base - media, t.sales_total - t.media_total) < 0.05);
    // Bad input is an error, not a panic.
    assert!(sim.true_outcome(&Array3::zeros((1, 1, 1))).is_err());
    let mut neg = planned.clone();
    neg[[0, 0, 0]] = -1.0;
    assert!(sim.true_outcome(&neg).is_err());
}

#[test]
fn unit_contributions_and_other_effect_sizes_follow_the_mechanism() {
    let sim = simulate(&small(), 5).unwrap();
    let (beta, units) = sim.unit_contributions();
    let nc = sim.channels().len();
    assert_eq!((beta.len(), units.len()), (nc, nc));
    let first_channel = sim.component_names().len() - 1 - nc;
    let comps = sim.components();
    let (nr, nt) = sim.sales().dim();
    let mut zero_effect = None;
    for c in 0..nc {
        assert_eq!(units[c].dim(), (nr, nt));
        for r in 0..nr {
            for t in 0..nt {
                let unit = units[c][[r, t]];
                assert!(unit >= 0.0);
                if !sim.observed(r, t) {
                    assert_eq!(unit, 0.0);
                }
                let component = comps[[r, t, first_channel + c]];
                assert!(
                    (beta[c] * unit - component).abs() <= 1e-9 * component.abs().max(1.0),
                    "channel {c}, region {r}, week {t}: {} vs {component}",
                    beta[c] * unit
                );
            }
        }
        if beta[c] == 0.0 {
            assert!(
                units[c].sum() > 0.0,
                "a zero-effect channel still has activity"
            );
            zero_effect = Some(c);
        }
    }
    let zero = zero_effect.expect("the scenario has a zero-effect channel");
    let planned = sim.planned_spend().clone();
    let truth = sim.true_outcome(&planned).unwrap();
    assert!(
        rel(
            sim.true_outcome_with_effects(&planned, &beta).unwrap(),
            truth
        ) < 1e-12
    );
    // The outcome is linear in the effect sizes: doubling all doubles the media part, and a
    // zero-effect channel given an effect adds exactly that effect times its (tail-included) units.
    let media = sim.true_media_outcome(&planned).unwrap();
    let doubled: Vec<f64> = beta.iter().map(|b| 2.0 * b).collect();
    let with_doubled = sim.true_outcome_with_effects(&planned, &doubled).unwrap();
    assert!(
        rel(with_doubled - truth, media) < 1e-9,
        "{} vs {media}",
        with_doubled - truth
    );
    let mut one = beta.clone();
    one[zero] = 1.0;
    let mut two = beta.clone();
    two[zero] = 2.0;
    let step1 = sim.true_outcome_with_effects(&planned, &one).unwrap() - truth;
    let step2 = sim.true_outcome_with_effects(&planned, &two).unwrap() - truth;
    assert!(
        step1 >= units[zero].sum() * (1.0 - 1e-12),
        "the tail adds, never removes"
    );
    assert!(rel(step2, 2.0 * step1) < 1e-9);
    // Bad effect sizes are errors.
    assert!(sim.true_outcome_with_effects(&planned, &beta[1..]).is_err());
    let mut negative = beta.clone();
    negative[0] = -0.1;
    assert!(sim.true_outcome_with_effects(&planned, &negative).is_err());
    let mut nan = beta;
    nan[0] = f64::NAN;
    assert!(sim.true_outcome_with_effects(&planned, &nan).is_err());
}

#[test]
fn panel_loads_with_mmm_data() {
    let check = |sim: &Simulation, tag: &str| {
        let dir = tmpdir(tag);
        sim.write(&dir).unwrap();
        let loaded = mmm_data::load_panel(&dir.join("panel.csv"), &sim.column_spec()).unwrap();
        let panel = &loaded.panel;
        assert_eq!(panel.n_regions(), sim.regions().len());
        assert_eq!(panel.n_weeks(), sim.weeks().len());
        assert_eq!(panel.channels, sim.channels());
        assert_eq!(panel.controls, sim.controls());
        let expected: usize = (0..sim.regions().len())
            .map(|r| {
                (0..sim.weeks().len())
                    .filter(|&t| sim.observed(r, t))
                    .count()
            })
            .sum();
        assert_eq!(panel.n_observed(), expected);
        assert_eq!(panel.spend.is_some(), !sim.column_spec().spend.is_empty());
        std::fs::remove_dir_all(dir).unwrap();
    };
    check(&simulate(&small(), 1).unwrap(), "load-small");
    let national = simulate(&Scenario::named("national").unwrap(), 1).unwrap();
    assert!(national.column_spec().region.is_none());
    check(&national, "load-national");
}

#[test]
fn named_scenarios_have_meaningful_media_and_realistic_noise() {
    for name in ["national", "geo"] {
        let sim = simulate(&Scenario::named(name).unwrap(), 42).unwrap();
        let t = sim.truth();
        assert!(
            (0.15..=0.4).contains(&t.media_share_of_sales),
            "{name}: media share {}",
            t.media_share_of_sales
        );
        let ni = sim.component_names().len() - 1;
        let noise = sim.components().index_axis(ndarray::Axis(2), ni);
        let rms = (noise.iter().map(|v| v * v).sum::<f64>() / noise.len() as f64).sqrt();
        let mean_sales = t.sales_total / noise.len() as f64;
        assert!(
            rms / mean_sales > 0.005 && rms / mean_sales < 0.1,
            "{name}: noise {rms}"
        );
    }
    let geo = simulate(&Scenario::named("geo").unwrap(), 42).unwrap();
    let t = geo.truth();
    assert!(
        t.dag
            .edges
            .iter()
            .any(|e| e.from == "tv" && e.to == "search")
    );
    assert!(t.channel_truth.iter().any(|c| c.zero_effect));
    assert!(
        t.params
            .channels
            .iter()
            .any(|c| c.present.iter().any(|p| !p))
    );
}

#[test]
fn scenarios_parse_validate_and_round_trip() {
    for name in mmm_sim::SCENARIO_NAMES {
        let s = Scenario::named(name).unwrap();
        assert_eq!(s.name, name);
        assert_eq!(Scenario::from_toml(&s.to_toml()).unwrap(), s);
    }
    let paper = Scenario::named("paper").unwrap();
    assert_eq!(
        (paper.regions, paper.weeks, paper.channels, paper.controls),
        (190, 109, 13, 7)
    );
    let large = Scenario::named("large").unwrap();
    assert_eq!(
        (large.regions, large.weeks, large.channels, large.controls),
        (2000, 156, 20, 10)
    );
    assert!(matches!(
        Scenario::named("nope"),
        Err(mmm_sim::Error::UnknownScenario(_))
    ));
    let base = "name='x'\nregions=2\nweeks=10\nchannels=3\ncontrols=1\n";
    assert!(Scenario::from_toml(base).is_ok());
    for bad in [
        "bogus_key = 1\n",
        "media_share = 0.95\n",
        "zero_effect_channels = 3\n",
        "dag_edges = 4\n",
        "start_date = '2022-01-04'\n",
        "start_date = 'soon'\n",
        "late_start_fraction = 0.5\nmax_late_weeks = 10\n",
        "[noise]\nkind = 'student_t'\ndf = 2.0\n",
    ] {
        let text = format!("{base}{bad}");
        assert!(Scenario::from_toml(&text).is_err(), "accepted: {bad}");
    }
    let zero = "name='x'\nregions=0\nweeks=10\nchannels=3\ncontrols=1\n";
    assert!(Scenario::from_toml(zero).is_err());
}

#[test]
fn edge_sizes_simulate() {
    let one =
        Scenario::from_toml("name='one'\nregions=1\nweeks=1\nchannels=1\ncontrols=0\n").unwrap();
    let sim = simulate(&one, 0).unwrap();
    assert_eq!(sim.sales().dim(), (1, 1));
    assert_eq!(sim.truth().curves.channels[0].direct.len(), 31);
    let many = Scenario::from_toml(
        "name='m'\nregions=3\nweeks=5\nchannels=23\ncontrols=9\ndag_edges=10\nzero_effect_channels=22\n",
    )
    .unwrap();
    let sim = simulate(&many, 0).unwrap();
    assert_eq!(sim.channels().len(), 23);
    assert_eq!(sim.channels()[20], "tv_2");
    assert_eq!(sim.controls()[8], "control_9");
    assert_eq!(
        sim.truth()
            .channel_truth
            .iter()
            .filter(|c| c.zero_effect)
            .count(),
        22
    );
}

#[test]
fn components_with_activity_factors_follow_the_mechanism() {
    let sim = simulate(&small(), 6).unwrap();
    let nc = sim.channels().len();
    let first_channel = sim.component_names().len() - 1 - nc;
    let (nr, nt) = sim.sales().dim();
    let c = (0..nc)
        .find(|&c| sim.truth().channel_truth[c].contribution > 0.0)
        .expect("a channel with an effect");
    let component = sim
        .components()
        .index_axis(Axis(2), first_channel + c)
        .to_owned();
    let with = |f: &Array2<f64>| sim.component_with_activity_factors(c, f).unwrap();
    // Factors 1: the channel's component; 0: nothing.
    let same = with(&Array2::ones((nr, nt)));
    for (a, b) in same.iter().zip(&component) {
        assert!((a - b).abs() <= 1e-9 * b.abs().max(1.0), "{a} vs {b}");
    }
    assert_eq!(with(&Array2::zeros((nr, nt))).sum(), 0.0);
    // Doubling weeks 10..14 of region 0: nothing changes before week 10 or in other regions,
    // the contribution rises from week 10 on where the channel is active (its carryover after).
    let mut f = Array2::ones((nr, nt));
    f.slice_mut(ndarray::s![0, 10..14]).fill(2.0);
    let heavy = with(&f);
    for ((r, t), &v) in heavy.indexed_iter() {
        let before = component[[r, t]];
        if r != 0 || t < 10 {
            assert_eq!(v, same[[r, t]], "region {r}, week {t}");
        } else {
            assert!(v >= before - 1e-12, "region {r}, week {t}: {v} < {before}");
        }
    }
    assert!(heavy.sum() > same.sum());
    // Bad input is an error.
    assert!(sim.component_with_activity_factors(nc, &f).is_err());
    assert!(
        sim.component_with_activity_factors(c, &Array2::ones((1, 1)))
            .is_err()
    );
    f[[1, 1]] = -1.0;
    assert!(sim.component_with_activity_factors(c, &f).is_err());
}

/// A scenario naming another saturation family from the registry draws its curves through the
/// family's `params_at_half`: the same random stream (so the same media), contributions that
/// follow the published half points, the family recorded in the truth; an unknown name is refused.
#[test]
fn the_saturation_family_comes_from_the_registry() {
    let hill = simulate(&small(), 5).unwrap();
    let mut sc = small();
    sc.saturation = "logistic".into();
    let sim = simulate(&sc, 5).unwrap();
    assert_eq!(sim.media(), hill.media());
    assert_ne!(sim.sales(), hill.sales());
    let t = sim.truth();
    let (nr, nt, nc) = sim.media().dim();
    for c in 0..nc {
        let cp = &t.params.channels[c];
        assert_eq!(cp.saturation, "logistic");
        assert_eq!(hill.truth().params.channels[c].saturation, "hill");
        // tanh(λa/2) with λ = 2·atanh(½)/K: half of its maximum at K.
        let k = cp.hill_half_saturation;
        let curve = |a: f64| (0.5f64.atanh() * a.max(0.0) / k).tanh();
        for r in 0..nr {
            let unit = t.params.region_size[r] * cp.scale;
            let coef = cp.beta * cp.rho[r] * t.params.region_size[r];
            for tt in (0..nt).filter(|&tt| sim.observed(r, tt)) {
                let a: f64 = (0..=tt.min(12))
                    .map(|l| cp.lag_weights[l] * sim.media()[[r, tt - l, c]] / unit)
                    .sum();
                let comp = sim.components()[[r, tt, 3 + t.controls.len() + c]];
                let v = coef * curve(a);
                assert!(
                    (v - comp).abs() <= 1e-9 * v.abs().max(1.0),
                    "c{c} r{r} t{tt}"
                );
            }
        }
    }
    sc.saturation = "tanh".into();
    let err = simulate(&sc, 5).unwrap_err().to_string();
    assert!(err.contains("unknown saturation `tanh`"), "{err}");
}
