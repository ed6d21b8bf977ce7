//! Synthetic panels made by the screens' own model, for the tests of this crate.

use mmm_transforms::{Adstock, Hill, Saturation, WeibullAdstock};
use ndarray::{Array2, Array3, Axis};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

/// A 12-region × 120-week panel and its calendar.
pub struct Synthetic {
    pub year: Vec<f64>,
    pub observed: Array2<bool>,
    pub target: Array2<f64>,
    pub media: Array3<f64>,
    pub controls: Array3<f64>,
}

/// A panel made with the given Weibull kernels `(k, λ)`, optional Hill curves `(K, s)` (K relative
/// to the mean of the channel's positive activity, as [`crate::MediaScreen`] reads it; none = the
/// adstocked activity enters linearly) and effects: region levels, trends and seasons differ, one
/// control, Gaussian noise, one unobserved cell.
pub fn synthetic(
    kernels: &[(f64, f64)],
    curves: Option<&[(f64, f64)]>,
    effects: &[f64],
    noise: f64,
    seed: u64,
) -> Synthetic {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    // Bursty activity (off in about half the weeks) so that lags are identifiable.
    let media = Array3::from_shape_fn((kernels.len(), REGIONS, WEEKS), |(c, _, _)| {
        let (on, level) = (rng.random::<f64>(), rng.random::<f64>());
        // The last channel is dark when its effect is 0.
        let dark = effects[c] == 0.0 && c + 1 == kernels.len();
        if dark || on < 0.5 { 0.0 } else { 2.0 * level }
    });
    made_with(media, kernels, curves, effects, noise, rng)
}

/// [`synthetic`] with always-on activity: every channel between 1 and 2 in every week, so that
/// its curve is seen over a narrow range only.
pub fn synthetic_always_on(
    kernels: &[(f64, f64)],
    curves: Option<&[(f64, f64)]>,
    effects: &[f64],
    noise: f64,
    seed: u64,
) -> Synthetic {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let media = Array3::from_shape_fn((kernels.len(), REGIONS, WEEKS), |_| {
        1.0 + rng.random::<f64>()
    });
    made_with(media, kernels, curves, effects, noise, rng)
}

const REGIONS: usize = 12;
const WEEKS: usize = 120;

/// The rest of the panel around the channels' activity `media`.
fn made_with(
    media: Array3<f64>,
    kernels: &[(f64, f64)],
    curves: Option<&[(f64, f64)]>,
    effects: &[f64],
    noise: f64,
    mut rng: ChaCha8Rng,
) -> Synthetic {
    let (r_n, t_n) = (REGIONS, WEEKS);
    let year: Vec<f64> = (0..t_n).map(|t| (t as f64 / 52.1775).fract()).collect();
    let mut observed = Array2::from_elem((r_n, t_n), true);
    observed[[3, 40]] = false;
    let controls = Array3::from_shape_fn((1, r_n, t_n), |_| rng.random::<f64>());
    let n = Normal::new(0.0, 1.0).unwrap();
    let mut target = Array2::from_shape_fn((r_n, t_n), |(r, t)| {
        let phase = std::f64::consts::TAU * year[t];
        1.0 + 0.1 * r as f64
            + 0.002 * (r as f64 - 5.0) * t as f64
            + 0.2 * (phase + r as f64).sin()
            + 0.3 * controls[[0, r, t]]
            + noise * n.sample(&mut rng)
    });
    for (c, (&(k, l), &beta)) in kernels.iter().zip(effects).enumerate() {
        let x = media.index_axis(Axis(0), c);
        let mut a = Array2::zeros((r_n, t_n));
        WeibullAdstock::default().forward(&WeibullAdstock::params_for(k, l), x, a.view_mut());
        if let Some(curves) = curves {
            let positive: Vec<f64> = x
                .iter()
                .zip(observed.iter())
                .filter(|&(v, o)| *o && *v > 0.0)
                .map(|(v, _)| *v)
                .collect();
            let mean = if positive.is_empty() {
                1.0
            } else {
                positive.iter().sum::<f64>() / positive.len() as f64
            };
            let (half, slope) = curves[c];
            let mut s = Array2::zeros((r_n, t_n));
            Hill.forward(
                &Hill::params_for(half * mean, slope),
                a.view(),
                s.view_mut(),
            );
            a = s;
        }
        target.scaled_add(beta, &a);
    }
    Synthetic {
        year,
        observed,
        target,
        media,
        controls,
    }
}
