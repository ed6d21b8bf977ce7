//! The lag-kernel screen: where each channel's adstock starts.
//!
//! Gradient training moves a lag kernel's shape only slowly and locally (docs/model.md, *Defaults and how they were chosen*): a
//! model started at a short geometric decay keeps nearly that shape even when the data were made
//! with a delayed peak. The screen looks at the whole grid first, with a model that is cheap
//! enough to fit hundreds of times — linear in the adstocked activity:
//!
//! ```text
//! ỹ[r,t] = (region r's level, trend, two Fourier pairs) + Σ_k γ_k z̃_k[r,t]
//!        + Σ_c β_c · adstock(x̃_c; κ_c)[r,t] + ε
//! ```
//!
//! on the training cells, with the region terms partialled out ([`WithinRegion`]). Starting from
//! `start` for every channel, it runs `rounds` rounds of coordinate descent: channel by channel,
//! the candidate kernel with the smallest residual sum of squares (the other channels at their
//! current choice) is kept; a candidate replaces the current one only if it is strictly better,
//! so ties (a channel without activity) keep the start. Candidates are scored in parallel (rayon);
//! the result does not depend on the thread count.
//!
//! Saturation is ignored (the screen needs the kernel's shape, not the effect size), and the
//! regression does not constrain β ≥ 0; both are left to training.

use crate::{Error, Result, WithinRegion, dot, explained, gram_of, stack};
use mmm_transforms::{Adstock, WeibullAdstock};
use ndarray::{Array2, ArrayView1, ArrayView2, ArrayView3, Axis};
use rayon::prelude::*;

/// The panel the screen regresses, on the model's scale.
#[derive(Debug, Clone, Copy)]
pub struct ScreenData<'a> {
    /// Target `[region, week]` (values outside the observed cells are never read).
    pub target: ArrayView2<'a, f64>,
    /// Media activity `[channel, region, week]`, ≥ 0.
    pub media: ArrayView3<'a, f64>,
    /// Controls `[control, region, week]`, entering linearly.
    pub controls: ArrayView3<'a, f64>,
}

/// A grid of candidate kernels and the coordinate descent over it (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct KernelScreen {
    /// Candidate kernels: unconstrained parameters of the adstock being screened.
    pub candidates: Vec<Vec<f64>>,
    /// Index of the candidate every channel starts from.
    pub start: usize,
    /// Rounds of coordinate descent over the channels (it stops early when a round changes
    /// nothing).
    pub rounds: usize,
}

impl KernelScreen {
    /// Weibull shapes k of the default grid.
    pub const WEIBULL_SHAPES: [f64; 7] = [0.7, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0];
    /// Weibull scales λ (weeks) of the default grid. Longer kernels (λ up to 5.5) fitted the
    /// simulations a little better but let the reference panel's channels start with long
    /// carry-overs that cost it more than the naive baseline's holdout R² (docs/model.md, *Defaults and how they were chosen*).
    pub const WEIBULL_SCALES: [f64; 5] = [0.5, 0.8, 1.2, 1.7, 2.3];
    /// The start of every channel in the default grid: k = 1 (a geometric decay), λ = 1.2.
    pub const WEIBULL_START: (f64, f64) = (1.0, 1.2);

    /// The default Weibull grid: every (k, λ) of [`Self::WEIBULL_SHAPES`] × [`Self::WEIBULL_SCALES`],
    /// three rounds, from [`Self::WEIBULL_START`].
    pub fn weibull() -> Self {
        let grid: Vec<(f64, f64)> = Self::weibull_grid().collect();
        KernelScreen {
            candidates: grid
                .iter()
                .map(|&(k, l)| WeibullAdstock::params_for(k, l))
                .collect(),
            start: grid
                .iter()
                .position(|&g| g == Self::WEIBULL_START)
                .expect("the start is on the grid"),
            rounds: 3,
        }
    }

    /// The (k, λ) of the default Weibull grid, in the order of [`KernelScreen::weibull`]'s
    /// candidates.
    pub fn weibull_grid() -> impl Iterator<Item = (f64, f64)> {
        Self::WEIBULL_SHAPES
            .into_iter()
            .flat_map(|k| Self::WEIBULL_SCALES.into_iter().map(move |l| (k, l)))
    }

    /// The chosen candidate (an index into `candidates`) for every channel.
    ///
    /// # Errors
    /// [`Error::Screen`] for an empty grid, a start off the grid, zero rounds or candidates with
    /// the wrong number of parameters for `adstock`; [`Error::Shape`] when the arrays do not
    /// match `within`'s calendar.
    pub fn choose(
        &self,
        adstock: &dyn Adstock,
        within: &WithinRegion,
        data: &ScreenData,
    ) -> Result<Vec<usize>> {
        check_grid(
            &self.candidates,
            self.start,
            self.rounds,
            adstock.n_params(),
            adstock.name(),
        )?;
        check_shapes(within, data)?;
        let column = |c: usize, kernel: usize| -> Vec<f64> {
            let x = data.media.index_axis(Axis(0), c);
            let mut a = Array2::zeros(x.dim());
            adstock.forward(&self.candidates[kernel], x, a.view_mut());
            within.residuals(a.view())
        };
        Ok(descend(
            within,
            data,
            self.candidates.len(),
            vec![self.start; data.media.dim().0],
            self.rounds,
            &[],
            column,
        ))
    }
}

