//! *Explaining a finished run*: from a run's output folder back to its scenario and seed.
//!
//! `netlab explain output/l4-nat --request 5` tells a request of the run that wrote that
//! folder. A run is deterministic, so telling it again means running the same scenario with
//! the same seed: the folder's marker names the scenario file ([`crate::output::Origin`]) and
//! its `summary.json` holds the seed. The run is only the same if the scenario is, so the
//! marker also keeps a [`fingerprint`] of the checked scenario, and a folder whose scenario
//! changed since is refused rather than explained with another run's story.
//!
//! # Simplifications
//! - The fingerprint is a 64-bit FNV-1a hash of the checked scenario as Rust's `Debug` prints
//!   it (what a run is built from, so an edited keepalived.conf it reads counts, a comment
//!   does not). It catches accidents, not forgery. Another netlab version is refused too: its
//!   run may differ.
//! - The run is repeated, not read back from the folder's files.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use crate::compare::shard::Fnv;
use crate::output::{self, Origin};
use crate::scenario::Scenario;

/// The file of a run's folder that holds its seed.
const SUMMARY: &str = "summary.json";

/// A `summary.json` larger than this is not one netlab wrote.
const SUMMARY_MAX_BYTES: u64 = 64 * 1024 * 1024;

/// The run a folder holds: the scenario file and the seed to run it with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FinishedRun {
    /// The scenario file, absolute.
    pub scenario: PathBuf,
    /// The seed the run used.
    pub seed: u64,
    /// The fingerprint of the scenario when it ran.
    fingerprint: String,
}

/// Why a folder's run cannot be told again.
#[derive(Debug, thiserror::Error)]
pub enum FolderError {
    /// No netlab marker.
    #[error("{}: not a netlab output folder (it has no .netlab-output file)", .0.display())]
    NotOutput(PathBuf),
    /// A netlab folder that is not a run's (`output/`, a comparison, an older netlab's run).
    #[error("{}: this folder does not say which scenario file made it", .0.display())]
    NoOrigin(PathBuf, Kind),
    /// The seed cannot be read.
    #[error("{}: {SUMMARY} is missing or holds no seed", .0.display())]
    NoSeed(PathBuf),
    /// Another netlab made the run.
    #[error("{}: this run was made by netlab {version}, this is netlab {}", .dir.display(), env!("CARGO_PKG_VERSION"))]
    OtherVersion {
        /// The folder.
        dir: PathBuf,
        /// The version that made it.
        version: String,
    },
    /// The scenario file is gone (the folder, the file, the run's seed).
    #[error("{}: the scenario file of this run, {}, no longer exists", .0.display(), .1.display())]
    Missing(PathBuf, PathBuf, u64),
    /// The scenario changed since the run.
    #[error("{}: the scenario changed since this run ({})", .0.display(), .1.display())]
    Changed(PathBuf, PathBuf),
}

/// What kind of netlab folder lacks an origin, for the advice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A comparison's results (`compare.csv`): many runs.
    Comparison,
    /// Anything else: a folder of folders, or a run by a netlab that did not record it.
    Other,
}

impl FolderError {
    /// The `= help:` line.
    pub fn help(&self) -> String {
        match self {
            FolderError::NotOutput(_) => "name a folder `netlab run` wrote (output/<scenario>), \
                                          or a scenario file"
                .to_string(),
            FolderError::NoOrigin(_, Kind::Comparison) => {
                "a comparison holds many runs; explain one by naming the scenario file and its \
                 seed: netlab explain SCENARIO --seed N ..."
                    .to_string()
            }
            FolderError::NoOrigin(..) | FolderError::NoSeed(_) => {
                "name a folder `netlab run` wrote (output/<scenario>), or rerun netlab run and \
                 explain its folder"
                    .to_string()
            }
            FolderError::OtherVersion { .. } => {
                "rerun netlab run, then explain its folder".to_string()
            }
            FolderError::Missing(_, _, seed) => format!(
                "if you moved it, explain it where it is now with this run's seed: netlab \
                 explain SCENARIO --seed {seed} ..."
            ),
            FolderError::Changed(_, file) => format!(
                "rerun netlab run {}, then explain its folder",
                file.display()
            ),
        }
    }
}

/// The fingerprint of a checked scenario: what its run is built from. The file's name and its
/// own `seed` are left out (the folder fixes the seed).
pub fn fingerprint(scenario: &Scenario) -> String {
    let mut scenario = scenario.clone();
    scenario.source_file.clear();
    scenario.seed = 0;
    let mut hash = Fnv::new();
    // Writing into the hash cannot fail.
    let _ = write!(hash, "{scenario:?}");
    hash.hex()
}

/// The origin to record in the marker of a run of `scenario`, read from `file`; `None` if the
/// file's absolute path cannot be found.
pub fn origin(file: &Path, scenario: &Scenario) -> Option<Origin> {
    Some(Origin {
        version: env!("CARGO_PKG_VERSION").to_string(),
        fingerprint: fingerprint(scenario),
        scenario: file.canonicalize().ok()?,
    })
}

