//! Drawing a simulation from a scenario and a seed: regions, calendar, baseline, controls, planned
//! media with flighting and confounding, the true DAG, transforms and effects, noise — and the truth.
//!
//! All randomness comes from one `ChaCha8Rng` seeded with the seed, drawn in a fixed order, so the
//! same `(scenario, seed)` gives the same simulation on every platform. The formulas are in
//! `docs/simulator.md`.

use crate::media::{MAX_LAG, MediaDgp, Realisation, Sums};
use crate::scenario::{NoiseKind, Scenario};
use crate::truth::{
    ChannelCurve, ChannelParams, ChannelTruth, ControlParams, Edge, ResponseCurves, TrueAdstock,
    TrueDag, TrueParams, Truth,
};
use crate::{Result, Simulation};
use mmm_data::{Week, civil_from_days};
use mmm_transforms::{Adstock, DelayedAdstock, GeometricAdstock, Hill, WeibullAdstock};
use ndarray::{Array2, Array3};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal, StudentT};
use rayon::prelude::*;

/// Spend multipliers of the response curves: `0, 0.1, …, 3.0`.
pub fn curve_multipliers() -> Vec<f64> {
    (0..=30).map(|i| i as f64 / 10.0).collect()
}

/// Step of the central difference for marginal ROI.
const MROI_STEP: f64 = 1e-3;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Flight {
    Bursts,
    AlwaysOn,
    Seasonal,
    RegionalFlights,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum AdKind {
    Geometric,
    Delayed,
    Weibull,
}

/// `(name, flighting, adstock, digital, funnel stage 0 = upper … 2 = lower)`.
const ARCHETYPES: [(&str, Flight, AdKind, bool, u8); 20] = [
    ("tv", Flight::Bursts, AdKind::Delayed, false, 0),
    ("search", Flight::AlwaysOn, AdKind::Geometric, false, 2),
    ("social", Flight::Seasonal, AdKind::Geometric, true, 1),
    ("display", Flight::AlwaysOn, AdKind::Geometric, true, 1),
    (
        "radio",
        Flight::RegionalFlights,
        AdKind::Geometric,
        false,
        0,
    ),
    ("video", Flight::Bursts, AdKind::Weibull, true, 0),
    ("ooh", Flight::RegionalFlights, AdKind::Weibull, false, 0),
    (
        "print",
        Flight::RegionalFlights,
        AdKind::Geometric,
        false,
        0,
    ),
    ("affiliate", Flight::AlwaysOn, AdKind::Geometric, false, 2),
    ("email", Flight::AlwaysOn, AdKind::Geometric, false, 2),
    ("podcast", Flight::Seasonal, AdKind::Delayed, false, 0),
    ("cinema", Flight::Bursts, AdKind::Weibull, false, 0),
    ("influencer", Flight::Seasonal, AdKind::Geometric, true, 1),
    ("sponsorship", Flight::Bursts, AdKind::Delayed, false, 0),
    (
        "direct_mail",
        Flight::RegionalFlights,
        AdKind::Delayed,
        false,
        0,
    ),
    (
        "audio_streaming",
        Flight::Seasonal,
        AdKind::Geometric,
        true,
        0,
    ),
    ("ctv", Flight::Bursts, AdKind::Weibull, true, 0),
    ("retail_media", Flight::AlwaysOn, AdKind::Geometric, true, 2),
    ("shopping", Flight::AlwaysOn, AdKind::Geometric, false, 2),
    ("app_install", Flight::AlwaysOn, AdKind::Geometric, true, 2),
];

/// `(name, transform, center)` of the control catalogue; further controls are generic AR(1).
const CONTROLS: [(&str, &str, f64); 7] = [
    ("price", "log", 1.0),
    ("promotion", "linear", 0.0),
    ("holiday", "linear", 0.0),
    ("competitor_index", "linear", 0.0),
    ("temperature", "linear", 15.0),
    ("consumer_confidence", "linear", 100.0),
    ("distribution", "linear", 0.9),
];

/// Mean total weekly planned spend level per unit of region size, split over the channels
/// (about 10 % of baseline sales once flighting is applied).
const SPEND_PER_SIZE: f64 = 200.0;

/// Base of the baseline level: `L_r = BASE_LEVEL · s_r · u_r`.
const BASE_LEVEL: f64 = 1000.0;

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    StandardNormal.sample(rng)
}

