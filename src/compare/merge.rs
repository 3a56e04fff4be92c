//! *Merging shards*: the partial results of a sharded sweep put back into one comparison.
//!
//! `netlab merge DIR...` reads the `shard.json` of each folder (see `shard`), and accepts them
//! only if they are the `N` slices of one sweep, each exactly once: the same sweep identity,
//! the same `N` and number of runs, no slice twice, none missing, and each slice holding
//! exactly the jobs its index owns. The runs are then put back in job order, which is the
//! order an unsharded run has them in, so `render` writes the same bytes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use thiserror::Error;

use super::shard::{FILE, Partial, Shard};
use super::{Heading, Measured};
use crate::report::ChartFormat;

/// A `shard.json` larger than this is not one netlab wrote (10,000 runs take a few MB).
const MAX_BYTES: u64 = 256 * 1024 * 1024;

/// Why partial results cannot be merged. Nothing is written.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum MergeError {
    /// A folder holds no readable `shard.json`.
    #[error("{}: {reason}", dir.display())]
    Unreadable {
        /// The folder.
        dir: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Two folders hold slices of different sweeps.
    #[error(
        "{} is a shard of another sweep than {}: the scenario, a file it reads, the flags or \
         the netlab version differ",
        dir.display(),
        first.display()
    )]
    OtherSweep {
        /// The folder that does not match.
        dir: PathBuf,
        /// The first folder named.
        first: PathBuf,
    },
    /// The same slice twice.
    #[error("shard {shard} is given twice: {} and {}", a.display(), b.display())]
    Duplicate {
        /// The slice.
        shard: Shard,
        /// One folder holding it.
        a: PathBuf,
        /// The other.
        b: PathBuf,
    },
    /// Slices not given.
    #[error("{} of {count} shards missing: {}", missing.len(), list(missing))]
    Missing {
        /// The missing slices' indices.
        missing: Vec<u64>,
        /// The number of slices.
        count: u64,
        /// The command that runs a slice, without `--shard`.
        rerun: String,
    },
}

