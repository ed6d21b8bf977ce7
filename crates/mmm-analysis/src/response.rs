//! The predicted outcome as an exact, cheap function of per-unit activity multipliers, with its
//! analytic gradient.
//!
//! A *unit* u is a channel c(u) over a set of regions R_u (one unit per channel for a national
//! allocation, one per channel × region for a regional one). Its multiplier m_u scales the
//! channel's activity in the decision window W in those regions: x̃'_c = x̃_c + (m_u − 1)·x̃_c·1_W.
//!
//! In the model (docs/model.md) channel j's contribution in region r, week t is
//! `k_j[r,t] · s_j(a_j[r,t])` with `k_j = β_j·exp(η_{r,j})·m_j[r,t]·ȳ_r` — the effectiveness
//! `m_j` comes from the GRU, which does not read media, so `k` does not depend on the media at
//! all. Adstock is linear, so a multiplier shifts the adstocked activity linearly:
//!
//! ```text
//! a_j(m) = A_j + Σ_u (m_u − 1) · G_{u→j}
//! G_{u→c(u)} = adstock_c(x̃_c·1_W·1_{R_u})                         (direct path)
//! G_{u→j}    = adstock_j(Σ_i W_ij · G_{u→i})   in topological order  (DAG-mediated paths)
//! F(m)       = Σ_j Σ_r Σ_{t ≥ t₀} k_j[r,t] · s_j(a_j(m)[r,t])
//! ∂F/∂m_u    = Σ_j Σ_{r∈R_u} Σ_t k_j[r,t] · s'_j(a_j[r,t]) · G_{u→j}[r,t]
//! ```
//!
//! with A the adstocked actual activity and t₀ the window's first week (earlier weeks do not
//! depend on m). [`Effect::Direct`] keeps only the direct path (the channel's own term);
//! [`Effect::Total`] adds the paths through the channel DAG — the structural equations
//! x̃_j = own_j + Σ_i W_ij ã_i propagated linearly. (`ChannelDag::intervene` also clamps
//! activity at 0; that clamp binds only when a reduction upstream removes more activity from a
//! channel than it has, which the linear propagation ignores; for m ≥ 1 both agree exactly.)
//!
//! Nothing here re-runs the GRU: one evaluation is one pass over channels × regions × weeks.

use crate::plan::Setup;
use crate::{Error, Result};
use mmm_fitted::FittedModel;
use mmm_transforms::Saturation;
use ndarray::{Array2, Array3, Axis, s};

/// Which effect of a channel to count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    /// The channel's own term in the decomposition.
    Direct,
    /// Direct plus what its activity causes downstream along the channel DAG.
    Total,
}

/// A decision unit: one channel over a set of regions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    /// Channel index.
    pub channel: usize,
    /// Region indices (sorted, non-empty).
    pub regions: Vec<usize>,
}

/// Value of the outcome function at a multiplier vector.
#[derive(Debug, Clone)]
pub struct Evaluation {
    /// Σ over channels, regions and outcome weeks of the media contributions (target units).
    pub total: f64,
    /// The same per region.
    pub per_region: Vec<f64>,
}

/// The media part of the prediction over the outcome weeks as a function of unit multipliers.
#[derive(Debug)]
pub struct ResponseSurface {
    saturations: Vec<Box<dyn Saturation>>,
    sat_params: Vec<Vec<f64>>,
    /// `k[c, r, t]` over the outcome weeks (target units per unit of saturation).
    k: Array3<f64>,
    /// Adstocked actual activity `[c, r, t]` over the outcome weeks.
    base: Array3<f64>,
    /// `g[u][j]`: `[|R_u|, weeks]` shift of channel j's adstocked activity per unit of m_u.
    g: Vec<Vec<Option<Array2<f64>>>>,
    units: Vec<Unit>,
    /// Contribution of each channel per region at m = 1, `[c, r]`.
    base_values: Array2<f64>,
}

