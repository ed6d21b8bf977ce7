//! The "traditional MMM" baseline the method claims to beat: per channel a geometric-adstock ×
//! Hill grid chosen on the training weeks, then one ridge regression with non-negative media
//! coefficients, region intercepts, a trend, Fourier seasonality and controls. Fitted on the same
//! scaled data and split as the dcmmm model, ridge strength chosen on the validation weeks.
//!
//! Its budget recommendation ([`ClassicFit::recommend`]) is what a classic MMM would advise: the
//! historical reallocation over all weeks that maximises the ridge's media response, with the
//! optimiser and bounds `dcmmm optimize` uses, so that its regret can stand beside dcmmm's.

use mmm_fitted::FittedModel;
use mmm_fitted::attribution::observed_sum;
use mmm_transforms::{Adstock, GeometricAdstock, Hill, Saturation};
use ndarray::{Array2, Array3, Axis};

const DECAYS: [f64; 5] = [0.0, 0.3, 0.5, 0.7, 0.85];
const HALF_SATURATIONS: [f64; 4] = [0.3, 1.0, 3.0, 10.0];
const RIDGE: [f64; 4] = [1e-4, 1e-3, 1e-2, 1e-1];

/// A fitted classic MMM: prediction and per-channel contributions in target units.
pub struct ClassicFit {
    /// Prediction `[region, week]` in target units.
    pub prediction: Array2<f64>,
    /// Channel contributions `[channel, region, week]` in target units.
    pub contributions: Array3<f64>,
    /// Per channel: the chosen (adstock decay, Hill half-saturation) and the ridge coefficient.
    media: Vec<(f64, f64, f64)>,
}

struct Design {
    /// Feature columns `[feature, region, week]` (media features last).
    features: Array3<f64>,
    n_media: usize,
    /// Chosen (decay, half-saturation) per media channel.
    choices: Vec<(f64, f64)>,
}

fn transformed(x: ndarray::ArrayView2<f64>, decay: f64, half: f64) -> Array2<f64> {
    let ad = GeometricAdstock::new(None, true);
    let mut a = Array2::zeros(x.dim());
    ad.forward(&GeometricAdstock::params_for(decay), x, a.view_mut());
    let mut s = Array2::zeros(x.dim());
    Hill::new().forward(&Hill::params_for(half, 1.0), a.view(), s.view_mut());
    s
}

fn corr_within(a: &Array2<f64>, y: &Array2<f64>, mask: &Array2<bool>) -> f64 {
    // Correlation of region-demeaned series over the masked cells.
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for r in 0..a.nrows() {
        let cells: Vec<usize> = (0..a.ncols()).filter(|&t| mask[[r, t]]).collect();
        if cells.is_empty() {
            continue;
        }
        let n = cells.len() as f64;
        let ma = cells.iter().map(|&t| a[[r, t]]).sum::<f64>() / n;
        let my = cells.iter().map(|&t| y[[r, t]]).sum::<f64>() / n;
        for &t in &cells {
            let (da, dy) = (a[[r, t]] - ma, y[[r, t]] - my);
            sxy += da * dy;
            sxx += da * da;
            syy += dy * dy;
        }
    }
    if sxx > 0.0 && syy > 0.0 {
        sxy / (sxx * syy).sqrt()
    } else {
        0.0
    }
}

fn design(
    fitted: &FittedModel,
    panel: &mmm_data::Panel,
    fit_mask: &Array2<bool>,
) -> anyhow::Result<Design> {
    let inp = fitted.inputs_for(panel)?;
    let (r_n, t_n) = (inp.n_regions(), inp.n_weeks());
    let mut cols: Vec<Array2<f64>> = Vec::new();
    cols.push(Array2::from_shape_fn((r_n, t_n), |(_, t)| inp.tau[t]));
    for f in 0..inp.n_fourier() {
        cols.push(Array2::from_shape_fn((r_n, t_n), |(_, t)| {
            inp.fourier[[t, f]]
        }));
    }
    for k in 0..inp.n_controls() {
        cols.push(inp.controls.index_axis(Axis(0), k).to_owned());
    }
    let mut choices = Vec::with_capacity(inp.n_channels());
    for c in 0..inp.n_channels() {
        let x = inp.media.index_axis(Axis(0), c);
        let mut best = (f64::NEG_INFINITY, Array2::zeros((r_n, t_n)), (0.0, 1.0));
        for &d in &DECAYS {
            for &k in &HALF_SATURATIONS {
                let s = transformed(x, d, k);
                let score = corr_within(&s, &inp.target, fit_mask);
                if score > best.0 {
                    best = (score, s, (d, k));
                }
            }
        }
        cols.push(best.1);
        choices.push(best.2);
    }
    let n = cols.len();
    let mut features = Array3::zeros((n, r_n, t_n));
    for (i, c) in cols.into_iter().enumerate() {
        features.index_axis_mut(Axis(0), i).assign(&c);
    }
    Ok(Design {
        features,
        n_media: inp.n_channels(),
        choices,
    })
}

