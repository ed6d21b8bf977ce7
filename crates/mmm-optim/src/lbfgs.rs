//! L-BFGS for small smooth problems, unconstrained ([`minimize_lbfgs`]) and with box
//! constraints ([`minimize_lbfgs_box`]).
//!
//! The objective is one closure `f(x, grad) -> value` that returns `f(x)` and writes `∇f(x)`,
//! so models that get value and gradient from one forward/backward pass pay for one pass.
//!
//! **Direction.** The two-loop recursion applies the inverse-Hessian approximation built from
//! the last `m` pairs `sₖ = xₖ₊₁ − xₖ`, `yₖ = gₖ₊₁ − gₖ` (`ρₖ = 1 / sₖᵀyₖ`) to the gradient,
//! with the initial scaling `H₀ = γ I`, `γ = sᵀy / yᵀy` of the newest pair. A pair is stored
//! only if `sᵀy > ε_mach · yᵀy` (curvature condition), which keeps `H` positive definite. If
//! the result is not a descent direction the memory is cleared and `−g` is used.
//!
//! **Line search (unconstrained).** Strong Wolfe conditions with `c₁ = 1e-4`, `c₂ = 0.9`
//! (defaults): bracketing by doubling, then a zoom with safeguarded cubic interpolation
//! (Nocedal & Wright, Algorithms 3.5–3.6). The first trial step is `1`, except on the first
//! iteration (or after a reset) where it is `min(1, 1/‖g‖)`. Trial points where the objective
//! or gradient is not finite are treated as "too far" and the step is shortened, so an
//! objective may return `NaN`/`∞` outside its domain; only a non-finite value at the starting
//! point is an error.
//!
//! **Box constraints.** `minimize_lbfgs_box` is a projected L-BFGS ("L-BFGS-B-lite"): the
//! iterate is kept in `[l, u]` by projection `P`; a coordinate is *active* when it sits on a
//! bound and the gradient pushes outwards. The direction is the two-loop recursion restricted
//! to the free coordinates (all inner products over free coordinates only, active components
//! zero), and the step is found by backtracking along the projected path `x(α) = P(x + α d)`
//! with the Armijo condition `f(x(α)) ≤ f(x) + c₁ gᵀ(x(α) − x)`. Convergence is measured by the
//! projected gradient `‖P(x − g) − x‖₂`. Unlike full L-BFGS-B there is no generalised Cauchy
//! point, which is adequate for the small, well-scaled problems this crate targets.
//!
//! **Stopping.** `‖g‖₂ ≤ grad_tol` (projected gradient for the box variant) or, when
//! `f_tol > 0`, a relative decrease `f_prev − f ≤ f_tol · max(|f_prev|, |f|, 1)`; both count as
//! converged. Otherwise the solver stops at `max_iters`, `max_evals`, or when no step along
//! even the steepest-descent direction decreases the objective (typically rounding-limited).

use std::collections::VecDeque;

use crate::error::{Error, Result, check_non_negative};

/// Relative size of objective changes treated as rounding noise by the line searches.
const F_NOISE: f64 = 1e-10;

/// Settings for [`minimize_lbfgs`] and [`minimize_lbfgs_box`].
#[derive(Debug, Clone, PartialEq)]
pub struct LbfgsConfig {
    /// Maximum number of iterations (accepted steps).
    pub max_iters: usize,
    /// Number of stored correction pairs `m` (at least 1).
    pub memory: usize,
    /// Converged when the Euclidean norm of the (projected) gradient is at most this.
    pub grad_tol: f64,
    /// Converged when the relative decrease of one step is at most this; `0` disables it.
    pub f_tol: f64,
    /// Maximum number of objective evaluations.
    pub max_evals: usize,
    /// Armijo (sufficient-decrease) constant, in `(0, c2)`.
    pub c1: f64,
    /// Curvature constant of the strong Wolfe conditions, in `(c1, 1)`.
    pub c2: f64,
    /// Maximum number of trial steps per line search.
    pub max_line_search: usize,
}

impl Default for LbfgsConfig {
    fn default() -> Self {
        Self {
            max_iters: 1000,
            memory: 7,
            grad_tol: 1e-8,
            f_tol: 0.0,
            max_evals: 20_000,
            c1: 1e-4,
            c2: 0.9,
            max_line_search: 40,
        }
    }
}