impl ResponseSurface {
    /// Builds the surface from raw parts (used by [`ResponseSurface::from_fitted`] and tests):
    /// per-channel saturations with parameters, `k` and `base` `[channel, region, week]` over
    /// the outcome weeks, and `g[u][j]` (`[|R_u|, week]`, `None` = no path u → j).
    pub fn from_parts(
        saturations: Vec<Box<dyn Saturation>>,
        sat_params: Vec<Vec<f64>>,
        k: Array3<f64>,
        base: Array3<f64>,
        units: Vec<Unit>,
        g: Vec<Vec<Option<Array2<f64>>>>,
    ) -> Self {
        let (c_n, r_n, t_n) = k.dim();
        assert_eq!(base.dim(), k.dim(), "k and base must have the same shape");
        assert_eq!(saturations.len(), c_n, "one saturation per channel");
        assert_eq!(sat_params.len(), c_n, "one parameter set per channel");
        assert_eq!(g.len(), units.len(), "one G row per unit");
        for (u, row) in g.iter().enumerate() {
            assert_eq!(row.len(), c_n, "G row {u} needs one entry per channel");
            assert!(
                row[units[u].channel].is_some(),
                "unit {u} needs its direct path"
            );
            for a in row.iter().flatten() {
                assert_eq!(
                    a.dim(),
                    (units[u].regions.len(), t_n),
                    "G shape of unit {u}"
                );
            }
            assert!(units[u].regions.iter().all(|&r| r < r_n), "unit {u} region");
        }
        let mut surface = ResponseSurface {
            saturations,
            sat_params,
            k,
            base,
            g,
            units,
            base_values: Array2::zeros((c_n, r_n)),
        };
        let values = Array2::from_shape_fn((c_n, r_n), |(j, r)| {
            (0..t_n)
                .map(|t| surface.contribution(j, r, t, surface.base[[j, r, t]]))
                .sum()
        });
        surface.base_values = values;
        surface
    }

