//! Fuzz target `run`: bytes that pass `netlab check` are run, as `netlab run` would.
//!
//! Seeded with the shipped scenarios, libFuzzer mutates valid scenarios into nearby valid
//! ones: other counts, addresses, schedulers, fault times. The property: a scenario that
//! `check` accepts runs to the end (or stops with a run error) without a panic, an abort or a
//! hang. To keep each execution short, the run is cut at 200,000 events and 60 s of virtual
//! time, and the packet capture is off; the outputs are still all produced.

#![no_main]

use libfuzzer_sys::fuzz_target;
use netlab::run::execute;
use netlab::scenario;
use netlab::sim::{SimDuration, SimTime};

/// Events per execution: enough for a few hundred requests.
const MAX_EVENTS: u64 = 200_000;

fuzz_target!(|data: &[u8]| {
    let file = "fuzz.ron";
    let Ok(source) = scenario::load::decode(file, data.to_vec()) else {
        return;
    };
    let Ok(mut checked) = scenario::load_str(file, &source) else {
        return;
    };
    checked.max_events = checked.max_events.min(MAX_EVENTS);
    checked.max_sim_time = checked.max_sim_time.min(SimTime::ZERO + SimDuration::from_secs(60));
    checked.capture_enabled = false;
    if let Ok(artifacts) = execute(&checked, checked.seed, false) {
        // Every file is produced and the books balance.
        let _ = artifacts.files();
    }
});