impl LbfgsConfig {
    fn validate(&self) -> Result<()> {
        if self.memory == 0 {
            return Err(Error::InvalidParameter {
                name: "memory",
                value: 0.0,
                expected: ">= 1",
            });
        }
        if self.max_line_search == 0 {
            return Err(Error::InvalidParameter {
                name: "max_line_search",
                value: 0.0,
                expected: ">= 1",
            });
        }
        check_non_negative("grad_tol", self.grad_tol)?;
        check_non_negative("f_tol", self.f_tol)?;
        if !(self.c1 > 0.0 && self.c1 < self.c2) {
            return Err(Error::InvalidParameter {
                name: "c1",
                value: self.c1,
                expected: "in (0, c2)",
            });
        }
        if self.c2 >= 1.0 {
            return Err(Error::InvalidParameter {
                name: "c2",
                value: self.c2,
                expected: "in (c1, 1)",
            });
        }
        Ok(())
    }
}

/// Why the solver stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Termination {
    /// The (projected) gradient norm reached `grad_tol`.
    GradientTolerance,
    /// The relative decrease fell below `f_tol`.
    FunctionTolerance,
    /// `max_iters` steps were taken.
    MaxIterations,
    /// `max_evals` objective evaluations were used.
    MaxEvaluations,
    /// No step decreased the objective, even along steepest descent.
    LineSearchFailed,
}

/// Outcome of an L-BFGS run.
#[derive(Debug, Clone, PartialEq)]
pub struct LbfgsResult {
    /// Final iterate. Accepted steps decrease the objective, except near the optimum where
    /// changes below the rounding level (`1e-10 · |f|`) are judged by the gradient instead.
    pub x: Vec<f64>,
    /// Objective value at `x`.
    pub value: f64,
    /// Gradient at `x`.
    pub grad: Vec<f64>,
    /// Euclidean norm of the gradient at `x` (projected gradient for the box variant).
    pub grad_norm: f64,
    /// Number of accepted steps.
    pub iterations: usize,
    /// Number of objective evaluations.
    pub evaluations: usize,
    /// `true` when a tolerance (gradient or function) was met.
    pub converged: bool,
    /// Why the solver stopped.
    pub termination: Termination,
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn dot_masked(a: &[f64], b: &[f64], free: Option<&[bool]>) -> f64 {
    match free {
        None => dot(a, b),
        Some(m) => a
            .iter()
            .zip(b)
            .zip(m)
            .filter(|(_, f)| **f)
            .map(|((x, y), _)| x * y)
            .sum(),
    }
}

fn norm(a: &[f64]) -> f64 {
    crate::clip::global_norm(a)
}

/// The objective plus an evaluation counter.
struct Objective<F> {
    f: F,
    evals: usize,
}

impl<F: FnMut(&[f64], &mut [f64]) -> f64> Objective<F> {
    /// Evaluates at `x`; `None` if the value or any gradient component is not finite.
    fn eval(&mut self, x: &[f64], g: &mut [f64]) -> Option<f64> {
        self.evals += 1;
        let v = (self.f)(x, g);
        (v.is_finite() && g.iter().all(|c| c.is_finite())).then_some(v)
    }
}

/// Limited-memory store of correction pairs.
struct Memory {
    cap: usize,
    pairs: VecDeque<(Vec<f64>, Vec<f64>)>,
    alpha: Vec<f64>,
    rho: Vec<f64>,
}

impl Memory {
    fn new(cap: usize) -> Self {
        Self {
            cap,
            pairs: VecDeque::with_capacity(cap),
            alpha: Vec::new(),
            rho: Vec::new(),
        }
    }

    fn clear(&mut self) {
        self.pairs.clear();
    }

    fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// Stores `s = x_new − x`, `y = g_new − g` if the curvature condition holds.
    fn push(&mut self, x: &[f64], x_new: &[f64], g: &[f64], g_new: &[f64]) {
        let (mut s, mut y) = if self.pairs.len() == self.cap {
            self.pairs.pop_front().unwrap_or_default()
        } else {
            (Vec::new(), Vec::new())
        };
        s.clear();
        y.clear();
        s.extend(x_new.iter().zip(x).map(|(a, b)| a - b));
        y.extend(g_new.iter().zip(g).map(|(a, b)| a - b));
        if dot(&s, &y) > f64::EPSILON * dot(&y, &y) {
            self.pairs.push_back((s, y));
        }
    }

