//! *Shards*: one slice of a comparison's job list, run anywhere, kept as a partial result.
//!
//! A sweep of 10 schedulers × 20 seeds × a `--vary` grid is many independent runs. `--shard
//! I/N` makes one machine (a Slurm array task, a GNU parallel job) run only slice `I` of `N`:
//! the jobs whose index `k` (counting from 0, in the order an unsharded run makes them) has
//! `k mod N = I − 1`. Taking every N-th job rather than a block spreads each variant's costly
//! and cheap runs over all the slices.
//!
//! A shard writes a [`Partial`] (`shard.json`): what each of its runs measured (a
//! [`Measured`]), plus everything `merge` needs to put the slices back together and to refuse
//! slices of different sweeps: the sweep's identity ([`sweep_id`]), the slice, the number of
//! runs, the scenario's heading, the chart format and the command that reruns a slice.
//!
//! # Simplifications
//! - The identity is a 64-bit FNV-1a hash of the netlab version, the chart format and every
//!   job (the checked scenario with its variant, and the seed). It catches accidents (another
//!   scenario file, an edited keepalived.conf, other flags, another netlab); it is not a
//!   defence against someone forging a `shard.json`.

use std::fmt::Write;
use std::str::FromStr;

use serde_json::{Value, json};

use super::{Heading, Job, Measured};
use crate::report::ChartFormat;

/// The file a shard writes into its output folder.
pub const FILE: &str = "shard.json";

/// The version of the `shard.json` layout.
const LAYOUT: u64 = 1;

/// The most slices a sweep may be cut into (a sweep has at most `cli::MAX_COMPARE_RUNS`).
pub const MAX_SHARDS: u64 = 10_000;

/// Slice `index` (from 1) of `count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Shard {
    /// Which slice, 1 to `count`.
    pub index: u64,
    /// How many slices.
    pub count: u64,
}

impl Shard {
    /// Whether job `job` (counting from 0) belongs to this slice.
    pub fn owns(self, job: usize) -> bool {
        job as u64 % self.count == self.index - 1
    }

    /// The jobs of this slice among `total`, in order.
    pub fn jobs(self, total: usize) -> impl Iterator<Item = usize> {
        (0..total).filter(move |&k| self.owns(k))
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = String;

    /// `I/N`, with 1 ≤ I ≤ N ≤ [`MAX_SHARDS`].
    fn from_str(text: &str) -> Result<Shard, String> {
        let usage = || format!("expected I/N with 1 <= I <= N <= {MAX_SHARDS}, as in 2/4");
        let (i, n) = text.split_once('/').ok_or_else(usage)?;
        let (Ok(index), Ok(count)) = (i.trim().parse::<u64>(), n.trim().parse::<u64>()) else {
            return Err(usage());
        };
        if index == 0 || index > count || count > MAX_SHARDS {
            return Err(usage());
        }
        Ok(Shard { index, count })
    }
}

/// The identity of a sweep: a hash of the netlab version, the chart format and every job.
pub fn sweep_id(jobs: &[Job], format: ChartFormat) -> String {
    let mut hash = Fnv::new();
    // Writing into the hash cannot fail.
    let _ = writeln!(hash, "{} {}", env!("CARGO_PKG_VERSION"), format.extension());
    for job in jobs {
        let _ = write!(
            hash,
            "{:?}\n{:?}\n{:?}\n{}\n",
            job.scenario, job.scheduler, job.values, job.seed
        );
    }
    hash.hex()
}

/// FNV-1a, 64 bits: a few lines, the same on every machine. Also the fingerprint of a run's
/// scenario in its output folder's marker (`explain::folder`).
pub(crate) struct Fnv(u64);

impl Fnv {
    /// A hash of nothing yet.
    pub(crate) fn new() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    /// The hash so far, as 16 hexadecimal digits.
    pub(crate) fn hex(&self) -> String {
        format!("{:016x}", self.0)
    }
}

impl Write for Fnv {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        for byte in s.bytes() {
            self.0 = (self.0 ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
        Ok(())
    }
}

/// What a shard leaves behind: its runs, and what `merge` checks them by.
#[derive(Clone, Debug, PartialEq)]
pub struct Partial {
    /// The sweep's identity ([`sweep_id`]).
    pub sweep: String,
    /// Which slice.
    pub shard: Shard,
    /// The number of runs in the whole sweep.
    pub total: usize,
    /// The command that runs a slice of this sweep, without `--shard`.
    pub rerun: String,
    /// The chart format.
    pub format: ChartFormat,
    /// The scenario, as the report names it.
    pub heading: Heading,
    /// The slice's runs: (job index in the sweep, what it measured), in job order.
    pub runs: Vec<(usize, Measured)>,
}

impl Partial {
    /// `shard.json`.
    pub fn to_json(&self) -> String {
        let runs: Vec<Value> = self
            .runs
            .iter()
            .map(|(job, m)| {
                json!({
                    "job": job,
                    "scheduler": m.scheduler,
                    "vary": m.values,
                    "seed": m.seed,
                    "served": m.served,
                    "failed": m.failed,
                    "latency_ms": m.latency_ms,
                })
            })
            .collect();
        let value = json!({
            "netlab_shard": LAYOUT,
            "netlab": env!("CARGO_PKG_VERSION"),
            "sweep": self.sweep,
            "shard": self.shard.index,
            "shards": self.shard.count,
            "runs_in_sweep": self.total,
            "rerun": self.rerun,
            "format": self.format.extension(),
            "scenario": {
                "name": self.heading.name,
                "description": self.heading.description,
                "file": self.heading.source_file,
            },
            "runs": runs,
        });
        let mut text = serde_json::to_string_pretty(&value).expect("a JSON value serializes");
        text.push('\n');
        text
    }