/// A grid that can be screened: candidates, a start among them, at least one round, and every
/// candidate with the transform's `n_params` parameters.
pub(crate) fn check_grid(
    candidates: &[Vec<f64>],
    start: usize,
    rounds: usize,
    n_params: usize,
    transform: &str,
) -> Result<()> {
    if candidates.is_empty() || start >= candidates.len() || rounds == 0 {
        return Err(Error::Screen(format!(
            "needs candidates, a start among them and at least one round \
             ({} candidates, start {start}, {rounds} rounds)",
            candidates.len(),
        )));
    }
    if let Some(bad) = candidates.iter().position(|c| c.len() != n_params) {
        return Err(Error::Screen(format!(
            "candidate {bad} has {} parameters, the {transform} transform takes {n_params}",
            candidates[bad].len(),
        )));
    }
    Ok(())
}

/// Target, media, controls and the calendar share `[region, week]`.
pub(crate) fn check_shapes(within: &WithinRegion, data: &ScreenData) -> Result<()> {
    let shape = data.target.dim();
    let (_, mr, mt) = data.media.dim();
    let (_, cr, ct) = data.controls.dim();
    if (mr, mt) != shape || (cr, ct) != shape || within.shape() != shape {
        return Err(Error::Shape(format!(
            "target {shape:?}, media {:?}, controls {:?} and the calendar {:?} must share \
             [region, week]",
            (mr, mt),
            (cr, ct),
            within.shape()
        )));
    }
    Ok(())
}

/// The screen's regression after the region terms are partialled out: the target's residuals
/// and the controls' residual columns, with `extra_target` rows appended to the target (the media
/// screen's experiments; the controls are 0 in them, and every channel column carries as many
/// more rows).
pub(crate) struct Regression {
    y: Vec<f64>,
    yy: f64,
    controls: Vec<Vec<f64>>,
    /// Degrees of freedom of the region terms: [`crate::TERMS`] per region with training cells.
    region_terms: usize,
    /// Rows appended to the cells' (`extra_target`).
    extra_rows: usize,
}

impl Regression {
    pub(crate) fn new(within: &WithinRegion, data: &ScreenData, extra_target: &[f64]) -> Self {
        let mut y = within.residuals(data.target);
        y.extend_from_slice(extra_target);
        let controls = data
            .controls
            .outer_iter()
            .map(|z| {
                let mut column = within.residuals(z);
                column.extend(std::iter::repeat_n(0.0, extra_target.len()));
                column
            })
            .collect();
        Regression {
            yy: dot(&y, &y),
            y,
            controls,
            region_terms: crate::TERMS * within.regions().count(),
            extra_rows: extra_target.len(),
        }
    }

    /// The residual sum of squares with channel c's column at each of `n_candidates` candidates
    /// (`column(k)`) and every other channel d at `chosen[d]` (`chosen[c]` is ignored): ordinary
    /// least squares, the effects unconstrained. Candidates are scored in parallel.
    pub(crate) fn profile(
        &self,
        chosen: &[Vec<f64>],
        c: usize,
        n_candidates: usize,
        column: &(dyn Fn(usize) -> Vec<f64> + Sync),
    ) -> Vec<f64> {
        let others: Vec<&[f64]> = self
            .controls
            .iter()
            .chain(
                chosen
                    .iter()
                    .enumerate()
                    .filter(|(d, _)| *d != c)
                    .map(|(_, v)| v),
            )
            .map(Vec::as_slice)
            .collect();
        let p = others.len();
        let x_others = stack(&others, self.y.len());
        let g_others = gram_of(&x_others);
        let b_others = x_others.dot(&ArrayView1::from(self.y.as_slice()));
        (0..n_candidates)
            .into_par_iter()
            .map(|k| {
                let col = column(k);
                let mut g = Array2::zeros((p + 1, p + 1));
                g.slice_mut(ndarray::s![..p, ..p]).assign(&g_others);
                let with_others = x_others.dot(&ArrayView1::from(col.as_slice()));
                for (i, v) in with_others.iter().enumerate() {
                    g[[i, p]] = *v;
                    g[[p, i]] = *v;
                }
                g[[p, p]] = dot(&col, &col);
                let mut b = b_others.to_vec();
                b.push(dot(&col, &self.y));
                self.yy - explained(&g, &b)
            })
            .collect()
    }

    /// The noise variance of a fit with residual sum of squares `sse` and `channels` channel
    /// columns: `sse / (cells − region terms − controls − channels)` (`sse / cells` when that is
    /// not positive; the extra rows are not cells).
    pub(crate) fn noise_variance(&self, sse: f64, channels: usize) -> f64 {
        let cells = self.y.len() - self.extra_rows;
        let dof = cells.saturating_sub(self.region_terms + self.controls.len() + channels);
        sse / if dof > 0 { dof } else { cells.max(1) } as f64
    }

