//! Benchmark: loading the 190 × 109 reference panel (`../shared/data/deepcausalmmm_real/mmm_data.csv`,
//! 20 370 rows × 23 columns, 13 media globs, 7 control globs) into a dense `Panel`, with validation.
//! Skips with a message when the file is absent.

// `criterion_group!` generates an undocumented `pub fn`.
#![allow(missing_docs)]

use criterion::{Criterion, criterion_group, criterion_main};
use mmm_data::{ColumnSpec, load_panel};
use std::path::PathBuf;

fn reference_panel() -> Option<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let path = root
        .parent()?
        .parent()?
        .join("shared/data/deepcausalmmm_real/mmm_data.csv");
    if path.exists() {
        Some(path)
    } else {
        eprintln!("skipping data_load: {} not found", path.display());
        None
    }
}

fn bench(c: &mut Criterion) {
    let Some(path) = reference_panel() else {
        return;
    };
    let spec = ColumnSpec {
        target: "target_visits".into(),
        media: vec!["impressions_*".into()],
        controls: vec!["control_*".into()],
        region: Some("dmacode".into()),
        time: "weekid".into(),
        spend: vec![],
    };
    c.bench_function("load_panel_190x109", |b| {
        b.iter(|| {
            let loaded = load_panel(&path, &spec).expect("reference panel loads");
            assert_eq!(loaded.panel.n_regions(), 190);
            loaded
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