    /// Reads `shard.json`; the error says what is wrong with it.
    pub fn from_json(text: &str) -> Result<Partial, String> {
        let value: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        let layout = field(&value, "netlab_shard")?;
        if layout.as_u64() != Some(LAYOUT) {
            return Err(format!(
                "layout {layout} is not the layout {LAYOUT} this netlab reads"
            ));
        }
        let shard = Shard {
            index: number(&value, "shard")?,
            count: number(&value, "shards")?,
        };
        if shard.index == 0 || shard.index > shard.count {
            return Err(format!("shard {shard} is not a slice"));
        }
        let format = match text_of(&value, "format")?.as_str() {
            "svg" => ChartFormat::Svg,
            "png" => ChartFormat::Png,
            other => return Err(format!("unknown chart format \"{other}\"")),
        };
        let scenario = field(&value, "scenario")?;
        let runs = field(&value, "runs")?
            .as_array()
            .ok_or("\"runs\" is not a list")?
            .iter()
            .map(run_from)
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Partial {
            sweep: text_of(&value, "sweep")?,
            shard,
            total: usize::try_from(number(&value, "runs_in_sweep")?)
                .map_err(|_| "\"runs_in_sweep\" is too large")?,
            rerun: text_of(&value, "rerun")?,
            format,
            heading: Heading {
                name: text_of(scenario, "name")?,
                description: text_of(scenario, "description")?,
                source_file: text_of(scenario, "file")?,
            },
            runs,
        })
    }
}

/// One entry of `"runs"`.
fn run_from(run: &Value) -> Result<(usize, Measured), String> {
    let pairs = |key: &str| -> Result<Vec<(String, Value)>, String> {
        field(run, key)?
            .as_array()
            .ok_or(format!("\"{key}\" is not a list"))?
            .iter()
            .map(|pair| match pair.as_array().map(Vec::as_slice) {
                Some([name, value]) => Ok((
                    name.as_str()
                        .ok_or(format!("a name in \"{key}\" is not text"))?
                        .to_string(),
                    value.clone(),
                )),
                _ => Err(format!("\"{key}\" holds something other than pairs")),
            })
            .collect()
    };
    let values = pairs("vary")?
        .into_iter()
        .map(|(path, v)| match v {
            Value::String(v) => Ok((path, v)),
            _ => Err("a value in \"vary\" is not text".to_string()),
        })
        .collect::<Result<_, String>>()?;
    let served = pairs("served")?
        .into_iter()
        .map(|(name, n)| n.as_u64().map(|n| (name, n)).ok_or("a count in \"served\""))
        .collect::<Result<_, _>>()?;
    let latency: Vec<f64> = field(run, "latency_ms")?
        .as_array()
        .map(|list| list.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default();
    let latency_ms: [f64; 3] = latency
        .try_into()
        .map_err(|_| "\"latency_ms\" is not three numbers")?;
    let job = usize::try_from(number(run, "job")?).map_err(|_| "\"job\" is too large")?;
    Ok((
        job,
        Measured {
            scheduler: text_of(run, "scheduler")?,
            values,
            seed: number(run, "seed")?,
            served,
            failed: number(run, "failed")?,
            latency_ms,
        },
    ))
}

/// `value[key]`, or an error naming the key.
fn field<'v>(value: &'v Value, key: &str) -> Result<&'v Value, String> {
    value.get(key).ok_or(format!("\"{key}\" is missing"))
}

