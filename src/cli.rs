//! *The `netlab` command*: argument parsing and the three subcommands.
//!
//! This is the only module that prints, writes files or decides exit codes:
//! - 0: success;
//! - 1: a run failed (it hit `max_sim_time` or `max_events`); nothing is written;
//! - 2: the scenario or the command line is invalid.
//!
//! Output files are written into a temporary folder next to the target and renamed into place
//! only when all of them are ready, so a failed run never leaves a half-written folder.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use crate::report::ChartFormat;
use crate::run::execute_as;
use crate::scenario::{self, LoadError};
use crate::{compare, ipvs};

/// A deterministic network lab for redundancy and load distribution.
///
/// Runs scenario files (RON) describing networks of routers, web servers and clients, with
/// real TCP/IP stacks on every host, and writes what the users saw.
#[derive(Debug, Parser)]
#[command(name = "netlab", version, about, long_about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a scenario and write its results to output/<file stem>/.
    Run {
        /// The scenario file.
        file: PathBuf,
        /// Root seed of all randomness (default: the scenario's `seed`, or 1).
        #[arg(long)]
        seed: Option<u64>,
        /// Output folder (default: output/<file stem>/).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Capture every segment into capture.pcap, whatever the scenario says.
        #[arg(long)]
        pcap: bool,
        /// Do not print the summary table.
        #[arg(long)]
        quiet: bool,
        /// File format of the charts.
        #[arg(long, value_enum, default_value_t = Format::Svg)]
        format: Format,
    },
    /// Check scenario files without running them.
    Check {
        /// The scenario files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Run a scenario once per variant (IPVS scheduler, varied fields) and seed, and compare.
    ///
    /// With --schedulers, every virtual service of every L4 balancer gets the variant's
    /// scheduler. With --vary PATH=V1,V2 (repeatable: a grid), the field at PATH takes each
    /// value, for example `--vary nodes.ns1.zone.0.ttl=1s,10s,60s`. Without either, all ten
    /// schedulers are compared. Writes compare.csv, report.md and charts to
    /// output/<file stem>/compare/.
    Compare {
        /// The scenario file.
        file: PathBuf,
        /// Schedulers to compare, comma-separated, or `all`.
        #[arg(long, value_delimiter = ',')]
        schedulers: Option<Vec<String>>,
        /// A field to vary and its values: `PATH=V1,V2,...`. Repeat for a grid.
        #[arg(long)]
        vary: Vec<String>,
        /// Number of seeds per scheduler (consecutive, from the scenario's seed or --seed).
        #[arg(long, default_value_t = 1)]
        seeds: u64,
        /// First seed.
        #[arg(long)]
        seed: Option<u64>,
        /// Threads to run on (default: one per core). The results are the same for any count.
        #[arg(long, default_value_t = 0)]
        threads: usize,
        /// Output folder (default: output/<file stem>/compare/).
        #[arg(long)]
        out: Option<PathBuf>,
        /// File format of the charts.
        #[arg(long, value_enum, default_value_t = Format::Svg)]
        format: Format,
    },
    /// List the scenarios in a folder with their descriptions.
    List {
        /// The folder (default: scenarios).
        #[arg(default_value = "scenarios")]
        dir: PathBuf,
    },
}

/// The chart file formats, as `--format` spells them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Scalable vector graphics (the default).
    Svg,
    /// PNG bitmaps, 800 × 480 pixels, drawn with the bundled font.
    Png,
}

impl From<Format> for ChartFormat {
    fn from(format: Format) -> ChartFormat {
        match format {
            Format::Svg => ChartFormat::Svg,
            Format::Png => ChartFormat::Png,
        }
    }
}

/// Runs the command line `cli`; returns the exit code.
pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Run {
            file,
            seed,
            out,
            pcap,
            quiet,
            format,
        } => run_scenario(&file, seed, out, pcap, quiet, format.into()),
        Command::Check { files } => check(&files),
        Command::Compare {
            file,
            schedulers,
            vary,
            seeds,
            seed,
            threads,
            out,
            format,
        } => compare(
            &file,
            CompareOptions {
                schedulers,
                vary: &vary,
                seeds,
                seed,
                threads,
                out,
                format: format.into(),
            },
        ),
        Command::List { dir } => list(&dir),
    }
}

