//! *Narration*: a story's steps as sentences a student reads, one line each.
//!
//! Each step becomes `TIME s  PLACE  SENTENCE`. The sentence for a scheduling decision shows
//! the arithmetic of its scheduler on every candidate, in the kernel's list order, so a
//! student can redo the pick by hand:
//!
//! - lc: the overhead `active×256+inactive`; the least wins, the first on ties;
//! - wlc, lblc, lblcr (on a cache miss): the overhead per weight, `515/w3`;
//! - sed, nq: `(active+1)/w`; nq first takes a server with no active connection;
//! - rr, wrr, sh, dh: the weights, and the state that decides (cursor, `cw`, hash bucket).
//!
//! Nothing here looks at the trace: it reads the story's data only, so the text and the JSON
//! (`--format json`) always tell the same story.

use std::fmt::Write;

use super::story::{CandidateView, PickView, RouteView, Story, What, seconds};
use crate::trace::decision::Unavailable;

/// A reason a destination could not be picked, in words.
pub fn unavailable_words(reason: Unavailable) -> &'static str {
    match reason {
        Unavailable::Down => "down",
        Unavailable::WeightZero => "weight 0",
        Unavailable::OverThreshold => "over threshold",
    }
}

/// The whole story as text: a heading, the steps, and the verdict.
pub fn text(story: &Story, scenario: &str, seed: u64) -> String {
    let request = &story.request;
    let mut out = String::new();
    let served = match (&request.server, request.status) {
        (Some(server), Some(status)) => format!(", {server} answered {status}"),
        (None, Some(status)) => format!(", status {status}"),
        _ => String::new(),
    };
    // Writing into a String cannot fail.
    let _ = writeln!(
        out,
        "request {} of {scenario} (seed {seed}): {} request #{}, {} s to {} s, {}{served}",
        request.id,
        request.client,
        request.client_seq,
        format_args!("{:.6}", request.start_s),
        format_args!("{:.6}", request.end_s),
        request.outcome,
    );
    let _ = writeln!(out);
    let width = story
        .steps
        .iter()
        .map(|s| s.place.chars().count())
        .max()
        .unwrap_or(0);
    for step in &story.steps {
        let at = seconds(crate::sim::SimTime::from_nanos(step.time_ns));
        let _ = writeln!(out, "{at:>12} s  {:<width$}  {}", step.place, step.text);
    }
    let _ = writeln!(out);
    let verdict = &story.verdict;
    let _ = writeln!(out, "outcome: {}: {}", verdict.outcome, verdict.reason);
    if !verdict.causes.is_empty() {
        let _ = writeln!(out, "what else was going on:");
        for cause in &verdict.causes {
            let _ = writeln!(out, "  - {}", cause.text);
        }
    }
    out
}

