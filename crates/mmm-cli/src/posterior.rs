//! `dcmmm fit --posterior`: after the point fit, sample the posterior of the model's
//! interpretable part with NUTS (`mmm-posterior`, docs/model.md "Posterior"), check the
//! diagnostics, and hand the per-channel posterior means and 90 % intervals, the draws and the
//! diagnostics to the output files (`summary.json`, `posterior.csv`, `metrics.json`), and a
//! thinned set of the draws as model parameters to `posterior_draws.json` (docs/analysis.md,
//! "Decisions under uncertainty").

use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};
use mmm_analysis::MAX_DRAWS;
use mmm_fitted::FittedModel;
use mmm_posterior::diagnostics::{
    Diagnostics, MAX_RHAT, MIN_ESS_PER_CHAIN, ess_bulk, ess_tail, rhat,
};
use mmm_posterior::{
    BuildOptions, ChannelDraw, ChannelInterval, ChannelPrior, Interval, Likelihood, Priors,
    Settings,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::path::Path;

/// The `[inference]` table of fit.toml.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct InferenceConfig {
    /// Sample the posterior after the point fit (also `--posterior`).
    pub posterior: bool,
    /// Number of chains (`--chains`).
    pub chains: usize,
    /// Kept draws per chain (`--draws`).
    pub draws: usize,
    /// Tuning draws per chain (`--tune`).
    pub tune: usize,
    /// Mean acceptance probability the step size is tuned to, in (0, 1).
    pub target_accept: f64,
    /// Noise distribution: `{ kind = "normal" }` or `{ kind = "student_t", nu = 5.0 }`.
    pub likelihood: Likelihood,
    /// Hold the point fit's GRU baseline modulation as a fixed offset in the posterior's mean.
    pub gru_offset: bool,
    /// Prior settings (docs/model.md, "Posterior").
    pub priors: Priors,
    /// Users' priors on channels' ROI or contribution (`[[inference.channel_prior]]`).
    #[serde(rename = "channel_prior", skip_serializing_if = "Vec::is_empty")]
    pub channel_priors: Vec<ChannelPrior>,
}

impl Default for InferenceConfig {
    fn default() -> Self {
        let s = Settings::default();
        InferenceConfig {
            posterior: false,
            chains: s.chains,
            draws: s.draws,
            tune: s.tune,
            target_accept: s.target_accept,
            likelihood: Likelihood::default(),
            gru_offset: false,
            priors: Priors::default(),
            channel_priors: Vec::new(),
        }
    }
}

/// What the posterior adds to the outputs.
#[derive(Debug, Clone)]
pub struct PosteriorOutput {
    /// Channel names.
    pub channels: Vec<String>,
    /// Per-channel posterior means and intervals.
    pub intervals: Vec<ChannelInterval>,
    /// `draws[chain][draw][channel]`.
    pub draws: Vec<Vec<Vec<ChannelDraw>>>,
    /// Convergence diagnostics.
    pub diagnostics: Diagnostics,
    /// A thinned set of the draws as full model parameter vectors (`posterior_draws.json`), for
    /// `dcmmm curves` and `dcmmm optimize`.
    pub parameter_draws: mmm_analysis::ParameterDraws,
}

