//! `cargo xtask`: project automation in Rust (matklad's xtask pattern), dependency-light.
//!
//! Run `cargo xtask` with no arguments for the list of tasks.

use anyhow::{Context, Result, bail};
use std::process::Command;

const TASKS: &[(&str, &str)] = &[
    (
        "reproduce",
        "simulate, fit and score the benchmark table; writes docs/results.md (about 10 minutes; --full for every seed, restart, lift test and backtest; --help)",
    ),
    (
        "bench",
        "run the criterion benchmarks (extra arguments go to criterion, e.g. a name filter)",
    ),
];

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let Some(task) = args.next() else {
        print_tasks();
        return Ok(());
    };
    let rest: Vec<String> = args.collect();
    match task.as_str() {
        "bench" => bench(&rest),
        "reproduce" => reproduce(&rest),
        "help" | "--help" | "-h" => {
            print_tasks();
            Ok(())
        }
        other => {
            print_tasks();
            bail!("unknown task `{other}`")
        }
    }
}

fn print_tasks() {
    println!("usage: cargo xtask <task> [args]\n\ntasks:");
    for (name, what) in TASKS {
        println!("  {name:<10} {what}");
    }
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

fn bench(rest: &[String]) -> Result<()> {
    let mut cmd = cargo();
    cmd.args(["bench", "--package", "dcmmm-benches", "--benches"]);
    if !rest.is_empty() {
        cmd.arg("--").args(rest);
    }
    let status = cmd.status().context("running cargo bench")?;
    if !status.success() {
        bail!("cargo bench failed ({status})");
    }
    Ok(())
}

fn reproduce(rest: &[String]) -> Result<()> {
    let status = cargo()
        .args([
            "run",
            "--release",
            "--quiet",
            "--package",
            "mmm-reproduce",
            "--",
        ])
        .args(rest)
        .status()
        .context("running mmm-reproduce")?;
    if !status.success() {
        bail!("reproduce failed ({status})");
    }
    Ok(())
}
