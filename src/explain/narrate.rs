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
use std::net::Ipv4Addr;

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

/// The sentence for one step. The kinds come in the order a request meets them, by family
/// (the name lookup, the connection and its routers, the director, proxy and cache, the web
/// server); each kind has its own function below, under its family's heading.
pub fn sentence(what: &What) -> String {
    match what {
        What::Start => "decides to send a request".to_string(),
        // 1. The name lookup: the client, its resolver, the authority.
        What::Resolved {
            source,
            expires_in_s,
            addresses,
        } => resolved_sentence(source, *expires_in_s, addresses),
        What::AskDns { server } => {
            format!("its own DNS cache has no fresh answer: it asks {server}")
        }
        What::ResolverLookup {
            ttl_left_s,
            addresses,
        } => resolver_sentence(*ttl_left_s, addresses),
        What::AuthorityAnswer {
            addresses,
            order,
            rotation,
            ttl_s,
        } => authority_sentence(addresses, order, *rotation, *ttl_s),
        // 2. The connection, and the routers on its way.
        What::Connect { local, remote, how } => connect_sentence(local, remote, how),
        What::RouteMatch { packet, route } => route_match_sentence(packet, route.as_deref()),
        What::ArpWait { next_hop, asked } => arp_wait_sentence(*next_hop, *asked),
        // 3. The director, the proxy and the cache.
        What::L4Pick(pick) => pick_sentence(pick),
        What::L7Route(route) => route_sentence(route),
        What::CacheLookup {
            object,
            hit,
            stored,
            capacity,
            fetch_from,
        } => cache_sentence(object, *hit, *stored, *capacity, fetch_from.as_deref()),
        // 4. The web server.
        What::ServerQueued {
            waiting_ahead,
            busy_workers,
            workers,
            mode,
        } => queued_sentence(*waiting_ahead, *busy_workers, *workers, mode),
        What::ListenDrop {
            busy_workers,
            workers,
            waiting,
            backlog,
        } => listen_drop_sentence(*busy_workers, *workers, *waiting, *backlog),
        What::ServerServe {
            waited_ms,
            service_ms,
            mode,
        } => serve_sentence(*waited_ms, *service_ms, mode),
        // 5. The wire, and the end.
        What::Frame { line } => line.clone(),
        What::End {
            outcome,
            latency_ms,
        } => format!("outcome {outcome} after {latency_ms:.3} ms"),
    }
}

// 1. The name lookup.

/// How the client found the addresses (its static table, its own DNS cache with the time
/// left, or a DNS answer), and which it tries first.
fn resolved_sentence(source: &str, expires_in_s: Option<f64>, addresses: &[Ipv4Addr]) -> String {
    let list = join(addresses);
    let first = addresses
        .first()
        .map_or(String::new(), |a| format!(" → tries {a} first"));
    match source {
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

/// A caching resolver's lookup: a hit with the TTL it has left, or a miss sent upstream.
fn resolver_sentence(ttl_left_s: Option<u32>, addresses: &[Ipv4Addr]) -> String {
    match ttl_left_s {
        Some(ttl) => format!(
            "resolver cache hit: {} with {ttl} s of TTL left (everyone behind this resolver gets \
             this order until it expires)",
            join(addresses)
        ),
        None => "resolver cache miss: the question goes to the authoritative server".to_string(),
    }
}

/// An authoritative server's answer: its record order (for cyclic order, the record of the
/// zone it rotated to), the records and the TTL.
fn authority_sentence(
    addresses: &[Ipv4Addr],
    order: &str,
    rotation: Option<usize>,
    ttl_s: u32,
) -> String {
    let order = match rotation {
        Some(first) => format!("{order} order rotated to record {first} of the zone"),
        None => format!("{order} order"),
    };
    format!(
        "authoritative answer, {order}: {}, TTL {ttl_s} s",
        join(addresses)
    )
}

/// Addresses separated by commas.
fn join(addresses: &[Ipv4Addr]) -> String {
    addresses
        .iter()
        .map(|a| a.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

// 2. The connection and the routers.

/// The connection the client sends on: a kept-alive one, the next address after a failed
/// one, or a new one.
fn connect_sentence(local: &str, remote: &str, how: &str) -> String {
    match how {
        "kept" => {
            format!("sends it on its kept-alive connection {local} -> {remote} (no handshake)")
        }
        "next_address" => {
            format!("the last address failed; connects from {local} to the next, {remote}")
        }
        _ => format!("connects from {local} to {remote}"),
    }
}

/// A router's route for the connection's SYN, or ICMP network unreachable when none matches.
fn route_match_sentence(packet: &str, route: Option<&str>) -> String {
    match route {
        Some(route) => format!("routes the SYN {packet}: longest prefix match {route}"),
        None => format!("no route for the SYN {packet}: ICMP network unreachable"),
    }
}

/// A packet waiting for the next hop's MAC address: it sent the ARP request, or one was on
/// its way already.
fn arp_wait_sentence(next_hop: Ipv4Addr, asked: bool) -> String {
    if asked {
        format!("does not know {next_hop}'s MAC address: the packet waits while it asks (ARP)")
    } else {
        format!("the packet waits for the ARP answer from {next_hop}, already asked")
    }
}

// 3. The director, the proxy and the cache.

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

/// A transparent cache's lookup, with its memory's fill (`stored` of `capacity` objects): a
/// hit, a miss fetched from the origin over the connection from `fetch_from`, or a miss with
/// no connection to the origin.
fn cache_sentence(
    object: &str,
    hit: bool,
    stored: u32,
    capacity: u32,
    fetch_from: Option<&str>,
) -> String {
    let looked = format!("looks {object} up in its memory ({stored} of {capacity} objects)");
    match (hit, fetch_from) {
        (true, _) => format!("{looked}: a hit, answered from memory after one service time"),
        (false, Some(from)) => format!(
            "{looked}: a miss; fetches it from the origin over its own connection from \
             {from}, stores it (evicting the least recently used object if full) and \
             answers with it"
        ),
        (false, None) => {
            format!("{looked}: a miss, and no connection to the origin could be opened: 502")
        }
    }
}

// 4. The web server.

/// The web server queuing the request it read: its busy workers, the requests ahead of it,
/// and the fault in force if any.
fn queued_sentence(waiting_ahead: u32, busy_workers: u32, workers: u32, mode: &str) -> String {
    let mut text = format!(
        "request read; {busy_workers} of {workers} workers busy, {waiting_ahead} \
         request(s) waiting ahead of it"
    );
    if mode != "normal" {
        let _ = write!(text, "; the service is {mode} (a fault)");
    }
    text
}

/// The web server dropping a SYN because its accept queue is full, and the client's
/// retransmission that follows.
fn listen_drop_sentence(busy_workers: u32, workers: u32, waiting: u32, backlog: u32) -> String {
    format!(
        "accept queue full ({busy_workers} of {workers} workers busy, {waiting} request(s) \
         waiting, backlog {backlog}): the SYN is dropped unanswered, and the client sends it \
         again when its retransmission timer expires (1 s, then 2 s, 4 s...)"
    )
}

/// A worker taking the request: how long it waited, the service time drawn, and the fault
/// in force if any.
fn serve_sentence(waited_ms: f64, service_ms: f64, mode: &str) -> String {
    let mut text = format!(
        "a worker takes it after {waited_ms:.3} ms in the queue; service time drawn \
         {service_ms:.3} ms"
    );
    if mode != "normal" {
        let _ = write!(text, " (the service is {mode})");
    }
    text
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
