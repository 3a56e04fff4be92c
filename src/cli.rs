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

use crate::run::execute;
use crate::scenario::{self, LoadError};

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
    },
    /// Check scenario files without running them.
    Check {
        /// The scenario files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// List the scenarios in a folder with their descriptions.
    List {
        /// The folder (default: scenarios).
        #[arg(default_value = "scenarios")]
        dir: PathBuf,
    },
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
        } => run_scenario(&file, seed, out, pcap, quiet),
        Command::Check { files } => check(&files),
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
) -> Result<ExitCode> {
    let scenario = match scenario::load_file(file) {
        Ok(s) => s,
        Err(e) => return Ok(report_load_error(&e)),
    };
    let seed = seed.unwrap_or(scenario.seed);
    let artifacts = match execute(&scenario, seed, pcap) {
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
        print!("{}", artifacts.table);
        println!("results in {}/", out_dir.display());
    }
    Ok(ExitCode::SUCCESS)
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

/// `netlab check`.
fn check(files: &[PathBuf]) -> Result<ExitCode> {
    let mut failed = false;
    for file in files {
        match scenario::load_file(file) {
            Ok(s) => println!("{}: ok ({} nodes)", file.display(), s.nodes.len()),
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
            Ok(file) => println!("{name:<32} {}", file.description),
            Err(_) => println!(
                "{name:<32} (invalid: run `netlab check {}`)",
                path.display()
            ),
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