/// `netlab run`.
fn run_scenario(
    file: &Path,
    seed: Option<u64>,
    out: Option<PathBuf>,
    pcap: bool,
    quiet: bool,
    format: ChartFormat,
) -> Result<ExitCode> {
    let scenario = match scenario::load_file(file) {
        Ok(s) => s,
        Err(e) => return Ok(report_load_error(&e)),
    };
    let seed = seed.unwrap_or(scenario.seed);
    let artifacts = match execute_as(&scenario, seed, pcap, format) {
        Ok(artifacts) => artifacts,
        Err(e) => {
            eprintln!("error: {}: {e}", file.display());
            return Ok(ExitCode::from(1));
        }
    };
    let out_dir = out.unwrap_or_else(|| default_output_dir(file));
    write_atomically(&out_dir, &artifacts.files())
        .with_context(|| format!("cannot write results to {}", out_dir.display()))?;
    if !quiet {
        say(&artifacts.table)?;
        say(&format!("results in {}/\n", out_dir.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes to standard output. A closed pipe (`netlab list | head`) comes back as an error,
/// which `main` turns into a quiet exit 0, instead of the panic `print!` would cause.
fn say(text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()
}

/// `output/<file stem>/`.
pub fn default_output_dir(file: &Path) -> PathBuf {
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "scenario".to_string());
    Path::new("output").join(stem)
}

/// Writes all files into a fresh temporary folder, then swaps it into place.
fn write_atomically(dir: &Path, files: &[(&str, &[u8])]) -> Result<()> {
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)?;
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    let staging = parent.join(format!(".{name}.partial-{}", std::process::id()));
    if staging.exists() {
        std::fs::remove_dir_all(&staging)?;
    }
    std::fs::create_dir_all(&staging)?;
    for (file_name, bytes) in files {
        std::fs::write(staging.join(file_name), bytes)?;
    }
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    std::fs::rename(&staging, dir)?;
    Ok(())
}

/// Prints a load error; returns exit code 2.
fn report_load_error(e: &LoadError) -> ExitCode {
    eprintln!("{e}");
    ExitCode::from(2)
}

/// The flags of `netlab compare`.
struct CompareOptions<'a> {
    schedulers: Option<Vec<String>>,
    vary: &'a [String],
    seeds: u64,
    seed: Option<u64>,
    threads: usize,
    out: Option<PathBuf>,
    format: ChartFormat,
}

/// `netlab compare`.
fn compare(file: &Path, options: CompareOptions<'_>) -> Result<ExitCode> {
    let CompareOptions {
        schedulers,
        vary,
        seeds,
        seed,
        threads,
        out,
        format,
    } = options;
    let source = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) => {
            return Ok(report_load_error(&LoadError::Io {
                path: file.display().to_string(),
                source: e,
            }));
        }
    };
    let name = file.display().to_string();
    let parsed = match scenario::load::parse(&name, &source) {
        Ok(parsed) => parsed,
        Err(e) => return Ok(report_load_error(&e)),
    };
    // --vary PATH=V1,V2: the grid of every combination, in the order given.
    let mut grid: Vec<Vec<(String, String)>> = vec![Vec::new()];
    for spec in vary {
        let Some((path, values)) = spec.split_once('=') else {
            eprintln!(
                "error: --vary {spec}: expected PATH=V1,V2,...\n  = help: for example --vary nodes.ns1.zone.0.ttl=1s,60s"
            );
            return Ok(ExitCode::from(2));
        };
        grid = grid
            .into_iter()
            .flat_map(|done| {
                values.split(',').map(move |v| {
                    let mut next = done.clone();
                    next.push((path.to_string(), v.to_string()));
                    next
                })
            })
            .collect();
    }
    let schedulers: Vec<Option<String>> = match schedulers {
        Some(list) if list.iter().any(|s| s == "all") => ipvs::scheduler::ALL
            .iter()
            .map(|s| Some(s.to_string()))
            .collect(),
        Some(list) => list.into_iter().map(Some).collect(),
        None if vary.is_empty() => ipvs::scheduler::ALL
            .iter()
            .map(|s| Some(s.to_string()))
            .collect(),
        None => vec![None],
    };
    if let Some(bad) = schedulers
        .iter()
        .flatten()
        .find(|n| !ipvs::scheduler::ALL.contains(&n.as_str()))
    {
        eprintln!(
            "error: unknown scheduler \"{bad}\"\n  = help: the schedulers are: {} (or all)",
            ipvs::scheduler::ALL.join(",")
        );
        return Ok(ExitCode::from(2));
    }
    let locator = scenario::diagnostic::Locator::new(&name, &source);
    let mut jobs = Vec::new();
    let mut reference: Option<scenario::Scenario> = None;
    for values in &grid {
        let mut changed = parsed.clone();
        for (path, value) in values {
            changed = match scenario::vary::apply(&changed, path, value) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!(
                        "error: --vary {e}\n  = help: paths step through fields, list positions and node names, as in nodes.web1.workers"
                    );
                    return Ok(ExitCode::from(2));
                }
            };
        }
        let checked = match scenario::validate::validate(&changed, &locator) {
            Ok(s) => s,
            Err(problems) => {
                let label = compare::variant_label("-", values);
                eprintln!("with {label}:");
                return Ok(report_load_error(&LoadError::Invalid(problems)));
            }
        };
        if schedulers.iter().flatten().next().is_some()
            && !checked
                .nodes
                .iter()
                .any(|n| matches!(n, scenario::model::NodeSpec::L4Balancer { .. }))
        {
            eprintln!(
                "error: {} has no L4Balancer, so there is no scheduler to vary\n  = help: use --vary instead",
                file.display()
            );
            return Ok(ExitCode::from(2));
        }
        let first_seed = seed.unwrap_or(checked.seed);
        for scheduler in &schedulers {
            for s in first_seed..first_seed + seeds.max(1) {
                jobs.push(compare::Job {
                    scenario: checked.clone(),
                    scheduler: scheduler.clone(),
                    values: values.clone(),
                    seed: s,
                });
            }
        }
        reference.get_or_insert(checked);
    }
    let scenario = reference.expect("the grid has at least one cell");
    // A progress bar on a terminal; indicatif draws nothing when stderr is not one.
    let progress = indicatif::ProgressBar::new(jobs.len() as u64).with_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} runs  {elapsed}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let result = compare::run_jobs(jobs, threads, &|| progress.inc(1));
    progress.finish_and_clear();
    let variants = match result {
        Ok(v) => v,
        Err((variant, e)) => {
            eprintln!("error: {} with {variant}: {e}", file.display());
            return Ok(ExitCode::from(1));
        }
    };
    let csv = compare::compare_csv(&scenario, &variants);
    let out_dir = out.unwrap_or_else(|| default_output_dir(file).join("compare"));
    let charts = compare::compare_charts(&scenario, &variants, format);
    let report = compare::compare_report(&scenario, &variants, &charts);
    let mut files: Vec<(&str, &[u8])> = vec![
        ("compare.csv", csv.as_bytes()),
        ("report.md", report.as_bytes()),
    ];
    for (name, bytes) in &charts {
        files.push((name, bytes));
    }
    write_atomically(&out_dir, &files)
        .with_context(|| format!("cannot write results to {}", out_dir.display()))?;
    say(&compare::compare_table(&scenario, &variants))?;
    say(&format!("results in {}/\n", out_dir.display()))?;
    Ok(ExitCode::SUCCESS)
}