    /// Rounding-level tolerance for comparing sums of squares.
    pub(crate) fn tolerance(&self) -> f64 {
        1e-12 * self.yy.max(f64::MIN_POSITIVE)
    }
}

/// Coordinate descent over candidate columns: `column(c, k)` is channel c's within-region
/// residual column under candidate k; every channel starts at `start[c]`, and a channel moves only
/// to a strictly better candidate (see the module docs). `extra_target` are rows appended to the
/// target (the media screen's experiments): the columns then carry as many more rows, and the
/// controls 0 in them.
pub(crate) fn descend(
    within: &WithinRegion,
    data: &ScreenData,
    n_candidates: usize,
    start: Vec<usize>,
    rounds: usize,
    extra_target: &[f64],
    column: impl Fn(usize, usize) -> Vec<f64> + Sync,
) -> Vec<usize> {
    let regression = Regression::new(within, data, extra_target);
    let channels = data.media.dim().0;
    let mut choice = start;
    let mut chosen: Vec<Vec<f64>> = (0..channels).map(|c| column(c, choice[c])).collect();
    for _ in 0..rounds {
        let mut changed = false;
        for c in 0..channels {
            let sse = regression.profile(&chosen, c, n_candidates, &|k| column(c, k));
            let mut best = choice[c];
            for (k, s) in sse.iter().enumerate() {
                // Strictly better by more than rounding: ties keep the current kernel.
                if *s < sse[best] - regression.tolerance() {
                    best = k;
                }
            }
            if best != choice[c] {
                choice[c] = best;
                chosen[c] = column(c, best);
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    choice
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata::{Synthetic, synthetic};

    fn screen(s: &Synthetic, screen: &KernelScreen) -> Result<Vec<(f64, f64)>> {
        let within = WithinRegion::new(&s.year, s.observed.view(), 0..s.year.len())?;
        let data = ScreenData {
            target: s.target.view(),
            media: s.media.view(),
            controls: s.controls.view(),
        };
        let grid: Vec<(f64, f64)> = KernelScreen::weibull_grid().collect();
        Ok(screen
            .choose(&WeibullAdstock::default(), &within, &data)?
            .into_iter()
            .map(|i| grid[i])
            .collect())
    }

    #[test]
    fn the_screen_recovers_the_kernels_a_linear_panel_was_made_with() {
        // Delayed peak, short decay and a long heavy tail: three shapes a geometric start cannot
        // tell apart by gradient steps alone.
        let truth = [(2.5, 2.3), (1.0, 0.8), (0.7, 1.7)];
        for (noise, seed) in [(0.0, 1), (0.02, 2)] {
            let s = synthetic(&truth, None, &[0.3, 0.2, 0.25], noise, seed);
            assert_eq!(
                screen(&s, &KernelScreen::weibull()).unwrap(),
                truth,
                "noise {noise}"
            );
        }
    }

    #[test]
    fn a_channel_without_activity_keeps_the_start_and_one_round_is_deterministic() {
        let s = synthetic(&[(2.0, 1.7), (1.0, 0.5)], None, &[0.3, 0.0], 0.01, 3);
        let chosen = screen(&s, &KernelScreen::weibull()).unwrap();
        assert_eq!(chosen[0], (2.0, 1.7));
        assert_eq!(chosen[1], KernelScreen::WEIBULL_START);
        let once = KernelScreen {
            rounds: 1,
            ..KernelScreen::weibull()
        };
        assert_eq!(screen(&s, &once).unwrap(), screen(&s, &once).unwrap());
    }

    #[test]
    fn a_screen_that_cannot_run_is_an_error() {
        let s = synthetic(&[(1.0, 1.2)], None, &[0.3], 0.0, 4);
        for bad in [
            KernelScreen {
                candidates: vec![],
                start: 0,
                rounds: 3,
            },
            KernelScreen {
                start: 99,
                ..KernelScreen::weibull()
            },
            KernelScreen {
                rounds: 0,
                ..KernelScreen::weibull()
            },
            KernelScreen {
                candidates: vec![vec![0.0]],
                start: 0,
                rounds: 1,
            },
        ] {
            assert!(matches!(screen(&s, &bad), Err(Error::Screen(_))), "{bad:?}");
        }
        // Arrays of another calendar.
        let within = WithinRegion::new(&s.year, s.observed.view(), 0..s.year.len()).unwrap();
        let short = s.target.slice(ndarray::s![.., ..50]);
        let data = ScreenData {
            target: short,
            media: s.media.view(),
            controls: s.controls.view(),
        };
        let err = KernelScreen::weibull()
            .choose(&WeibullAdstock::default(), &within, &data)
            .unwrap_err();
        assert!(matches!(err, Error::Shape(_)), "{err}");
    }
}
