//! *Wires*: segments (switches) and point-to-point links, their physics, and the capture.

use super::checker::Checker;
use super::limits;
use crate::capture::{self, Filter, FilterError};
use crate::net::{LinkConfig, SegmentKind};
use crate::scenario::diagnostic::nearest;
use crate::scenario::format::{CaptureFile, ScenarioFile, SegmentFile};
use crate::scenario::model::SegmentSpec;
use crate::scenario::spans::Step;
use crate::scenario::units::parse_size;

/// Default segment speed.
const DEFAULT_BANDWIDTH: &str = "1Gbps";
/// Default one-way delay.
const DEFAULT_DELAY: &str = "10us";
/// Default drop-tail limit.
const DEFAULT_QUEUE: &str = "256KiB";

impl Checker<'_> {
    /// Segments and links: unique valid names, valid physics. Fills `self.segments`.
    pub fn wires(&mut self, file: &ScenarioFile) -> Vec<SegmentSpec> {
        let mut segments = Vec::new();
        let all_wires = file
            .segments
            .iter()
            .enumerate()
            .map(|(i, s)| (s, SegmentKind::Switch, Step::Field("segments"), i))
            .chain(
                file.links
                    .iter()
                    .enumerate()
                    .map(|(i, s)| (s, SegmentKind::PointToPoint, Step::Field("links"), i)),
            );
        for (wire, kind, list, i) in all_wires {
            self.within(&[list, Step::Item(i)], |c| {
                c.name(&wire.name, "segment or link", None);
                if c.segments.contains_key(&wire.name) {
                    c.at_value(
                        &wire.name,
                        None,
                        format!("segment or link name \"{}\" is used twice", wire.name),
                        "give every segment and link its own name",
                    );
                    return;
                }
                c.segments.insert(wire.name.clone(), segments.len());
                segments.push(SegmentSpec {
                    name: wire.name.clone(),
                    kind,
                    config: c.physics(wire),
                });
            });
        }
        self.attach_counts = vec![0; segments.len()];
        segments
    }

    /// Bandwidth, delay, queue and loss of one wire.
    fn physics(&mut self, wire: &SegmentFile) -> LinkConfig {
        let anchor = Some(wire.name.as_str());
        let bandwidth = self.bandwidth(
            wire.bandwidth.as_deref(),
            DEFAULT_BANDWIDTH,
            limits::BANDWIDTH,
            anchor,
        );
        let delay = self.duration(
            wire.delay.as_deref(),
            DEFAULT_DELAY,
            limits::WIRE_DELAY,
            anchor,
        );
        let queue_text = wire.queue.as_deref().unwrap_or(DEFAULT_QUEUE);
        let queue_limit_bytes = match parse_size(queue_text) {
            Ok(bytes) if bytes < 1514 => {
                self.at_value(
                    queue_text,
                    anchor,
                    format!(
                        "queue \"{queue_text}\" cannot hold even one full-size frame (1514 bytes)"
                    ),
                    "use at least \"2KiB\"; switch ports typically have tens to hundreds of KiB",
                );
                bytes
            }
            _ => self.size(Some(queue_text), DEFAULT_QUEUE, limits::QUEUE, anchor),
        };
        let loss = wire.loss.unwrap_or(0.0);
        if !(0.0..=1.0).contains(&loss) {
            self.at_field(
                "loss",
                anchor,
                format!("loss {loss} is not a probability"),
                "write a number between 0 (no loss) and 1 (everything lost), such as 0.01",
            );
        }
        LinkConfig {
            bandwidth,
            delay,
            queue_limit_bytes,
            loss,
        }
    }

    /// Links join exactly two interfaces.
    pub fn link_ends(&mut self, segments: &[SegmentSpec]) {
        let switches = segments
            .iter()
            .filter(|s| s.kind == SegmentKind::Switch)
            .count();
        for (index, spec) in segments.iter().enumerate() {
            if spec.kind == SegmentKind::PointToPoint && self.attach_counts[index] != 2 {
                let attached = self.attach_counts[index];
                let link = [Step::Field("links"), Step::Item(index - switches)];
                self.within(&link, |c| c.at_value(
                    &spec.name,
                    None,
                    format!(
                        "link \"{}\" has {attached} interface(s) attached; a point-to-point link needs exactly 2",
                        spec.name
                    ),
                    if attached < 2 {
                        "attach a second interface, or remove the link"
                    } else {
                        "use a segment for more than two interfaces"
                    },
                ));
            }
        }
    }

    /// The segments to capture, by index (`None`: all of them).
    pub fn capture(&mut self, capture: &CaptureFile) -> Option<Vec<usize>> {
        let names = capture.segments.as_ref()?;
        if !self.list_len(names.len(), "segments", None, limits::MAX_WIRES) {
            return None;
        }
        let found = names
            .iter()
            .filter_map(|n| {
                let found = self.segments.get(n).copied();
                if found.is_none() {
                    self.unknown_segment(n, None);
                }
                found
            })
            .collect();
        Some(found)
    }

    /// The capture's filter and snap length, checked.
    pub fn capture_filter(&mut self, capture: &CaptureFile) -> (Option<Filter>, Option<u32>) {
        let filter = capture.filter.as_deref().and_then(|text| {
            Filter::parse(text)
                .map_err(|e| {
                    self.at_value(
                        text,
                        Some("filter"),
                        format!("capture filter {}", filter_problem(text, &e)),
                        e.help,
                    );
                })
                .ok()
        });
        let snaplen = capture.snaplen.map(|n| {
            self.count(
                n,
                "snaplen",
                Some("capture"),
                capture::MIN_SNAPLEN,
                capture::DEFAULT_SNAPLEN,
            )
        });
        (filter, snaplen)
    }

    /// Reports an unknown segment name with the nearest known one.
    pub fn unknown_segment(&mut self, name: &str, anchor: Option<&str>) {
        let list: Vec<String> = self.segments.keys().map(|k| format!("\"{k}\"")).collect();
        let mut help = if list.is_empty() {
            "the scenario defines no segments or links yet".to_string()
        } else {
            format!("segments and links are: {}", list.join(", "))
        };
        if let Some(near) = nearest(name, self.segments.keys().map(String::as_str)) {
            help.push_str(&format!("; did you mean \"{near}\"?"));
        }
        self.at_value(
            name,
            anchor,
            format!("unknown segment or link \"{name}\""),
            help,
        );
    }
}

/// A filter's problem, naming the column inside the filter (the diagnostic's caret points
/// at the whole string).
pub fn filter_problem(text: &str, e: &FilterError) -> String {
    format!("`{text}` at column {}: {}", e.column, e.message)
}
