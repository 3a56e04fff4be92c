//! *Stories for `report.html`*: a request's text and its sequence diagram's lanes and arrows.
//!
//! The diagram has one lane per node the story touches. A decision is a mark on its node's
//! lane; a frame is an arrow from the node that sent it to the node it was sent to, read from
//! its Ethernet addresses (netlab gives interfaces `02:00:00:NN:NN:II`, node `NNNN`).
//!
//! # Simplifications
//! - A MAC address from the scenario file, or a VRRP virtual MAC, names no node: the lane is
//!   the address itself (`VRRP 1` for VRID 1's virtual MAC).

use super::narrate;
use super::story::{Story, What};
use crate::report::html::Narrated;

/// The lane name for a MAC address.
fn mac_owner(mac: [u8; 6], nodes: &[String]) -> String {
    match mac {
        [0xff, 0xff, 0xff, 0xff, 0xff, 0xff] => "broadcast".to_string(),
        [0x02, 0x00, 0x00, hi, lo, _] => {
            let node = usize::from(hi) << 8 | usize::from(lo);
            nodes.get(node).cloned().unwrap_or_else(|| mac_text(mac))
        }
        [0x00, 0x00, 0x5e, 0x00, 0x01, vrid] => format!("VRRP {vrid}"),
        _ => mac_text(mac),
    }
}

/// `aa:bb:cc:dd:ee:ff`.
fn mac_text(mac: [u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The story as the report shows it: the text `netlab explain` prints, and one arrow (or
/// mark) per step line.
pub fn narrated(story: &Story, scenario: &str, seed: u64, nodes: &[String]) -> Narrated {
    let mut lanes: Vec<String> = Vec::new();
    let mut lane = |name: String| match lanes.iter().position(|l| *l == name) {
        Some(i) => i,
        None => {
            lanes.push(name);
            lanes.len() - 1
        }
    };
    let mut macs = story.frame_macs.iter();
    let arrows = story
        .steps
        .iter()
        .map(
            |step| match is_frame(&step.what).then(|| macs.next()).flatten() {
                Some(&(src, dst)) => {
                    let from = lane(mac_owner(src, nodes));
                    (from, lane(mac_owner(dst, nodes)))
                }
                _ => {
                    let at = lane(step.place.clone());
                    (at, at)
                }
            },
        )
        .collect();
    Narrated {
        id: story.request.id,
        text: narrate::text(story, scenario, seed),
        lanes,
        arrows,
    }
}

/// Whether a step is a frame on a wire.
fn is_frame(what: &What) -> bool {
    matches!(what, What::Frame { .. })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs_name_their_nodes() {
        let nodes = vec!["client".to_string(), "router".to_string()];
        assert_eq!(mac_owner([2, 0, 0, 0, 1, 3], &nodes), "router");
        assert_eq!(mac_owner([2, 0, 0, 0, 9, 0], &nodes), "02:00:00:00:09:00");
        assert_eq!(mac_owner([0xff; 6], &nodes), "broadcast");
        assert_eq!(mac_owner([0, 0, 0x5e, 0, 1, 7], &nodes), "VRRP 7");
    }
}