fn uniform(rng: &mut ChaCha8Rng, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) * rng.random::<f64>()
}

/// Yearly seasonal shape in `[−1, 1]`, peaking around the turn of the year.
fn season_shape(yf: f64, phase: f64) -> f64 {
    use std::f64::consts::TAU;
    0.7 * (TAU * (yf - 0.95 - phase)).cos() + 0.3 * (2.0 * TAU * (yf - 0.45 - phase)).cos()
}

/// Whether the week starting on Monday `day` contains Jan 1, Jul 4, Thanksgiving or Dec 25.
fn holiday_week(day: i64) -> bool {
    (day..day + 7).any(|d| {
        let (_, m, dd) = civil_from_days(d);
        let thursday = (d + 3).rem_euclid(7) == 3;
        (m == 1 && dd == 1)
            || (m == 7 && dd == 4)
            || (m == 12 && dd == 25)
            || (m == 11 && thursday && (22..=28).contains(&dd))
    })
}

/// On/off flight schedule of length `t`: on for 2–6 weeks at a level in [0.8, 1.6], off 3–8 weeks.
fn flights(rng: &mut ChaCha8Rng, t: usize) -> Vec<f64> {
    let mut out = vec![0.0; t];
    let mut i = rng.random_range(0..6usize);
    while i < t {
        let on = rng.random_range(2..=6usize);
        let level = uniform(rng, 0.8, 1.6);
        for v in out.iter_mut().skip(i).take(on) {
            *v = level;
        }
        i += on + rng.random_range(3..=8usize);
    }
    out
}

