//! Regenerates the charts the book embeds.
//!
//! ```sh
//! cargo run --release --example book-charts
//! ```
//!
//! A chapter embeds a chart with an image link to `charts/<scenario>/<chart>` (relative to
//! `book/src/`), such as `![...](../charts/l4-nat/load.svg)`. This program finds every such
//! link in `book/src/`, runs `scenarios/<scenario>.ron` with its own seed, and writes the
//! chart there: the same bytes `netlab run` would write to `output/<scenario>/`. Links to
//! `charts/<scenario>/compare/<chart>` get the charts of
//! `netlab compare scenarios/<scenario>.ron --schedulers all --seeds 3`.
//!
//! The scenario snapshot test fails when a committed chart no longer matches its scenario,
//! so a change that moves the numbers also reminds you to run this.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use netlab::compare::{compare_charts, run_schedulers};
use netlab::report::ChartFormat;
use netlab::run::execute;
use netlab::scenario::load_file;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let book = root.join("book/src");
    let mut wanted: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for page in markdown_files(&book) {
        let text = std::fs::read_to_string(&page).expect("a book page is readable");
        for link in text.split("](").skip(1) {
            let target = &link[..link.find(')').unwrap_or(link.len())];
            if let Some(rest) = target.rsplit_once("charts/").map(|(_, rest)| rest)
                && let Some((scenario, chart)) = rest.split_once('/')
            {
                wanted
                    .entry(scenario.to_string())
                    .or_default()
                    .insert(chart.to_string());
            }
        }
    }
    for (scenario_name, charts) in &wanted {
        let path = root.join("scenarios").join(format!("{scenario_name}.ron"));
        let scenario = load_file(&path).unwrap_or_else(|e| panic!("{e}"));
        let run = execute(&scenario, scenario.seed, false).expect("the scenario runs");
        let mut files = run.charts;
        if charts.iter().any(|c| c.starts_with("compare/")) {
            let all: Vec<String> = netlab::ipvs::scheduler::ALL
                .iter()
                .map(|s| s.to_string())
                .collect();
            let variants = run_schedulers(&scenario, &all, scenario.seed, 3, 0)
                .unwrap_or_else(|(variant, e)| panic!("{scenario_name} with {variant}: {e}"));
            for (name, bytes) in compare_charts(&scenario, &variants, ChartFormat::Svg) {
                files.push((format!("compare/{name}"), bytes));
            }
        }
        let dir = book.join("charts").join(scenario_name);
        for chart in charts {
            let Some((_, bytes)) = files.iter().find(|(name, _)| name == chart) else {
                panic!("{scenario_name} has no chart {chart}");
            };
            let target = dir.join(chart);
            std::fs::create_dir_all(target.parent().expect("a chart is in a folder"))
                .expect("the charts folder can be made");
            std::fs::write(&target, bytes).expect("the chart can be written");
            println!("{}", target.strip_prefix(root).unwrap_or(&target).display());
        }
    }
}

/// Every `.md` file under `dir`, in name order.
fn markdown_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("the book folder is readable")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files.extend(markdown_files(&path));
        } else if path.extension().is_some_and(|e| e == "md") {
            files.push(path);
        }
    }
    files
}