/// Samples the posterior of `fitted` (progress on stderr unless `quiet`) and summarises it.
pub fn run(
    fitted: &FittedModel,
    config: &InferenceConfig,
    seed: u64,
    quiet: bool,
) -> Result<PosteriorOutput> {
    let options = BuildOptions {
        priors: config.priors.clone(),
        likelihood: config.likelihood,
        gru_offset: config.gru_offset,
        channel_priors: config.channel_priors.clone(),
    };
    let (model, init) = mmm_posterior::from_fitted(fitted, &options)?;
    let settings = Settings {
        chains: config.chains,
        draws: config.draws,
        tune: config.tune,
        seed,
        target_accept: config.target_accept,
    };
    settings.validate()?;
    let total = (settings.chains * (settings.tune + settings.draws)) as u64;
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(total)
    };
    bar.set_style(
        ProgressStyle::with_template(
            "posterior (NUTS, {prefix}) [{bar:30}] {pos}/{len} draws {elapsed_precise}",
        )
        .expect("static template")
        .progress_chars("=> "),
    );
    bar.set_prefix(format!(
        "{} chains × ({} tune + {} draws)",
        settings.chains, settings.tune, settings.draws
    ));
    let posterior = mmm_posterior::sample(&model, &init, &settings, &|_, _| bar.inc(1))?;
    bar.finish_and_clear();

    let diagnostics = Diagnostics::assess(&model, &posterior, &settings);
    let draws: Vec<Vec<Vec<ChannelDraw>>> = posterior
        .draws
        .iter()
        .map(|chain| {
            chain
                .iter()
                .map(|theta| mmm_posterior::channel_draws(&model, theta))
                .collect()
        })
        .collect();
    let flat: Vec<Vec<ChannelDraw>> = draws.iter().flatten().cloned().collect();
    let vectors = mmm_analysis::draws::thinned(settings.chains, settings.draws, MAX_DRAWS)
        .into_iter()
        .map(|(chain, draw)| {
            let params = model.model_params(&posterior.draws[chain][draw], &fitted.params)?;
            Ok((chain, draw, params))
        })
        .collect::<Result<Vec<_>>>()?;
    let parameter_draws =
        mmm_analysis::ParameterDraws::from_vectors(&fitted.run_id, &fitted.params, &vectors)?;
    Ok(PosteriorOutput {
        channels: fitted.channels.clone(),
        intervals: mmm_posterior::summarize(&flat),
        draws,
        diagnostics,
        parameter_draws,
    })
}

impl PosteriorOutput {
    /// What the report shows ([`report_summary`]).
    pub fn report_summary(&self) -> mmm_report::PosteriorSummary {
        report_summary(&self.channels, &self.draws, &self.diagnostics)
    }

    /// Replaces each channel's contribution, share, roi and mroi in `summary.json`'s value by the
    /// posterior mean and adds `<name>_ci: [p05, p95]` beside it.
    pub fn amend_summary(&self, summary: &mut serde_json::Value) {
        let ci = |i: &Interval| json!([i.p05, i.p95]);
        for (name, iv) in self.channels.iter().zip(&self.intervals) {
            let Some(entry) = summary["channels"].get_mut(name) else {
                continue;
            };
            entry["contribution"] = json!(iv.contribution.mean);
            entry["contribution_ci"] = ci(&iv.contribution);
            entry["share"] = json!(iv.share.mean);
            entry["share_ci"] = ci(&iv.share);
            entry["roi"] = json!(iv.roi.map(|i| i.mean));
            entry["roi_ci"] = json!(iv.roi.as_ref().map(ci));
            entry["mroi"] = json!(iv.mroi.map(|i| i.mean));
            entry["mroi_ci"] = json!(iv.mroi.as_ref().map(ci));
        }
        let media_total: f64 = self.intervals.iter().map(|i| i.contribution.mean).sum();
        summary["media_contribution"] = json!(media_total);
        summary["notes"]["posterior"] = json!(
            "contribution, share, roi and mroi are posterior means (NUTS over the model's interpretable part, docs/model.md \"Posterior\"); <name>_ci = [5 %, 95 %] quantiles of the draws (posterior.csv); total_contribution, total_roi and the other figures stay the point fit's"
        );
    }

    /// Writes `posterior.csv`: one row per chain, draw and channel.
    pub fn write_csv(&self, path: &Path) -> Result<()> {
        mmm_data::write_csv_atomic(path, |w| self.write_rows(w))
            .map_err(|e| anyhow::anyhow!("{}: cannot write: {e}", path.display()))
    }