/// Ridge fit on the cells of `mask`; returns (region intercepts, coefficients).
fn ridge(
    d: &Design,
    y: &Array2<f64>,
    mask: &Array2<bool>,
    lambda: f64,
) -> anyhow::Result<(Vec<f64>, Vec<f64>)> {
    let (f_n, r_n, t_n) = d.features.dim();
    let n_cells = mask.iter().filter(|&&m| m).count().max(1) as f64;
    let objective = |p: &[f64], g: &mut [f64]| {
        g.fill(0.0);
        let mut loss = 0.0;
        for r in 0..r_n {
            for t in 0..t_n {
                if !mask[[r, t]] {
                    continue;
                }
                let mut pred = p[r];
                for f in 0..f_n {
                    pred += p[r_n + f] * d.features[[f, r, t]];
                }
                let e = pred - y[[r, t]];
                loss += e * e / n_cells;
                let ge = 2.0 * e / n_cells;
                g[r] += ge;
                for f in 0..f_n {
                    g[r_n + f] += ge * d.features[[f, r, t]];
                }
            }
        }
        for f in 0..f_n {
            loss += lambda * p[r_n + f] * p[r_n + f];
            g[r_n + f] += 2.0 * lambda * p[r_n + f];
        }
        loss
    };
    let n_par = r_n + f_n;
    let mut lower = vec![f64::NEG_INFINITY; n_par];
    for l in lower.iter_mut().skip(n_par - d.n_media) {
        *l = 0.0; // media effects are non-negative
    }
    let upper = vec![f64::INFINITY; n_par];
    let mut x0 = vec![0.0; n_par];
    x0[..r_n].fill(1.0);
    let cfg = mmm_optim::LbfgsConfig {
        max_iters: 500,
        grad_tol: 1e-9,
        ..Default::default()
    };
    let res = mmm_optim::minimize_lbfgs_box(objective, &x0, &lower, &upper, &cfg)?;
    Ok((res.x[..r_n].to_vec(), res.x[r_n..].to_vec()))
}

fn predict(d: &Design, base: &[f64], coef: &[f64]) -> Array2<f64> {
    let (f_n, r_n, t_n) = d.features.dim();
    Array2::from_shape_fn((r_n, t_n), |(r, t)| {
        base[r]
            + (0..f_n)
                .map(|f| coef[f] * d.features[[f, r, t]])
                .sum::<f64>()
    })
}

/// Fits the classic MMM with `fitted`'s scalers and split (holdout untouched).
pub fn fit_classic(fitted: &FittedModel, panel: &mmm_data::Panel) -> anyhow::Result<ClassicFit> {
    let split = &fitted.split;
    let inp = fitted.inputs_for(panel)?;
    let y = &inp.target;
    let fit_mask = fitted.mask(panel, split.train.start..split.validation.start);
    let val_mask = fitted.mask(panel, split.validation.clone());
    let all_mask = fitted.mask(panel, split.train.clone());
    let d = design(fitted, panel, &fit_mask)?;
    // Ridge strength by validation error.
    let mut best = (f64::INFINITY, RIDGE[0]);
    if val_mask.iter().any(|&m| m) {
        for &lambda in &RIDGE {
            let (b, c) = ridge(&d, y, &fit_mask, lambda)?;
            let p = predict(&d, &b, &c);
            let err: f64 = p
                .indexed_iter()
                .filter(|(i, _)| val_mask[*i])
                .map(|(i, v)| (v - y[i]).powi(2))
                .sum();
            if err < best.0 {
                best = (err, lambda);
            }
        }
    }
    let (b, c) = ridge(&d, y, &all_mask, best.1)?;
    let scaled = predict(&d, &b, &c);
    let prediction = fitted.target_scaler.inverse(&scaled);
    let f_n = d.features.dim().0;
    let mut contributions = Array3::zeros((d.n_media, inp.n_regions(), inp.n_weeks()));
    for m in 0..d.n_media {
        let f = f_n - d.n_media + m;
        let scaled_c = d.features.index_axis(Axis(0), f).mapv(|v| v * c[f]);
        contributions
            .index_axis_mut(Axis(0), m)
            .assign(&fitted.target_scaler.inverse(&scaled_c));
    }
    let media = (0..d.n_media)
        .map(|m| (d.choices[m].0, d.choices[m].1, c[f_n - d.n_media + m]))
        .collect();
    Ok(ClassicFit {
        prediction,
        contributions,
        media,
    })
}

