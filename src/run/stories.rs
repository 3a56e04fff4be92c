//! *`report.html`'s stories*, gathered from the bounded recording as soon as it is complete.
//!
//! The page explains a few requests (`report::html::narrated_ids`) with the decisions and
//! frame heads recorded for them, at most `report::html::RECORD_LIMIT` of each: the first
//! seconds of any run. Holding that recording to the end of a long run would cost tens of
//! megabytes for nothing, so `netlab run` gathers the stories in two halves:
//!
//! 1. **gather**, once the recording stopped and every request that started before it
//!    stopped is released (`trace::Trace::read_recording_early`): which requests it covers,
//!    which of them to narrate, and their steps (`explain::Gathered`). Then the recording
//!    goes, in the middle of the run.
//! 2. **tell**, when the run is over: each story's verdict, which reads the whole failure
//!    timeline (a health check may notice a fault long after the request), and its text.
//!
//! Gathering early or at the end gives the same stories: the steps come only from the
//! recording and from requests that are all released by then, in `requests.csv` order.

use std::sync::{Arc, Mutex, PoisonError};

use crate::report::html::{self, Narrated};
use crate::scenario::build::Built;
use crate::trace::{Outcome, RequestRecord, Trace};

/// What step 1 leaves: the stories' steps, and how many of the page's requests the
/// recording covered.
pub struct Gathered {
    /// The stories, before their verdicts.
    stories: Vec<crate::explain::Gathered>,
    /// The requests the recording covered (the first ones of `requests.csv`).
    covered: usize,
}

/// The names stories use, owned (the trace's reader outlives the borrow of `Built`).
#[derive(Clone)]
pub struct StoryNames {
    /// Node names by node index.
    nodes: Vec<String>,
    /// Web server names by server index.
    servers: Vec<String>,
    /// Web server addresses by server index.
    server_addrs: Vec<std::net::Ipv4Addr>,
    /// Segment names by segment index.
    segments: Vec<String>,
}

impl StoryNames {
    /// The names of a built world.
    pub fn of(built: &Built) -> StoryNames {
        StoryNames {
            nodes: built.node_names.clone(),
            servers: built.server_names.clone(),
            server_addrs: built.server_addrs.clone(),
            segments: built.world.segment_names(),
        }
    }

    /// Lent to `explain`.
    fn borrow(&self) -> crate::explain::Names<'_> {
        crate::explain::Names {
            nodes: &self.nodes,
            servers: &self.servers,
            server_addrs: &self.server_addrs,
            segments: &self.segments,
        }
    }
}

/// Where step 1's result waits for step 2 (the trace's reader runs inside the run).
#[derive(Clone, Default)]
pub struct Gathering(Arc<Mutex<Option<Gathered>>>);

impl Gathering {
    /// Asks `built`'s world to hand its recording to step 1 as soon as it is complete, and to
    /// let it go then.
    pub fn early(&self, built: &mut Built) {
        let names = StoryNames::of(built);
        let slot = self.clone();
        built.world.read_recording_early(Box::new(move |trace| {
            slot.put(gather(trace, &names));
        }));
    }

    /// Step 2: the stories, with what was gathered early or, if nothing was, gathered now
    /// from the finished run's `trace` (the reader still waiting is called first); and how
    /// many requests the recording covered.
    pub fn tell(
        &self,
        trace: &mut Trace,
        names: &StoryNames,
        scenario: &str,
        seed: u64,
    ) -> (Vec<Narrated>, usize) {
        trace.read_recording_now();
        let gathered = self.take().unwrap_or_else(|| gather(trace, names));
        let stories = crate::explain::narrate_gathered(
            gathered.stories,
            &trace.events,
            &names.borrow(),
            scenario,
            seed,
        );
        (stories, gathered.covered)
    }

    /// Keeps step 1's result.
    fn put(&self, gathered: Gathered) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(gathered);
    }

    /// Step 1's result, if it ran.
    fn take(&self) -> Option<Gathered> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take()
    }
}

/// Step 1: the stories of the requests `html::narrated_ids` picks among those the recording
/// covered (those that started before it stopped), from the requests released so far.
fn gather(trace: &Trace, names: &StoryNames) -> Gathered {
    // The requests the page lists, the same whether the run kept all or only these.
    let requests = html::shown_requests(trace);
    let stopped = trace.recording_stopped();
    let complete = |r: &RequestRecord| stopped.is_none_or(|at| r.end < at);
    let covered = stopped.map_or(requests.len(), |at| {
        requests.partition_point(|r| r.start < at)
    });
    let failed: Vec<bool> = requests.iter().map(|r| r.outcome != Outcome::Ok).collect();
    let ids: Vec<usize> = html::narrated_ids(&failed, covered)
        .into_iter()
        .filter(|&id| complete(requests[id]))
        .collect();
    let stories = crate::explain::gather_for_report(trace, &names.borrow(), &requests, &ids);
    Gathered { stories, covered }
}

#[cfg(test)]
mod tests {
    use crate::capture::CaptureOptions;
    use crate::report::ChartFormat;
    use crate::run::{Artifacts, report_run};

    /// A run's files but `requests.csv`, which only one of the two ways keeps in memory.
    fn files(run: &Artifacts) -> Vec<(String, Vec<u8>)> {
        run.files()
            .into_iter()
            .filter(|(name, _)| *name != "requests.csv")
            .map(|(name, bytes)| (name.to_string(), bytes.to_vec()))
            .collect()
    }

    #[test]
    fn stories_gathered_mid_run_are_the_stories_gathered_at_the_end() {
        // Faults, failed requests and health checks that notice a fault after the requests
        // it failed: the verdicts are judged at the end either way.
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/health-checks.ron");
        let scenario = crate::scenario::load_file(std::path::Path::new(path)).unwrap();
        let seed = scenario.seed;
        for limit in [1_000, 72_000] {
            let options = || (ChartFormat::Svg, CaptureOptions::memory(false), limit);
            let at_end = report_run(&scenario, seed, options(), None, |_| {}).unwrap();
            let early = report_run(
                &scenario,
                seed,
                options(),
                Some(Box::new(std::io::sink())),
                |_| {},
            )
            .unwrap();
            assert_eq!(files(&early), files(&at_end), "limit {limit}");
            // The end of the run kept the whole recording; the streamed run let it go.
            assert!(at_end.trace.recording_stopped().is_some(), "limit {limit}");
            assert!(early.trace.decisions.records().is_empty());
            assert!(early.trace.frames.is_none());
        }
    }

    #[test]
    fn a_verdict_reads_events_after_the_stories_were_gathered() {
        // 72,000 records stop at 27.698 s; the stories are gathered at 27.706 s, when the
        // requests that started before are all released; the checks take tcp2 out at
        // 27.845 s, which the verdicts of the refused requests sent to it name.
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/health-checks.ron");
        let scenario = crate::scenario::load_file(std::path::Path::new(path)).unwrap();
        let options = (ChartFormat::Svg, CaptureOptions::memory(false), 72_000);
        let sink = Box::new(std::io::sink());
        let run = report_run(&scenario, scenario.seed, options, Some(sink), |_| {}).unwrap();
        let page = run.report_html.unwrap_or_default();
        assert!(page.contains("the health checks took it out only at 27.844800 s"));
    }
}
