//! The column flags shared by every subcommand that reads a panel (`validate`, `fit`), and their
//! merge with the `[data]` table of fit.toml (`mmm_orchestrator::FitFile`; flags override it).

use anyhow::{Result, bail};
use clap::Args;
use mmm_data::{ColumnSpec, DEFAULT_HOLDOUT_WEEKS, DataConfig, LoadedPanel, load_panel};
use mmm_orchestrator::FitFile;
use std::path::PathBuf;

/// Where the panel is and which columns play which role.
#[derive(Args, Debug, Clone, Default)]
pub struct PanelArgs {
    /// Long-format CSV panel, one row per region × week (or per week when national).
    #[arg(long, value_name = "FILE")]
    pub data: Option<PathBuf>,
    /// Target (KPI) column.
    #[arg(long, value_name = "COL")]
    pub target: Option<String>,
    /// Media (activity) columns, comma-separated; glob patterns allowed (quote them: 'impressions_*').
    #[arg(long, value_name = "COLS", value_delimiter = ',')]
    pub media: Vec<String>,
    /// Control columns, comma-separated; glob patterns allowed.
    #[arg(long, value_name = "COLS", value_delimiter = ',')]
    pub controls: Vec<String>,
    /// Region column; absent means one national region.
    #[arg(long, value_name = "COL")]
    pub region: Option<String>,
    /// Time column (ISO dates or integer weeks); default: the first of `week`, `date`, `time` present.
    #[arg(long, value_name = "COL")]
    pub time: Option<String>,
    /// Spend columns when media are impressions: CHANNEL=COLUMN pairs, comma-separated.
    #[arg(long, value_name = "CH=COL", value_delimiter = ',')]
    pub spend: Vec<String>,
    /// Holdout: the last N calendar weeks [default: 13].
    #[arg(long, value_name = "N")]
    pub holdout_weeks: Option<usize>,
    /// TOML config whose `[data]` table holds the same keys (flags override it).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// The panel flags after merging with the config.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedPanel {
    /// The CSV file.
    pub data: PathBuf,
    /// Column roles.
    pub spec: ColumnSpec,
    /// Holdout length.
    pub holdout_weeks: usize,
}

impl PanelArgs {
    /// Merge flags over the config and check that the required keys are present.
    pub fn resolve(&self) -> Result<ResolvedPanel> {
        let cfg = match &self.config {
            Some(p) => FitFile::<toml::Table>::read(p)?.data,
            None => DataConfig::default(),
        };
        let Some(data) = self.data.clone().or(cfg.path) else {
            bail!("no panel given: pass --data FILE (or `path` in the config's [data] table)");
        };
        let Some(target) = self.target.clone().or(cfg.target) else {
            bail!("no target column given: pass --target COL (or `target` in [data])");
        };
        let media = if self.media.is_empty() {
            cfg.media.unwrap_or_default()
        } else {
            self.media.clone()
        };
        if media.is_empty() {
            bail!("no media columns given: pass --media COLS (or `media` in [data])");
        }
        let controls = if self.controls.is_empty() {
            cfg.controls.unwrap_or_default()
        } else {
            self.controls.clone()
        };
        let spend = if self.spend.is_empty() {
            cfg.spend.unwrap_or_default().into_iter().collect()
        } else {
            ColumnSpec::parse_spend_pairs(&self.spend)?
        };
        Ok(ResolvedPanel {
            data,
            spec: ColumnSpec {
                target,
                media,
                controls,
                region: self.region.clone().or(cfg.region),
                time: self.time.clone().or(cfg.time).unwrap_or_default(),
                spend,
            },
            holdout_weeks: self
                .holdout_weeks
                .or(cfg.holdout_weeks)
                .unwrap_or(DEFAULT_HOLDOUT_WEEKS),
        })
    }

    /// Resolve and load the panel.
    pub fn load(&self) -> Result<(ResolvedPanel, LoadedPanel)> {
        let resolved = self.resolve()?;
        let loaded = load_panel(&resolved.data, &resolved.spec)?;
        Ok((resolved, loaded))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_the_config() {
        let dir = std::env::temp_dir().join(format!("dcmmm-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let cfg = dir.join("fit.toml");
        std::fs::write(
            &cfg,
            "[data]\npath = \"panel.csv\"\ntarget = \"sales\"\nmedia = [\"tv\", \"search\"]\n\
             region = \"geo\"\nspend = { tv = \"tv_spend\" }\nholdout_weeks = 8\n[model]\nhidden = 8\n",
        )
        .unwrap();
        let args = PanelArgs {
            config: Some(cfg.clone()),
            target: Some("revenue".into()),
            ..Default::default()
        };
        let r = args.resolve().unwrap();
        assert_eq!(r.data, dir.join("panel.csv"));
        assert_eq!(r.spec.target, "revenue");
        assert_eq!(r.spec.media, ["tv", "search"]);
        assert_eq!(r.spec.region.as_deref(), Some("geo"));
        assert_eq!(r.spec.spend, [("tv".to_string(), "tv_spend".to_string())]);
        assert_eq!(r.spec.time, "");
        assert_eq!(r.holdout_weeks, 8);

        std::fs::write(&cfg, "[data]\ntarget = \"sales\"\nmedai = [\"tv\"]\n").unwrap();
        let err = PanelArgs {
            config: Some(cfg),
            ..Default::default()
        }
        .resolve()
        .unwrap_err();
        assert!(format!("{err:#}").contains("medai"), "{err:#}");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn missing_required_flags_are_errors() {
        let err = PanelArgs::default().resolve().unwrap_err();
        assert!(err.to_string().contains("--data"));
        let args = PanelArgs {
            data: Some("x.csv".into()),
            target: Some("y".into()),
            ..Default::default()
        };
        assert!(args.resolve().unwrap_err().to_string().contains("--media"));
    }
}
