//! The output directory of the subcommands that write one (`--out DIR`): created when missing,
//! refused when it already holds files but none that dcmmm writes (a typo in `--out` must not
//! scatter outputs among someone's files) unless `--force`. Every file is written atomically
//! (`mmm_data::write_atomic`); the files of one `dcmmm fit` share a run id ([`new_run_id`]).

use anyhow::{Context, Result, bail};
use clap::Args;
use std::path::{Path, PathBuf};

/// The files every `dcmmm fit` writes (the CLI contract; `dcmmm doctor` checks them).
pub const FIT_FILES: [&str; 7] = [
    "predictions.csv",
    "contributions.csv",
    "summary.json",
    "metrics.json",
    "dag.json",
    "model.json",
    "report.html",
];

/// The other file names that mark a directory as dcmmm output: what the subcommands write into
/// their output directory besides [`FIT_FILES`].
const OTHER_OUTPUT_FILES: &[&str] = &[
    // fit, when asked
    crate::fit::STABILITY_FILE,
    crate::fit::POSTERIOR_FILE,
    mmm_analysis::DRAWS_FILE,
    // backtest
    "backtest.csv",
    "backtest.json",
    crate::backtest::BACKTEST_PAGE,
    // predict
    "forecast.csv",
    "forecast_contributions.csv",
    // curves
    "curves.csv",
    "roi.csv",
    "curves.json",
    // optimize
    "allocation.json",
    "allocation.csv",
    // scenarios
    "scenarios.csv",
    "scenarios.json",
    // simulate (not its `panel.csv` and `fit.toml`: a user's directory holds such files too)
    "truth_contributions.csv",
    "truth.json",
];

/// Whether `name` is a file some dcmmm subcommand writes into its output directory.
fn is_output_file(name: &str) -> bool {
    FIT_FILES.contains(&name) || OTHER_OUTPUT_FILES.contains(&name)
}

/// The `--out` and `--force` flags.
#[derive(Args, Debug)]
pub struct OutDir {
    /// Output directory (created if missing). A non-empty directory must already hold dcmmm
    /// output, or `--force` is needed.
    #[arg(long = "out", value_name = "DIR")]
    pub dir: PathBuf,
    /// Write into a non-empty `--out` directory that holds no dcmmm output.
    #[arg(long)]
    pub force: bool,
}

impl OutDir {
    /// Creates the directory, or checks that an existing one may be written into; returns it.
    pub fn prepare(&self) -> Result<&Path> {
        let dir = &self.dir;
        if dir.exists() {
            let names: Vec<String> = std::fs::read_dir(dir)
                .with_context(|| format!("{}: cannot read the output directory", dir.display()))?
                .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
                .collect::<std::io::Result<_>>()
                .with_context(|| format!("{}: cannot read the output directory", dir.display()))?;
            let ours = names.iter().any(|n| is_output_file(n));
            if !names.is_empty() && !ours && !self.force {
                bail!(
                    "{}: the output directory is not empty and holds no dcmmm output ({} other \
                     entries); choose another --out, or pass --force to write into it anyway",
                    dir.display(),
                    names.len()
                );
            }
        }
        std::fs::create_dir_all(dir)
            .with_context(|| format!("{}: cannot create output directory", dir.display()))?;
        Ok(dir)
    }
}

/// Writes `value` as pretty JSON (and a final newline) to `path`, atomically.
pub fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<()> {
    let text = serde_json::to_string_pretty(value)? + "\n";
    mmm_data::write_atomic(path, |w| w.write_all(text.as_bytes()))
        .with_context(|| format!("{}: cannot write", path.display()))
}

/// A new run id: the UTC time of the run and the process id, e.g. `20261207T221503Z-4f2a1`
/// (unique among runs on one machine, sortable by time).
pub fn new_run_id() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs() as i64;
    let (y, m, d) = mmm_data::civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z-{:x}{:05x}",
        s / 3600,
        s / 60 % 60,
        s % 60,
        std::process::id(),
        now.subsec_micros() % 0x10_0000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("dcmmm-out-dir-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn foreign_non_empty_directories_need_force() {
        let missing = dir("missing");
        OutDir {
            dir: missing.clone(),
            force: false,
        }
        .prepare()
        .unwrap();
        assert!(missing.is_dir());
        // Empty, or holding dcmmm output: fine.
        OutDir {
            dir: missing.clone(),
            force: false,
        }
        .prepare()
        .unwrap();
        std::fs::write(missing.join("model.json"), "{}").unwrap();
        std::fs::write(missing.join("notes.txt"), "mine").unwrap();
        OutDir {
            dir: missing,
            force: false,
        }
        .prepare()
        .unwrap();

        let foreign = dir("foreign");
        std::fs::create_dir_all(&foreign).unwrap();
        std::fs::write(foreign.join("thesis.tex"), "mine").unwrap();
        let e = OutDir {
            dir: foreign.clone(),
            force: false,
        }
        .prepare()
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("is not empty and holds no dcmmm output (1 other entries)")
                && e.to_string().contains("--force"),
            "{e}"
        );
        OutDir {
            dir: foreign,
            force: true,
        }
        .prepare()
        .unwrap();
    }

    #[test]
    fn run_ids_differ_and_read_as_times() {
        let a = new_run_id();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = new_run_id();
        assert_ne!(a, b);
        assert_eq!(a.as_bytes()[8], b'T');
        assert_eq!(&a[15..17], "Z-");
    }
}
