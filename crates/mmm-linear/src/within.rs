//! Each region's own level, trend and seasonality, partialled out region by region.
//!
//! For region r with observed weeks W_r in the span, the nuisance design has one row per week,
//!
//! ```text
//! n_t = [1, (t − t_last)/52.1775, sin 2πφ_t, cos 2πφ_t, sin 4πφ_t, cos 4πφ_t]
//! ```
//!
//! (φ_t the week's position in its calendar year, t_last the span's last week). A column `x` is
//! replaced on W_r by its residual `x − N_r (N_rᵀN_r)⁻¹ N_rᵀ x`. By Frisch–Waugh–Lovell, least
//! squares of residual target on residual columns gives exactly the pooled coefficients of the
//! regression that also has every region's six nuisance terms — the baseline structure the
//! simulator and dcmmm's own baseline share. Regions with at most [`MIN_WEEKS`] observed weeks
//! in the span are left out: their terms would absorb the signal.

use crate::{Error, Result};
use ndarray::ArrayView2;
use std::ops::Range;

/// Nuisance terms per region: intercept, trend, two yearly Fourier pairs.
pub const TERMS: usize = 6;

/// Regions with at most this many observed weeks in the span are left out.
pub const MIN_WEEKS: usize = 2 * TERMS;

const WEEKS_PER_YEAR: f64 = 52.1775;

#[derive(Debug, Clone)]
struct RegionBlock {
    region: usize,
    weeks: Vec<usize>,
    /// An orthonormal basis Q_r of the span of N_r's columns, one row per week of `weeks`
    /// (columns past the rank are zero), so that the residual is `x − Q_r Q_rᵀ x`.
    basis: Vec<[f64; TERMS]>,
}

/// The within-region residual maker over a span of weeks (see the module docs).
#[derive(Debug, Clone)]
pub struct WithinRegion {
    blocks: Vec<RegionBlock>,
    shape: (usize, usize),
    n_cells: usize,
}

impl WithinRegion {
    /// The residual maker for the observed cells of `observed` (`[region, week]`) in `span`, with
    /// `year_fraction[t]` ∈ [0, 1) the position of week t in its calendar year.
    ///
    /// # Errors
    /// [`Error::Shape`] if `year_fraction` does not have one entry per week or `span` leaves the
    /// calendar; [`Error::TooFewWeeks`] if no region has more than [`MIN_WEEKS`] observed weeks in
    /// the span.
    pub fn new(
        year_fraction: &[f64],
        observed: ArrayView2<bool>,
        span: Range<usize>,
    ) -> Result<Self> {
        let (r_n, t_n) = observed.dim();
        if year_fraction.len() != t_n {
            return Err(Error::Shape(format!(
                "{} year fractions for {t_n} weeks",
                year_fraction.len()
            )));
        }
        if span.start >= span.end || span.end > t_n {
            return Err(Error::Shape(format!(
                "weeks {span:?} are not a span of the {t_n}-week calendar"
            )));
        }
        let terms = nuisance_terms(year_fraction, span.end - 1);
        let mut blocks = Vec::new();
        for r in 0..r_n {
            let weeks: Vec<usize> = span.clone().filter(|&t| observed[[r, t]]).collect();
            if weeks.len() <= MIN_WEEKS {
                continue;
            }
            let basis = orthonormal_basis(&weeks, &terms);
            blocks.push(RegionBlock {
                region: r,
                weeks,
                basis,
            });
        }
        if blocks.is_empty() {
            return Err(Error::TooFewWeeks {
                start: span.start,
                end: span.end,
            });
        }
        let n_cells = blocks.iter().map(|b| b.weeks.len()).sum();
        Ok(WithinRegion {
            blocks,
            shape: (r_n, t_n),
            n_cells,
        })
    }

    /// The `[region, week]` shape of the columns it residualises.
    pub fn shape(&self) -> (usize, usize) {
        self.shape
    }

    /// Number of cells (region-weeks) a residual column has.
    pub fn n_cells(&self) -> usize {
        self.n_cells
    }