/// `value[key]` as a whole number.
fn number(value: &Value, key: &str) -> Result<u64, String> {
    field(value, key)?
        .as_u64()
        .ok_or(format!("\"{key}\" is not a whole number"))
}

/// `value[key]` as text.
fn text_of(value: &Value, key: &str) -> Result<String, String> {
    field(value, key)?
        .as_str()
        .map(str::to_string)
        .ok_or(format!("\"{key}\" is not text"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slice_takes_every_nth_job() {
        let shard: Shard = "2/3".parse().unwrap();
        assert_eq!(shard.jobs(8).collect::<Vec<_>>(), [1, 4, 7]);
        let all: usize = (1..=3)
            .map(|i| Shard { index: i, count: 3 }.jobs(8).count())
            .sum();
        assert_eq!(all, 8, "the slices cover every job once");
    }

    #[test]
    fn only_real_slices_parse() {
        for bad in ["0/3", "4/3", "3", "a/b", "1/0", "1/10001", "-1/2", ""] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
        assert_eq!(" 3 / 4".parse::<Shard>(), Ok(Shard { index: 3, count: 4 }));
    }

    #[test]
    fn a_partial_reads_back_exactly() {
        let partial = Partial {
            sweep: "0123456789abcdef".to_string(),
            shard: Shard { index: 2, count: 3 },
            total: 7,
            rerun: "netlab compare x.ron --seeds 7".to_string(),
            format: ChartFormat::Png,
            heading: Heading {
                name: "x".to_string(),
                description: "a \"quoted\"\nthing".to_string(),
                source_file: "dir/x.ron".to_string(),
            },
            runs: vec![(
                1,
                Measured {
                    scheduler: "wlc".to_string(),
                    values: vec![("nodes.web1.workers".to_string(), "4, 5".to_string())],
                    seed: u64::MAX,
                    served: vec![("web1".to_string(), 3), ("web2".to_string(), 0)],
                    failed: 2,
                    // Values whose last bit a careless reader gets wrong.
                    latency_ms: [
                        0.1 + 0.2,
                        1.000_000_000_000_000_2,
                        2.225_073_858_507_201e-308,
                    ],
                },
            )],
        };
        let text = partial.to_json();
        assert_eq!(Partial::from_json(&text), Ok(partial));
    }

    #[test]
    fn a_damaged_partial_says_what_is_wrong() {
        let err = |text: &str| Partial::from_json(text).unwrap_err();
        assert!(err("{").starts_with("not JSON"));
        assert_eq!(err("{}"), "\"netlab_shard\" is missing");
        assert!(err(r#"{"netlab_shard": 9}"#).contains("layout 9"));
        assert_eq!(
            err(r#"{"netlab_shard": 1, "shard": 3, "shards": 2}"#),
            "shard 3/2 is not a slice"
        );
    }
}