    /// `d = −H g` by the two-loop recursion; inner products over `free` coordinates only, and
    /// `d` is zero on the others.
    fn direction(&mut self, g: &[f64], free: Option<&[bool]>, d: &mut [f64]) {
        let is_free = |i: usize| free.is_none_or(|m| m[i]);
        for (i, (di, gi)) in d.iter_mut().zip(g).enumerate() {
            *di = if is_free(i) { *gi } else { 0.0 };
        }
        self.alpha.clear();
        self.rho.clear();
        for (s, y) in &self.pairs {
            let sy = dot_masked(s, y, free);
            let yy = dot_masked(y, y, free);
            self.rho.push(if sy > f64::EPSILON * yy && sy > 0.0 {
                1.0 / sy
            } else {
                0.0
            });
        }
        for ((s, y), &rho) in self.pairs.iter().zip(&self.rho).rev() {
            let a = if rho > 0.0 {
                rho * dot_masked(s, d, free)
            } else {
                0.0
            };
            self.alpha.push(a);
            if a != 0.0 {
                for (i, (di, yi)) in d.iter_mut().zip(y).enumerate() {
                    if is_free(i) {
                        *di -= a * yi;
                    }
                }
            }
        }
        self.alpha.reverse();
        let gamma = self
            .pairs
            .iter()
            .zip(&self.rho)
            .rev()
            .find(|(_, rho)| **rho > 0.0)
            .map(|((_, y), rho)| 1.0 / (rho * dot_masked(y, y, free)))
            .filter(|g| g.is_finite() && *g > 0.0)
            .unwrap_or(1.0);
        d.iter_mut().for_each(|v| *v *= gamma);
        for (((s, y), &rho), &a) in self.pairs.iter().zip(&self.rho).zip(&self.alpha) {
            if rho == 0.0 {
                continue;
            }
            let b = rho * dot_masked(y, d, free);
            for (i, (di, si)) in d.iter_mut().zip(s).enumerate() {
                if is_free(i) {
                    *di += si * (a - b);
                }
            }
        }
        d.iter_mut().for_each(|v| *v = -*v);
    }
}

/// Point on the line: step, value, directional derivative.
#[derive(Debug, Clone, Copy)]
struct Pt {
    a: f64,
    f: f64,
    d: f64,
}

/// Minimiser of the cubic interpolating value and slope at `p` and `q`, if it exists.
fn cubic_min(p: Pt, q: Pt) -> Option<f64> {
    let d1 = p.d + q.d - 3.0 * (p.f - q.f) / (p.a - q.a);
    let disc = d1 * d1 - p.d * q.d;
    if disc.is_nan() || disc < 0.0 {
        return None;
    }
    let d2 = (q.a - p.a).signum() * disc.sqrt();
    let t = q.a - (q.a - p.a) * (q.d + d2 - d1) / (q.d - p.d + 2.0 * d2);
    t.is_finite().then_some(t)
}

/// Work buffers of the line searches.
struct Buffers {
    x_new: Vec<f64>,
    g_new: Vec<f64>,
    x_lo: Vec<f64>,
    g_lo: Vec<f64>,
}

/// Strong-Wolfe line search from `x` along `d` (`dg0 = gᵀd < 0`). On success the accepted point
/// and its gradient are in `buf.x_new` / `buf.g_new` and its value is returned.
#[allow(clippy::too_many_arguments)]
fn strong_wolfe<F: FnMut(&[f64], &mut [f64]) -> f64>(
    obj: &mut Objective<F>,
    x: &[f64],
    fx: f64,
    d: &[f64],
    dg0: f64,
    alpha0: f64,
    cfg: &LbfgsConfig,
    buf: &mut Buffers,
) -> Option<f64> {
    let Buffers {
        x_new,
        g_new,
        x_lo,
        g_lo,
    } = buf;
    let eval = |obj: &mut Objective<F>, a: f64, xt: &mut [f64], gt: &mut [f64]| -> Option<Pt> {
        for ((xi, &x0), &di) in xt.iter_mut().zip(x).zip(d) {
            *xi = x0 + a * di;
        }
        let f = obj.eval(xt, gt)?;
        Some(Pt {
            a,
            f,
            d: dot(gt, d),
        })
    };
    let armijo = |p: Pt| p.f <= fx + cfg.c1 * p.a * dg0;
    let curvature = |p: Pt| p.d.abs() <= -cfg.c2 * dg0;
    // Approximate Wolfe (Hager & Zhang): once f no longer resolves the decrease, accept a
    // point whose value is within rounding noise and whose slope satisfies the curvature test.
    let noisy_wolfe = |p: Pt| p.f <= fx + F_NOISE * fx.abs() && curvature(p);

    // Bracketing phase. `lo` is the best point satisfying sufficient decrease (a = 0 is x).
    let mut lo = Pt {
        a: 0.0,
        f: fx,
        d: dg0,
    };
    let mut lo_stored = false;
    let mut a = alpha0;
    let mut a_max = f64::INFINITY;
    let mut hi: Option<Pt> = None;
    let mut trials = 0;
    while trials < cfg.max_line_search && obj.evals < cfg.max_evals {
        trials += 1;
        let Some(p) = eval(obj, a, x_new, g_new) else {
            a_max = a;
            a = lo.a + 0.5 * (a - lo.a);
            continue;
        };
        if noisy_wolfe(p) {
            return Some(p.f);
        }
        if !armijo(p) || (lo.a > 0.0 && p.f >= lo.f) {
            hi = Some(p);
            break;
        }
        if curvature(p) {
            return Some(p.f);
        }
        if p.d >= 0.0 {
            hi = Some(lo);
            lo = p;
            x_lo.copy_from_slice(x_new);
            g_lo.copy_from_slice(g_new);
            lo_stored = true;
            break;
        }
        lo = p;
        x_lo.copy_from_slice(x_new);
        g_lo.copy_from_slice(g_new);
        lo_stored = true;
        a = if a_max.is_finite() {
            0.5 * (a + a_max)
        } else {
            2.0 * a
        };
    }

    // Zoom phase: the interval between `lo` and `hi` contains strong-Wolfe points.
    if let Some(mut hi) = hi {
        while trials < cfg.max_line_search && obj.evals < cfg.max_evals {
            trials += 1;
            let (left, right) = if lo.a < hi.a {
                (lo.a, hi.a)
            } else {
                (hi.a, lo.a)
            };
            let width = right - left;
            if width <= 1e-16 * right.max(1e-300) {
                break;
            }
            let mid = 0.5 * (left + right);
            let a = if hi.f.is_finite() {
                cubic_min(lo, hi)
                    .filter(|t| *t >= left + 0.1 * width && *t <= right - 0.1 * width)
                    .unwrap_or(mid)
            } else {
                mid
            };
            let Some(p) = eval(obj, a, x_new, g_new) else {
                hi = Pt {
                    a,
                    f: f64::INFINITY,
                    d: f64::NAN,
                };
                continue;
            };
            if noisy_wolfe(p) {
                return Some(p.f);
            }
            if !armijo(p) || p.f >= lo.f {
                hi = p;
            } else {
                if curvature(p) {
                    return Some(p.f);
                }
                if p.d * (hi.a - lo.a) >= 0.0 {
                    hi = lo;
                }
                lo = p;
                x_lo.copy_from_slice(x_new);
                g_lo.copy_from_slice(g_new);
                lo_stored = true;
            }
        }
    }
    // No strong-Wolfe point within the budget: fall back to the best decreasing point.
    if lo_stored && lo.f < fx {
        x_new.copy_from_slice(x_lo);
        g_new.copy_from_slice(g_lo);
        Some(lo.f)
    } else {
        None
    }
}

fn check_start(x0: &[f64], value: Option<f64>, fx_raw: f64, g: &[f64]) -> Result<f64> {
    if x0.is_empty() {
        return Err(Error::EmptyParameters);
    }
    match value {
        Some(v) => Ok(v),
        None if !fx_raw.is_finite() => Err(Error::NonFiniteObjective {
            what: "objective",
            value: fx_raw,
        }),
        None => {
            let value = g
                .iter()
                .copied()
                .find(|c| !c.is_finite())
                .unwrap_or(f64::NAN);
            Err(Error::NonFiniteObjective {
                what: "gradient",
                value,
            })
        }
    }
}

/// Minimises `f` from `x0` with L-BFGS and a strong-Wolfe line search (module docs).
///
/// `f(x, grad)` returns `f(x)` and writes `∇f(x)` into `grad` (same length as `x`). Errors for
/// an invalid configuration, an empty `x0`, or a non-finite value or gradient at `x0`. Not
/// reaching a tolerance is not an error: check [`LbfgsResult::converged`].
pub fn minimize_lbfgs<F>(f: F, x0: &[f64], cfg: &LbfgsConfig) -> Result<LbfgsResult>
where
    F: FnMut(&[f64], &mut [f64]) -> f64,
{
    cfg.validate()?;
    if x0.is_empty() {
        return Err(Error::EmptyParameters);
    }
    let n = x0.len();
    let mut obj = Objective { f, evals: 0 };
    let mut x = x0.to_vec();
    let mut g = vec![0.0; n];
    let raw = (obj.f)(&x, &mut g);
    obj.evals += 1;
    let ok = (raw.is_finite() && g.iter().all(|c| c.is_finite())).then_some(raw);
    let mut fx = check_start(x0, ok, raw, &g)?;

    let mut mem = Memory::new(cfg.memory);
    let mut d = vec![0.0; n];
    let mut buf = Buffers {
        x_new: vec![0.0; n],
        g_new: vec![0.0; n],
        x_lo: vec![0.0; n],
        g_lo: vec![0.0; n],
    };
    let mut iterations = 0;
    let termination = loop {
        let gnorm = norm(&g);
        if gnorm <= cfg.grad_tol {
            break Termination::GradientTolerance;
        }
        if iterations >= cfg.max_iters {
            break Termination::MaxIterations;
        }
        if obj.evals >= cfg.max_evals {
            break Termination::MaxEvaluations;
        }
        mem.direction(&g, None, &mut d);
        let mut dg = dot(&d, &g);
        if !dg.is_finite() || dg >= 0.0 {
            mem.clear();
            d.iter_mut().zip(&g).for_each(|(di, gi)| *di = -gi);
            dg = -gnorm * gnorm;
        }
        let alpha0 = if mem.is_empty() {
            (1.0 / gnorm).min(1.0)
        } else {
            1.0
        };
        match strong_wolfe(&mut obj, &x, fx, &d, dg, alpha0, cfg, &mut buf) {
            Some(f_new) => {
                mem.push(&x, &buf.x_new, &g, &buf.g_new);
                std::mem::swap(&mut x, &mut buf.x_new);
                std::mem::swap(&mut g, &mut buf.g_new);
                let f_prev = std::mem::replace(&mut fx, f_new);
                iterations += 1;
                if cfg.f_tol > 0.0 && f_prev - fx <= cfg.f_tol * f_prev.abs().max(fx.abs()).max(1.0)
                {
                    break Termination::FunctionTolerance;
                }
            }
            None if !mem.is_empty() => mem.clear(),
            None if obj.evals >= cfg.max_evals => break Termination::MaxEvaluations,
            None => break Termination::LineSearchFailed,
        }
    };
    let grad_norm = norm(&g);
    Ok(LbfgsResult {
        x,
        value: fx,
        grad: g,
        grad_norm,
        iterations,
        evaluations: obj.evals,
        converged: matches!(
            termination,
            Termination::GradientTolerance | Termination::FunctionTolerance
        ),
        termination,
    })
}

fn project(x: &mut [f64], lower: &[f64], upper: &[f64]) {
    for ((xi, &l), &u) in x.iter_mut().zip(lower).zip(upper) {
        *xi = xi.clamp(l, u);
    }
}

fn projected_gradient_norm(x: &[f64], g: &[f64], lower: &[f64], upper: &[f64]) -> f64 {
    let pg: Vec<f64> = x
        .iter()
        .zip(g)
        .zip(lower.iter().zip(upper))
        .map(|((&xi, &gi), (&l, &u))| (xi - gi).clamp(l, u) - xi)
        .collect();
    norm(&pg)
}

/// Minimises `f` over the box `lower ≤ x ≤ upper` with projected L-BFGS (module docs).
///
/// Bounds may be infinite. `x0` is projected into the box first. Errors for an invalid
/// configuration, mismatched lengths, `lower[i] > upper[i]` or NaN bounds, an empty `x0`, or a
/// non-finite value or gradient at the projected starting point. `grad_norm` in the result is
/// the norm of the projected gradient `P(x − g) − x`.
pub fn minimize_lbfgs_box<F>(
    f: F,
    x0: &[f64],
    lower: &[f64],
    upper: &[f64],
    cfg: &LbfgsConfig,
) -> Result<LbfgsResult>
where
    F: FnMut(&[f64], &mut [f64]) -> f64,
{
    cfg.validate()?;
    if x0.is_empty() {
        return Err(Error::EmptyParameters);
    }
    let n = x0.len();
    if lower.len() != n {
        return Err(Error::LengthMismatch {
            what: "lower",
            expected: n,
            got: lower.len(),
        });
    }
    if upper.len() != n {
        return Err(Error::LengthMismatch {
            what: "upper",
            expected: n,
            got: upper.len(),
        });
    }
    if let Some(index) =
        (0..n).find(|&i| lower[i].is_nan() || upper[i].is_nan() || lower[i] > upper[i])
    {
        return Err(Error::InvalidBounds {
            index,
            lower: lower[index],
            upper: upper[index],
        });
    }
    let mut obj = Objective { f, evals: 0 };
    let mut x = x0.to_vec();
    project(&mut x, lower, upper);
    let mut g = vec![0.0; n];
    let raw = (obj.f)(&x, &mut g);
    obj.evals += 1;
    let ok = (raw.is_finite() && g.iter().all(|c| c.is_finite())).then_some(raw);
    let mut fx = check_start(x0, ok, raw, &g)?;

    let mut mem = Memory::new(cfg.memory);
    let mut d = vec![0.0; n];
    let mut free = vec![true; n];
    let mut xt = vec![0.0; n];
    let mut gt = vec![0.0; n];
    let mut iterations = 0;
    let termination = loop {
        let pg_norm = projected_gradient_norm(&x, &g, lower, upper);
        if pg_norm <= cfg.grad_tol {
            break Termination::GradientTolerance;
        }
        if iterations >= cfg.max_iters {
            break Termination::MaxIterations;
        }
        if obj.evals >= cfg.max_evals {
            break Termination::MaxEvaluations;
        }
        for i in 0..n {
            let at_lower = x[i] <= lower[i] && g[i] > 0.0;
            let at_upper = x[i] >= upper[i] && g[i] < 0.0;
            free[i] = lower[i] < upper[i] && !at_lower && !at_upper;
        }
        mem.direction(&g, Some(&free), &mut d);
        let mut dg = dot(&d, &g);
        if !dg.is_finite() || dg >= 0.0 {
            mem.clear();
            for i in 0..n {
                d[i] = if free[i] { -g[i] } else { 0.0 };
            }
            dg = dot(&d, &g);
        }
        let mut alpha = if mem.is_empty() {
            (1.0 / pg_norm).min(1.0)
        } else {
            1.0
        };
        let mut accepted = None;
        for _ in 0..cfg.max_line_search {
            if obj.evals >= cfg.max_evals {
                break;
            }
            for i in 0..n {
                xt[i] = (x[i] + alpha * d[i]).clamp(lower[i], upper[i]);
            }
            if xt == x {
                break;
            }
            let decrease: f64 = g
                .iter()
                .zip(&xt)
                .zip(&x)
                .map(|((gi, a), b)| gi * (a - b))
                .sum();
            match obj.eval(&xt, &mut gt) {
                Some(ft) if ft <= fx + cfg.c1 * decrease && ft < fx => {
                    accepted = Some(ft);
                    break;
                }
                // Within rounding noise of f: accept if the projected gradient shrinks.
                Some(ft)
                    if ft <= fx + F_NOISE * fx.abs()
                        && projected_gradient_norm(&xt, &gt, lower, upper) < pg_norm =>
                {
                    accepted = Some(ft);
                    break;
                }
                Some(ft) => {
                    // Quadratic interpolation along the (unprojected) ray, safeguarded.
                    let q = -dg * alpha * alpha / (2.0 * (ft - fx - dg * alpha));
                    alpha = if q.is_finite() {
                        q.clamp(0.1 * alpha, 0.5 * alpha)
                    } else {
                        0.5 * alpha
                    };
                }
                None => alpha *= 0.5,
            }
        }
        match accepted {
            Some(ft) => {
                mem.push(&x, &xt, &g, &gt);
                std::mem::swap(&mut x, &mut xt);
                std::mem::swap(&mut g, &mut gt);
                let f_prev = std::mem::replace(&mut fx, ft);
                iterations += 1;
                if cfg.f_tol > 0.0 && f_prev - fx <= cfg.f_tol * f_prev.abs().max(fx.abs()).max(1.0)
                {
                    break Termination::FunctionTolerance;
                }
            }
            None if !mem.is_empty() => mem.clear(),
            None if obj.evals >= cfg.max_evals => break Termination::MaxEvaluations,
            None => break Termination::LineSearchFailed,
        }
    };
    let grad_norm = projected_gradient_norm(&x, &g, lower, upper);
    Ok(LbfgsResult {
        x,
        value: fx,
        grad: g,
        grad_norm,
        iterations,
        evaluations: obj.evals,
        converged: matches!(
            termination,
            Termination::GradientTolerance | Termination::FunctionTolerance
        ),
        termination,
    })
}