impl ClassicFit {
    /// Media response of channel `c` with its media scaled by `m` in every week, in target units
    /// summed over the observed cells (`inp` = `fitted.inputs_for(panel)`).
    fn channel_response(
        &self,
        fitted: &FittedModel,
        inp: &mmm_model::ModelInputs,
        panel: &mmm_data::Panel,
        c: usize,
        m: f64,
    ) -> f64 {
        let (decay, half, coef) = self.media[c];
        let x = inp.media.index_axis(Axis(0), c).mapv(|v| v * m);
        let scaled = transformed(x.view(), decay, half).mapv(|v| v * coef);
        observed_sum(panel, fitted.target_scaler.inverse(&scaled).view())
    }

    /// The classic model's historical reallocation: one spend multiplier per channel maximising
    /// its predicted media response over all observed weeks, the budget Σ spend unchanged, each
    /// channel within `bounds` (relative to its spend). Solved with `dcmmm optimize`'s solver; the
    /// gradient by central differences over the few channels (the ridge is cheap to evaluate).
    pub fn recommend(
        &self,
        fitted: &FittedModel,
        panel: &mmm_data::Panel,
        bounds: &mmm_analysis::Bounds,
    ) -> anyhow::Result<Vec<f64>> {
        let inp = fitted.inputs_for(panel)?;
        let spend = panel.spend_or_media();
        let current: Vec<f64> = (0..self.media.len())
            .map(|c| observed_sum(panel, spend.index_axis(Axis(2), c)))
            .collect();
        let response = |c: usize, m: f64| self.channel_response(fitted, &inp, panel, c, m);
        let mult = |b: &[f64]| -> Vec<f64> {
            b.iter()
                .zip(&current)
                .map(|(b, s)| if *s > 0.0 { b / s } else { 1.0 })
                .collect()
        };
        let problem = mmm_analysis::optimize::Problem {
            budget: current.iter().sum(),
            current: current.clone(),
            lower: current.iter().map(|s| bounds.lower * s).collect(),
            upper: current.iter().map(|s| bounds.upper * s).collect(),
            fixed: vec![false; current.len()],
        };
        let mut objective = |b: &[f64], g: &mut [f64]| -> f64 {
            let m = mult(b);
            for c in 0..b.len() {
                let s = current[c];
                g[c] = if s > 0.0 {
                    // Central difference in the multiplier, chain rule to spend: dm/db = 1/s.
                    let (up, down) = ((b[c] + 1e-4 * s) / s, (b[c] - 1e-4 * s).max(0.0) / s);
                    (response(c, up) - response(c, down)) / (s * (up - down))
                } else {
                    0.0
                };
            }
            (0..b.len()).map(|c| response(c, m[c])).sum()
        };
        let solution = mmm_analysis::optimize::solve(&problem, &mut objective);
        Ok(mult(&solution.b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_recommendation_keeps_the_budget_and_bounds_and_beats_history_on_its_own_model() {
        let sim = mmm_sim::simulate(&mmm_sim::Scenario::named("national").unwrap(), 1).unwrap();
        let dir = std::env::temp_dir().join(format!("dcmmm-classic-{}", std::process::id()));
        sim.write(&dir).unwrap();
        let spec = sim.column_spec();
        let panel = mmm_data::load_panel(&dir.join("panel.csv"), &spec)
            .unwrap()
            .panel;
        std::fs::remove_dir_all(&dir).ok();
        let mut cfg = mmm_fitted::FitConfig::default();
        cfg.train.epochs = 5;
        let fitted = mmm_orchestrator::fit_panel(&panel, &spec, &cfg, &mut |_| {}).unwrap();
        let classic = fit_classic(&fitted, &panel).unwrap();
        let bounds = mmm_analysis::Bounds::default();
        let m = classic.recommend(&fitted, &panel, &bounds).unwrap();

        let spend = panel.spend_or_media();
        let current: Vec<f64> = (0..m.len())
            .map(|c| spend.index_axis(Axis(2), c).sum())
            .collect();
        let before: f64 = current.iter().sum();
        let after: f64 = m.iter().zip(&current).map(|(m, s)| m * s).sum();
        assert!(
            (after - before).abs() <= 1e-6 * before,
            "{after} vs {before}"
        );
        for v in &m {
            assert!(
                *v >= bounds.lower - 1e-9 && *v <= bounds.upper + 1e-9,
                "{m:?}"
            );
        }
        let inp = fitted.inputs_for(&panel).unwrap();
        let total = |m: &[f64]| -> f64 {
            (0..m.len())
                .map(|c| classic.channel_response(&fitted, &inp, &panel, c, m[c]))
                .sum()
        };
        // Its own model predicts more from the reallocation than from the historical split (a
        // recommendation of "keep everything" would fail here).
        let (recommended, historical) = (total(&m), total(&vec![1.0; m.len()]));
        assert!(
            recommended > historical * (1.0 + 1e-6),
            "{recommended} vs {historical}: {m:?}"
        );
    }
}