    fn write_rows(&self, w: &mut csv::Writer<&mut dyn std::io::Write>) -> csv::Result<()> {
        w.write_record([
            "chain",
            "draw",
            "channel",
            "contribution",
            "share",
            "roi",
            "mroi",
        ])?;
        let opt = |v: Option<f64>| v.map_or(String::new(), |v| v.to_string());
        for (chain, draws) in self.draws.iter().enumerate() {
            for (i, draw) in draws.iter().enumerate() {
                for (name, q) in self.channels.iter().zip(draw) {
                    w.write_record([
                        chain.to_string(),
                        i.to_string(),
                        name.clone(),
                        q.contribution.to_string(),
                        q.share.to_string(),
                        opt(q.roi),
                        opt(q.mroi),
                    ])?;
                }
            }
        }
        Ok(())
    }

    /// Says on stderr what failed, if anything, and on stdout the per-channel intervals.
    pub fn print(&self) {
        let d = &self.diagnostics;
        println!(
            "posterior: {} chains × {} draws in {:.1} s; R-hat max {:.3}, ESS bulk min {:.0}, tail min {:.0}, {} divergences",
            d.chains, d.draws, d.seconds, d.rhat_max, d.ess_bulk_min, d.ess_tail_min, d.divergences
        );
        for (name, iv) in self.channels.iter().zip(&self.intervals) {
            let roi = iv.roi.map_or(String::new(), |r| {
                format!("   ROI {:.3} [{:.3} – {:.3}]", r.mean, r.p05, r.p95)
            });
            println!(
                "  {name:<22} share {:>5.1} % [{:.1} – {:.1}]{roi}",
                100.0 * iv.share.mean,
                100.0 * iv.share.p05,
                100.0 * iv.share.p95
            );
        }
        for p in &d.problems {
            eprintln!("warning: posterior diagnostics failed: {p}");
        }
    }
}

/// What the report shows of a posterior from its channel draws `draws[chain][draw][channel]`
/// (`posterior.csv`) and its diagnostics (`metrics.json`): each channel's share and ROI with
/// their 90 % intervals (summary card, view 18) and, for view 19, each channel's share and ROI
/// draws per chain with their R-hat and bulk / tail ESS — the quantities a reader acts on, flagged
/// by the same thresholds as the sampled coordinates.
pub fn report_summary(
    channels: &[String],
    draws: &[Vec<Vec<ChannelDraw>>],
    d: &Diagnostics,
) -> mmm_report::PosteriorSummary {
    let flat: Vec<Vec<ChannelDraw>> = draws.iter().flatten().cloned().collect();
    let intervals = mmm_posterior::summarize(&flat);
    let min_ess = MIN_ESS_PER_CHAIN * draws.len() as f64;
    let trace = |name: String, f: &dyn Fn(&ChannelDraw) -> Option<f64>, c: usize| {
        let per_chain: Option<Vec<Vec<f64>>> = draws
            .iter()
            .map(|chain| chain.iter().map(|q| f(&q[c])).collect())
            .collect();
        per_chain.map(|chains| {
            let (r, bulk, tail) = (rhat(&chains), ess_bulk(&chains), ess_tail(&chains));
            mmm_report::ParameterTrace {
                name,
                draws: chains,
                rhat: r,
                ess_bulk: bulk,
                ess_tail: tail,
                flagged: r > MAX_RHAT || bulk < min_ess || tail < min_ess,
            }
        })
    };
    let mut traces = Vec::new();
    for (c, name) in channels.iter().enumerate() {
        traces.extend(trace(format!("share of {name}"), &|q| Some(q.share), c));
    }
    for (c, name) in channels.iter().enumerate() {
        traces.extend(trace(format!("ROI of {name}"), &|q| q.roi, c));
    }
    mmm_report::PosteriorSummary {
        chains: d.chains,
        draws: d.draws,
        rhat_max: d.rhat_max,
        ess_bulk_min: d.ess_bulk_min,
        divergences: d.divergences,
        problems: d.problems.clone(),
        channels: channels
            .iter()
            .zip(&intervals)
            .map(|(name, iv)| mmm_report::PosteriorChannel {
                name: name.clone(),
                share: [iv.share.mean, iv.share.p05, iv.share.p95],
                roi: iv.roi.map(|r| [r.mean, r.p05, r.p95]),
            })
            .collect(),
        traces,
    }
}

