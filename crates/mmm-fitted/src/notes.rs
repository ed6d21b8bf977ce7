//! What a reader of a fitted model should know before using it, in words: the caveats of its
//! kind of fit, the hints for decisions, the channels the data leave open, the regions left out,
//! and the fit's self-check. Shown by `dcmmm fit`, the decision commands and the report.

use crate::model::{FittedModel, MIN_REGION_FIT_WEEKS};

impl FittedModel {
    /// What a reader of this model's attribution should know, measured on the simulator
    /// (docs/model.md, *Defaults and how they were chosen*): shown by `dcmmm fit` and in the report.
    pub fn caveats(&self) -> Vec<&'static str> {
        let one_region = self.regions.len() == 1;
        let converged = self.trained_without_validation();
        let mut caveats = Vec::new();
        if one_region {
            caveats.push(SINGLE_REGION_CAVEAT);
        }
        if converged {
            caveats.push(CONVERGED_CAVEAT);
        }
        if one_region && converged {
            caveats.push(CONVERGED_SINGLE_REGION_CAVEAT);
        }
        caveats
    }

    /// A hint for the commands that turn this fit into decisions (`curves`, `optimize`,
    /// `scenarios`): an early-stopped joint fit of a regional panel, where a converged fit
    /// measured better (docs/analysis.md, *Regret under the simulator's truth*). `None` for converged and one-region fits, and for
    /// two-stage fits, whose media part training does not change.
    pub fn decision_hint(&self) -> Option<&'static str> {
        let two_stage = self.screened_media.as_ref().is_some_and(|m| m.used);
        (self.regions.len() > 1 && !self.trained_without_validation() && !two_stage)
            .then_some(EARLY_STOPPED_DECISION_HINT)
    }

    /// A note naming the channels whose response the training data leave open
    /// ([`ScreenedMedia::undetermined`]) with their evidence, for `dcmmm fit` and the commands
    /// that turn the fit into decisions; `None` when there are none or the media part was not
    /// screened (or was saved without evidence).
    pub fn undetermined_note(&self) -> Option<String> {
        let media = self.screened_media.as_ref().filter(|m| m.used)?;
        let open: Vec<String> = media
            .undetermined()
            .into_iter()
            .map(|c| format!("{} ({})", self.channels[c], media.evidence[c].brief()))
            .collect();
        (!open.is_empty()).then(|| {
            format!(
                "the data leave the response of {} open: their curves and marginal ROI are the \
                 best guess among near-equal fits, so read any change recommended for them as the \
                 least certain; a heavy-up or scale-down test ([[lift_test]] multiplier) \
                 measures the slope of a curve, a test of the contribution does not \
                 (summary.json \"evidence\", docs/model.md, *How far to trust the attribution*)",
                open.join(", ")
            )
        })
    }

    /// What the fit found about itself that a user should know before trusting its forecast:
    /// training that stopped at the first epoch (the fit is its starting point), and a
    /// validation forecast worse than the best naive baseline on within-region R² or wMAPE.
    /// Recorded in [`FittedModel::warnings`] by `fit_panel`.
    pub fn self_check(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        let validated = self.config.train.validation_weeks.is_some_and(|v| v > 0);
        if validated && self.best_epochs <= 1 {
            warnings.push(format!(
                "training stopped at epoch {}: no epoch improved the validation loss on the \
                 starting point, so the fit is little more than its initialisation; compare its \
                 forecast with the naive baselines before using it",
                self.best_epochs
            ));
        }
        let Some(v) = &self.validation else {
            return warnings;
        };
        let best = |key: fn(&mmm_eval::FitMetrics) -> f64, higher: bool| {
            v.baselines
                .iter()
                .filter(|b| key(&b.holdout).is_finite())
                .max_by(|a, b| {
                    let o = key(&a.holdout).total_cmp(&key(&b.holdout));
                    if higher { o } else { o.reverse() }
                })
        };
        let within = best(|m| m.r2_within, true);
        let wmape = best(|m| m.wmape, false);
        let worse_within = within.filter(|b| v.model.r2_within < b.holdout.r2_within);
        let worse_wmape = wmape.filter(|b| v.model.wmape > b.holdout.wmape);
        if worse_within.is_some() || worse_wmape.is_some() {
            let weeks = &self.split.validation;
            let name = |i: usize| {
                self.weeks
                    .get(i)
                    .map_or_else(String::new, ToString::to_string)
            };
            let mut parts = Vec::new();
            if let Some(b) = within {
                parts.push(format!(
                    "within-region R² {:.3} against {:.3} ({})",
                    v.model.r2_within, b.holdout.r2_within, b.name
                ));
            }
            if let Some(b) = wmape {
                parts.push(format!(
                    "wMAPE {:.3} against {:.3} ({})",
                    v.model.wmape, b.holdout.wmape, b.name
                ));
            }
            warnings.push(format!(
                "on its validation slice (weeks {} to {}, forecast without learning from them) the \
                 fit is worse than a naive per-region baseline: {}; do not expect its forecasts \
                 to beat that baseline",
                name(weeks.start),
                name(weeks.end.saturating_sub(1)),
                parts.join(", ")
            ));
        }
        warnings
    }

    /// A note naming the regions left out of training ([`FittedModel::left_out`]) and how they
    /// are forecast; `None` when every region was trained.
    pub fn left_out_note(&self) -> Option<String> {
        (!self.left_out.is_empty()).then(|| {
            format!(
                "{} region(s) left out of training, with fewer than {MIN_REGION_FIT_WEEKS} \
                 observed weeks before the validation slice: {}; they are forecast from the \
                 shared terms (trend, season, media, controls) at the level of their own training \
                 mean, or of the pooled training mean when they have no training week \
                 (docs/model.md, *Training*)",
                self.left_out.len(),
                self.left_out.join(", ")
            )
        })
    }

    /// Whether training ran all epochs without a validation slice (`dcmmm fit --converged`).
    fn trained_without_validation(&self) -> bool {
        self.config.train.validation_weeks == Some(0)
    }
}

/// The caveat of a one-region (national) fit.
const SINGLE_REGION_CAVEAT: &str = "one region: a single time series identifies the channels' \
effects only weakly — on simulated national panels the model's contribution shares were no closer to \
the truth than an equal split, and some budget reallocations did worse than keeping the historical \
split (docs/results.md). Read ROI, curves and allocations as rough, or sample the posterior \
(`dcmmm fit --posterior`) for intervals; lift tests ([[lift_test]] in fit.toml) improve the shares, regional data the allocations.";

/// The caveat of a fit trained without a validation slice (`dcmmm fit --converged`).
const CONVERGED_CAVEAT: &str = "trained to convergence (no validation slice): such fits forecast worse \
than early-stopped ones (on the reference panel behind the naive baseline) — on regional panels fitted \
jointly use this fit for curves and optimize, an early-stopped fit for predict; a two-stage fit's media \
part does not depend on it (docs/analysis.md, *Regret under the simulator's truth*).";

/// The hint of [`FittedModel::decision_hint`].
const EARLY_STOPPED_DECISION_HINT: &str = "this joint fit was stopped early, for forecasting; on \
regional simulations the curves of a joint fit trained to convergence (`dcmmm fit --converged`) gave \
better budget allocations, and the default two-stage fit better still (docs/analysis.md, *Regret under the simulator's truth*).";

/// The caveat of a one-region fit trained to convergence.
const CONVERGED_SINGLE_REGION_CAVEAT: &str = "one region trained to convergence: on simulated national \
panels this made budget reallocations worse than the early-stopped fit's more often (docs/results.md); \
keep the default fit for decisions on one region.";