/// `netlab check`.
fn check(files: &[PathBuf]) -> Result<ExitCode> {
    let mut failed = false;
    for file in files {
        match scenario::load_file(file) {
            Ok(s) => say(&format!(
                "{}: ok ({} nodes)\n",
                file.display(),
                s.nodes.len()
            ))?,
            Err(e) => {
                eprintln!("{e}\n");
                failed = true;
            }
        }
    }
    Ok(if failed {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

/// `netlab list`.
fn list(dir: &Path) -> Result<ExitCode> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read folder {}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "ron"))
        .collect();
    paths.sort();
    for path in paths {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        match scenario::load::parse(&path.display().to_string(), &text) {
            Ok(file) => say(&format!("{name:<32} {}\n", file.description))?,
            Err(_) => say(&format!(
                "{name:<32} (invalid: run `netlab check {}`)\n",
                path.display()
            ))?,
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn run_takes_its_flags() {
        let cli = Cli::try_parse_from(["netlab", "run", "x.ron", "--seed", "7", "--pcap"]).unwrap();
        let Command::Run { seed, pcap, .. } = cli.command else {
            panic!("expected run");
        };
        assert_eq!(seed, Some(7));
        assert!(pcap);
    }

    #[test]
    fn check_needs_a_file() {
        assert!(Cli::try_parse_from(["netlab", "check"]).is_err());
    }

    #[test]
    fn output_goes_under_the_file_stem() {
        assert_eq!(
            default_output_dir(Path::new("scenarios/00-hello-web.ron")),
            Path::new("output/00-hello-web")
        );
    }
}
