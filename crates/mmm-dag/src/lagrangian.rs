//! The augmented-Lagrangian schedule for the equality constraint `h(W) = 0`.
//!
//! Any smooth loss `F(W)` becomes `F(W) + ρ/2·h(W)² + α·h(W)`, whose extra gradient is
//! `(ρ·h + α)·∇h(W)` ([`AugmentedLagrangian::penalty_grad_scale`]). After each (approximate)
//! inner minimisation, the NOTEARS dual update is applied ([`AugmentedLagrangian::update`]):
//!
//! ```text
//! if h > progress · h_prev:  ρ ← min(ρ · rho_factor, rho_max)
//! α ← α + ρ · h
//! h_prev ← h
//! ```
//!
//! The loop stops when `h ≤ h_tol` or `ρ ≥ rho_max` ([`AugmentedLagrangian::converged`]).

/// State and settings of the augmented-Lagrangian method for `h(W) = 0`.
#[derive(Debug, Clone, PartialEq)]
pub struct AugmentedLagrangian {
    /// Quadratic penalty weight ρ (> 0).
    pub rho: f64,
    /// Lagrange multiplier estimate α.
    pub alpha: f64,
    /// Upper bound on ρ; reaching it ends the schedule.
    pub rho_max: f64,
    /// Factor by which ρ grows when `h` did not shrink enough (10 in NOTEARS).
    pub rho_factor: f64,
    /// Required shrink factor of `h` between updates (0.25 in NOTEARS).
    pub progress: f64,
    /// Constraint tolerance: `h ≤ h_tol` counts as acyclic.
    pub h_tol: f64,
    /// `h` at the previous [`update`](Self::update) (`+∞` before the first one).
    pub h_prev: f64,
}

impl Default for AugmentedLagrangian {
    /// NOTEARS defaults: ρ = 1, α = 0, ρ_max = 1e16, factor 10, progress 0.25, h_tol = 1e-8.
    fn default() -> Self {
        Self {
            rho: 1.0,
            alpha: 0.0,
            rho_max: 1e16,
            rho_factor: 10.0,
            progress: 0.25,
            h_tol: 1e-8,
            h_prev: f64::INFINITY,
        }
    }
}

impl AugmentedLagrangian {
    /// A schedule starting at `rho` with tolerance `h_tol` and the other settings at their defaults.
    pub fn new(rho: f64, h_tol: f64) -> Self {
        Self {
            rho,
            h_tol,
            ..Self::default()
        }
    }

    /// The penalty `ρ/2·h² + α·h` to add to the loss.
    pub fn penalty(&self, h: f64) -> f64 {
        0.5 * self.rho * h * h + self.alpha * h
    }

    /// `ρ·h + α`: the factor by which `∇h(W)` enters the gradient of the penalised loss.
    pub fn penalty_grad_scale(&self, h: f64) -> f64 {
        self.rho * h + self.alpha
    }

    /// `true` if the penalty weight would grow at this `h` (insufficient progress).
    pub fn needs_more_penalty(&self, h: f64) -> bool {
        h > self.progress * self.h_prev
    }

    /// NOTEARS dual step: raise ρ if `h > progress·h_prev`, then `α ← α + ρh`, `h_prev ← h`.
    pub fn update(&mut self, h: f64) {
        if self.needs_more_penalty(h) {
            self.rho = (self.rho * self.rho_factor).min(self.rho_max);
        }
        self.alpha += self.rho * h;
        self.h_prev = h;
    }

    /// `true` once `h ≤ h_tol` or ρ has reached `rho_max` (the NOTEARS stopping rule).
    pub fn converged(&self, h: f64) -> bool {
        h <= self.h_tol || self.rho >= self.rho_max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn penalty_and_scale_match_formulas() {
        let al = AugmentedLagrangian {
            rho: 4.0,
            alpha: 0.5,
            ..Default::default()
        };
        assert_eq!(al.penalty(0.5), 0.5 * 4.0 * 0.25 + 0.25);
        assert_eq!(al.penalty_grad_scale(0.5), 2.5);
        // penalty_grad_scale is d penalty / dh
        let e = 1e-6;
        let fd = (al.penalty(0.5 + e) - al.penalty(0.5 - e)) / (2.0 * e);
        assert!((fd - al.penalty_grad_scale(0.5)).abs() < 1e-8);
    }

    #[test]
    fn update_follows_the_notears_rule() {
        let mut al = AugmentedLagrangian::default();
        al.update(1.0); // first update: h_prev = ∞, progress ok, rho stays
        assert_eq!(al.rho, 1.0);
        assert_eq!(al.alpha, 1.0);
        al.update(0.5); // 0.5 > 0.25·1 → rho × 10, alpha += 10·0.5
        assert_eq!(al.rho, 10.0);
        assert_eq!(al.alpha, 6.0);
        al.update(0.1); // 0.1 ≤ 0.25·0.5 → rho stays
        assert_eq!(al.rho, 10.0);
        assert_eq!(al.alpha, 7.0);
        assert!(!al.converged(0.1));
        assert!(al.converged(1e-9));
    }

    #[test]
    fn rho_is_capped_and_cap_ends_the_schedule() {
        let mut al = AugmentedLagrangian {
            rho: 1e15,
            rho_max: 5e15,
            h_prev: 1.0,
            ..Default::default()
        };
        al.update(1.0);
        assert_eq!(al.rho, 5e15);
        assert!(al.converged(1.0));
    }
}