/// The sentence for one step.
pub fn sentence(what: &What) -> String {
    match what {
        What::Start => "decides to send a request".to_string(),
        What::Resolved {
            source,
            expires_in_s,
            addresses,
        } => {
            let list = join(addresses);
            let first = addresses
                .first()
                .map_or(String::new(), |a| format!(" → tries {a} first"));
            match *source {
                "static" => format!("the name is in the static table: {list}{first}"),
                "client_cache" => {
                    let expiry = expires_in_s.map_or("kept for ever".to_string(), |s| {
                        format!("expires in {s:.3} s")
                    });
                    format!("its own DNS cache answers: {list} ({expiry}){first}")
                }
                _ => format!("the DNS answer arrives: {list}{first}"),
            }
        }
        What::ResolverLookup {
            ttl_left_s: Some(ttl),
            addresses,
        } => format!(
            "resolver cache hit: {} with {ttl} s of TTL left (everyone behind this resolver gets \
             this order until it expires)",
            join(addresses)
        ),
        What::ResolverLookup {
            ttl_left_s: None, ..
        } => "resolver cache miss: the question goes to the authoritative server".to_string(),
        What::AuthorityAnswer {
            addresses,
            order,
            rotation,
            ttl_s,
        } => match rotation {
            Some(first) => format!(
                "authoritative answer, {order} order rotated to record {first} of the zone: {}, \
                 TTL {ttl_s} s",
                join(addresses)
            ),
            None => format!(
                "authoritative answer, {order} order: {}, TTL {ttl_s} s",
                join(addresses)
            ),
        },
        What::AskDns { server } => {
            format!("its own DNS cache has no fresh answer: it asks {server}")
        }
        What::Connect { local, remote, how } => match *how {
            "kept" => {
                format!("sends it on its kept-alive connection {local} -> {remote} (no handshake)")
            }
            "next_address" => {
                format!("the last address failed; connects from {local} to the next, {remote}")
            }
            _ => format!("connects from {local} to {remote}"),
        },
        What::L4Pick(pick) => pick_sentence(pick),
        What::L7Route(route) => route_sentence(route),
        What::CacheLookup {
            object,
            hit,
            stored,
            capacity,
            fetch_from,
        } => {
            let looked =
                format!("looks {object} up in its memory ({stored} of {capacity} objects)");
            match (hit, fetch_from) {
                (true, _) => {
                    format!("{looked}: a hit, answered from memory after one service time")
                }
                (false, Some(from)) => format!(
                    "{looked}: a miss; fetches it from the origin over its own connection from \
                     {from}, stores it (evicting the least recently used object if full) and \
                     answers with it"
                ),
                (false, None) => {
                    format!(
                        "{looked}: a miss, and no connection to the origin could be opened: 502"
                    )
                }
            }
        }
        What::RouteMatch {
            packet,
            route: Some(route),
        } => format!("routes the SYN {packet}: longest prefix match {route}"),
        What::RouteMatch {
            packet,
            route: None,
        } => format!("no route for the SYN {packet}: ICMP network unreachable"),
        What::ArpWait {
            next_hop,
            asked: true,
        } => {
            format!("does not know {next_hop}'s MAC address: the packet waits while it asks (ARP)")
        }
        What::ArpWait {
            next_hop,
            asked: false,
        } => format!("the packet waits for the ARP answer from {next_hop}, already asked"),
        What::ServerQueued {
            waiting_ahead,
            busy_workers,
            workers,
            mode,
        } => {
            let mut text = format!(
                "request read; {busy_workers} of {workers} workers busy, {waiting_ahead} \
                 request(s) waiting ahead of it"
            );
            if mode != "normal" {
                let _ = write!(text, "; the service is {mode} (a fault)");
            }
            text
        }
        What::ListenDrop {
            busy_workers,
            workers,
            waiting,
            backlog,
        } => format!(
            "accept queue full ({busy_workers} of {workers} workers busy, {waiting} request(s) \
             waiting, backlog {backlog}): the SYN is dropped unanswered, and the client sends it \
             again when its retransmission timer expires (1 s, then 2 s, 4 s...)"
        ),
        What::ServerServe {
            waited_ms,
            service_ms,
            mode,
        } => {
            let mut text = format!(
                "a worker takes it after {waited_ms:.3} ms in the queue; service time drawn \
                 {service_ms:.3} ms"
            );
            if mode != "normal" {
                let _ = write!(text, " (the service is {mode})");
            }
            text
        }
        What::Frame { line } => line.clone(),
        What::End {
            outcome,
            latency_ms,
        } => format!("outcome {outcome} after {latency_ms:.3} ms"),
    }
}

