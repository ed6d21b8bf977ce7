//! `fit.toml`: the one configuration file of a fit, read by `dcmmm` (`fit`, `validate`,
//! `backtest`) and by `mmm-reproduce` alike.
//!
//! ```toml
//! [data]            # the panel and its columns (mmm_data::DataConfig; flags override it)
//! [model]           # mmm_model::ModelConfig
//! [train]           # mmm_fitted::TrainConfig
//! [dag]             # mmm_model::DagConfig
//! [[lift_test]]     # mmm_fitted::LiftTestSpec, one table per experiment
//! [inference]       # the posterior's settings, typed by the reader that samples (`I`)
//! ```
//!
//! Every key is optional; an unknown table or key is an error that names the file and the key.

use crate::{Error, Result};
use mmm_data::{DEFAULT_HOLDOUT_WEEKS, DataConfig};
use mmm_fitted::{FitConfig, LiftTestSpec, TrainConfig};
use mmm_model::{DagConfig, ModelConfig};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::path::Path;

/// The tables of `fit.toml`. `I` is the `[inference]` table's type: the posterior's settings for
/// a reader that samples it (`dcmmm fit`), an unchecked TOML table for one that does not.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(
    default,
    deny_unknown_fields,
    bound(deserialize = "I: Deserialize<'de> + Default")
)]
pub struct FitFile<I = toml::Table> {
    /// `[data]`: the panel file (relative to the config file) and the column roles.
    pub data: DataConfig,
    /// `[model]`: model hyper-parameters.
    pub model: ModelConfig,
    /// `[train]`: training-loop settings.
    pub train: TrainConfig,
    /// `[dag]`: channel-DAG settings.
    pub dag: DagConfig,
    /// `[[lift_test]]`: experiments the fit is calibrated to.
    pub lift_test: Vec<LiftTestSpec>,
    /// `[inference]`: the posterior's settings.
    pub inference: I,
}

impl<I: Default> Default for FitFile<I> {
    fn default() -> Self {
        FitFile {
            data: DataConfig::default(),
            model: ModelConfig::default(),
            train: TrainConfig::default(),
            dag: DagConfig::default(),
            lift_test: Vec::new(),
            inference: I::default(),
        }
    }
}

impl<I: DeserializeOwned + Default> FitFile<I> {
    /// Reads and checks the file at `path`; a relative `[data] path` is made relative to the
    /// file's directory.
    ///
    /// # Errors
    /// [`Error::ConfigFile`] naming the file when it cannot be read, and the key and its line
    /// when it is not valid TOML or holds an unknown table or key or a value of the wrong type.
    pub fn read(path: &Path) -> Result<Self> {
        let error = |message: String| Error::ConfigFile {
            path: path.display().to_string(),
            message,
        };
        let text =
            std::fs::read_to_string(path).map_err(|e| error(format!("cannot read config: {e}")))?;
        let mut file =
            Self::parse(&text).map_err(|message| error(format!("invalid config: {message}")))?;
        if let Some(p) = file.data.path.as_ref().filter(|p| p.is_relative()) {
            file.data.path = Some(path.parent().unwrap_or(Path::new(".")).join(p));
        }
        Ok(file)
    }

    /// Parses the text of a `fit.toml`; the error is the TOML parser's message (key and line).
    pub fn parse(text: &str) -> std::result::Result<Self, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }
}

impl<I> FitFile<I> {
    /// The fit configuration the file describes: `[model]`, `[train]`, `[dag]`, the lift tests,
    /// and `[data] holdout_weeks` (default [`DEFAULT_HOLDOUT_WEEKS`]) as the holdout.
    pub fn fit_config(&self) -> FitConfig {
        FitConfig {
            holdout_weeks: self.data.holdout_weeks.unwrap_or(DEFAULT_HOLDOUT_WEEKS),
            model: self.model.clone(),
            train: self.train.clone(),
            dag: self.dag.clone(),
            lift_tests: self.lift_test.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_is_read_and_the_holdout_comes_from_data() {
        let file: FitFile = FitFile::parse(
            "[data]\ntarget = \"sales\"\nholdout_weeks = 8\n[model]\nhidden = 8\n\
             [train]\nseed = 7\n[[lift_test]]\nchannel = \"tv\"\nstart = \"1\"\nend = \"4\"\n\
             lift = 10.0\nse = 2.0\n[inference]\nchains = 2\n",
        )
        .unwrap();
        let cfg = file.fit_config();
        assert_eq!(cfg.holdout_weeks, 8);
        assert_eq!(cfg.model.hidden, 8);
        assert_eq!(cfg.train.seed, 7);
        assert_eq!(cfg.lift_tests.len(), 1);
        assert_eq!(file.inference["chains"].as_integer(), Some(2));
        let empty: FitFile = FitFile::parse("").unwrap();
        assert_eq!(empty.fit_config(), FitConfig::default());
    }

    #[test]
    fn unknown_tables_and_keys_are_errors_naming_the_file_and_the_key() {
        let dir = std::env::temp_dir().join(format!("dcmmm-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("fit.toml");
        for (text, key) in [
            ("[modle]\nhidden = 8\n", "modle"),
            ("[model]\nhiden = 8\n", "hiden"),
            ("[data]\nmedai = [\"tv\"]\n", "medai"),
            ("holdout_weeks = 8\n", "holdout_weeks"),
        ] {
            std::fs::write(&path, text).unwrap();
            let err = FitFile::<toml::Table>::read(&path).unwrap_err().to_string();
            assert!(
                err.contains(&path.display().to_string()) && err.contains(key),
                "{err}"
            );
        }
        std::fs::write(&path, "[data]\npath = \"panel.csv\"\n").unwrap();
        let file = FitFile::<toml::Table>::read(&path).unwrap();
        assert_eq!(file.data.path, Some(dir.join("panel.csv")));
        std::fs::remove_dir_all(&dir).ok();
    }
}
