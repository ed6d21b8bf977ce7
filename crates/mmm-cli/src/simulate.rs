//! `dcmmm simulate`: write a simulated panel with its known truth (the `mmm-sim` simulator).

use anyhow::{Context, Result};
use clap::Args;
use mmm_sim::{SCENARIO_NAMES, Scenario, simulate};

/// Examples shown by `dcmmm simulate --help`.
pub const EXAMPLES: &str = "\
Examples:
  dcmmm simulate --scenario geo --seed 1 --out sim/
  dcmmm simulate --scenario my_scenario.toml --seed 7 --out sim/
  dcmmm fit --data sim/panel.csv --config sim/fit.toml --out fit/

Named scenarios: national (1×156×5×3), geo (50×104×10×5), paper (190×109×13×7), large (2000×156×20×10).
Writes panel.csv (the fit input), truth.json (true contributions, ROI, curves, DAG, parameters),
truth_contributions.csv, scenario.toml and fit.toml (the column flags for `dcmmm fit`).";

/// Flags of `dcmmm simulate`.
#[derive(Args, Debug)]
pub struct SimulateArgs {
    /// A named scenario or a scenario TOML file.
    #[arg(long, value_name = "NAME|FILE", default_value = "geo")]
    pub scenario: String,
    /// Random seed (same seed ⇒ identical files).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub seed: u64,
    /// The output directory.
    #[command(flatten)]
    pub out: crate::out_dir::OutDir,
}

/// Runs `dcmmm simulate`.
pub fn run(args: &SimulateArgs) -> Result<()> {
    let scenario = if SCENARIO_NAMES.contains(&args.scenario.as_str()) {
        Scenario::named(&args.scenario)?
    } else {
        let text = std::fs::read_to_string(&args.scenario).with_context(|| {
            format!(
                "`{}` is neither a named scenario ({}) nor a readable TOML file",
                args.scenario,
                SCENARIO_NAMES.join(", ")
            )
        })?;
        Scenario::from_toml(&text)
            .with_context(|| format!("{}: invalid scenario", args.scenario))?
    };
    let sim = simulate(&scenario, args.seed)?;
    let out = args.out.prepare()?;
    sim.write(out)?;
    let spec = sim.column_spec();
    let mut data = toml::map::Map::new();
    data.insert("path".into(), "panel.csv".into());
    data.insert("target".into(), spec.target.clone().into());
    data.insert("media".into(), spec.media.clone().into());
    data.insert("controls".into(), spec.controls.clone().into());
    if let Some(region) = &spec.region {
        data.insert("region".into(), region.clone().into());
    }
    data.insert("time".into(), spec.time.clone().into());
    if !spec.spend.is_empty() {
        let spend: toml::map::Map<String, toml::Value> = spec
            .spend
            .iter()
            .map(|(c, s)| (c.clone(), s.clone().into()))
            .collect();
        data.insert("spend".into(), spend.into());
    }
    let mut root = toml::map::Map::new();
    root.insert("data".into(), data.into());
    let toml = toml::to_string(&root)?;
    let path = out.join("fit.toml");
    mmm_data::write_atomic(&path, |w| w.write_all(toml.as_bytes()))
        .with_context(|| format!("{}: cannot write", path.display()))?;
    println!(
        "simulated `{}` ({} regions × {} weeks × {} channels) with seed {} into {}",
        scenario.name,
        sim.regions().len(),
        sim.weeks().len(),
        sim.channels().len(),
        args.seed,
        out.display()
    );
    Ok(())
}
