//! Helpers shared by the workspace's cross-crate integration tests.

use std::path::PathBuf;

/// The workspace root (the directory holding the top-level `Cargo.toml`).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests package lives one level below the workspace root")
        .to_path_buf()
}

/// The shared data directory `../shared/data` beside the checkout, when it exists.
///
/// Tests that need the public panels call this and skip, with a message naming the missing
/// directory, when it returns `None` (a fresh clone without the shared folder).
pub fn shared_data_dir() -> Option<PathBuf> {
    let dir = workspace_root().parent()?.join("shared").join("data");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "skipping: shared data directory {} not found",
            dir.display()
        );
        None
    }
}