/// `1, 3, 4`.
fn list(indices: &[u64]) -> String {
    indices
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

impl MergeError {
    /// The `= help:` line.
    pub fn help(&self) -> String {
        match self {
            MergeError::Unreadable { .. } => {
                "name the folders `netlab compare --shard I/N` wrote".to_string()
            }
            MergeError::OtherSweep { .. } => {
                "run every shard with the same netlab, scenario files and flags (only --shard, \
                 --out and --threads may differ), then merge them"
                    .to_string()
            }
            MergeError::Duplicate { .. } => "name each shard's folder once".to_string(),
            MergeError::Missing {
                missing,
                count,
                rerun,
            } => format!(
                "run the missing ones, such as `{rerun} --shard {}/{count}`, and name their \
                 folders too",
                missing[0]
            ),
        }
    }
}

/// Reads `dir/shard.json`.
pub fn read(dir: &Path) -> Result<Partial, MergeError> {
    let unreadable = |reason: String| MergeError::Unreadable {
        dir: dir.to_path_buf(),
        reason,
    };
    let path = dir.join(FILE);
    match path.symlink_metadata() {
        Ok(meta) if meta.is_file() && meta.len() <= MAX_BYTES => {}
        Ok(meta) if meta.is_file() => return Err(unreadable(format!("{FILE} is too large"))),
        Ok(_) => return Err(unreadable(format!("{FILE} is not a plain file"))),
        Err(e) => return Err(unreadable(format!("no {FILE} ({e})"))),
    }
    let text = std::fs::read_to_string(&path)
        .map_err(|e| unreadable(format!("cannot read {FILE}: {e}")))?;
    Partial::from_json(&text).map_err(|e| unreadable(format!("{FILE} is damaged: {e}")))
}

/// Checks that `parts` (each with the folder it came from) are every slice of one sweep, once;
/// returns the heading, chart format and runs in job order.
pub fn merge(
    parts: Vec<(PathBuf, Partial)>,
) -> Result<(Heading, ChartFormat, Vec<Measured>), MergeError> {
    let Some((first_dir, first)) = parts.first().cloned() else {
        return Err(MergeError::Missing {
            missing: vec![1],
            count: 1,
            rerun: "netlab compare FILE".to_string(),
        });
    };
    let mut slices: BTreeMap<u64, PathBuf> = BTreeMap::new();
    let mut runs: Vec<(usize, Measured)> = Vec::with_capacity(first.total);
    for (dir, part) in parts {
        if part.sweep != first.sweep
            || part.shard.count != first.shard.count
            || part.total != first.total
            || part.format != first.format
            || part.heading != first.heading
        {
            return Err(MergeError::OtherSweep {
                dir,
                first: first_dir,
            });
        }
        if let Some(a) = slices.get(&part.shard.index) {
            return Err(MergeError::Duplicate {
                shard: part.shard,
                a: a.clone(),
                b: dir,
            });
        }
        let owned: Vec<usize> = part.shard.jobs(part.total).collect();
        let held: Vec<usize> = part.runs.iter().map(|(job, _)| *job).collect();
        if owned != held {
            return Err(MergeError::Unreadable {
                dir,
                reason: format!(
                    "{FILE} is damaged: shard {} of {} runs should hold runs {:?}",
                    part.shard,
                    part.total,
                    owned.iter().map(|k| k + 1).collect::<Vec<_>>()
                ),
            });
        }
        slices.insert(part.shard.index, dir);
        runs.extend(part.runs);
    }
    let missing: Vec<u64> = (1..=first.shard.count)
        .filter(|i| !slices.contains_key(i))
        .collect();
    if !missing.is_empty() {
        return Err(MergeError::Missing {
            missing,
            count: first.shard.count,
            rerun: first.rerun,
        });
    }
    runs.sort_by_key(|(job, _)| *job);
    let rows = runs.into_iter().map(|(_, m)| m).collect();
    Ok((first.heading, first.format, rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Slice `index` of `count` of a sweep of `total` runs, each run's seed its job index.
    fn part(sweep: &str, index: u64, count: u64, total: usize) -> (PathBuf, Partial) {
        let shard = Shard { index, count };
        let runs = shard
            .jobs(total)
            .map(|job| {
                let m = Measured {
                    scheduler: "rr".to_string(),
                    values: Vec::new(),
                    seed: job as u64,
                    served: vec![("web1".to_string(), 1)],
                    failed: 0,
                    latency_ms: [1.0, 2.0, 3.0],
                };
                (job, m)
            })
            .collect();
        let partial = Partial {
            sweep: sweep.to_string(),
            shard,
            total,
            rerun: "netlab compare x.ron".to_string(),
            format: ChartFormat::Svg,
            heading: Heading {
                name: "x".to_string(),
                description: String::new(),
                source_file: "x.ron".to_string(),
            },
            runs,
        };
        (PathBuf::from(format!("s{index}")), partial)
    }

    #[test]
    fn slices_in_any_order_come_back_in_job_order() {
        let parts = vec![part("a", 3, 3, 7), part("a", 1, 3, 7), part("a", 2, 3, 7)];
        let (_, _, rows) = merge(parts).unwrap();
        let seeds: Vec<u64> = rows.iter().map(|r| r.seed).collect();
        assert_eq!(seeds, [0, 1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn a_missing_slice_is_named_with_the_command_that_runs_it() {
        let err = merge(vec![part("a", 1, 3, 7)]).unwrap_err();
        assert_eq!(err.to_string(), "2 of 3 shards missing: 2, 3");
        assert!(
            err.help().contains("`netlab compare x.ron --shard 2/3`"),
            "{}",
            err.help()
        );
    }

    #[test]
    fn a_slice_twice_or_of_another_sweep_is_refused() {
        let twice = merge(vec![part("a", 1, 2, 4), part("a", 1, 2, 4)]).unwrap_err();
        assert!(matches!(twice, MergeError::Duplicate { .. }), "{twice}");
        let other = merge(vec![part("a", 1, 2, 4), part("b", 2, 2, 4)]).unwrap_err();
        assert!(matches!(other, MergeError::OtherSweep { .. }), "{other}");
        let cut = merge(vec![part("a", 1, 2, 4), part("a", 2, 3, 4)]).unwrap_err();
        assert!(matches!(cut, MergeError::OtherSweep { .. }), "{cut}");
    }

    #[test]
    fn a_slice_with_other_runs_is_damaged() {
        let (dir, mut partial) = part("a", 2, 2, 4);
        partial.runs.pop();
        let err = merge(vec![part("a", 1, 2, 4), (dir, partial)]).unwrap_err();
        assert!(err.to_string().contains("should hold runs [2, 4]"), "{err}");
    }
}
