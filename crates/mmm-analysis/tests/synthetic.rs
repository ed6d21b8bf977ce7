//! Response-surface gradients, the exact projection, and optimality of the budget optimiser
//! (KKT and brute force) on synthetic surfaces built from known parts.

use mmm_analysis::optimize::{Problem, project, solve};
use mmm_analysis::{Effect, ResponseSurface, Unit};
use mmm_testkit::{check_gradient, seeded_uniform};
use mmm_transforms::{Hill, Saturation};
use ndarray::{Array2, Array3};
use proptest::prelude::*;

/// A surface with `c_n` national channels over `r_n` regions and `t_n` weeks; channel 0 feeds
/// channel 1 through a DAG path when `dag`.
fn surface(
    seed: u64,
    c_n: usize,
    r_n: usize,
    t_n: usize,
    dag: bool,
    slope: (f64, f64),
) -> ResponseSurface {
    let n = c_n * r_n * t_n;
    let k = Array3::from_shape_vec((c_n, r_n, t_n), seeded_uniform(seed, n, 0.5, 3.0)).unwrap();
    let base =
        Array3::from_shape_vec((c_n, r_n, t_n), seeded_uniform(seed + 1, n, 0.2, 2.0)).unwrap();
    let units: Vec<Unit> = (0..c_n)
        .map(|c| Unit {
            channel: c,
            regions: (0..r_n).collect(),
        })
        .collect();
    let g = (0..c_n)
        .map(|u| {
            (0..c_n)
                .map(|j| {
                    let direct = j == u;
                    let path = dag && u == 0 && j == 1;
                    (direct || path).then(|| {
                        let (lo, hi) = if direct { (0.1, 1.0) } else { (0.01, 0.3) };
                        Array2::from_shape_vec(
                            (r_n, t_n),
                            seeded_uniform(seed + 10 + (u * c_n + j) as u64, r_n * t_n, lo, hi),
                        )
                        .unwrap()
                    })
                })
                .collect()
        })
        .collect();
    let sats: Vec<Box<dyn Saturation>> = (0..c_n)
        .map(|_| Box::new(Hill::new()) as Box<dyn Saturation>)
        .collect();
    let params = seeded_uniform(seed + 99, 2 * c_n, 0.0, 1.0);
    let sat_params = (0..c_n)
        .map(|c| {
            Hill::params_for(
                0.5 + 1.5 * params[2 * c],
                slope.0 + (slope.1 - slope.0) * params[2 * c + 1],
            )
        })
        .collect();
    ResponseSurface::from_parts(sats, sat_params, k, base, units, g)
}

/// Compares the surface's analytic gradient with 4th-order central differences of step `h` at
/// multipliers drawn from `m_range`.
fn check_outcome_gradient(
    seed: u64,
    (c_n, r_n, t_n): (usize, usize, usize),
    dag: bool,
    m_range: (f64, f64),
    h: f64,
) {
    let s = surface(seed, c_n, r_n, t_n, dag && c_n >= 2, (0.6, 2.5));
    let m = seeded_uniform(seed + 5, c_n, m_range.0, m_range.1);
    for effect in [Effect::Direct, Effect::Total] {
        let mut g = vec![0.0; c_n];
        s.evaluate(&m, effect, Some(&mut g));
        let check = check_gradient(|x| s.evaluate(x, effect, None).total, &m, &g, h);
        assert!(
            check.max_rel_error <= 1e-6,
            "gradient mismatch at coordinate {}: analytic {:e}, numeric {:e}, relative error {:.3e}",
            check.worst_index,
            g[check.worst_index],
            check.numeric[check.worst_index],
            check.max_rel_error
        );
    }
}

/// Near zero activity a Hill curve with slope < 1 has unbounded high-order derivatives, so a
/// difference of step 1e-3 is not accurate there (this case — activity 7.6e-5, slope 0.79 — gave
/// 44 % error at 1e-3 and 5e-5 at 1e-4), but it converges to the analytic gradient as the step
/// shrinks: at 1e-6 it agrees to 2e-11.
#[test]
fn outcome_gradient_near_zero_activity() {
    check_outcome_gradient(8600, (1, 1, 2), false, (0.3, 2.5), 1e-6);
    check_outcome_gradient(7372, (3, 2, 4), false, (0.3, 2.5), 1e-6);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn outcome_gradient_matches_central_differences(
        seed in 0u64..10_000, c_n in 1usize..4, r_n in 1usize..3, t_n in 1usize..5, dag: bool,
    ) {
        // Multipliers ≥ 0.9 keep every adstocked activity ≥ 0.07 (base ≥ 0.2, paths ≤ 1 and
        // 0.3), where the 4th-order difference of step 1e-4 is accurate to ~1e-10.
        check_outcome_gradient(seed, (c_n, r_n, t_n), dag, (0.9, 2.5), 1e-4);
    }

    #[test]
    fn projection_is_feasible_and_nearest(seed in 0u64..10_000, n in 1usize..7) {
        let lower = seeded_uniform(seed, n, 0.0, 5.0);
        let width = seeded_uniform(seed + 1, n, 0.0, 5.0);
        let upper: Vec<f64> = lower.iter().zip(&width).map(|(l, w)| l + w).collect();
        let (lo, hi): (f64, f64) = (lower.iter().sum(), upper.iter().sum());
        let budget = lo + seeded_uniform(seed + 2, 1, 0.0, 1.0)[0] * (hi - lo);
        let v = seeded_uniform(seed + 3, n, -10.0, 15.0);
        let p = project(&v, &lower, &upper, budget);
        let sum: f64 = p.iter().sum();
        prop_assert!((sum - budget).abs() <= 1e-12 * budget.max(1.0), "sum {sum} vs {budget}");
        for i in 0..n {
            prop_assert!(p[i] >= lower[i] && p[i] <= upper[i]);
        }
        // Nearest: no other feasible point (another projection's output) is closer to v.
        let d = |a: &[f64]| a.iter().zip(&v).map(|(x, y)| (x - y) * (x - y)).sum::<f64>();
        for k in 0..5 {
            let w = project(&seeded_uniform(seed + 20 + k, n, -10.0, 15.0), &lower, &upper, budget);
            prop_assert!(d(&p) <= d(&w) + 1e-9);
        }
    }
}