/// The report's posterior summary of the fit in `dir` (for `dcmmm report`): from its
/// `posterior.csv` and the `posterior` entry of its `metrics.json`, when both exist and belong to
/// the model (`None` otherwise: no posterior was sampled).
pub fn read_report_summary(
    dir: &Path,
    fitted: &FittedModel,
) -> Result<Option<mmm_report::PosteriorSummary>> {
    let csv_path = dir.join(crate::fit::POSTERIOR_FILE);
    let metrics_path = dir.join("metrics.json");
    if !csv_path.exists() || !metrics_path.exists() {
        return Ok(None);
    }
    let metrics: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&metrics_path)?)
        .map_err(|e| anyhow::anyhow!("{}: {e}", metrics_path.display()))?;
    if metrics.get("run_id").and_then(|v| v.as_str()) != Some(fitted.run_id.as_str()) {
        anyhow::bail!(
            "{}: its run id differs from the model's: the files come from different runs",
            metrics_path.display()
        );
    }
    let Some(diagnostics) = metrics.get("posterior") else {
        return Ok(None);
    };
    let d: Diagnostics = serde_json::from_value(diagnostics.clone())
        .map_err(|e| anyhow::anyhow!("{}: posterior: {e}", metrics_path.display()))?;
    let c_n = fitted.channels.len();
    let mut draws = vec![vec![vec![None; c_n]; d.draws]; d.chains];
    let mut reader = csv::Reader::from_path(&csv_path)?;
    let bad = |line: u64, what: &str| anyhow::anyhow!("{}:{line}: {what}", csv_path.display());
    for record in reader.records() {
        let record = record?;
        let line = record.position().map_or(0, |p| p.line());
        let field = |i: usize| record.get(i).unwrap_or("");
        let number = |i: usize| -> Result<Option<f64>> {
            match field(i) {
                "" => Ok(None),
                v => v
                    .parse::<f64>()
                    .map(Some)
                    .map_err(|_| bad(line, &format!("`{v}` is not a number"))),
            }
        };
        let (Ok(chain), Ok(draw)) = (field(0).parse::<usize>(), field(1).parse::<usize>()) else {
            return Err(bad(line, "chain and draw must be whole numbers"));
        };
        let c = fitted
            .channels
            .iter()
            .position(|n| n == field(2))
            .ok_or_else(|| bad(line, &format!("channel `{}` is not in the model", field(2))))?;
        let slot = draws
            .get_mut(chain)
            .and_then(|ch| ch.get_mut(draw))
            .ok_or_else(|| bad(line, "chain or draw beyond metrics.json's chains × draws"))?;
        slot[c] = Some(ChannelDraw {
            contribution: number(3)?.ok_or_else(|| bad(line, "no contribution"))?,
            share: number(4)?.ok_or_else(|| bad(line, "no share"))?,
            roi: number(5)?,
            mroi: number(6)?,
        });
    }
    let draws: Option<Vec<Vec<Vec<ChannelDraw>>>> = draws
        .into_iter()
        .map(|chain| {
            chain
                .into_iter()
                .map(|row| row.into_iter().collect())
                .collect()
        })
        .collect();
    let draws = draws.ok_or_else(|| {
        anyhow::anyhow!(
            "{}: not every chain, draw and channel of metrics.json's {} × {} has a row",
            csv_path.display(),
            d.chains,
            d.draws
        )
    })?;
    Ok(Some(report_summary(&fitted.channels, &draws, &d)))
}
