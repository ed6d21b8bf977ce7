//! Simulates a named scenario and writes it: `cargo run -p mmm-sim --example simulate -- NAME SEED DIR`.
fn main() -> Result<(), mmm_sim::Error> {
    let args: Vec<String> = std::env::args().collect();
    let name = args.get(1).map_or("geo", String::as_str);
    let seed = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(42);
    let dir = args.get(3).map_or("sim-out", String::as_str);
    let t0 = std::time::Instant::now();
    let sim = mmm_sim::simulate(&mmm_sim::Scenario::named(name)?, seed)?;
    let t1 = t0.elapsed();
    sim.write(std::path::Path::new(dir))?;
    let t = sim.truth();
    println!(
        "{name}: simulated in {:.2?}, written in {:.2?}; media share {:.3}",
        t1,
        t0.elapsed() - t1,
        t.media_share_of_sales
    );
    for c in &t.channel_truth {
        println!(
            "{:>16} spend {:>12.0} contrib {:>12.0} total {:>12.0} roi {:>6.3} roi_t {:>6.3} mroi {:>6.3} share {:.3}{}",
            c.name,
            c.spend,
            c.contribution,
            c.total_contribution,
            c.roi,
            c.roi_total,
            c.mroi,
            c.share,
            if c.zero_effect { " (zero)" } else { "" }
        );
    }
    for e in &t.dag.edges {
        println!("edge {} -> {} ({:.2})", e.from, e.to, e.weight);
    }
    Ok(())
}