    /// The regions kept, in the order their cells appear in a residual column.
    pub fn regions(&self) -> impl Iterator<Item = usize> + '_ {
        self.blocks.iter().map(|b| b.region)
    }

    /// The `(region, week)` of each cell of a residual column, in order.
    pub fn cells(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.blocks
            .iter()
            .flat_map(|b| b.weeks.iter().map(move |&t| (b.region, t)))
    }

    /// The residuals of `column` (`[region, week]`) on each kept region's nuisance terms, one per
    /// cell in the order of [`WithinRegion::cells`]. Values outside the cells are never read.
    ///
    /// # Panics
    /// If `column` does not have the calendar's `[region, week]` shape.
    pub fn residuals(&self, column: ArrayView2<f64>) -> Vec<f64> {
        assert_eq!(
            column.dim(),
            self.shape,
            "a column must be [region, week] like the observed mask"
        );
        let mut out = Vec::with_capacity(self.n_cells);
        for b in &self.blocks {
            let mut qtx = [0.0; TERMS];
            for (q, &t) in b.basis.iter().zip(&b.weeks) {
                let x = column[[b.region, t]];
                for (acc, qi) in qtx.iter_mut().zip(q) {
                    *acc += qi * x;
                }
            }
            for (q, &t) in b.basis.iter().zip(&b.weeks) {
                let fitted: f64 = q.iter().zip(&qtx).map(|(qi, c)| qi * c).sum();
                out.push(column[[b.region, t]] - fitted);
            }
        }
        out
    }

    /// How much a non-negative activity column moves apart from each region's level, trend and
    /// season, relative to its level:
    ///
    /// ```text
    /// v = sqrt( Σ_r Σ_{t∈W_r} (e[r,t] / x̄_r)² / Σ_r |W_r| )
    /// ```
    ///
    /// with `e` the within-region residuals and `x̄_r` the column's mean over region r's cells;
    /// regions where the column is zero throughout (x̄_r ≤ 0) are left out. A channel run at a
    /// steady level that follows demand scores about its week-to-week noise (0.15 for the
    /// simulator's always-on channels), a flighted one above 1. Not corrected for the fitted
    /// terms: low by the factor `sqrt(1 − 6/|W_r|)` (3 % at 100 weeks). `None` when no region
    /// has activity.
    ///
    /// # Panics
    /// If `column` does not have the calendar's `[region, week]` shape.
    pub fn relative_variation(&self, column: ArrayView2<f64>) -> Option<f64> {
        let residuals = self.residuals(column);
        let (mut sum, mut n, mut at) = (0.0, 0usize, 0usize);
        for b in &self.blocks {
            let cells = b.weeks.len();
            let mean = b.weeks.iter().map(|&t| column[[b.region, t]]).sum::<f64>() / cells as f64;
            if mean > 0.0 {
                sum += residuals[at..at + cells]
                    .iter()
                    .map(|e| (e / mean).powi(2))
                    .sum::<f64>();
                n += cells;
            }
            at += cells;
        }
        (n > 0).then(|| (sum / n as f64).sqrt())
    }
}

/// The nuisance row `n_t` of every week, trend clock 0 at week `last`.
fn nuisance_terms(year_fraction: &[f64], last: usize) -> Vec<[f64; TERMS]> {
    year_fraction
        .iter()
        .enumerate()
        .map(|(t, f)| {
            let phase = std::f64::consts::TAU * f;
            [
                1.0,
                (t as f64 - last as f64) / WEEKS_PER_YEAR,
                phase.sin(),
                phase.cos(),
                (2.0 * phase).sin(),
                (2.0 * phase).cos(),
            ]
        })
        .collect()
}

