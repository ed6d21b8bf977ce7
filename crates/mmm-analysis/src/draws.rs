//! The posterior's parameter draws beside `model.json` (`posterior_draws.json`, written by
//! `dcmmm fit --posterior`), so that `dcmmm curves` and `dcmmm optimize` can run every analysis
//! once per draw (docs/analysis.md, "Decisions under uncertainty").
//!
//! Each draw is the saved model's parameter vector (`FittedModel::params`) with some coordinates
//! replaced: the file stores the coordinates that differ from the point fit in at least one draw
//! (`indices`, ascending) and, per draw, their values. A draw's model is the saved model with
//! those values written in ([`ParameterDraws::fitted`]); everything else — scalers, calendar,
//! history, channel DAG — is the point fit's. The draws are a thinned subset (at most
//! [`MAX_DRAWS`], evenly spaced within each chain) of the sampler's.
//!
//! The file carries the fit's run id: a file from another fit than the `model.json` beside it is
//! refused on load, as is one whose shape does not match the model or holds a non-finite value.

use crate::{Error, Result};
use mmm_fitted::FittedModel;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// File name of the parameter draws beside `model.json`.
pub const DRAWS_FILE: &str = "posterior_draws.json";
/// Format tag of the file.
pub const DRAWS_FORMAT: &str = "dcmmm-parameter-draws";
/// Layout version of the file.
pub const DRAWS_VERSION: u32 = 1;
/// Most draws kept: enough for 5 % and 95 % quantiles (10 draws beyond each), few enough that
/// running every analysis once per draw stays quick.
pub const MAX_DRAWS: usize = 200;

/// One kept draw: where it came from and the values of the replaced coordinates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParameterDraw {
    /// Chain index.
    pub chain: usize,
    /// Index of the draw within its chain (after tuning).
    pub draw: usize,
    /// Values of [`ParameterDraws::indices`], in that order.
    pub values: Vec<f64>,
}

/// The parameter draws of a posterior (module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParameterDraws {
    /// Always [`DRAWS_FORMAT`].
    pub format: String,
    /// [`DRAWS_VERSION`] when written by this build.
    pub version: u32,
    /// Run id of the fit (equal to its `model.json`'s).
    pub run_id: String,
    /// Length of the model's parameter vector.
    pub n_params: usize,
    /// The replaced coordinates of the parameter vector, ascending.
    pub indices: Vec<usize>,
    /// The kept draws.
    pub draws: Vec<ParameterDraw>,
}

/// Which draws of `chains` chains of `draws` each to keep so that at most `max` remain: every
/// k-th draw of each chain, k = ⌈chains·draws / max⌉, as (chain, draw) pairs.
pub fn thinned(chains: usize, draws: usize, max: usize) -> Vec<(usize, usize)> {
    let total = chains * draws;
    let step = total.div_ceil(max.max(1)).max(1);
    (0..chains)
        .flat_map(|c| (0..draws).step_by(step).map(move |d| (c, d)))
        .collect()
}

impl ParameterDraws {
    /// Draws from full parameter vectors `(chain, draw, params)` of a model whose point fit is
    /// `point` (run id `run_id`); only the coordinates that differ from the point somewhere are
    /// stored.
    ///
    /// # Errors
    /// [`Error::Invalid`] without draws, when a vector's length differs from the point's, or
    /// when a value is not finite.
    pub fn from_vectors(
        run_id: &str,
        point: &[f64],
        vectors: &[(usize, usize, Vec<f64>)],
    ) -> Result<Self> {
        if vectors.is_empty() {
            return Err(Error::Invalid("no parameter draws".into()));
        }
        for (chain, draw, v) in vectors {
            if v.len() != point.len() || !v.iter().all(|x| x.is_finite()) {
                return Err(Error::Invalid(format!(
                    "parameter draw {draw} of chain {chain}: {} values (the model has {}) or a \
                     non-finite one",
                    v.len(),
                    point.len()
                )));
            }
        }
        let indices: Vec<usize> = (0..point.len())
            .filter(|&i| vectors.iter().any(|(_, _, v)| v[i] != point[i]))
            .collect();
        Ok(ParameterDraws {
            format: DRAWS_FORMAT.into(),
            version: DRAWS_VERSION,
            run_id: run_id.into(),
            n_params: point.len(),
            draws: vectors
                .iter()
                .map(|(chain, draw, v)| ParameterDraw {
                    chain: *chain,
                    draw: *draw,
                    values: indices.iter().map(|&i| v[i]).collect(),
                })
                .collect(),
            indices,
        })
    }

