//! Shared helpers for the integration tests.

use std::path::{Path, PathBuf};

use netlab::run::{Artifacts, execute};
use netlab::scenario::load_file;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Loads and runs `scenarios/<name>` with `seed` (or the file's own seed).
pub fn run(name: &str, seed: Option<u64>, capture_all: bool) -> Artifacts {
    let path = root().join("scenarios").join(name);
    run_path(&path, seed, capture_all)
}

/// Loads and runs the scenario at `path`.
pub fn run_path(path: &Path, seed: Option<u64>, capture_all: bool) -> Artifacts {
    let scenario =
        load_file(path).unwrap_or_else(|e| panic!("{} does not load:\n{e}", path.display()));
    let seed = seed.unwrap_or(scenario.seed);
    execute(&scenario, seed, capture_all)
        .unwrap_or_else(|e| panic!("{} did not finish: {e}", path.display()))
}