/// Simulates a panel with known truth from `scenario` and `seed`; see `docs/simulator.md`.
///
/// # Errors
/// [`crate::Error::InvalidScenario`] if the scenario does not validate.
pub fn simulate(scenario: &Scenario, seed: u64) -> Result<Simulation> {
    scenario.validate()?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (nr, nt, nc, nk) = (
        scenario.regions,
        scenario.weeks,
        scenario.channels,
        scenario.controls,
    );
    let tail = MAX_LAG - 1;
    let h = nt + tail;
    let day0 = scenario.start_day()?;
    let weeks: Vec<Week> = (0..nt).map(|t| Week::Date(day0 + 7 * t as i64)).collect();
    let yf: Vec<f64> = weeks.iter().map(|w| w.year_fraction()).collect();

    // ---- Regions ------------------------------------------------------------------------------
    let regions: Vec<String> = if nr == 1 {
        vec!["national".to_string()]
    } else {
        let width = nr.to_string().len().max(3);
        (1..=nr).map(|r| format!("region_{r:0width$}")).collect()
    };
    let mut size = Vec::with_capacity(nr);
    let mut level = Vec::with_capacity(nr);
    let mut trend = Vec::with_capacity(nr);
    let mut amp = Vec::with_capacity(nr);
    let mut phase = Vec::with_capacity(nr);
    let mut start = vec![0usize; nr];
    for (r, start_r) in start.iter_mut().enumerate() {
        let s = if nr == 1 {
            1.0
        } else {
            (scenario.region_size_sigma * normal(&mut rng)).exp()
        };
        size.push(s);
        level.push(BASE_LEVEL * s * (0.1 * normal(&mut rng)).exp());
        trend.push(scenario.trend + 0.02 * normal(&mut rng));
        amp.push(scenario.seasonality * uniform(&mut rng, 0.5, 1.5));
        phase.push(0.02 * normal(&mut rng));
        let late = rng.random::<f64>() < scenario.late_start_fraction;
        if r > 0 && late && scenario.max_late_weeks > 0 {
            *start_r = rng.random_range(1..=scenario.max_late_weeks);
        }
    }
    let shape = Array2::from_shape_fn((nr, nt), |(r, t)| season_shape(yf[t], phase[r]));

    // ---- Baseline components --------------------------------------------------------------------
    let base = Array2::from_shape_fn((nr, nt), |(r, _)| level[r]);
    let trend_c = Array2::from_shape_fn((nr, nt), |(r, t)| level[r] * trend[r] * t as f64 / 52.0);
    let season_c = Array2::from_shape_fn((nr, nt), |(r, t)| level[r] * amp[r] * shape[[r, t]]);

    // ---- Controls -------------------------------------------------------------------------------
    let mut control_names = Vec::with_capacity(nk);
    let mut control_params = Vec::with_capacity(nk);
    let mut control_values = Array3::zeros((nr, nt, nk));
    let mut control_effects = Array3::zeros((nr, nt, nk));
    let confidence: Vec<f64> = {
        let mut v = 0.0;
        (0..nt)
            .map(|_| {
                v = 0.97 * v + normal(&mut rng);
                100.0 + v
            })
            .collect()
    };
    for k in 0..nk {
        let (name, transform, center) = CONTROLS
            .get(k)
            .map(|&(n, tr, c)| (n.to_string(), tr, c))
            .unwrap_or((format!("control_{}", k + 1), "linear", 0.0));
        let gamma = match k {
            0 => -uniform(&mut rng, 1.0, 2.0),
            1 => uniform(&mut rng, 0.04, 0.10),
            2 => uniform(&mut rng, 0.08, 0.15),
            3 => -uniform(&mut rng, 0.02, 0.05),
            4 => uniform(&mut rng, 0.001, 0.003),
            5 => uniform(&mut rng, 0.002, 0.005),
            6 => uniform(&mut rng, 0.3, 0.6),
            _ => {
                let sign = if rng.random::<bool>() { 1.0 } else { -1.0 };
                sign * uniform(&mut rng, 0.01, 0.03)
            }
        };
        for r in 0..nr {
            let ph = rng.random::<f64>();
            let offset = 3.0 * normal(&mut rng);
            let mut ar = 0.0;
            for t in 0..nt {
                let v = match k {
                    0 => {
                        ar = 0.8 * ar + 0.015 * normal(&mut rng);
                        (0.04 * (std::f64::consts::TAU * (2.0 * yf[t] + ph)).sin() + ar).exp()
                    }
                    1 => f64::from(u8::from(rng.random::<f64>() < 0.1)),
                    2 => f64::from(u8::from(holiday_week(day0 + 7 * t as i64))),
                    3 => {
                        ar = 0.9 * ar + 0.3 * normal(&mut rng);
                        ar
                    }
                    4 => {
                        let seasonal = -10.0 * (std::f64::consts::TAU * (yf[t] - 0.05)).cos();
                        15.0 + offset + seasonal + 2.0 * normal(&mut rng)
                    }
                    5 => confidence[t],
                    6 => 0.85 + 0.1 * t as f64 / nt as f64 + 0.01 * normal(&mut rng),
                    _ => {
                        ar = 0.7 * ar + normal(&mut rng);
                        ar
                    }
                };
                let g = |x: f64| if transform == "log" { x.ln() } else { x };
                control_values[[r, t, k]] = v;
                control_effects[[r, t, k]] = level[r] * gamma * (g(v) - g(center));
            }
        }
        control_names.push(name.clone());
        control_params.push(ControlParams {
            name,
            transform: transform.to_string(),
            center,
            gamma,
        });
    }

    // ---- Channels: names, transforms, planned activity ---------------------------------------
    let arche: Vec<_> = (0..nc).map(|c| ARCHETYPES[c % ARCHETYPES.len()]).collect();
    let channel_names: Vec<String> = (0..nc)
        .map(|c| {
            if c < ARCHETYPES.len() {
                arche[c].0.to_string()
            } else {
                format!("{}_{}", arche[c].0, c / ARCHETYPES.len() + 1)
            }
        })
        .collect();
    let impressions: Vec<bool> = arche.iter().map(|a| scenario.impressions && a.3).collect();
    let mut spend_level = Vec::with_capacity(nc);
    let mut per_spend = Vec::with_capacity(nc);
    let mut scale = Vec::with_capacity(nc);
    let mut adstock: Vec<(Box<dyn Adstock>, Vec<f64>)> = Vec::with_capacity(nc);
    let mut true_adstock = Vec::with_capacity(nc);
    for c in 0..nc {
        let l = uniform(&mut rng, 0.5, 1.5) * SPEND_PER_SIZE / nc as f64;
        let k = if impressions[c] {
            1000.0 / uniform(&mut rng, 5.0, 25.0)
        } else {
            1.0
        };
        spend_level.push(l);
        per_spend.push(k);
        scale.push(l * k);
        let (ad, p, t): (Box<dyn Adstock>, Vec<f64>, TrueAdstock) = match arche[c].2 {
            AdKind::Geometric => {
                let decay = if arche[c].4 == 2 {
                    uniform(&mut rng, 0.05, 0.35)
                } else {
                    uniform(&mut rng, 0.3, 0.75)
                };
                (
                    Box::new(GeometricAdstock::new(Some(MAX_LAG), true)),
                    GeometricAdstock::params_for(decay),
                    TrueAdstock::Geometric {
                        decay,
                        max_lag: MAX_LAG,
                    },
                )
            }
            AdKind::Delayed => {
                let (decay, delay) = (uniform(&mut rng, 0.4, 0.8), uniform(&mut rng, 1.0, 3.0));
                let ad = DelayedAdstock::new(MAX_LAG);
                let p = ad.params_for(decay, delay);
                (
                    Box::new(ad),
                    p,
                    TrueAdstock::Delayed {
                        decay,
                        delay,
                        max_lag: MAX_LAG,
                    },
                )
            }
            AdKind::Weibull => {
                let (sh, sc) = (uniform(&mut rng, 1.2, 3.0), uniform(&mut rng, 1.5, 4.0));
                (
                    Box::new(WeibullAdstock::new(MAX_LAG)),
                    WeibullAdstock::params_for(sh, sc),
                    TrueAdstock::Weibull {
                        shape: sh,
                        scale: sc,
                        max_lag: MAX_LAG,
                    },
                )
            }
        };
        adstock.push((ad, p));
        true_adstock.push(t);
    }

    // Presence: region 0 always carries every channel.
    let present: Vec<Vec<bool>> = (0..nc)
        .map(|_| {
            (0..nr)
                .map(|r| r == 0 || rng.random::<f64>() >= scenario.absent_fraction)
                .collect()
        })
        .collect();

    // Planned per-capita activity p̃[c] over the horizon (zero in the tail, pre-start, absent).
    let mut planned: Vec<Array2<f64>> = Vec::with_capacity(nc);
    for c in 0..nc {
        let flight = arche[c].1;
        let kappa = scenario.confounding * if flight == Flight::AlwaysOn { 1.0 } else { 0.6 };
        let national = flights(&mut rng, nt);
        let seasonal_phase = rng.random::<f64>();
        let mut p = Array2::zeros((nr, h));
        for r in 0..nr {
            let intensity = if nr == 1 {
                1.0
            } else {
                (0.3 * normal(&mut rng)).exp()
            };
            let regional = if flight == Flight::RegionalFlights {
                flights(&mut rng, nt)
            } else {
                Vec::new()
            };
            for t in 0..nt {
                let pattern = match flight {
                    Flight::Bursts => national[t] * (0.1 * normal(&mut rng)).exp(),
                    Flight::AlwaysOn => (0.15 * normal(&mut rng)).exp(),
                    Flight::Seasonal => {
                        let s =
                            1.0 + 0.7 * (std::f64::consts::TAU * (yf[t] - seasonal_phase)).cos();
                        s.max(0.1) * (0.15 * normal(&mut rng)).exp()
                    }
                    Flight::RegionalFlights => regional[t] * (0.1 * normal(&mut rng)).exp(),
                };
                let demand = (1.0 + kappa * shape[[r, t]]).max(0.05);
                if present[c][r] && t >= start[r] {
                    p[[r, t]] = intensity * demand * pattern;
                }
            }
        }
        planned.push(p);
    }
    // Cost noise of impression channels: spend = x · cost[r,t] / k_c.
    let cost: Vec<Option<Array2<f64>>> = (0..nc)
        .map(|c| {
            impressions[c]
                .then(|| Array2::from_shape_fn((nr, nt), |_| (0.1 * normal(&mut rng)).exp()))
        })
        .collect();

    // ---- The DAG ---------------------------------------------------------------------------------
    let zero_effect: Vec<bool> = {
        let mut z = vec![false; nc];
        // Prefer channels other than tv/search (indices ≥ 2), from the back.
        let mut candidates: Vec<usize> = (0..nc).rev().filter(|&c| c >= 2 || nc <= 2).collect();
        for _ in 0..scenario.zero_effect_channels {
            if candidates.is_empty() {
                break;
            }
            let i = rng.random_range(0..candidates.len());
            z[candidates.remove(i)] = true;
        }
        // Fallback when there are too few candidates (tiny channel counts).
        let mut c = nc;
        while z.iter().filter(|&&v| v).count() < scenario.zero_effect_channels && c > 0 {
            c -= 1;
            z[c] = true;
        }
        z
    };
    let mut topo: Vec<usize> = (0..nc).collect();
    topo.sort_by_key(|&c| (arche[c].4, c));
    let pos: Vec<usize> = {
        let mut p = vec![0; nc];
        for (i, &c) in topo.iter().enumerate() {
            p[c] = i;
        }
        p
    };
    let mut w = vec![vec![0.0; nc]; nc];
    {
        // Candidate edges i → j go down the funnel (strictly first, then within a stage); zero-effect
        // channels are never parents, so their total effect is zero too.
        let mut strict = Vec::new();
        let mut weak = Vec::new();
        for &i in &topo {
            for &j in &topo {
                if pos[i] < pos[j] && !zero_effect[i] {
                    if arche[i].4 < arche[j].4 {
                        strict.push((i, j));
                    } else {
                        weak.push((i, j));
                    }
                }
            }
        }
        let mut chosen = Vec::new();
        let tv_search = strict.iter().position(|&(i, j)| i == 0 && j == 1);
        if let Some(k) = tv_search.filter(|_| scenario.dag_edges > 0) {
            chosen.push(strict.remove(k)); // TV lifts search.
        }
        while chosen.len() < scenario.dag_edges && !(strict.is_empty() && weak.is_empty()) {
            let pool = if strict.is_empty() {
                &mut weak
            } else {
                &mut strict
            };
            let k = rng.random_range(0..pool.len());
            chosen.push(pool.remove(k));
        }
        for (i, j) in chosen {
            w[i][j] = uniform(&mut rng, 0.15, 0.4);
        }
    }

    // ---- Region effect multipliers ------------------------------------------------------------
    let rho: Vec<Vec<f64>> = (0..nc)
        .map(|_| {
            let raw: Vec<f64> = (0..nr)
                .map(|_| {
                    if nr == 1 {
                        1.0
                    } else {
                        (scenario.rho_sigma * normal(&mut rng)).exp()
                    }
                })
                .collect();
            let mean = raw.iter().sum::<f64>() / nr as f64;
            raw.into_iter().map(|v| v / mean).collect()
        })
        .collect();

    let mut dgp = MediaDgp {
        t: nt,
        tail,
        size: size.clone(),
        start: start.clone(),
        present: present.clone(),
        scale: scale.clone(),
        adstock,
        hill: vec![Vec::new(); nc],
        beta: vec![0.0; nc],
        rho: rho.clone(),
        w: w.clone(),
        topo: topo.clone(),
        planned,
    };

    // ---- Saturation and β calibrated to the media share ---------------------------------------
    let (x_act, a_act) = dgp.activities(&dgp.planned);
    let mut hill_k = Vec::with_capacity(nc);
    let mut hill_s = Vec::with_capacity(nc);
    for a in &a_act {
        let (sum, n) = a
            .iter()
            .filter(|&&v| v > 0.0)
            .fold((0.0, 0usize), |(s, n), &v| (s + v, n + 1));
        let mean_active = if n > 0 { sum / n as f64 } else { 1.0 };
        hill_k.push(uniform(&mut rng, 0.4, 1.2) * mean_active);
        hill_s.push(uniform(&mut rng, 0.8, 2.5));
    }
    dgp.hill = (0..nc)
        .map(|c| Hill::params_for(hill_k[c], hill_s[c]))
        .collect();
    let weights: Vec<f64> = (0..nc)
        .map(|c| {
            if zero_effect[c] {
                0.0
            } else {
                uniform(&mut rng, 0.5, 1.5)
            }
        })
        .collect();
    let wsum: f64 = weights.iter().sum();
    let mut expected_base = 0.0;
    for r in 0..nr {
        for t in start[r]..nt {
            expected_base += base[[r, t]] + trend_c[[r, t]] + season_c[[r, t]];
            expected_base += (0..nk).map(|k| control_effects[[r, t, k]]).sum::<f64>();
        }
    }
    let media_target = scenario.media_share / (1.0 - scenario.media_share) * expected_base;
    for c in 0..nc {
        dgp.beta[c] = 1.0;
        let unit = dgp.sums(&dgp.contribution(c, &a_act[c])).panel;
        dgp.beta[c] = if weights[c] > 0.0 && unit > 0.0 {
            weights[c] / wsum * media_target / unit
        } else {
            0.0
        };
    }
    let contrib: Vec<Array2<f64>> = (0..nc).map(|c| dgp.contribution(c, &a_act[c])).collect();
    let base_real = Realisation {
        x: x_act,
        a: a_act,
        contrib,
    };

    // ---- Noise and sales ----------------------------------------------------------------------
    let noise = &scenario.noise;
    let t_dist = StudentT::new(noise.df).ok();
    let t_scale = ((noise.df - 2.0) / noise.df).max(0.0).sqrt();
    let mut noise_c = Array2::zeros((nr, nt));
    for r in 0..nr {
        let sd = noise.sd * level[r];
        for t in 0..nt {
            let eps = match (noise.kind, &t_dist) {
                (NoiseKind::StudentT, Some(d)) => d.sample(&mut rng) * t_scale,
                _ => normal(&mut rng),
            };
            let mut e = sd * eps;
            if rng.random::<f64>() < noise.outlier_prob {
                let sign = if rng.random::<bool>() { 1.0 } else { -1.0 };
                e += sign * uniform(&mut rng, 1.0, 2.0) * noise.outlier_scale * sd;
            }
            noise_c[[r, t]] = e;
        }
    }
    let n_comp = 3 + nk + nc + 1;
    let mut components = Array3::zeros((nr, nt, n_comp));
    let mut sales = Array2::zeros((nr, nt));
    for r in 0..nr {
        for t in 0..nt {
            let mut parts = Vec::with_capacity(n_comp);
            parts.push(base[[r, t]]);
            parts.push(trend_c[[r, t]]);
            parts.push(season_c[[r, t]]);
            parts.extend((0..nk).map(|k| control_effects[[r, t, k]]));
            parts.extend((0..nc).map(|c| base_real.contrib[c][[r, t]]));
            parts.push(noise_c[[r, t]]);
            sales[[r, t]] = parts.iter().sum();
            for (i, v) in parts.into_iter().enumerate() {
                components[[r, t, i]] = v;
            }
        }
    }
    let mut component_names = vec![
        "baseline".to_string(),
        "trend".to_string(),
        "seasonality".to_string(),
    ];
    component_names.extend(control_names.iter().cloned());
    component_names.extend(channel_names.iter().cloned());
    component_names.push("noise".to_string());

    // ---- Media and spend columns ----------------------------------------------------------------
    let mut media = Array3::zeros((nr, nt, nc));
    let mut spend = Array3::zeros((nr, nt, nc));
    let mut planned_spend = Array3::zeros((nr, nt, nc));
    for c in 0..nc {
        for r in 0..nr {
            let unit = size[r] * scale[c];
            for t in 0..nt {
                let cost = cost[c].as_ref().map_or(1.0, |m| m[[r, t]]);
                let x = base_real.x[c][[r, t]] * unit;
                media[[r, t, c]] = x;
                spend[[r, t, c]] = x * cost / per_spend[c];
                planned_spend[[r, t, c]] = dgp.planned[c][[r, t]] * unit * cost / per_spend[c];
            }
        }
    }
    let observed_sum = |a: &Array2<f64>| -> f64 {
        (0..nr)
            .map(|r| (start[r]..nt).map(|t| a[[r, t]]).sum::<f64>())
            .sum()
    };
    let sales_total = observed_sum(&sales);
    let media_direct: Vec<f64> = base_real
        .contrib
        .iter()
        .map(|c| dgp.sums(c).panel)
        .collect();
    let media_total: f64 = media_direct.iter().sum();

    // ---- Truth: counterfactual totals, curves, mROI -------------------------------------------
    let multipliers = curve_multipliers();
    /// `(curve points (direct, Δ all media), mROI slopes, direct sums at m = 0, Δ at m = 0)`.
    type ChannelRuns = (Vec<(f64, f64)>, (f64, f64), Sums, Sums);
    let per_channel: Vec<ChannelRuns> = (0..nc)
        .into_par_iter()
        .map(|c| {
            let d = dgp.unit_response(c);
            let curve: Vec<(f64, f64)> = multipliers
                .iter()
                .map(|&m| {
                    let (d, delta) = dgp.perturb(&base_real, c, &d, m);
                    (d.all, delta.all)
                })
                .collect();
            let (dp, tp) = dgp.perturb(&base_real, c, &d, 1.0 + MROI_STEP);
            let (dm, tm) = dgp.perturb(&base_real, c, &d, 1.0 - MROI_STEP);
            let slopes = (
                (dp.all - dm.all) / (2.0 * MROI_STEP),
                (tp.all - tm.all) / (2.0 * MROI_STEP),
            );
            let (direct0, delta0) = dgp.perturb(&base_real, c, &d, 0.0);
            (curve, slopes, direct0, delta0)
        })
        .collect();
    let mut channel_truth = Vec::with_capacity(nc);
    let mut curves = Vec::with_capacity(nc);
    let mut channel_params = Vec::with_capacity(nc);
    for c in 0..nc {
        let (curve, slopes, direct0, delta0) = &per_channel[c];
        let spend_c: f64 = (0..nr)
            .map(|r| (start[r]..nt).map(|t| spend[[r, t, c]]).sum::<f64>())
            .sum();
        let planned_c: f64 = (0..nr)
            .map(|r| {
                (start[r]..nt)
                    .map(|t| planned_spend[[r, t, c]])
                    .sum::<f64>()
            })
            .sum();
        let direct = dgp.sums(&base_real.contrib[c]);
        // Total = own direct contribution + the drop of the OTHER channels' contributions when
        // this channel's planned spend is 0 (the part mediated through the DAG).
        let total = direct + (*direct0 - direct) - *delta0;
        let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
        channel_truth.push(ChannelTruth {
            name: channel_names[c].clone(),
            spend: spend_c,
            planned_spend: planned_c,
            contribution: direct.panel,
            contribution_with_tail: direct.all,
            total_contribution: total.panel,
            total_contribution_with_tail: total.all,
            roi: ratio(direct.panel, spend_c),
            roi_total: ratio(total.panel, spend_c),
            mroi: ratio(slopes.0, planned_c),
            mroi_total: ratio(slopes.1, planned_c),
            share: ratio(direct.panel, media_total),
            zero_effect: zero_effect[c],
            impressions: impressions[c],
        });
        curves.push(ChannelCurve {
            name: channel_names[c].clone(),
            spend: multipliers.iter().map(|m| m * planned_c).collect(),
            direct: curve.iter().map(|(d, _)| d - direct0.all).collect(),
            total: curve.iter().map(|(_, t)| t - delta0.all).collect(),
        });
        let (ad, p) = &dgp.adstock[c];
        channel_params.push(ChannelParams {
            name: channel_names[c].clone(),
            flighting: format!("{:?}", arche[c].1).to_lowercase(),
            adstock: true_adstock[c].clone(),
            lag_weights: ad.lag_weights(p, MAX_LAG),
            hill_half_saturation: hill_k[c],
            hill_slope: hill_s[c],
            beta: dgp.beta[c],
            scale: scale[c],
            activity_per_spend: per_spend[c],
            rho: rho[c].clone(),
            present: present[c].clone(),
        });
    }
    let edges = (0..nc)
        .flat_map(|i| (0..nc).map(move |j| (i, j)))
        .filter(|&(i, j)| w[i][j] != 0.0)
        .map(|(i, j)| Edge {
            from: channel_names[i].clone(),
            to: channel_names[j].clone(),
            weight: w[i][j],
        })
        .collect();
    let truth = Truth {
        scenario: scenario.name.clone(),
        seed,
        regions: regions.clone(),
        channels: channel_names.clone(),
        controls: control_names.clone(),
        n_weeks: nt,
        tail_weeks: tail,
        sales_total,
        media_total,
        media_share_of_sales: ratio_or_zero(media_total, expected_base + media_total),
        channel_truth,
        dag: TrueDag {
            adjacency: w,
            edges,
            topological_order: topo.iter().map(|&c| channel_names[c].clone()).collect(),
        },
        curves: ResponseCurves {
            multipliers,
            channels: curves,
        },
        params: TrueParams {
            region_size: size,
            baseline_level: level,
            trend_per_year: trend,
            season_amplitude: amp,
            season_phase: phase,
            region_start: start.clone(),
            controls: control_params,
            channels: channel_params,
            noise_sd: noise.sd,
        },
    };
    Ok(Simulation {
        scenario: scenario.clone(),
        regions,
        weeks,
        channels: channel_names,
        controls: control_names,
        impressions,
        start,
        sales,
        media,
        spend,
        planned_spend,
        control_values,
        components,
        component_names,
        cost,
        per_spend,
        expected_base,
        dgp,
        truth,
    })
}

fn ratio_or_zero(a: f64, b: f64) -> f64 {
    if b != 0.0 { a / b } else { 0.0 }
}