    /// Where the draws of the model at `model_path` live: [`DRAWS_FILE`] in its directory.
    pub fn path_beside(model_path: &Path) -> PathBuf {
        model_path.with_file_name(DRAWS_FILE)
    }

    /// The draws beside `model_path` when that file exists (`None` otherwise), checked against
    /// `fitted` ([`ParameterDraws::validate`]).
    ///
    /// # Errors
    /// [`Error::File`] naming the file when it cannot be read or parsed, or does not belong to
    /// `fitted`.
    pub fn load_beside(model_path: &Path, fitted: &FittedModel) -> Result<Option<Self>> {
        let path = Self::path_beside(model_path);
        if !path.exists() {
            return Ok(None);
        }
        Self::load(&path, fitted).map(Some)
    }

    /// Reads and checks the file at `path` against `fitted`.
    ///
    /// # Errors
    /// [`Error::File`] naming the file and what is wrong.
    pub fn load(path: &Path, fitted: &FittedModel) -> Result<Self> {
        let err = |message: String| Error::File {
            path: path.display().to_string(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        let head: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| err(format!("not JSON: {e}")))?;
        let format = head.get("format").and_then(|v| v.as_str()).unwrap_or("");
        if format != DRAWS_FORMAT {
            return Err(err(format!(
                "not a dcmmm parameter-draws file (format `{format}`)"
            )));
        }
        let version = head.get("version").and_then(|v| v.as_u64()).unwrap_or(0);
        if version != u64::from(DRAWS_VERSION) {
            return Err(err(format!(
                "version {version}, this build reads version {DRAWS_VERSION}: refit with --posterior"
            )));
        }
        let draws: ParameterDraws = serde_json::from_value(head).map_err(|e| err(e.to_string()))?;
        draws.validate(fitted).map_err(err)?;
        Ok(draws)
    }

    /// Checks the draws against the model they belong to: the same run id, the model's
    /// parameter count, ascending in-range indices, one finite value per index in every draw,
    /// at least one draw. The message names the field.
    pub fn validate(&self, fitted: &FittedModel) -> std::result::Result<(), String> {
        if self.run_id != fitted.run_id {
            return Err(format!(
                "run_id `{}` differs from the model's `{}`: the draws come from another fit (refit with --posterior, or remove the file)",
                self.run_id, fitted.run_id
            ));
        }
        if self.n_params != fitted.params.len() {
            return Err(format!(
                "n_params: {} for a model with {} parameters",
                self.n_params,
                fitted.params.len()
            ));
        }
        if let Some(w) = self
            .indices
            .windows(2)
            .position(|w| w[0] >= w[1])
            .map(|i| i + 1)
        {
            return Err(format!("indices[{w}]: not ascending"));
        }
        if let Some(&last) = self.indices.last()
            && last >= self.n_params
        {
            return Err(format!(
                "indices: {last} is beyond the {} parameters",
                self.n_params
            ));
        }
        if self.draws.is_empty() {
            return Err("draws: empty".into());
        }
        for (i, d) in self.draws.iter().enumerate() {
            if d.values.len() != self.indices.len() {
                return Err(format!(
                    "draws[{i}].values: {} entries for {} indices",
                    d.values.len(),
                    self.indices.len()
                ));
            }
            if let Some(j) = d.values.iter().position(|v| !v.is_finite()) {
                return Err(format!("draws[{i}].values[{j}]: not finite"));
            }
        }
        Ok(())
    }

    /// Number of draws.
    pub fn len(&self) -> usize {
        self.draws.len()
    }

    /// Whether there are no draws (never for a validated file).
    pub fn is_empty(&self) -> bool {
        self.draws.is_empty()
    }

    /// The model of draw `i`: `point` with the draw's values written in (module docs).
    ///
    /// # Panics
    /// When `i` is out of range or the draws were not validated against `point`.
    pub fn fitted(&self, i: usize, point: &FittedModel) -> FittedModel {
        let mut fitted = point.clone();
        for (&k, &v) in self.indices.iter().zip(&self.draws[i].values) {
            fitted.params[k] = v;
        }
        fitted
    }

    /// Writes the file atomically (`mmm_data::write_atomic`).
    ///
    /// # Errors
    /// [`Error::File`] when it cannot be written.
    pub fn write(&self, path: &Path) -> Result<()> {
        mmm_data::write_atomic(path, |w| {
            serde_json::to_writer(w, self).map_err(std::io::Error::from)
        })
        .map_err(|e| Error::File {
            path: path.display().to_string(),
            message: e.to_string(),
        })
    }
}