fn problem(s: &ResponseSurface, budget_scale: f64, lower: f64, upper: f64) -> (Problem, Vec<f64>) {
    let n = s.units().len();
    let reference = seeded_uniform(7, n, 50.0, 150.0);
    let total: f64 = reference.iter().sum();
    let budget = budget_scale * total;
    let current: Vec<f64> = reference.iter().map(|r| r * budget / total).collect();
    (
        Problem {
            budget,
            lower: current.iter().map(|c| lower * c).collect(),
            upper: current.iter().map(|c| upper * c).collect(),
            fixed: vec![false; n],
            current,
        },
        reference,
    )
}

fn objective<'a>(
    s: &'a ResponseSurface,
    reference: &'a [f64],
) -> impl FnMut(&[f64], &mut [f64]) -> f64 + 'a {
    move |b, g| {
        let m: Vec<f64> = b.iter().zip(reference).map(|(b, r)| b / r).collect();
        let v = s.evaluate(&m, Effect::Total, Some(g)).total;
        for (gi, r) in g.iter_mut().zip(reference) {
            *gi /= r;
        }
        v
    }
}

#[test]
fn optimum_is_feasible_and_satisfies_kkt() {
    for seed in 0..6 {
        let s = surface(100 + seed, 4, 2, 6, true, (0.5, 1.0));
        let (p, reference) = problem(&s, 1.0, 0.2, 3.0);
        let mut f = objective(&s, &reference);
        let sol = solve(&p, &mut f);
        let sum: f64 = sol.b.iter().sum();
        assert!(
            (sum - p.budget).abs() <= 1e-10 * p.budget,
            "sum {sum} vs {}",
            p.budget
        );
        for u in 0..4 {
            assert!(sol.b[u] >= p.lower[u] && sol.b[u] <= p.upper[u]);
        }
        let interior: Vec<usize> = (0..4)
            .filter(|&u| sol.b[u] > p.lower[u] && sol.b[u] < p.upper[u])
            .collect();
        assert!(!interior.is_empty(), "seed {seed}: no interior unit");
        for &u in &interior {
            let rel = (sol.grad[u] - sol.lambda).abs() / sol.lambda.abs();
            assert!(
                rel < 1e-6,
                "seed {seed}: interior mROI {} vs λ {}",
                sol.grad[u],
                sol.lambda
            );
        }
        for u in 0..4 {
            if sol.b[u] <= p.lower[u] {
                assert!(sol.grad[u] <= sol.lambda * (1.0 + 1e-6));
            }
            if sol.b[u] >= p.upper[u] {
                assert!(sol.grad[u] >= sol.lambda * (1.0 - 1e-6));
            }
        }
        assert!(sol.kkt < 1e-6, "kkt residual {}", sol.kkt);
        let mut g = vec![0.0; 4];
        assert!(
            sol.value >= f(&p.current, &mut g),
            "no worse than the current allocation"
        );
    }
}

#[test]
fn brute_force_finds_nothing_better() {
    // S-shaped curves (slope up to 2.5): not concave, so multi-start matters.
    for seed in 0..4 {
        let s = surface(200 + seed, 3, 1, 5, seed % 2 == 0, (0.8, 2.5));
        let (p, reference) = problem(&s, 1.0, 0.3, 2.0);
        let mut f = objective(&s, &reference);
        let sol = solve(&p, &mut f);
        let mut g = vec![0.0; 3];
        let steps = 200;
        let mut best = f64::NEG_INFINITY;
        for i in 0..=steps {
            let b0 = p.lower[0] + (p.upper[0] - p.lower[0]) * i as f64 / steps as f64;
            for j in 0..=steps {
                let b1 = p.lower[1] + (p.upper[1] - p.lower[1]) * j as f64 / steps as f64;
                let b2 = p.budget - b0 - b1;
                if b2 < p.lower[2] || b2 > p.upper[2] {
                    continue;
                }
                best = best.max(f(&[b0, b1, b2], &mut g));
            }
        }
        assert!(best.is_finite());
        assert!(
            best <= sol.value * (1.0 + 1e-9),
            "seed {seed}: grid {best} > optimum {}",
            sol.value
        );
    }
}