/// Modified Gram–Schmidt, applied twice ("twice is enough" for orthogonality to rounding), on the
/// nuisance columns restricted to `weeks`. A column that is (numerically) a combination of the
/// earlier ones is dropped, so a degenerate calendar loses a term instead of failing. Hand-written:
/// six columns, and the residuals need nothing else from a QR.
fn orthonormal_basis(weeks: &[usize], terms: &[[f64; TERMS]]) -> Vec<[f64; TERMS]> {
    let mut q: Vec<[f64; TERMS]> = weeks.iter().map(|&t| terms[t]).collect();
    let norm =
        |q: &[[f64; TERMS]], j: usize| q.iter().map(|row| row[j] * row[j]).sum::<f64>().sqrt();
    for j in 0..TERMS {
        let original = norm(&q, j);
        for _ in 0..2 {
            for i in 0..j {
                let proj: f64 = q.iter().map(|row| row[i] * row[j]).sum();
                for row in q.iter_mut() {
                    row[j] -= proj * row[i];
                }
            }
        }
        let n = norm(&q, j);
        let keep = n > 1e-9 * original.max(f64::MIN_POSITIVE);
        for row in q.iter_mut() {
            row[j] = if keep { row[j] / n } else { 0.0 };
        }
    }
    q
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn calendar(t_n: usize) -> Vec<f64> {
        (0..t_n)
            .map(|t| ((t as f64 + 3.0) / 52.1775).fract())
            .collect()
    }

    #[test]
    fn residuals_are_orthogonal_to_every_regions_terms_and_remove_them_exactly() {
        // Seeded random panels at edge sizes: one region, a region just above and one at the
        // minimum (left out), random gaps.
        for (seed, r_n, t_n) in [(1u64, 1usize, 13usize), (2, 3, 40), (3, 7, 157)] {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let mut observed = Array2::from_shape_fn((r_n, t_n), |_| rng.random::<f64>() > 0.1);
            observed.row_mut(0).fill(true);
            if r_n > 2 {
                // Exactly MIN_WEEKS observed weeks: left out.
                observed.row_mut(1).fill(false);
                for t in 0..MIN_WEEKS {
                    observed[[1, t]] = true;
                }
            }
            let year = calendar(t_n);
            let w = WithinRegion::new(&year, observed.view(), 0..t_n).unwrap();
            let terms = nuisance_terms(&year, t_n - 1);
            let kept: Vec<usize> = w.regions().collect();
            assert!(kept.contains(&0));
            if r_n > 2 {
                assert!(
                    !kept.contains(&1),
                    "a region with {MIN_WEEKS} weeks is left out"
                );
            }
            let x = Array2::from_shape_fn((r_n, t_n), |_| rng.random::<f64>() * 10.0 - 3.0);
            let res = w.residuals(x.view());
            let cells: Vec<(usize, usize)> = w.cells().collect();
            assert_eq!(res.len(), w.n_cells());
            assert_eq!(cells.len(), w.n_cells());
            let mut sums = vec![[0.0; TERMS]; r_n];
            for ((r, t), e) in cells.iter().zip(&res) {
                for (acc, n) in sums[*r].iter_mut().zip(&terms[*t]) {
                    *acc += n * e;
                }
            }
            for &r in &kept {
                for (i, s) in sums[r].iter().enumerate() {
                    assert!(s.abs() < 1e-8, "region {r} term {i}: {s}");
                }
            }
            // A column made of each region's own terms (different per region) leaves nothing;
            // adding it to x leaves x's residuals unchanged.
            let nuisance = Array2::from_shape_fn((r_n, t_n), |(r, t)| {
                terms[t]
                    .iter()
                    .enumerate()
                    .map(|(i, n)| (r as f64 + 1.0) * (i as f64 - 2.5) * n)
                    .sum::<f64>()
            });
            assert!(w.residuals(nuisance.view()).iter().all(|e| e.abs() < 1e-9));
            let shifted = w.residuals((&x + &nuisance).view());
            for (a, b) in shifted.iter().zip(&res) {
                assert!((a - b).abs() < 1e-9);
            }
        }
    }

    #[test]
    fn bad_spans_and_too_few_weeks_are_errors() {
        let year = calendar(20);
        let obs = Array2::from_elem((2, 20), true);
        assert!(matches!(
            WithinRegion::new(&year[..19], obs.view(), 0..20),
            Err(Error::Shape(_))
        ));
        assert!(matches!(
            WithinRegion::new(&year, obs.view(), 5..25),
            Err(Error::Shape(_))
        ));
        assert!(matches!(
            WithinRegion::new(&year, obs.view(), 0..12),
            Err(Error::TooFewWeeks { start: 0, end: 12 })
        ));
        let msg = WithinRegion::new(&year, obs.view(), 0..12)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("weeks 0..12"), "{msg}");
        assert_eq!(
            WithinRegion::new(&year, obs.view(), 0..13)
                .unwrap()
                .n_cells(),
            26
        );
    }

    /// Activity = region level × (demand season, trend) × lognormal week noise of σ: the
    /// relative variation measures σ (less the fitted terms' share), whatever each region's
    /// level; a dark region is left out; a flighted channel scores far higher.
    #[test]
    fn relative_variation_measures_the_week_noise_around_each_regions_own_pattern() {
        use rand_distr::{Distribution, Normal};
        let n01 = Normal::new(0.0, 1.0).unwrap();
        for (seed, r_n, t_n, sigma) in [
            (4u64, 1usize, 120usize, 0.15f64),
            (5, 30, 100, 0.15),
            (6, 30, 60, 0.4),
        ] {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let year = calendar(t_n);
            let mut observed = Array2::from_elem((r_n, t_n), true);
            observed[[0, 5]] = false;
            let w = WithinRegion::new(&year, observed.view(), 0..t_n).unwrap();
            let levels: Vec<f64> = (0..r_n)
                .map(|_| 10f64.powf(rng.random_range(-2.0..3.0)))
                .collect();
            let pattern = |r: usize, t: usize| {
                let phase = std::f64::consts::TAU * year[t];
                levels[r] * (1.0 + 0.4 * phase.cos() + 0.003 * t as f64)
            };
            let steady = Array2::from_shape_fn((r_n, t_n), |(r, t)| pattern(r, t));
            let v = w.relative_variation(steady.view()).unwrap();
            // The log-normal noise is not exactly the fitted terms' complement; without it the
            // pattern (a combination of the terms) leaves nothing.
            assert!(v < 1e-9, "a pattern of the terms alone leaves {v}");
            let mut noisy = Array2::from_shape_fn((r_n, t_n), |(r, t)| {
                pattern(r, t) * (sigma * n01.sample(&mut rng)).exp()
            });
            if r_n > 1 {
                noisy.row_mut(r_n - 1).fill(0.0); // a region without the channel
            }
            let v = w.relative_variation(noisy.view()).unwrap();
            // Relative to the region's mean the noise e^{σz}/E[e^{σz}] has variance e^{σ²} − 1;
            // the fitted terms take about 6/T of it, the pattern's swing adds about 4 %.
            let expect = ((sigma * sigma).exp() - 1.0).sqrt() * (1.0 - 6.0 / t_n as f64).sqrt();
            assert!(
                (v / expect - 1.0).abs() < 0.15,
                "σ {sigma}: {v} vs {expect}"
            );
            // Rescaling one region leaves it unchanged.
            let mut scaled = noisy.clone();
            scaled.row_mut(0).mapv_inplace(|x| 1e3 * x);
            assert!((w.relative_variation(scaled.view()).unwrap() - v).abs() < 1e-9 * v);
        }
        // Bursts: on in a third of the weeks.
        let (r_n, t_n) = (20, 104);
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let year = calendar(t_n);
        let w =
            WithinRegion::new(&year, Array2::from_elem((r_n, t_n), true).view(), 0..t_n).unwrap();
        let bursts = Array2::from_shape_fn((r_n, t_n), |_| {
            if rng.random::<f64>() < 1.0 / 3.0 {
                3.0
            } else {
                0.0
            }
        });
        assert!(w.relative_variation(bursts.view()).unwrap() > 1.0);
        assert_eq!(w.relative_variation(Array2::zeros((r_n, t_n)).view()), None);
    }
}
