//! *The `netlab` command*: argument parsing and the subcommands.
//!
//! This is the only module that prints or decides exit codes, and, through [`crate::output`],
//! the only one that writes files. The exit codes:
//! - 0: success;
//! - 1: a run failed (it hit `max_sim_time` or `max_events`; nothing is written), or
//!   `netlab test` found a scenario whose expected outcomes did not hold;
//! - 2: the scenario or the command line is invalid, or the output folder is refused;
//!   nothing is written;
//! - 3: the results could not be written (no space, no permission); the old results, if any,
//!   are still there;
//! - 130: `netlab run` was interrupted by Ctrl-C; nothing is written.
//!
//! The output folder is checked before a run starts, so a refusal comes at once, not after
//! a long run. See `output` for the rules.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

use crate::capture::CaptureOptions;
use crate::output::{OutputDir, OutputError};
use crate::report::ChartFormat;
use crate::run::{Artifacts, execute_streaming};
use crate::scenario::{self, LoadError};
use crate::world::RunError;
use crate::{compare, explain, ipvs};

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
        /// Capture every segment (capture-<segment>.pcap and capture.pcapng), whatever the
        /// scenario says.
        #[arg(long)]
        pcap: bool,
        /// Keep only the frames this filter passes (tcpdump's syntax, a subset: "tcp port
        /// 80", "arp or icmp", "not host 10.0.0.5"); turns the capture on.
        #[arg(long, value_name = "FILTER")]
        pcap_filter: Option<String>,
        /// Keep at most this many bytes of each captured frame; turns the capture on.
        #[arg(long, value_parser = clap::value_parser!(u32).range(34..=262_144))]
        snaplen: Option<u32>,
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
        /// Number of seeds per scheduler (consecutive, from the scenario's seed or --seed),
        /// 1 to 1000.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=1000))]
        seeds: u64,
        /// First seed.
        #[arg(long)]
        seed: Option<u64>,
        /// Threads to run on, up to 256 (default, or 0: one per core). The results are the
        /// same for any count.
        #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=256))]
        threads: u64,
        /// Output folder (default: output/<file stem>/compare/).
        #[arg(long)]
        out: Option<PathBuf>,
        /// File format of the charts.
        #[arg(long, value_enum, default_value_t = Format::Svg)]
        format: Format,
        /// Run only slice I of N of the runs (those whose number, counting from 0, leaves
        /// I-1 when divided by N) and write them as a partial result, shard.json, to
        /// output/<file stem>/compare-shard-I-of-N/. `netlab merge` combines the N slices.
        #[arg(long, value_name = "I/N")]
        shard: Option<compare::Shard>,
    },
    /// Combine the slices of a sharded comparison (`netlab compare --shard I/N`) into one.
    ///
    /// Reads shard.json in each folder, checks that they are the N slices of one comparison
    /// (same scenario, flags and netlab), each once, and writes compare.csv, report.md and the
    /// charts, the same bytes an unsharded `netlab compare` writes, to
    /// output/<file stem>/compare/.
    Merge {
        /// The folders the shards wrote.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Output folder (default: output/<file stem>/compare/, for the scenario file the
        /// shards ran).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Run scenarios and check their expected outcomes (`expect` and `<stem>.expected.json`).
    ///
    /// Each file (a folder is searched for .ron files) is run with its own seed; every
    /// statement of its `expect` list is checked, and so is every metric of the
    /// `<stem>.expected.json` beside it, within its tolerance. Prints a line per scenario and
    /// `N passed, N failed`; exits 0 only when every scenario passes.
    Test {
        /// Scenario files or folders.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Write (or update) each scenario's <stem>.expected.json from this run.
        #[arg(long)]
        accept: bool,
        /// Also write the results as JUnit XML to this file (for GitHub Classroom, GitLab,
        /// Jenkins).
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
        /// Threads to run on, up to 256 (default, or 0: one per core).
        #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=256))]
        threads: u64,
    },
    /// Tell the story of one request: every decision and frame, and why it ended as it did.
    ///
    /// Runs the scenario (the same run as `netlab run` with the same seed) recording what
    /// each node decided and from what, then prints the chosen request hop by hop, one line
    /// per step with its virtual time. Instead of a scenario file, name the output folder of
    /// a finished `netlab run` to explain that run (its scenario file, unchanged, and its
    /// seed). Choose the request with exactly one of --request, --client with --nth, --server
    /// with --nth, or --first-failed. Writes no files.
    #[command(group(
        clap::ArgGroup::new("which").required(true).args(["request", "client", "server", "first_failed"])
    ))]
    Explain {
        /// The scenario file, or the output folder of a finished run (output/<file stem>).
        file: PathBuf,
        /// Root seed of all randomness (default: the scenario's `seed`, or 1); not with a
        /// folder, whose run fixes it.
        #[arg(long)]
        seed: Option<u64>,
        /// The request's id in requests.csv.
        #[arg(long, value_name = "ID")]
        request: Option<usize>,
        /// A client host (users-3) or client group (users); use with --nth.
        #[arg(long, value_name = "NAME", requires = "nth")]
        client: Option<String>,
        /// A web server; use with --nth for the K-th request it answered.
        #[arg(long, value_name = "NAME", requires = "nth")]
        server: Option<String>,
        /// Which request of --client or --server, counting from 1 in start order.
        #[arg(long, value_name = "K", conflicts_with_all = ["request", "first_failed"])]
        nth: Option<usize>,
        /// The first request that did not end ok.
        #[arg(long)]
        first_failed: bool,
        /// Print sentences (text) or the same story as data (json).
        #[arg(long, value_enum, default_value_t = ExplainFormat::Text)]
        format: ExplainFormat,
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

/// How `netlab explain` prints its story.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ExplainFormat {
    /// One sentence per step, with its virtual time.
    Text,
    /// The same story as JSON.
    Json,
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
            pcap_filter,
            snaplen,
            quiet,
            format,
        } => {
            let capture = CaptureArgs {
                all: pcap,
                filter: pcap_filter,
                snaplen,
            };
            run_scenario(&file, seed, out, capture, quiet, format.into())
        }
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
            shard,
        } => compare(
            &file,
            CompareOptions {
                schedulers,
                vary: &vary,
                seeds,
                seed,
                threads: threads as usize,
                out,
                format: format.into(),
                shard,
            },
        ),
        Command::Merge { dirs, out } => merge(&dirs, out),
        Command::Test {
            paths,
            accept,
            junit,
            threads,
        } => test(&paths, accept, junit.as_deref(), threads as usize),
        Command::Explain {
            file,
            seed,
            request,
            client,
            server,
            nth,
            first_failed: _,
            format,
        } => {
            let selector = explain_selector(request, client, server, nth);
            explain_request(&file, seed, &selector, format)
        }
        Command::List { dir } => list(&dir),
    }
}

