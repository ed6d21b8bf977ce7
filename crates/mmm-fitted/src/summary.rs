//! `summary.json`: what the fit says each channel returned over the history, with the notes that
//! say how to read it — one typed object, computed once from the fitted model
//! ([`Summary::compute`]) and written by `dcmmm fit`.
//!
//! The channels' figures are the attribution of [`FittedModel::channel_summaries`] (observed
//! region-weeks, target units); with stability refits each channel carries its [min, max] over the
//! fits, and with a two-stage fit the media screen's evidence.

use crate::attribution::observed_sum;
use crate::calibration::LiftTestCheck;
use crate::model::FittedModel;
use crate::stability::{Spread, Stability};
use crate::{Evidence, Result};
use mmm_data::Panel;
use mmm_model::Decomposition;
use serde::Serialize;
use std::collections::BTreeMap;

/// Everything `summary.json` holds (keys in alphabetical order when written).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// Identifier of the `dcmmm fit` run ([`FittedModel::run_id`]).
    pub run_id: String,
    /// Per channel (by name), its attribution.
    pub channels: BTreeMap<String, ChannelEntry>,
    /// Each configured lift test beside the model's answer.
    pub lift_tests: Vec<LiftTestCheck>,
    /// The summed direct contribution of every channel, target units.
    pub media_contribution: f64,
    /// `media_contribution` as a share of the summed prediction (0 when that is 0).
    pub media_share_of_prediction: f64,
    /// Whether the data gave spend columns (ROI per unit of spend) or not (per unit of media).
    pub spend_columns_given: bool,
    /// The unit of the ROI figures, in words.
    pub roi_units: &'static str,
    /// How to read the figures, key by key.
    pub notes: Notes,
    /// What a reader of this fit's attribution should know ([`FittedModel::caveats`]).
    pub caveats: Vec<&'static str>,
    /// Regions of the panel.
    pub regions: usize,
    /// Weeks of the panel.
    pub weeks: usize,
}

/// One channel of [`Summary::channels`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChannelEntry {
    /// Direct contribution, target units.
    pub contribution: f64,
    /// Direct + DAG-mediated contribution, target units.
    pub total_contribution: f64,
    /// Spend (the media column when no spend column is given).
    pub spend: f64,
    /// Direct contribution per unit of spend; `None` without spend.
    pub roi: Option<f64>,
    /// Total contribution per unit of spend; `None` without spend.
    pub total_roi: Option<f64>,
    /// Marginal ROI of the direct effect at current spend; `None` without spend.
    pub mroi: Option<f64>,
    /// Share of the summed direct media contribution.
    pub share: f64,
    /// [min, max] of the share over the stability refits (absent without refits).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub share_range: Option<[f64; 2]>,
    /// [min, max] of the ROI over the refits (absent without refits, `null` without spend).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roi_range: Option<Option<[f64; 2]>>,
    /// [min, max] of the marginal ROI over the refits (as `roi_range`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mroi_range: Option<Option<[f64; 2]>>,
    /// How clearly the training data determine the channel's media part (two-stage fits).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Evidence>,
    /// Whether the data leave the channel's response open (two-stage fits,
    /// `ScreenedMedia::undetermined`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub undetermined: Option<bool>,
}

/// How to read [`Summary`], key by key; the optional notes appear with what they describe.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Notes {
    /// Reading `contribution`.
    pub contribution: &'static str,
    /// Reading `total_contribution`.
    pub total_contribution: &'static str,
    /// Reading `mroi`.
    pub mroi: &'static str,
    /// Reading `share`.
    pub share: &'static str,
    /// Reading `evidence` (two-stage fits with evidence).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<&'static str>,
    /// Reading `undetermined` (as `evidence`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub undetermined: Option<&'static str>,
    /// Reading the `*_range` keys (with stability refits).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub share_range: Option<String>,
    /// Reading `lift_tests` (with lift tests).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lift_tests: Option<&'static str>,
}

