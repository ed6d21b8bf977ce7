//! The media part of the data-generating process: channel activity along the true DAG, adstock,
//! saturation and contributions — and its counterfactual reruns (response curves, total
//! effects, [`crate::Simulation::true_outcome`]).
//!
//! All activity is handled in **per-capita units** `x̃[r,t] = x[r,t] / (s_r · m_c)` (region size
//! `s_r`, channel scale `m_c`), which makes the DAG weights dimensionless. In topological order of
//! the DAG, for every channel `j`:
//!
//! ```text
//! x̃_j[r,t] = live_j[r,t] · ( p̃_j[r,t] + Σ_i W_ij · a_i[r,t] )      (activity)
//! a_j      = adstock_j(x̃_j)                                         (per region, along weeks)
//! contribution_j[r,t] = β_j · ρ[r,j] · s_r · sat_j(a_j[r,t])        (Hill by default)
//! ```
//!
//! with `p̃` the planned per-capita activity and `live_j[r,t] = 1` when channel `j` is present in
//! region `r` and the region has started (`t ≥ start_r`). The horizon is the panel's `T` weeks plus
//! a zero-spend tail of `MAX_LAG − 1` weeks, which holds every adstock's whole carryover.

use mmm_transforms::{Adstock, Saturation};
use ndarray::{Array2, ArrayView2, Zip};

/// Number of lags of every true adstock kernel (one quarter).
pub const MAX_LAG: usize = 13;

/// The fixed media mechanism of a simulation.
#[derive(Debug)]
pub(crate) struct MediaDgp {
    /// Panel weeks `T`.
    pub t: usize,
    /// Tail weeks appended with zero planned spend.
    pub tail: usize,
    /// Region sizes `s_r`.
    pub size: Vec<f64>,
    /// First observed week of each region.
    pub start: Vec<usize>,
    /// `present[c][r]`.
    pub present: Vec<Vec<bool>>,
    /// Channel scales `m_c` (activity units per unit of region size).
    pub scale: Vec<f64>,
    /// Adstock of each channel with its unconstrained parameters.
    pub adstock: Vec<(Box<dyn Adstock>, Vec<f64>)>,
    /// The saturation family of every channel (Hill unless the scenario names another).
    pub saturation: Box<dyn Saturation>,
    /// Saturation parameters (unconstrained) of each channel.
    pub saturation_params: Vec<Vec<f64>>,
    /// Effect sizes `β_c`.
    pub beta: Vec<f64>,
    /// `rho[c][r]`.
    pub rho: Vec<Vec<f64>>,
    /// `w[i][j]`: weight of the edge `i → j` (0 when absent).
    pub w: Vec<Vec<f64>>,
    /// Channels in topological order of the DAG.
    pub topo: Vec<usize>,
    /// Planned per-capita activity `p̃[c]`, `[R, T + tail]` (zero in the tail).
    pub planned: Vec<Array2<f64>>,
}

/// One full run of the media mechanism.
#[derive(Debug, Clone)]
pub(crate) struct Realisation {
    /// Per-capita activity `x̃[c]`, `[R, T + tail]`.
    pub x: Vec<Array2<f64>>,
    /// Adstocked activity `a[c]`.
    pub a: Vec<Array2<f64>>,
    /// Contributions `[R, T + tail]` in sales units.
    pub contrib: Vec<Array2<f64>>,
}

/// Sums of an `[R, T + tail]` array: over observed panel cells and over the whole horizon.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Sums {
    /// Σ over `t ∈ [start_r, T)`.
    pub panel: f64,
    /// Σ over `t ∈ [0, T + tail)`.
    pub all: f64,
}

impl std::ops::Sub for Sums {
    type Output = Sums;
    fn sub(self, o: Sums) -> Sums {
        Sums {
            panel: self.panel - o.panel,
            all: self.all - o.all,
        }
    }
}

impl std::ops::Add for Sums {
    type Output = Sums;
    fn add(self, o: Sums) -> Sums {
        Sums {
            panel: self.panel + o.panel,
            all: self.all + o.all,
        }
    }
}

impl std::ops::AddAssign for Sums {
    fn add_assign(&mut self, o: Sums) {
        self.panel += o.panel;
        self.all += o.all;
    }
}

impl MediaDgp {
    /// Number of channels.
    pub fn n_channels(&self) -> usize {
        self.scale.len()
    }

    /// Horizon length `T + tail`.
    pub fn horizon(&self) -> usize {
        self.t + self.tail
    }

