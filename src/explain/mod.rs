//! *Asking why*: the story of one request, hop by hop and decision by decision.
//!
//! A run's files say what happened to every request; `netlab explain` says why, for one.
//! It runs the scenario again (a run is deterministic, so it is the same run) with two extra
//! recorders on: the nodes' decisions with their inputs (`trace::decision`) and the head of
//! every frame (`trace::FrameRecord`). Then it:
//!
//! 1. picks the request the student asked about ([`Selector`], module `select`), with the
//!    `id` of `requests.csv`;
//! 2. gathers its decisions and frames from the trace (module `story`), each found by the keys
//!    its node could see;
//! 3. decides why it ended as it did, from the failure timeline (module `blame`);
//! 4. writes it as sentences (module `narrate`) or as JSON.
//!
//! Recording is kept apart from narration: nodes write plain records while the simulation
//! runs, and nothing is put into words until a story is asked for.
//!
//! `netlab explain DIR` names a finished run's output folder instead of a scenario file; module
//! `folder` finds the scenario and seed that made it and checks the scenario is unchanged.
//!
//! # Simplifications
//! - The run is repeated rather than read back from an output folder.
//!
//! # Further reading
//! - `book/src/asking-why.md`.

mod blame;
mod diagram;
pub mod folder;
mod frames;
mod narrate;
mod select;
mod story;

pub use frames::{Decoded, decode, summary as frame_summary};
pub use select::{SelectError, Selector};
pub use story::{Gathered, Names, Story};

use crate::report::sorted_requests;
use crate::scenario::{Scenario, build};
use crate::world::RunError;

/// Why `explain` could not tell a story.
#[derive(Debug, thiserror::Error)]
pub enum ExplainError {
    /// The selector names no request; the message says which would.
    #[error(transparent)]
    Select(#[from] SelectError),
    /// The run itself failed.
    #[error(transparent)]
    Run(#[from] RunError),
}

/// A told story: the data, and the scenario and seed it came from.
pub struct Explained {
    /// The story.
    pub story: Story,
    /// The scenario's name.
    pub scenario: String,
    /// The seed.
    pub seed: u64,
}

impl Explained {
    /// The story as text, one line per step.
    pub fn text(&self) -> String {
        narrate::text(&self.story, &self.scenario, self.seed)
    }

    /// The story as pretty-printed JSON.
    pub fn json(&self) -> String {
        let value = serde_json::json!({
            "scenario": self.scenario,
            "seed": self.seed,
            "request": self.story.request,
            "steps": self.story.steps,
            "verdict": self.story.verdict,
        });
        let mut text = serde_json::to_string_pretty(&value)
            .expect("a story holds only strings, numbers and lists");
        text.push('\n');
        text
    }
}

/// One decision in the words `explain` uses for it (a capture's packet comments use it).
pub fn decision_sentence(decision: &crate::trace::Decision, names: &Names<'_>) -> String {
    narrate::sentence(&story::view(decision, names))
}

/// The stories of requests `ids` (of `requests.csv`, whose rows are `requests`) for
/// `report.html`, from a trace recorded with decisions and frames.
pub fn narrate_for_report(
    trace: &crate::trace::Trace,
    names: &Names<'_>,
    requests: &[&crate::trace::RequestRecord],
    ids: &[usize],
    scenario: &str,
    seed: u64,
) -> Vec<crate::report::html::Narrated> {
    let gathered = gather_for_report(trace, names, requests, ids);
    narrate_gathered(gathered, &trace.events, names, scenario, seed)
}

/// The first half of [`narrate_for_report`]: the steps of each story, read from the recording
/// (which may then go, see [`Gathered`]).
pub fn gather_for_report(
    trace: &crate::trace::Trace,
    names: &Names<'_>,
    requests: &[&crate::trace::RequestRecord],
    ids: &[usize],
) -> Vec<Gathered> {
    ids.iter()
        .filter_map(|&id| Some(story::gather(trace, names, requests.get(id)?, id)))
        .collect()
}

/// The second half of [`narrate_for_report`]: each story judged against the failure timeline
/// `events` (all of the run's), and told.
pub fn narrate_gathered(
    gathered: Vec<Gathered>,
    events: &[crate::trace::EventRecord],
    names: &Names<'_>,
    scenario: &str,
    seed: u64,
) -> Vec<crate::report::html::Narrated> {
    gathered
        .into_iter()
        .map(|g| diagram::narrated(&g.judge(events, names), scenario, seed, names.nodes))
        .collect()
}

/// Runs `scenario` with `seed`, recording decisions and frames, and tells the story of the
/// request `selector` names.
pub fn explain(
    scenario: &Scenario,
    seed: u64,
    selector: &Selector,
) -> Result<Explained, ExplainError> {
    let mut built = build(scenario, seed, false);
    built.world.record_decisions();
    built.world.record_frames();
    let segments = built.world.segment_names();
    let output = built.world.run()?;
    let names = Names {
        nodes: &built.node_names,
        servers: &built.server_names,
        server_addrs: &built.server_addrs,
        segments: &segments,
    };
    // The order of requests.csv, whose `id` is the position in it.
    let report = crate::report::RunReport {
        scenario: &scenario.name,
        seed,
        end: output.end,
        trace: &output.trace,
        node_names: &built.node_names,
        server_names: &built.server_names,
        server_addrs: &built.server_addrs,
    };
    let requests = sorted_requests(&report);
    let clients = select::client_groups(scenario);
    let id = select::select(&requests, &names, &clients, selector)?;
    let story = story::build(&output.trace, &names, requests[id], id);
    Ok(Explained {
        story,
        scenario: scenario.name.clone(),
        seed,
    })
}