    /// The surface of `fitted` on `setup`'s panel for `units`.
    pub fn from_fitted(fitted: &FittedModel, setup: &Setup, units: Vec<Unit>) -> Result<Self> {
        let response = fitted.media_response(&setup.panel)?;
        let (model, inputs) = (&response.model, &response.inputs);
        let (c_n, r_n, t_n) = inputs.media.dim();
        let from = setup.window.start;
        for u in &units {
            if u.channel >= c_n || u.regions.is_empty() || u.regions.iter().any(|&r| r >= r_n) {
                return Err(Error::Invalid(format!("bad decision unit {u:?}")));
            }
        }
        // The model's own saturation (any implementation of the trait: the surface needs only
        // `eval` and `derivative`), built afresh from the fit's registry.
        let saturations = (0..c_n)
            .map(|c| fitted.transforms.saturation(model.saturation(c).name()))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| Error::Invalid(e.to_string()))?;
        let sat_params: Vec<Vec<f64>> = (0..c_n)
            .map(|c| model.saturation_params(&fitted.params, c).to_vec())
            .collect();
        let k = response.factor.slice(s![.., .., from..]).to_owned();
        let base = response.adstocked.slice(s![.., .., from..]).to_owned();
        let order = fitted.dag.order();
        let w = &fitted.dag.weights;
        let adstock = |j: usize, x: &Array2<f64>| response.adstock(j, x.view());
        let g: Vec<Vec<Option<Array2<f64>>>> = units
            .iter()
            .map(|u| {
                let c = u.channel;
                let mut dx = Array2::zeros((u.regions.len(), t_n));
                for (i, &r) in u.regions.iter().enumerate() {
                    for t in setup.window.clone() {
                        dx[[i, t]] = inputs.media[[c, r, t]];
                    }
                }
                let mut da: Vec<Option<Array2<f64>>> = vec![None; c_n];
                da[c] = Some(adstock(c, &dx));
                for &j in &order {
                    if j == c {
                        continue;
                    }
                    let mut x = Array2::<f64>::zeros((u.regions.len(), t_n));
                    let mut any = false;
                    for (i, di) in da.iter().enumerate() {
                        if let Some(di) = di
                            && w[i][j] != 0.0
                        {
                            x.scaled_add(w[i][j], di);
                            any = true;
                        }
                    }
                    if any {
                        da[j] = Some(adstock(j, &x));
                    }
                }
                da.into_iter()
                    .map(|a| a.map(|a| a.slice(s![.., from..]).to_owned()))
                    .collect()
            })
            .collect();
        let finite = |a: &Array2<f64>| a.iter().all(|v| v.is_finite());
        let paths_finite = g.iter().flatten().flatten().all(finite);
        let surface = Self::from_parts(saturations, sat_params, k, base, units, g);
        if !(paths_finite
            && surface.k.iter().all(|v| v.is_finite())
            && surface.base.iter().all(|v| v.is_finite())
            && finite(&surface.base_values))
        {
            return Err(Error::Invalid(
                "the model's media response is not finite: its parameters or the data are out of \
                 range"
                    .into(),
            ));
        }
        Ok(surface)
    }

    fn contribution(&self, j: usize, r: usize, t: usize, a: f64) -> f64 {
        self.k[[j, r, t]] * self.saturations[j].eval(&self.sat_params[j], a)
    }

    /// The decision units.
    pub fn units(&self) -> &[Unit] {
        &self.units
    }

    /// Number of channels.
    pub fn n_channels(&self) -> usize {
        self.k.dim().0
    }

    /// Number of regions.
    pub fn n_regions(&self) -> usize {
        self.k.dim().1
    }

    /// Media contributions (target units) per channel and region at m = 1, `[channel, region]`.
    pub fn base_values(&self) -> &Array2<f64> {
        &self.base_values
    }

    fn uses(&self, u: usize, j: usize, effect: Effect) -> bool {
        self.g[u][j].is_some() && (effect == Effect::Total || j == self.units[u].channel)
    }

    /// F(m) (module docs) and, when `grad` is given, ∂F/∂m_u written into it.
    pub fn evaluate(&self, m: &[f64], effect: Effect, grad: Option<&mut [f64]>) -> Evaluation {
        assert_eq!(m.len(), self.units.len(), "one multiplier per unit");
        let (c_n, r_n, t_n) = self.k.dim();
        let mut per_region = vec![0.0; r_n];
        let mut grad = grad;
        if let Some(g) = grad.as_deref_mut() {
            assert_eq!(g.len(), m.len(), "gradient length");
            g.fill(0.0);
        }
        for j in 0..c_n {
            let movers: Vec<usize> = (0..self.units.len())
                .filter(|&u| m[u] != 1.0 && self.uses(u, j, effect))
                .collect();
            let needs_grad =
                grad.is_some() && (0..self.units.len()).any(|u| self.uses(u, j, effect));
            if movers.is_empty() && !needs_grad {
                for (r, v) in per_region.iter_mut().enumerate() {
                    *v += self.base_values[[j, r]];
                }
                continue;
            }
            let mut a = self.base.index_axis(Axis(0), j).to_owned();
            for &u in &movers {
                let gu = self.g[u][j].as_ref().expect("path");
                for (i, &r) in self.units[u].regions.iter().enumerate() {
                    a.row_mut(r).scaled_add(m[u] - 1.0, &gu.row(i));
                }
            }
            let (sat, sp) = (&self.saturations[j], &self.sat_params[j]);
            // One batched pass: the transform maps its parameters once, not once per cell.
            let mut saturated = Array2::zeros((r_n, t_n));
            sat.forward(sp, a.view(), saturated.view_mut());
            for (r, v) in per_region.iter_mut().enumerate() {
                *v += self.k.slice(s![j, r, ..]).dot(&saturated.row(r));
            }
            if let Some(g) = grad.as_deref_mut() {
                // w = k · s'(a), zero where a ≤ 0 (the saturation is flat at 0 there).
                let wgt = Array2::from_shape_fn((r_n, t_n), |(r, t)| {
                    let x = a[[r, t]];
                    if x > 0.0 {
                        self.k[[j, r, t]] * sat.derivative(sp, x)
                    } else {
                        0.0
                    }
                });
                for (u, gu) in g.iter_mut().enumerate() {
                    if !self.uses(u, j, effect) {
                        continue;
                    }
                    let guj = self.g[u][j].as_ref().expect("path");
                    for (i, &r) in self.units[u].regions.iter().enumerate() {
                        *gu += wgt.row(r).dot(&guj.row(i));
                    }
                }
            }
        }
        Evaluation {
            total: per_region.iter().sum(),
            per_region,
        }
    }
}