/// Reads which run the folder `dir` holds; checks the scenario file is still there.
pub fn read(dir: &Path) -> Result<FinishedRun, FolderError> {
    let marker = output::read_marker(dir).ok_or_else(|| FolderError::NotOutput(dir.into()))?;
    let Some(origin) = marker.origin else {
        let kind = if marker.files.iter().any(|f| f == "compare.csv") {
            Kind::Comparison
        } else {
            Kind::Other
        };
        return Err(FolderError::NoOrigin(dir.into(), kind));
    };
    if origin.version != env!("CARGO_PKG_VERSION") {
        return Err(FolderError::OtherVersion {
            dir: dir.into(),
            version: origin.version,
        });
    }
    let seed = marker
        .files
        .iter()
        .any(|f| f == SUMMARY)
        .then(|| read_seed(&dir.join(SUMMARY)))
        .flatten()
        .ok_or_else(|| FolderError::NoSeed(dir.into()))?;
    if !origin.scenario.is_file() {
        return Err(FolderError::Missing(dir.into(), origin.scenario, seed));
    }
    Ok(FinishedRun {
        scenario: origin.scenario,
        seed,
        fingerprint: origin.fingerprint,
    })
}

/// The `seed` of a `summary.json`.
fn read_seed(path: &Path) -> Option<u64> {
    let meta = path.symlink_metadata().ok()?;
    if !meta.is_file() || meta.len() > SUMMARY_MAX_BYTES {
        return None;
    }
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str::<serde_json::Value>(&text).ok()?["seed"].as_u64()
}

impl FinishedRun {
    /// Checks that `scenario`, loaded from the run's file now, is the one that ran; `dir` is
    /// the folder, for the message.
    pub fn check_unchanged(&self, dir: &Path, scenario: &Scenario) -> Result<(), FolderError> {
        if fingerprint(scenario) == self.fingerprint {
            Ok(())
        } else {
            Err(FolderError::Changed(dir.into(), self.scenario.clone()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::load_str as load;

    const SCENARIO: &str = include_str!("../../scenarios/00-hello-web.ron");

    #[test]
    fn the_fingerprint_ignores_the_file_name_and_seed_but_not_the_network() {
        let a = load("a.ron", SCENARIO).unwrap();
        let b = load(
            "/elsewhere/b.ron",
            &SCENARIO.replacen("seed: 1,", "seed: 99,", 1),
        )
        .unwrap();
        assert_eq!(fingerprint(&a), fingerprint(&b));
        let mut c = a.clone();
        c.max_events += 1;
        assert_ne!(fingerprint(&a), fingerprint(&c));
    }

    /// A fresh folder under the system's temporary folder, removed at the end of the test.
    struct Scratch(PathBuf);

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn a_run_folder_gives_its_scenario_and_seed() {
        let scratch = Scratch(
            std::env::temp_dir().join(format!("netlab-explain-folder-{}", std::process::id())),
        );
        let _ = std::fs::remove_dir_all(&scratch.0);
        std::fs::create_dir_all(&scratch.0).unwrap();
        let file = scratch.0.join("s.ron");
        std::fs::write(&file, SCENARIO).unwrap();
        let scenario = load("s.ron", SCENARIO).unwrap();
        let target = scratch.0.join("run");
        let mut out = output::OutputDir::prepare(&target, &file).unwrap();
        out.set_origin(origin(&file, &scenario).unwrap());
        out.write(SUMMARY, br#"{"scenario": "x", "seed": 42}"#)
            .unwrap();
        out.commit().unwrap();
        let run = read(&target).unwrap();
        assert_eq!(
            (run.scenario.clone(), run.seed),
            (file.canonicalize().unwrap(), 42)
        );
        assert!(run.check_unchanged(&target, &scenario).is_ok());
        let mut edited = scenario.clone();
        edited.max_events += 1;
        assert!(matches!(
            run.check_unchanged(&target, &edited),
            Err(FolderError::Changed(..))
        ));
        assert!(matches!(read(&scratch.0), Err(FolderError::NotOutput(_))));
        std::fs::remove_file(&file).unwrap();
        assert!(matches!(read(&target), Err(FolderError::Missing(_, _, 42))));
        // A comparison records no origin: many runs, many seeds.
        let compared = scratch.0.join("compare");
        let mut out = output::OutputDir::prepare(&compared, &file).unwrap();
        out.write("compare.csv", b"scheduler\n").unwrap();
        out.commit().unwrap();
        let error = read(&compared).unwrap_err();
        assert!(matches!(error, FolderError::NoOrigin(_, Kind::Comparison)));
        assert!(error.help().contains("--seed N"), "{}", error.help());
    }
}