/// The request `netlab explain` tells, from its selector flags: --request, --client or
/// --server (each K-th by --nth, the first without it), else --first-failed.
fn explain_selector(
    request: Option<usize>,
    client: Option<String>,
    server: Option<String>,
    nth: Option<usize>,
) -> explain::Selector {
    // clap's group makes exactly one of the four present.
    match (request, client, server) {
        (Some(id), _, _) => explain::Selector::Request(id),
        (_, Some(name), _) => explain::Selector::Client {
            name,
            nth: nth.unwrap_or(1),
        },
        (_, _, Some(name)) => explain::Selector::Server {
            name,
            nth: nth.unwrap_or(1),
        },
        // clap's group leaves only --first-failed.
        (None, None, None) => explain::Selector::FirstFailed,
    }
}

/// `netlab explain`.
fn explain_request(
    file: &Path,
    seed: Option<u64>,
    selector: &explain::Selector,
    format: ExplainFormat,
) -> Result<ExitCode> {
    let (scenario, seed) = if file.is_dir() {
        match finished_run(file, seed) {
            Ok(found) => found,
            Err(code) => return Ok(code),
        }
    } else {
        match load_and_warn(file) {
            Ok((s, _)) => {
                let seed = seed.unwrap_or(s.seed);
                (s, seed)
            }
            Err(e) => return Ok(report_load_error(&e)),
        }
    };
    match explain::explain(&scenario, seed, selector) {
        Ok(told) => {
            say(&match format {
                ExplainFormat::Text => told.text(),
                ExplainFormat::Json => told.json(),
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Err(explain::ExplainError::Select(e)) => Ok(usage_error(&e.message, &e.help)),
        Err(explain::ExplainError::Run(e)) => {
            eprintln!("error: {}: {e}", file.display());
            Ok(ExitCode::from(EXIT_RUN_FAILED))
        }
    }
}

/// `netlab explain DIR`: the scenario and seed of the run in the output folder `dir`, or the
/// exit code of a refusal (printed).
fn finished_run(dir: &Path, seed: Option<u64>) -> Result<(scenario::Scenario, u64), ExitCode> {
    if let Some(seed) = seed {
        return Err(usage_error(
            &format!(
                "--seed {seed}: {} is a run's output folder, and its run fixes the seed",
                dir.display()
            ),
            "drop --seed, or name the scenario file to explain another seed's run: \
             netlab explain SCENARIO --seed N ...",
        ));
    }
    let refuse = |e: explain::folder::FolderError| usage_error(&e.to_string(), &e.help());
    let run = explain::folder::read(dir).map_err(refuse)?;
    let scenario = load_and_warn(&run.scenario)
        .map_err(|e| report_load_error(&e))?
        .0;
    run.check_unchanged(dir, &scenario).map_err(refuse)?;
    Ok((scenario, run.seed))
}

/// Exit code 1: a run did not finish.
const EXIT_RUN_FAILED: u8 = 1;
/// Exit code 2: invalid input (scenario, command line, output folder).
pub const EXIT_INVALID: u8 = 2;
/// Exit code 3: the results could not be written.
pub const EXIT_IO: u8 = 3;
/// Exit code 130: interrupted by Ctrl-C (128 + SIGINT, as shells report it).
pub const EXIT_INTERRUPTED: u8 = 130;

/// `netlab run`: loads the scenario, opens the output folder and the files that stream into
/// it, runs ([`run_watched`]) and writes the rest of the results.
fn run_scenario(
    file: &Path,
    seed: Option<u64>,
    out: Option<PathBuf>,
    capture: CaptureArgs,
    quiet: bool,
    format: ChartFormat,
) -> Result<ExitCode> {
    let scenario = match load_and_warn(file) {
        Ok((s, _)) => s,
        Err(e) => return Ok(report_load_error(&e)),
    };
    let seed = seed.unwrap_or(scenario.seed);
    let out_dir = out.unwrap_or_else(|| default_output_dir(file));
    let opened = match RunFiles::open(file, &scenario, &out_dir, capture) {
        Ok(opened) => opened,
        Err(code) => return Ok(code),
    };
    let (artifacts, staging) = match run_watched(file, &scenario, seed, format, opened) {
        Ok(done) => done,
        Err(code) => return Ok(code),
    };
    if let Some(code) = streaming_failure(&artifacts) {
        return Ok(code);
    }
    if let Err(e) = write_all(staging, &artifacts.files()) {
        return Ok(report_output_error(&e));
    }
    if !quiet {
        say(&artifacts.table)?;
        say(&format!("results in {}/\n", out_dir.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// What `netlab run` opens before the run starts: the staging folder, and the files that
/// stream into it while the run goes (the capture, requests.csv).
struct RunFiles {
    staging: OutputDir,
    capture: CaptureOptions,
    requests_csv: Box<dyn std::io::Write + Send>,
}

impl RunFiles {
    /// Prepares the staging folder for `out_dir` and opens the streamed files in it; a
    /// refusal is printed and its exit code returned.
    fn open(
        file: &Path,
        scenario: &scenario::Scenario,
        out_dir: &Path,
        capture: CaptureArgs,
    ) -> Result<RunFiles, ExitCode> {
        let mut staging = OutputDir::prepare(out_dir, file).map_err(|e| report_output_error(&e))?;
        // For `netlab explain DIR`: the marker says which scenario made these results.
        if let Some(origin) = explain::folder::origin(file, scenario) {
            staging.set_origin(origin);
        }
        let capture = capture.open(scenario, &mut staging)?;
        // requests.csv is written row by row while the run goes (see `trace::requests`).
        let requests_csv = match staging.create("requests.csv") {
            Ok((file, _)) => Box::new(file),
            Err(e) => return Err(report_output_error(&e)),
        };
        Ok(RunFiles {
            staging,
            capture,
            requests_csv,
        })
    }
}

/// Runs `scenario` into `opened`'s files, with a progress bar on a terminal after a second;
/// Ctrl-C stops the run (see `progress`). Returns the results and the staging folder to
/// write them into, or the exit code of an interrupted or failed run (printed; nothing is
/// written).
fn run_watched(
    file: &Path,
    scenario: &scenario::Scenario,
    seed: u64,
    format: ChartFormat,
    opened: RunFiles,
) -> Result<(Artifacts, OutputDir), ExitCode> {
    let RunFiles {
        staging,
        capture,
        requests_csv,
    } = opened;
    let watch = crate::progress::Watch::start(scenario);
    let result = execute_streaming(scenario, seed, format, capture, requests_csv, |world| {
        world.watch(watch.watcher())
    });
    watch.finish();
    match result {
        Ok(_) | Err(RunError::Interrupted { .. }) if watch.interrupted() => {
            // Dropping the staging folder deletes it; the old results are untouched.
            drop(staging);
            eprintln!("interrupted: nothing written");
            Err(ExitCode::from(EXIT_INTERRUPTED))
        }
        Ok(artifacts) => Ok((artifacts, staging)),
        Err(e) => {
            eprintln!("error: {}: {e}", file.display());
            Err(ExitCode::from(EXIT_RUN_FAILED))
        }
    }
}

/// The exit code, printed, when a file streamed during the run (the capture, requests.csv)
/// could not be written.
fn streaming_failure(artifacts: &Artifacts) -> Option<ExitCode> {
    if let Some(e) = &artifacts.capture_error {
        eprintln!("error: could not write the capture: {e}");
        return Some(ExitCode::from(EXIT_IO));
    }
    if let Some(e) = &artifacts.requests_error {
        eprintln!("error: could not write requests.csv: {e}");
        return Some(ExitCode::from(EXIT_IO));
    }
    None
}

/// `netlab run`'s capture flags.
struct CaptureArgs {
    all: bool,
    filter: Option<String>,
    snaplen: Option<u32>,
}

impl CaptureArgs {
    /// Checks the filter and opens the capture files in the staging folder, so the capture
    /// streams to disk; an error is printed and its exit code returned.
    fn open(
        self,
        scenario: &scenario::Scenario,
        staging: &mut OutputDir,
    ) -> Result<CaptureOptions, ExitCode> {
        use crate::capture::{FILTER_HELP, Filter, MAX_CAPTURED_WIRES, Plan, Sink};
        let filter = match self.filter.as_deref().map(Filter::parse).transpose() {
            Ok(filter) => filter,
            Err(e) => {
                let text = self.filter.unwrap_or_default();
                eprintln!("error: --pcap-filter: {e}");
                eprintln!("  {text}\n  {}^", " ".repeat(e.column.saturating_sub(1)));
                eprintln!("  = help: {FILTER_HELP}");
                return Err(ExitCode::from(EXIT_INVALID));
            }
        };
        let mut options = CaptureOptions {
            all: self.all,
            filter,
            snaplen: self.snaplen,
            sink: Sink::Memory,
        };
        let Some(plan) = Plan::new(scenario, &options) else {
            return Ok(options);
        };
        if plan.segments.len() > MAX_CAPTURED_WIRES {
            eprintln!(
                "error: the capture would write {} wires; netlab captures at most {MAX_CAPTURED_WIRES}",
                plan.segments.len()
            );
            eprintln!("  = help: list the wires to capture in the scenario's `capture.segments`");
            return Err(ExitCode::from(EXIT_INVALID));
        }
        let mut files: Vec<(String, Box<dyn std::io::Write + Send>)> = Vec::new();
        for name in plan.file_names() {
            match staging.create(&name) {
                Ok((file, _)) => files.push((name, Box::new(file))),
                Err(e) => return Err(report_output_error(&e)),
            }
        }
        options.sink = Sink::Files(files);
        Ok(options)
    }
}

/// Writes to standard output. A closed pipe (`netlab list | head`) comes back as an error,
/// which `main` turns into a quiet exit 0, instead of the panic `print!` would cause.
fn say(text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()
}

pub use crate::output::default_output_dir;

/// Writes all files into the prepared staging folder, then swaps it into place.
fn write_all(mut staging: OutputDir, files: &[(&str, &[u8])]) -> Result<(), OutputError> {
    for (name, bytes) in files {
        staging.write(name, bytes)?;
    }
    for kept in staging.commit()? {
        eprintln!(
            "warning: left {} in place: it holds files netlab did not write",
            kept.display()
        );
    }
    Ok(())
}

/// [`write_all`] for files whose names and bytes are owned.
fn write_owned(staging: OutputDir, files: &[(String, Vec<u8>)]) -> Result<(), OutputError> {
    let refs: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(name, bytes)| (name.as_str(), bytes.as_slice()))
        .collect();
    write_all(staging, &refs)
}

/// Prints an output error; returns exit code 2 for a refusal (nothing was touched) or 3 for
/// a failed write.
fn report_output_error(e: &OutputError) -> ExitCode {
    eprintln!("error: {e}");
    if let Some(help) = e.help() {
        eprintln!("  = help: {help}");
    }
    ExitCode::from(match e {
        OutputError::Refused { .. } => EXIT_INVALID,
        OutputError::Io { .. } => EXIT_IO,
    })
}

/// Loads and checks the scenario in `file`, and prints its warnings (see `scenario::lint`).
fn load_and_warn(file: &Path) -> Result<(scenario::Scenario, usize), LoadError> {
    let source = scenario::load::read_source(file)?;
    let name = file.display().to_string();
    let (checked, conf_warnings) = scenario::load::load_with_warnings(&name, &source)?;
    for warning in &conf_warnings {
        eprintln!("{warning}\n");
    }
    let warnings = scenario::lint::lint(
        &checked,
        &scenario::diagnostic::Locator::new(&name, &source),
    );
    for warning in &warnings {
        eprintln!("{warning}\n");
    }
    Ok((checked, conf_warnings.len() + warnings.len()))
}

/// Prints a load error; returns exit code 2.
fn report_load_error(e: &LoadError) -> ExitCode {
    eprintln!("{e}");
    ExitCode::from(EXIT_INVALID)
}

/// Prints a command-line mistake with its hint; returns exit code 2.
fn usage_error(message: &str, help: &str) -> ExitCode {
    eprintln!("error: {message}\n  = help: {help}");
    ExitCode::from(EXIT_INVALID)
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
    shard: Option<compare::Shard>,
}

/// The most runs one `netlab compare` may ask for (variants × seeds): a class-sized sweep is
/// a few hundred; more is almost surely a typo in `--vary` or `--seeds`.
pub const MAX_COMPARE_RUNS: u64 = 10_000;

/// `netlab compare`: plans the runs (every `--vary` combination × scheduler × seed), runs this
/// shard's share of them (all of them without `--shard`) and writes the results.
fn compare(file: &Path, options: CompareOptions<'_>) -> Result<ExitCode> {
    let CompareOptions {
        schedulers,
        vary,
        seeds,
        seed,
        threads,
        out,
        format,
        shard,
    } = options;
    let rerun = rerun_command(file, schedulers.as_deref(), vary, seeds, seed, format);
    let ComparePlan { jobs, scenario } = match plan_compare(file, schedulers, vary, seeds, seed) {
        Ok(plan) => plan,
        Err(code) => return Ok(code),
    };
    let heading = compare::Heading::of(&scenario);
    let folder = shard.map_or("compare".to_string(), |s| {
        format!("compare-shard-{}-of-{}", s.index, s.count)
    });
    let out_dir = out.unwrap_or_else(|| default_output_dir(file).join(folder));
    let staging = match OutputDir::prepare(&out_dir, file) {
        Ok(staging) => staging,
        Err(e) => return Ok(report_output_error(&e)),
    };
    let total = jobs.len();
    // A shard runs every N-th job, and keeps what merge checks the slices by.
    let partial = shard.map(|shard| compare::Partial {
        sweep: compare::shard::sweep_id(&jobs, format),
        shard,
        total,
        rerun,
        format,
        heading: heading.clone(),
        runs: Vec::new(),
    });
    let (owned, jobs) = shard_of(jobs, shard);
    let variants = match run_with_progress(jobs, threads) {
        Ok(v) => v,
        Err((variant, e)) => {
            eprintln!("error: {} with {variant}: {e}", file.display());
            return Ok(ExitCode::from(EXIT_RUN_FAILED));
        }
    };
    let rows: Vec<compare::Measured> = variants.iter().map(|v| v.measured(&scenario)).collect();
    let files = match partial {
        // A shard writes its partial result; `netlab merge` makes the files of them all.
        Some(mut partial) => {
            partial.runs = owned.into_iter().zip(rows.iter().cloned()).collect();
            vec![(
                compare::shard::FILE.to_string(),
                partial.to_json().into_bytes(),
            )]
        }
        None => compare::render::files(&heading, &rows, format),
    };
    if let Err(e) = write_owned(staging, &files) {
        return Ok(report_output_error(&e));
    }
    say(&compare::render::table(&rows))?;
    if let Some(shard) = shard {
        say(&format!(
            "shard {shard}: {} of {total} runs; partial result in {}/\n\
             when all {} shards are done: netlab merge FOLDER...\n",
            rows.len(),
            out_dir.display(),
            shard.count
        ))?;
    } else {
        say(&format!("results in {}/\n", out_dir.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The jobs `shard` owns (every job without one), with their places in the whole sweep.
fn shard_of(
    jobs: Vec<compare::Job>,
    shard: Option<compare::shard::Shard>,
) -> (Vec<usize>, Vec<compare::Job>) {
    jobs.into_iter()
        .enumerate()
        .filter(|(k, _)| shard.is_none_or(|s| s.owns(*k)))
        .unzip()
}

/// Runs `jobs` on `threads` threads, with a progress bar on a terminal (indicatif draws
/// nothing when stderr is not one).
fn run_with_progress(
    jobs: Vec<compare::Job>,
    threads: usize,
) -> Result<Vec<compare::Variant>, (String, crate::world::RunError)> {
    let progress = indicatif::ProgressBar::new(jobs.len() as u64).with_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} runs  {elapsed}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let result = compare::run_jobs(jobs, threads, &|| progress.inc(1));
    progress.finish_and_clear();
    result
}

/// What a comparison will run, before anything runs or is written.
struct ComparePlan {
    /// Every run, in the order of the results: grid cell, then scheduler, then seed.
    jobs: Vec<compare::Job>,
    /// The scenario of the first grid cell, checked: it heads the results.
    scenario: scenario::Scenario,
}

/// Reads and checks the scenario and every flag of `netlab compare`, and lists its runs. A
/// problem is reported where it is found (`Err` holds the exit code).
fn plan_compare(
    file: &Path,
    schedulers: Option<Vec<String>>,
    vary: &[String],
    seeds: u64,
    seed: Option<u64>,
) -> Result<ComparePlan, ExitCode> {
    let source = scenario::load::read_source(file).map_err(|e| report_load_error(&e))?;
    let name = file.display().to_string();
    let mut parsed = scenario::load::parse(&name, &source).map_err(|e| report_load_error(&e))?;
    // The keepalived.conf files it names, read once for every variant.
    let (_, conf_addresses) = scenario::load::import_keepalived(&name, &source, &mut parsed)
        .map_err(|e| report_load_error(&e))?;
    let axes = vary_axes(vary)?;
    let schedulers = compared_schedulers(schedulers, vary.is_empty())?;
    check_run_count(&axes, schedulers.len(), seeds)?;
    let locator = scenario::diagnostic::Locator::new(&name, &source);
    let mut jobs = Vec::new();
    let mut reference: Option<scenario::Scenario> = None;
    for values in grid(&axes) {
        let checked = grid_cell(&parsed, &values, &locator, &conf_addresses)?;
        let first_seed = check_cell(file, &checked, &schedulers, seed, seeds)?;
        for scheduler in &schedulers {
            for s in 0..seeds {
                jobs.push(compare::Job {
                    scenario: checked.clone(),
                    scheduler: scheduler.clone(),
                    values: values.clone(),
                    seed: first_seed + s,
                });
            }
        }
        reference.get_or_insert(checked);
    }
    let scenario = reference.expect("the grid has at least one cell");
    Ok(ComparePlan { jobs, scenario })
}

/// Refuses a comparison of more than [`MAX_COMPARE_RUNS`] runs (every `axes` value ×
/// `schedulers` × `seeds`), counted before any of them is made.
fn check_run_count(
    axes: &[(&str, Vec<&str>)],
    schedulers: usize,
    seeds: u64,
) -> Result<(), ExitCode> {
    let runs = axes
        .iter()
        .try_fold(schedulers as u64, |n, (_, values)| {
            n.checked_mul(values.len() as u64)
        })
        .and_then(|n| n.checked_mul(seeds));
    if runs.is_none_or(|n| n > MAX_COMPARE_RUNS) {
        return Err(usage_error(
            &format!("this comparison asks for more than {MAX_COMPARE_RUNS} runs"),
            "use fewer --vary values, schedulers or --seeds",
        ));
    }
    Ok(())
}

/// Checks that the flags fit grid cell `checked`: a scheduler to vary needs an L4 balancer,
/// and its `seeds` seeds (from `seed`, else its own) must not pass the largest. Returns the
/// first seed.
fn check_cell(
    file: &Path,
    checked: &scenario::Scenario,
    schedulers: &[Option<String>],
    seed: Option<u64>,
    seeds: u64,
) -> Result<u64, ExitCode> {
    if schedulers.iter().flatten().next().is_some()
        && !checked
            .nodes
            .iter()
            .any(|n| matches!(n, scenario::model::NodeSpec::L4Balancer { .. }))
    {
        return Err(usage_error(
            &format!(
                "{} has no L4Balancer, so there is no scheduler to vary",
                file.display()
            ),
            "use --vary instead",
        ));
    }
    let first_seed = seed.unwrap_or(checked.seed);
    // The last seed is first + seeds - 1; it must not wrap around.
    if first_seed.checked_add(seeds - 1).is_none() {
        return Err(usage_error(
            &format!("--seeds {seeds} from seed {first_seed} goes past the largest seed"),
            &format!("start at --seed {} or lower", u64::MAX - (seeds - 1)),
        ));
    }
    Ok(first_seed)
}

/// `--vary PATH=V1,V2,...`, each flag an axis of the grid: its path and its values, in the
/// order given.
fn vary_axes(vary: &[String]) -> Result<Vec<(&str, Vec<&str>)>, ExitCode> {
    vary.iter()
        .map(|spec| match spec.split_once('=') {
            Some((path, values)) => Ok((path, values.split(',').collect())),
            None => Err(usage_error(
                &format!("--vary {spec}: expected PATH=V1,V2,..."),
                "for example --vary nodes.ns1.zone.0.ttl=1s,60s",
            )),
        })
        .collect()
}

/// The schedulers to compare: those of `--schedulers` (`all`: every one), or every one when
/// nothing is varied, or only the scenario's own (`None`) when `--vary` is the point.
fn compared_schedulers(
    schedulers: Option<Vec<String>>,
    nothing_varied: bool,
) -> Result<Vec<Option<String>>, ExitCode> {
    let every = || {
        ipvs::scheduler::ALL
            .iter()
            .map(|s| Some(s.to_string()))
            .collect()
    };
    let schedulers: Vec<Option<String>> = match schedulers {
        Some(list) if list.iter().any(|s| s == "all") => every(),
        Some(list) => list.into_iter().map(Some).collect(),
        None if nothing_varied => every(),
        None => vec![None],
    };
    if let Some(bad) = schedulers
        .iter()
        .flatten()
        .find(|n| !ipvs::scheduler::ALL.contains(&n.as_str()))
    {
        return Err(usage_error(
            &format!("unknown scheduler \"{bad}\""),
            &format!(
                "the schedulers are: {} (or all)",
                ipvs::scheduler::ALL.join(",")
            ),
        ));
    }
    Ok(schedulers)
}

/// Every combination of one value per axis, the first axis varying slowest; one empty cell
/// when there is no axis.
fn grid(axes: &[(&str, Vec<&str>)]) -> Vec<Vec<(String, String)>> {
    let mut grid: Vec<Vec<(String, String)>> = vec![Vec::new()];
    for (path, values) in axes {
        grid = grid
            .into_iter()
            .flat_map(|done| {
                values.iter().map(move |v| {
                    let mut next = done.clone();
                    next.push((path.to_string(), v.to_string()));
                    next
                })
            })
            .collect();
    }
    grid
}

/// The scenario of one grid cell: `parsed` with the cell's values applied, then checked as a
/// scenario file is (problems located in the file, or in the keepalived.conf they came from).
fn grid_cell(
    parsed: &scenario::format::ScenarioFile,
    values: &[(String, String)],
    locator: &scenario::diagnostic::Locator<'_>,
    conf_addresses: &scenario::load::ConfAddresses,
) -> Result<scenario::Scenario, ExitCode> {
    let mut changed = parsed.clone();
    for (path, value) in values {
        changed = scenario::vary::apply(&changed, path, value).map_err(|e| {
            usage_error(
                &format!("--vary {e}"),
                "paths step through fields, list positions and node names, as in nodes.web1.workers",
            )
        })?;
    }
    scenario::validate::validate(&changed, locator).map_err(|mut problems| {
        scenario::keepalived::relocate(&mut problems, conf_addresses);
        let label = compare::variant_label("-", values);
        eprintln!("with {label}:");
        report_load_error(&LoadError::Invalid(problems))
    })
}

/// The command line that runs a slice of this comparison, without `--shard`, `--out` and
/// `--threads` (they do not change the results): what `netlab merge` suggests for a missing
/// slice.
fn rerun_command(
    file: &Path,
    schedulers: Option<&[String]>,
    vary: &[String],
    seeds: u64,
    seed: Option<u64>,
    format: ChartFormat,
) -> String {
    let mut words = vec![
        "netlab".to_string(),
        "compare".to_string(),
        file.display().to_string(),
    ];
    if let Some(list) = schedulers {
        words.extend(["--schedulers".to_string(), list.join(",")]);
    }
    for spec in vary {
        words.extend(["--vary".to_string(), spec.clone()]);
    }
    if seeds != 1 {
        words.extend(["--seeds".to_string(), seeds.to_string()]);
    }
    if let Some(seed) = seed {
        words.extend(["--seed".to_string(), seed.to_string()]);
    }
    if format == ChartFormat::Png {
        words.extend(["--format".to_string(), "png".to_string()]);
    }
    words
        .iter()
        .map(|w| shell_quoted(w))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `word` as a POSIX shell reads it back: bare if it is plain, else in single quotes.
fn shell_quoted(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=,:+@%".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// `netlab merge`.
fn merge(dirs: &[PathBuf], out: Option<PathBuf>) -> Result<ExitCode> {
    let mut parts = Vec::new();
    for dir in dirs {
        match compare::merge::read(dir) {
            Ok(partial) => parts.push((dir.clone(), partial)),
            Err(e) => return Ok(usage_error(&e.to_string(), &e.help())),
        }
    }
    let (heading, format, rows) = match compare::merge(parts) {
        Ok(merged) => merged,
        Err(e) => return Ok(usage_error(&e.to_string(), &e.help())),
    };
    let file = PathBuf::from(&heading.source_file);
    let out_dir = out.unwrap_or_else(|| default_output_dir(&file).join("compare"));
    let staging = match OutputDir::prepare(&out_dir, &file) {
        Ok(staging) => staging,
        Err(e) => return Ok(report_output_error(&e)),
    };
    let files = compare::render::files(&heading, &rows, format);
    if let Err(e) = write_owned(staging, &files) {
        return Ok(report_output_error(&e));
    }
    say(&compare::render::table(&rows))?;
    say(&format!("results in {}/\n", out_dir.display()))?;
    Ok(ExitCode::SUCCESS)
}

/// `netlab check`.
fn check(files: &[PathBuf]) -> Result<ExitCode> {
    let mut failed = false;
    for file in files {
        match load_and_warn(file) {
            Ok((s, 0)) => say(&format!(
                "{}: ok ({} nodes)\n",
                file.display(),
                s.nodes.len()
            ))?,
            Ok((s, warnings)) => say(&format!(
                "{}: ok ({} nodes, {warnings} warning{})\n",
                file.display(),
                s.nodes.len(),
                if warnings == 1 { "" } else { "s" }
            ))?,
            Err(e) => {
                eprintln!("{e}\n");
                failed = true;
            }
        }
    }
    Ok(if failed {
        ExitCode::from(EXIT_INVALID)
    } else {
        ExitCode::SUCCESS
    })
}

/// `netlab test`.
fn test(paths: &[PathBuf], accept: bool, junit: Option<&Path>, threads: usize) -> Result<ExitCode> {
    use crate::expect::suite;
    use rayon::prelude::*;
    let files = match suite::find_files(paths) {
        Ok(files) => files,
        Err(e) => {
            return Ok(usage_error(
                &e,
                "name scenario files, or folders that hold them",
            ));
        }
    };
    if let Some(junit) = junit
        && let Err(e) = suite::junit_writable(junit)
    {
        return Ok(usage_error(
            &e,
            "netlab replaces only a JUnit file it wrote",
        ));
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()?;
    // Results come back in file order whatever the thread count.
    let reports: Vec<suite::FileReport> = pool.install(|| {
        files
            .par_iter()
            .map(|f| suite::test_file(f, accept))
            .collect()
    });
    for report in &reports {
        say(&report.lines())?;
    }
    let passed = reports.iter().filter(|r| r.passed()).count();
    say(&format!(
        "{passed} passed, {} failed\n",
        reports.len() - passed
    ))?;
    if let Some(junit) = junit
        && let Err(e) =
            crate::output::write_file_replacing(junit, suite::junit_xml(&reports).as_bytes())
    {
        eprintln!("error: cannot write {}: {e}", junit.display());
        return Ok(ExitCode::from(EXIT_IO));
    }
    Ok(if passed == reports.len() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_RUN_FAILED)
    })
}

/// `netlab list`.
fn list(dir: &Path) -> Result<ExitCode> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            return Ok(usage_error(
                &format!("cannot read folder {}: {e}", dir.display()),
                "name a folder of scenario files, such as scenarios",
            ));
        }
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "ron"))
        .collect();
    paths.sort();
    for path in paths {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        // `read_source` refuses FIFOs, devices and huge files instead of blocking on them.
        let text = scenario::load::read_source(&path).unwrap_or_default();
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
    fn explain_takes_exactly_one_selector() {
        let parse = |args: &[&str]| {
            let mut line = vec!["netlab", "explain", "x.ron"];
            line.extend_from_slice(args);
            Cli::try_parse_from(line)
        };
        assert!(parse(&[]).is_err(), "no selector");
        assert!(
            parse(&["--client", "pc"]).is_err(),
            "--client without --nth"
        );
        assert!(parse(&["--request", "1", "--nth", "2"]).is_err());
        assert!(parse(&["--request", "1", "--first-failed"]).is_err());
        assert!(parse(&["--server", "web1", "--nth", "2", "--format", "json"]).is_ok());
        let Command::Explain {
            first_failed, nth, ..
        } = parse(&["--first-failed"]).unwrap().command
        else {
            panic!("expected explain");
        };
        assert!(first_failed);
        assert_eq!(nth, None);
    }

    #[test]
    fn compare_refuses_absurd_counts() {
        let parse = |args: &[&str]| {
            let mut line = vec!["netlab", "compare", "x.ron"];
            line.extend_from_slice(args);
            Cli::try_parse_from(line)
        };
        assert!(parse(&["--seeds", "0"]).is_err(), "--seeds 0");
        assert!(parse(&["--seeds", "1001"]).is_err(), "--seeds 1001");
        assert!(parse(&["--threads", "100000"]).is_err(), "--threads 100000");
        assert!(parse(&["--seeds", "3", "--threads", "2"]).is_ok());
    }

    #[test]
    fn the_grid_varies_the_first_axis_slowest() {
        let vary = ["a=1,2".to_string(), "b=x,y,z".to_string()];
        let axes = vary_axes(&vary).expect("two well-formed axes");
        assert_eq!(
            axes,
            vec![("a", vec!["1", "2"]), ("b", vec!["x", "y", "z"])]
        );
        let cells = grid(&axes);
        let pair = |a: &str, b: &str| vec![("a".into(), a.into()), ("b".into(), b.into())];
        assert_eq!(cells.len(), 6);
        assert_eq!(cells[0], pair("1", "x"));
        assert_eq!(cells[1], pair("1", "y"));
        assert_eq!(cells[3], pair("2", "x"));
        // No axis: one cell, the scenario as it is.
        assert_eq!(grid(&[]), vec![Vec::<(String, String)>::new()]);
        // A flag without '=' is refused with the usage exit code.
        let bad = ["nodes.web1.workers".to_string()];
        assert_eq!(vary_axes(&bad), Err(ExitCode::from(EXIT_INVALID)));
    }

    #[test]
    fn the_schedulers_default_to_all_unless_something_is_varied() {
        let all = compared_schedulers(None, true).expect("every scheduler");
        assert_eq!(all.len(), ipvs::scheduler::ALL.len());
        assert_eq!(compared_schedulers(None, false), Ok(vec![None]));
        let named = compared_schedulers(Some(vec!["wlc".into(), "rr".into()]), true);
        assert_eq!(named, Ok(vec![Some("wlc".into()), Some("rr".into())]));
        let every = compared_schedulers(Some(vec!["rr".into(), "all".into()]), false);
        assert_eq!(every.map(|list| list.len()), Ok(ipvs::scheduler::ALL.len()));
        assert_eq!(
            compared_schedulers(Some(vec!["fastest".into()]), true),
            Err(ExitCode::from(EXIT_INVALID))
        );
    }
}