    /// Activity and adstock of channel `j` given its planned per-capita activity (times `mult`) and
    /// the adstocked activity of its parents.
    pub fn activity<'a>(
        &self,
        j: usize,
        planned: ArrayView2<f64>,
        mult: f64,
        parent: impl Fn(usize) -> &'a Array2<f64>,
    ) -> (Array2<f64>, Array2<f64>) {
        let mut x = planned.to_owned();
        if mult != 1.0 {
            x *= mult;
        }
        for i in 0..self.n_channels() {
            let wij = self.w[i][j];
            if wij != 0.0 {
                x.scaled_add(wij, parent(i));
            }
        }
        for (r, mut row) in x.outer_iter_mut().enumerate() {
            if !self.present[j][r] {
                row.fill(0.0);
            } else {
                row.iter_mut().take(self.start[r]).for_each(|v| *v = 0.0);
            }
        }
        let mut a = Array2::zeros(x.dim());
        let (ad, p) = &self.adstock[j];
        ad.forward(p, x.view(), a.view_mut());
        (x, a)
    }

    /// Contribution of channel `j` given its adstocked activity.
    pub fn contribution(&self, j: usize, a: &Array2<f64>) -> Array2<f64> {
        self.contribution_with(j, a, self.beta[j])
    }

    /// Contribution of channel `j` given its adstocked activity, with effect size `beta` in place
    /// of `β_j` (activity does not depend on effect sizes, so this is all that changes).
    pub fn contribution_with(&self, j: usize, a: &Array2<f64>, beta: f64) -> Array2<f64> {
        let mut out = Array2::zeros(a.dim());
        let sp = &self.saturation_params[j];
        for (r, (mut o, ar)) in out.outer_iter_mut().zip(a.outer_iter()).enumerate() {
            let k = beta * self.rho[j][r] * self.size[r];
            if k == 0.0 {
                continue;
            }
            Zip::from(&mut o)
                .and(&ar)
                .for_each(|o, &v| *o = k * self.saturation.eval(sp, v));
        }
        out
    }

    /// Activities and adstocks of all channels (no contributions) for planned activity `planned`.
    pub fn activities(&self, planned: &[Array2<f64>]) -> (Vec<Array2<f64>>, Vec<Array2<f64>>) {
        let c = self.n_channels();
        let mut x: Vec<Option<Array2<f64>>> = vec![None; c];
        let mut a: Vec<Option<Array2<f64>>> = vec![None; c];
        for &j in &self.topo {
            let (xj, aj) = self.activity(j, planned[j].view(), 1.0, |i| {
                a[i].as_ref()
                    .expect("parents precede children in topological order")
            });
            x[j] = Some(xj);
            a[j] = Some(aj);
        }
        let unwrap = |v: Vec<Option<Array2<f64>>>| v.into_iter().map(Option::unwrap).collect();
        (unwrap(x), unwrap(a))
    }

    /// A full run of the media mechanism for planned activity `planned`.
    pub fn realise(&self, planned: &[Array2<f64>]) -> Realisation {
        let (x, a) = self.activities(planned);
        let contrib = a
            .iter()
            .enumerate()
            .map(|(j, aj)| self.contribution(j, aj))
            .collect();
        Realisation { x, a, contrib }
    }

    /// Panel and horizon sums of an `[R, T + tail]` array.
    pub fn sums(&self, v: &Array2<f64>) -> Sums {
        let mut s = Sums::default();
        for (r, row) in v.outer_iter().enumerate() {
            for (t, &x) in row.iter().enumerate() {
                s.all += x;
                if t >= self.start[r] && t < self.t {
                    s.panel += x;
                }
            }
        }
        s
    }

    /// Response of every channel's adstocked activity to one more unit of channel `c`'s planned
    /// per-capita activity: `D_c = adstock_c(live_c ⊙ p̃_c)`, `D_j = adstock_j(live_j ⊙ Σ_i W_ij D_i)`
    /// for DAG descendants, `None` for unaffected channels. Activity and adstock are linear, so
    /// scaling `p̃_c` by `m` gives exactly `a_j(m) = a_j + (m − 1)·D_j`.
    pub fn unit_response(&self, c: usize) -> Vec<Option<Array2<f64>>> {
        let n = self.n_channels();
        let mut d: Vec<Option<Array2<f64>>> = vec![None; n];
        for &j in &self.topo {
            let affected = j == c || (0..n).any(|i| self.w[i][j] != 0.0 && d[i].is_some());
            if !affected {
                continue;
            }
            let mut x = if j == c {
                self.planned[j].clone()
            } else {
                Array2::zeros(self.planned[j].dim())
            };
            for (i, di) in d.iter().enumerate() {
                if let (Some(di), true) = (di, self.w[i][j] != 0.0) {
                    x.scaled_add(self.w[i][j], di);
                }
            }
            for (r, mut row) in x.outer_iter_mut().enumerate() {
                if !self.present[j][r] {
                    row.fill(0.0);
                } else {
                    row.iter_mut().take(self.start[r]).for_each(|v| *v = 0.0);
                }
            }
            let mut a = Array2::zeros(x.dim());
            let (ad, p) = &self.adstock[j];
            ad.forward(p, x.view(), a.view_mut());
            d[j] = Some(a);
        }
        d
    }

    /// The mechanism with channel `c`'s planned activity scaled by `mult`, given
    /// `d = unit_response(c)`. Returns `(direct sums of c, change of the summed media
    /// contributions of all channels relative to base)`. Only cells where `D_j ≠ 0` change.
    pub fn perturb(
        &self,
        base: &Realisation,
        c: usize,
        d: &[Option<Array2<f64>>],
        mult: f64,
    ) -> (Sums, Sums) {
        let mut direct = self.sums(&base.contrib[c]);
        let mut delta = Sums::default();
        for (j, dj) in d.iter().enumerate() {
            let Some(dj) = dj else { continue };
            if self.beta[j] == 0.0 {
                continue;
            }
            let sp = &self.saturation_params[j];
            let mut change = Sums::default();
            for (r, ((drow, arow), crow)) in dj
                .outer_iter()
                .zip(base.a[j].outer_iter())
                .zip(base.contrib[j].outer_iter())
                .enumerate()
            {
                let k = self.beta[j] * self.rho[j][r] * self.size[r];
                for (t, ((&dv, &av), &cv)) in drow.iter().zip(&arow).zip(&crow).enumerate() {
                    if dv == 0.0 {
                        continue;
                    }
                    let diff = k * self.saturation.eval(sp, av + (mult - 1.0) * dv) - cv;
                    change.all += diff;
                    if t >= self.start[r] && t < self.t {
                        change.panel += diff;
                    }
                }
            }
            if j == c {
                direct += change;
            }
            delta += change;
        }
        (direct, delta)
    }
}