impl Summary {
    /// The summary of `fitted` on its history `panel`, given the decomposition
    /// [`FittedModel::predict`] returned for it and the stability assessment when refits ran.
    ///
    /// # Errors
    /// The model cannot be run on the panel, or a lift test does not match it.
    pub fn compute(
        fitted: &FittedModel,
        panel: &Panel,
        d: &Decomposition,
        stability: Option<&Stability>,
    ) -> Result<Self> {
        let summaries = fitted.channel_summaries(panel, d)?;
        let media_total: f64 = summaries.iter().map(|c| c.contribution).sum();
        let prediction_total: f64 = fitted
            .components(d)
            .iter()
            .map(|(_, v)| observed_sum(panel, *v))
            .sum();
        let spend_given = panel.spend.is_some();
        let screened = fitted.screened_media.as_ref().filter(|m| m.used);
        let channels = summaries
            .iter()
            .enumerate()
            .map(|(c, s)| {
                let range = |r: Option<Spread>| r.map(|r| [r.min, r.max]);
                let spread = stability.map(|st| &st.channels[c]);
                let evidence = screened.and_then(|m| m.evidence.get(c)).cloned();
                let entry = ChannelEntry {
                    contribution: s.contribution,
                    total_contribution: s.total_contribution,
                    spend: s.spend,
                    roi: s.roi,
                    total_roi: s.total_roi,
                    mroi: s.mroi,
                    share: s.share,
                    share_range: spread.and_then(|ch| range(Some(ch.share))),
                    roi_range: spread.map(|ch| range(ch.roi)),
                    mroi_range: spread.map(|ch| range(ch.mroi)),
                    undetermined: evidence
                        .as_ref()
                        .map(|_| screened.is_some_and(|m| m.undetermined().contains(&c))),
                    evidence,
                };
                (s.channel.clone(), entry)
            })
            .collect();
        let with_evidence = screened.is_some_and(|m| !m.evidence.is_empty());
        let lift_tests = fitted.lift_test_checks(panel)?;
        Ok(Summary {
            run_id: fitted.run_id.clone(),
            channels,
            media_contribution: media_total,
            media_share_of_prediction: if prediction_total != 0.0 {
                media_total / prediction_total
            } else {
                0.0
            },
            spend_columns_given: spend_given,
            roi_units: if spend_given {
                "target units per unit of spend"
            } else {
                "target units per unit of the media column (spend when the media are spend)"
            },
            notes: Notes {
                contribution: "direct contribution of the channel over all observed region-weeks, target units",
                total_contribution: "direct + DAG-mediated effect: drop in the prediction when the channel's activity is removed and the change propagates along the channel DAG",
                mroi: "extra target per extra unit of spend when the channel's spend is scaled up proportionally in every week, at current spend (direct effect)",
                share: "share of the total direct media contribution",
                evidence: with_evidence.then_some(EVIDENCE_NOTE),
                undetermined: with_evidence.then_some(UNDETERMINED_NOTE),
                share_range: stability.map(|st| {
                    format!(
                        "[min, max] over this fit and {} {} (stability.json); wide = the data do not pin the number down",
                        st.fits.len() - 1,
                        st.refits_described()
                    )
                }),
                lift_tests: (!lift_tests.is_empty()).then_some(
                    "each configured experiment beside the model's direct contribution of the channel over the tested region-weeks; z = (model − lift) / se",
                ),
            },
            lift_tests,
            caveats: fitted.caveats(),
            regions: panel.n_regions(),
            weeks: panel.n_weeks(),
        })
    }
}

/// How to read `evidence` ([`Notes::evidence`]).
const EVIDENCE_NOTE: &str = "how clearly the training data determine the channel's media part (media screen, docs/model.md, *How far to trust the attribution*), in χ² units: effect = how much worse the fit is without the channel (9 = three standard errors); kernel / curve = how much worse with the default carryover / saturation; kernels_alike / curves_alike = how many of the screen's 56 kernels / 18 curves fit within 2.3 of the best";

/// How to read `undetermined` ([`Notes::undetermined`]).
const UNDETERMINED_NOTE: &str = "the data leave this channel's response open (effect < 9, or a quarter of the kernels or of the curves fit alike): its curve and marginal ROI are the best guess among near-equal fits, so treat the optimiser's moves of it with caution; a heavy-up or scale-down test ([[lift_test]] multiplier) measures the slope of its curve, a test of its contribution does not";
