//! *Progress of a long run*: a bar on the terminal, and a Ctrl-C that stops cleanly.
//!
//! A study of a day of traffic runs for minutes. `netlab run` hands the world a
//! [`Watcher`](crate::world::Watcher), which the event loop calls every few thousand events.
//! The watcher only looks: it reads the virtual time, the events and the finished requests,
//! and draws, after about a second of wall-clock time, a bar of the virtual time reached
//! against the workload's expected end ([`expected_end`]) with the requests done and the
//! events per second. The bar goes to stderr, outside the results, and only when stderr is a
//! terminal; the wall clock is read by indicatif, never by the simulated world.
//!
//! Ctrl-C sets a flag (the `ctrlc` crate's handler) that the watcher returns as "stop", so
//! the run ends with `RunError::Interrupted` and `cli` drops its staging folder: nothing is
//! written and old results stay as they were.
//!
//! # Simplifications
//! - The expected end is known only for workloads bounded by a `duration`, or open loops
//!   bounded by a request count (count ÷ rate); otherwise the bar shows the virtual time alone.
//! - Ctrl-C while the files are being rendered (after the run) is noticed just before they are
//!   written.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::scenario::Scenario;
use crate::scenario::model::{NodeSpec, WorkloadKind};
use crate::sim::{SimDuration, SimTime};
use crate::world::{Progress, Watcher};

/// How long a run goes before its bar appears.
const SHOW_AFTER: Duration = Duration::from_secs(1);

/// When the last client group is expected to stop sending, if every group says.
pub fn expected_end(scenario: &Scenario) -> Option<SimTime> {
    let mut end: Option<SimTime> = None;
    for node in &scenario.nodes {
        let NodeSpec::Clients { workload, .. } = node else {
            continue;
        };
        let length = match (&workload.kind, workload.duration, workload.requests) {
            (_, Some(duration), _) => duration,
            (WorkloadKind::OpenLoop { rate }, None, Some(n)) if *rate > 0.0 => {
                SimDuration::from_secs_f64(n as f64 / rate)
            }
            _ => return None,
        };
        let group_end = SimTime::ZERO + workload.start + length;
        end = Some(end.map_or(group_end, |e| e.max(group_end)));
    }
    end
}

/// The process's Ctrl-C flag, with the handler installed on first use (once per process).
fn interrupt_flag() -> &'static Arc<AtomicBool> {
    static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();
    FLAG.get_or_init(|| {
        let flag = Arc::new(AtomicBool::new(false));
        let set = Arc::clone(&flag);
        // Without a handler (another one was installed first), Ctrl-C kills the process as
        // usual; the next run cleans the staging folder up.
        let _ = ctrlc::set_handler(move || set.store(true, Ordering::SeqCst));
        flag
    })
}

/// A long run's bar and Ctrl-C flag.
pub struct Watch {
    /// Hidden until the run has lasted [`SHOW_AFTER`], and forever if stderr is no terminal.
    bar: ProgressBar,
    /// Whether stderr is a terminal.
    terminal: bool,
    /// Set by Ctrl-C.
    interrupted: Arc<AtomicBool>,
}

impl Watch {
    /// Installs the Ctrl-C handler and starts the (hidden) bar for `scenario`.
    pub fn start(scenario: &Scenario) -> Watch {
        let interrupted = Arc::clone(interrupt_flag());
        interrupted.store(false, Ordering::SeqCst);
        let bar = ProgressBar::with_draw_target(
            expected_end(scenario).map(|end| end.as_micros() / 1000),
            ProgressDrawTarget::hidden(),
        );
        let template = if bar.length().is_some() {
            "{bar:30} {msg}"
        } else {
            "{spinner} {msg}"
        };
        bar.set_style(
            ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Watch {
            bar,
            terminal: std::io::stderr().is_terminal(),
            interrupted,
        }
    }

    /// The function the world calls as it runs.
    pub fn watcher(&self) -> Watcher {
        let bar = self.bar.clone();
        let terminal = self.terminal;
        let interrupted = Arc::clone(&self.interrupted);
        let end_s = self.bar.length().map(|ms| ms as f64 / 1000.0);
        let mut shown = false;
        Box::new(move |progress: &Progress| {
            if interrupted.load(Ordering::Relaxed) {
                return false;
            }
            if !terminal {
                return true;
            }
            let elapsed = bar.elapsed();
            if !shown && elapsed >= SHOW_AFTER {
                bar.set_draw_target(ProgressDrawTarget::stderr());
                shown = true;
            }
            if shown {
                let ms = progress.now.as_micros() / 1000;
                bar.set_position(bar.length().map_or(ms, |len| ms.min(len)));
                bar.set_message(message(progress, end_s, elapsed));
            }
            true
        })
    }

    /// Whether Ctrl-C was pressed.
    pub fn interrupted(&self) -> bool {
        self.interrupted.load(Ordering::SeqCst)
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// `virtual 12.3 s of 60.0 s, 1234 requests, 2.1M events/s`.
fn message(progress: &Progress, end_s: Option<f64>, elapsed: Duration) -> String {
    let now = progress.now.as_secs_f64();
    let of = end_s.map_or(String::new(), |end| format!(" of {end:.1} s"));
    let rate = progress.events as f64 / elapsed.as_secs_f64().max(1e-3);
    let rate = if rate >= 1e6 {
        format!("{:.1}M", rate / 1e6)
    } else {
        format!("{:.0}k", rate / 1e3)
    };
    format!(
        "virtual {now:.1} s{of}, {} requests, {rate} events/s",
        progress.requests
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_expected_end_is_the_last_group_to_stop() {
        let text = r#"Scenario(
            name: "t",
            description: "two groups",
            segments: [(name: "lan")],
            nodes: [
                WebServer(name: "web", interface: (attach: "lan", ip: "10.0.0.10/24")),
                Clients(name: "a", attach: "lan", first_ip: "10.0.0.100/24",
                        url: "http://10.0.0.10/", workload: OpenLoop(rate: 10.0, requests: 50)),
                Clients(name: "b", attach: "lan", first_ip: "10.0.0.150/24",
                        url: "http://10.0.0.10/",
                        workload: OpenLoop(rate: 1.0, duration: "3s", start: "1s")),
            ],
        )"#;
        let scenario = crate::scenario::load_str("t.ron", text).unwrap();
        assert_eq!(
            expected_end(&scenario),
            Some(SimTime::ZERO + SimDuration::from_secs(5))
        );
    }

    #[test]
    fn the_message_says_where_the_run_is() {
        let progress = Progress {
            now: SimTime::ZERO + SimDuration::from_millis(12_340),
            events: 4_200_000,
            requests: 1234,
        };
        assert_eq!(
            message(&progress, Some(60.0), Duration::from_secs(2)),
            "virtual 12.3 s of 60.0 s, 1234 requests, 2.1M events/s"
        );
    }
}