/// Addresses separated by commas.
fn join(addresses: &[std::net::Ipv4Addr]) -> String {
    addresses
        .iter()
        .map(|a| a.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// `scheduler wlc for C -> VIP: web1 515/w3, web2 down; web3 is lightest → web3 (Masq)`.
fn pick_sentence(pick: &PickView) -> String {
    let mut text = format!("scheduler {} for {}", pick.scheduler, pick.connection);
    if let Some(state) = &pick.state {
        let _ = write!(text, " ({state})");
    }
    let figures: Vec<String> = pick
        .candidates
        .iter()
        .map(|c| candidate_figure(pick.scheduler, c))
        .collect();
    let _ = write!(text, ": {}", figures.join(", "));
    let rule = match (&pick.template, &pick.chosen) {
        (Some(server), _) => format!(
            "a persistence template pins this client to {server}, so the scheduler is not asked"
        ),
        (None, Some(chosen)) => winner_rule(pick, chosen),
        (None, None) => "no destination available".to_string(),
    };
    let _ = write!(text, "; {rule}");
    match (&pick.chosen, pick.forward) {
        (Some(chosen), Some(forward)) => {
            let how = match forward {
                "Masq" => "NAT: the destination becomes the server's address",
                "Tunnel" => "tunnelling: the packet is wrapped in IP-in-IP to the server",
                _ => "direct routing: only the destination MAC changes",
            };
            let _ = write!(text, " → {chosen} ({forward}, {how})");
        }
        (Some(chosen), None) => {
            let _ = write!(text, " → {chosen}");
        }
        _ => {
            let _ = write!(text, " → ICMP port unreachable to the client");
        }
    }
    text
}

/// `path /api matches rule path /api → pool api, LeastConn: app1 open 2, app2 open 0 → app2`.
fn route_sentence(route: &RouteView) -> String {
    let rule = route
        .rule
        .as_ref()
        .map_or("no rule matches: the default pool".to_string(), |rule| {
            format!("rule {rule} matches")
        });
    let servers: Vec<String> = route
        .candidates
        .iter()
        .map(|c| {
            let mut figure = format!("{} w{} open {}", c.name, c.weight, c.open);
            if c.backup {
                figure.push_str(" backup");
            }
            if !c.eligible {
                figure.push_str(" (not eligible)");
            }
            figure
        })
        .collect();
    let mut text = format!(
        "GET {}: {rule} → pool {} ({}): {}",
        route.path,
        route.pool,
        route.algorithm,
        servers.join(", ")
    );
    match (&route.chosen, &route.backend) {
        (Some(chosen), Some(backend)) if route.reused => {
            let _ = write!(
                text,
                " → {chosen}, on a kept connection from {backend} (no handshake)"
            );
        }
        (Some(chosen), Some(backend)) => {
            let _ = write!(text, " → {chosen}, on a new connection from {backend}");
        }
        (Some(chosen), None) => {
            let _ = write!(text, " → {chosen}");
        }
        (None, _) => text.push_str(" → no server is up: the proxy answers 503 itself"),
    }
    if route.chosen.is_some() {
        let _ = write!(text, "; adds X-Forwarded-For: {}", route.forwarded_for);
    }
    text
}

/// One candidate's figure for `scheduler`.
fn candidate_figure(scheduler: &str, c: &CandidateView) -> String {
    if let Some(why) = c.unavailable {
        return format!("{} {why}", c.name);
    }
    match scheduler {
        "lc" => format!("{} {}×256+{}={}", c.name, c.active, c.inactive, c.overhead),
        "wlc" | "lblc" | "lblcr" => format!(
            "{} {}×256+{}={} /w{} = {}",
            c.name,
            c.active,
            c.inactive,
            c.overhead,
            c.weight,
            ratio(c.overhead, c.weight)
        ),
        "sed" | "nq" => format!(
            "{} ({}+1)/w{} = {}",
            c.name,
            c.active,
            c.weight,
            ratio(u64::from(c.active) + 1, c.weight)
        ),
        _ => format!("{} w{}", c.name, c.weight),
    }
}

/// `load / weight` with two decimals, for the student's eye only: the kernel compares by
/// cross-multiplying and never divides. Weight 0 reads `∞`.
fn ratio(load: u64, weight: u32) -> String {
    if weight == 0 {
        "∞".to_string()
    } else {
        format!("{:.2}", load as f64 / f64::from(weight))
    }
}

/// Why the chosen server won, in the words of its scheduler's rule.
fn winner_rule(pick: &PickView, chosen: &str) -> String {
    match pick.scheduler {
        "lc" => format!("{chosen} has the least overhead (the first wins ties)"),
        "wlc" => format!("{chosen} is lightest per unit of weight (the first wins ties)"),
        "sed" => format!("{chosen} has the shortest expected delay (the first wins ties)"),
        "nq" => {
            let idle = pick
                .candidates
                .iter()
                .any(|c| c.name == chosen && c.active == 0 && c.unavailable.is_none());
            if idle {
                format!("{chosen} is the first with no active connection")
            } else {
                format!("no server is idle; {chosen} has the shortest expected delay")
            }
        }
        "rr" => format!("{chosen} is the next eligible server after the cursor"),
        "wrr" => format!("{chosen} is the next server after the cursor with weight ≥ cw"),
        "sh" => format!("the client's address hashes to {chosen}'s bucket"),
        "dh" => format!("the destination address hashes to {chosen}'s bucket"),
        "lblc" | "lblcr" => format!("{chosen} is the cached server if usable, else wlc's pick"),
        other => format!("{other} picks {chosen}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(name: &str, weight: u32, active: u32, inactive: u32) -> CandidateView {
        CandidateView {
            name: name.to_string(),
            addr: String::new(),
            weight,
            active,
            inactive,
            overhead: u64::from(active) * 256 + u64::from(inactive),
            unavailable: None,
        }
    }

    fn pick(scheduler: &'static str, chosen: Option<&str>) -> PickView {
        PickView {
            connection: "192.0.2.1:40000 -> 10.0.1.100:80".to_string(),
            scheduler,
            candidates: vec![candidate("web3", 1, 2, 1), candidate("web1", 4, 3, 23)],
            state: None,
            template: None,
            chosen: chosen.map(str::to_string),
            forward: chosen.map(|_| "Masq"),
        }
    }

    #[test]
    fn each_scheduler_shows_its_own_arithmetic() {
        let web1 = candidate("web1", 4, 3, 23);
        assert_eq!(candidate_figure("lc", &web1), "web1 3×256+23=791");
        assert_eq!(
            candidate_figure("wlc", &web1),
            "web1 3×256+23=791 /w4 = 197.75"
        );
        assert_eq!(candidate_figure("sed", &web1), "web1 (3+1)/w4 = 1.00");
        assert_eq!(candidate_figure("rr", &web1), "web1 w4");
        let quiesced = candidate("web2", 0, 0, 0);
        assert_eq!(candidate_figure("wlc", &quiesced), "web2 0×256+0=0 /w0 = ∞");
    }

    #[test]
    fn an_unavailable_server_says_why_instead() {
        let mut down = candidate("web2", 2, 0, 0);
        down.unavailable = Some(unavailable_words(Unavailable::Down));
        assert_eq!(candidate_figure("wlc", &down), "web2 down");
    }

    #[test]
    fn a_pick_ends_with_the_winner_and_the_forwarding() {
        let text = pick_sentence(&pick("wlc", Some("web1")));
        assert!(
            text.ends_with("web1 is lightest per unit of weight (the first wins ties) → web1 (Masq, NAT: the destination becomes the server's address)"),
            "{text}"
        );
        let none = pick_sentence(&pick("wlc", None));
        assert!(
            none.ends_with("no destination available → ICMP port unreachable to the client"),
            "{none}"
        );
    }

    #[test]
    fn a_template_pin_is_named_before_the_scheduler() {
        let mut pinned = pick("rr", Some("web3"));
        pinned.template = Some("web3".to_string());
        assert!(pick_sentence(&pinned).contains("a persistence template pins this client to web3"));
    }
}
