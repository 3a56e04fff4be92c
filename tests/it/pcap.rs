//! The capture holds real packets: parse it back with smoltcp and look for the TCP handshake,
//! the HTTP request, ARP and ICMP.

use smoltcp::wire::{
    ArpPacket, EthernetFrame, EthernetProtocol, Icmpv4Message, Icmpv4Packet, IpProtocol,
    Ipv4Packet, TcpPacket,
};

use super::support::run;

/// The frames of a capture file, libpcap or pcapng, with their timestamps in microseconds.
pub fn frames(file: &[u8]) -> Vec<(u64, Vec<u8>)> {
    if file[0..4] == 0x0A0D_0D0Au32.to_le_bytes() {
        return pcapng_frames(file)
            .into_iter()
            .map(|f| (f.nanos / 1_000, f.bytes))
            .collect();
    }
    assert_eq!(&file[0..4], &0xa1b2_c3d4u32.to_le_bytes(), "pcap magic");
    assert_eq!(
        u32::from_le_bytes(file[20..24].try_into().unwrap()),
        1,
        "Ethernet link type"
    );
    let mut out = Vec::new();
    let mut at = 24;
    while at < file.len() {
        let word = |i: usize| u32::from_le_bytes(file[at + i..at + i + 4].try_into().unwrap());
        let micros = word(0) as u64 * 1_000_000 + word(4) as u64;
        let len = word(8) as usize;
        out.push((micros, file[at + 16..at + 16 + len].to_vec()));
        at += 16 + len;
    }
    out
}

/// One Enhanced Packet Block of a pcapng file.
pub struct NgFrame {
    /// The interface's name (`if_name`).
    pub interface: String,
    /// Nanoseconds (netlab writes `if_tsresol` = 9).
    pub nanos: u64,
    /// The frame.
    pub bytes: Vec<u8>,
    /// The packet comment, if any.
    pub comment: Option<String>,
}

/// The options of a block body from `at`: `(code, value)`.
fn options(body: &[u8], mut at: usize) -> Vec<(u16, Vec<u8>)> {
    let mut out = Vec::new();
    while at + 4 <= body.len() {
        let code = u16::from_le_bytes([body[at], body[at + 1]]);
        let len = usize::from(u16::from_le_bytes([body[at + 2], body[at + 3]]));
        if code == 0 {
            break;
        }
        out.push((code, body[at + 4..at + 4 + len].to_vec()));
        at += 4 + len.div_ceil(4) * 4;
    }
    out
}

/// The packets of a netlab pcapng file, checking its block structure on the way.
pub fn pcapng_frames(file: &[u8]) -> Vec<NgFrame> {
    let word = |at: usize| u32::from_le_bytes(file[at..at + 4].try_into().unwrap());
    let mut interfaces = Vec::new();
    let mut out = Vec::new();
    let mut at = 0;
    while at < file.len() {
        let (kind, total) = (word(at), word(at + 4) as usize);
        assert_eq!(total % 4, 0, "blocks are padded");
        assert_eq!(word(at + total - 4) as usize, total, "trailing length");
        let body = &file[at + 8..at + total - 4];
        match kind {
            1 => {
                let name = options(body, 8)
                    .into_iter()
                    .find(|(code, _)| *code == 2)
                    .map(|(_, v)| String::from_utf8(v).unwrap())
                    .expect("every interface is named");
                interfaces.push(name);
            }
            6 => {
                let w = |i: usize| u32::from_le_bytes(body[i..i + 4].try_into().unwrap());
                let stored = w(12) as usize;
                let comment = options(body, 20 + stored.div_ceil(4) * 4)
                    .into_iter()
                    .find(|(code, _)| *code == 1)
                    .map(|(_, v)| String::from_utf8(v).unwrap());
                out.push(NgFrame {
                    interface: interfaces[w(0) as usize].clone(),
                    nanos: (u64::from(w(4)) << 32) | u64::from(w(8)),
                    bytes: body[20..20 + stored].to_vec(),
                    comment,
                });
            }
            _ => {}
        }
        at += total;
    }
    out
}

#[test]
fn the_capture_shows_a_handshake_and_a_get() {
    let artifacts = run("00-hello-web.ron", None, false);
    let frames = frames(
        artifacts
            .capture("capture.pcapng")
            .expect("hello-web captures"),
    );
    let (mut syn, mut syn_ack, mut get, mut fin) = (0, 0, 0, 0);
    let mut previous = 0;
    for (micros, frame) in &frames {
        assert!(*micros >= previous, "timestamps go forward");
        previous = *micros;
        let eth = EthernetFrame::new_checked(&frame[..]).unwrap();
        if eth.ethertype() != EthernetProtocol::Ipv4 {
            continue;
        }
        let ip = Ipv4Packet::new_checked(eth.payload()).unwrap();
        assert!(ip.verify_checksum(), "every IPv4 header checksum is right");
        if ip.next_header() != IpProtocol::Tcp {
            continue;
        }
        let tcp = TcpPacket::new_checked(ip.payload()).unwrap();
        assert!(tcp.verify_checksum(&ip.src_addr().into(), &ip.dst_addr().into()));
        syn += usize::from(tcp.syn() && !tcp.ack());
        syn_ack += usize::from(tcp.syn() && tcp.ack());
        fin += usize::from(tcp.fin());
        get += usize::from(tcp.payload().starts_with(b"GET /index.html HTTP/1.1\r\n"));
    }
    // Each request crosses two captured segments, so each packet appears twice.
    assert!(
        syn >= 400 && syn_ack >= 400 && get >= 400,
        "syn {syn} syn-ack {syn_ack} get {get}"
    );
    assert_eq!(fin, 800, "both sides close, seen on both segments");
}

#[test]
fn the_ping_capture_shows_arp_and_icmp_errors() {
    let artifacts = run("01-two-subnets-ping.ron", None, false);
    let frames = frames(
        artifacts
            .capture("capture.pcapng")
            .expect("the ping lab captures"),
    );
    let mut arp = 0;
    let mut net_unreachable = 0;
    let mut ttls = std::collections::BTreeSet::new();
    for (_, frame) in &frames {
        let eth = EthernetFrame::new_checked(&frame[..]).unwrap();
        match eth.ethertype() {
            EthernetProtocol::Arp => {
                ArpPacket::new_checked(eth.payload()).unwrap();
                arp += 1;
            }
            EthernetProtocol::Ipv4 => {
                let ip = Ipv4Packet::new_checked(eth.payload()).unwrap();
                let icmp = Icmpv4Packet::new_checked(ip.payload()).unwrap();
                if icmp.msg_type() == Icmpv4Message::EchoRequest {
                    ttls.insert(ip.hop_limit());
                }
                if icmp.msg_type() == Icmpv4Message::DstUnreachable && icmp.msg_code() == 0 {
                    net_unreachable += 1;
                }
            }
            _ => {}
        }
    }
    assert!(arp >= 4, "ARP on both subnets: {arp}");
    assert_eq!(
        net_unreachable, 2,
        "one ICMP net-unreachable per ping to 192.168.9.9"
    );
    // The router decrements the TTL: 64 on the left, 63 on the right.
    assert!(ttls.contains(&64) && ttls.contains(&63), "{ttls:?}");
}

/// Runs a shipped scenario with its own seed and the capture `options` ask for.
fn run_capturing(name: &str, options: netlab::capture::CaptureOptions) -> netlab::run::Artifacts {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(name);
    let scenario = netlab::scenario::load_file(&path).expect("shipped scenarios load");
    netlab::run::execute_with(
        &scenario,
        scenario.seed,
        netlab::report::ChartFormat::Svg,
        options,
        |_| {},
    )
    .expect("runs")
}

#[test]
fn each_wire_has_its_own_file_and_the_pcapng_names_the_wires() {
    let a = run("00-hello-web.ron", None, false);
    let merged = pcapng_frames(a.capture("capture.pcapng").unwrap());
    for wire in ["lan", "dmz"] {
        let own = frames(a.capture(&format!("capture-{wire}.pcap")).unwrap());
        let in_merged: Vec<(u64, Vec<u8>)> = merged
            .iter()
            .filter(|f| f.interface == wire)
            .map(|f| (f.nanos / 1_000, f.bytes.clone()))
            .collect();
        assert!(own.len() > 1_000, "{wire}: {} frames", own.len());
        assert_eq!(
            own, in_merged,
            "the wire's file is its interface in the pcapng"
        );
    }
    let mut previous = 0;
    for frame in &merged {
        assert!(frame.nanos >= previous, "the pcapng is in time order");
        previous = frame.nanos;
    }
}

#[test]
fn the_syn_a_director_scheduled_says_which_server_and_why() {
    let a = run("l4-nat.ron", None, false);
    let merged = pcapng_frames(a.capture("capture.pcapng").unwrap());
    let commented: Vec<&NgFrame> = merged.iter().filter(|f| f.comment.is_some()).collect();
    let requests = a.trace.requests.records().len();
    assert!(
        commented.len() >= requests * 9 / 10,
        "{} comments for {requests} requests",
        commented.len()
    );
    for frame in &commented {
        let text = frame.comment.as_deref().unwrap();
        assert_eq!(frame.interface, "back", "on the SYN towards the server");
        assert!(text.starts_with("lb: scheduler wrr for "), "{text}");
        assert!(text.contains(" → web"), "{text}");
        let eth = EthernetFrame::new_checked(&frame.bytes[..]).unwrap();
        let ip = Ipv4Packet::new_checked(eth.payload()).unwrap();
        let tcp = TcpPacket::new_checked(ip.payload()).unwrap();
        assert!(tcp.syn() && !tcp.ack());
        // The comment names the server the SYN goes to.
        let server = a
            .server_addrs
            .iter()
            .position(|&s| s == std::net::Ipv4Addr::from(ip.dst_addr().octets()))
            .map(|i| a.server_names[i].clone())
            .unwrap();
        assert!(
            text.ends_with(&format!(
                "→ {server} (Masq, NAT: the destination becomes the server's address)"
            )),
            "{text}"
        );
    }
    // Recording decisions for the comments changes no other file.
    let plain = run("l4-nat.ron", None, false);
    assert_eq!(plain.requests_csv, a.requests_csv);
}

#[test]
fn a_filter_and_a_snap_length_choose_and_cut_frames() {
    let options = netlab::capture::CaptureOptions {
        all: false,
        filter: Some(netlab::capture::Filter::parse("arp or icmp").unwrap()),
        snaplen: Some(40),
        sink: netlab::capture::Sink::Memory,
    };
    let a = run_capturing("01-two-subnets-ping.ron", options);
    let merged = pcapng_frames(a.capture("capture.pcapng").unwrap());
    assert!(!merged.is_empty());
    for frame in &merged {
        assert!(frame.bytes.len() <= 40);
        let ethertype = u16::from_be_bytes([frame.bytes[12], frame.bytes[13]]);
        let icmp = ethertype == 0x0800 && frame.bytes[23] == 1;
        assert!(ethertype == 0x0806 || icmp, "only ARP and ICMP pass");
    }
    // The original length is kept: the libpcap record says how long the frame was.
    let wire = a.capture("capture-left.pcap").unwrap();
    let orig = u32::from_le_bytes(wire[24 + 12..24 + 16].try_into().unwrap());
    let stored = u32::from_le_bytes(wire[24 + 8..24 + 12].try_into().unwrap());
    assert!(stored <= 40 && orig >= stored);
}

/// A writer into a shared buffer, standing in for a file.
#[derive(Clone, Default)]
struct Shared(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn streaming_writes_the_same_bytes_as_memory() {
    let memory = run("00-hello-web.ron", None, false);
    let names = ["capture-lan.pcap", "capture-dmz.pcap", "capture.pcapng"];
    let shared: Vec<Shared> = names.iter().map(|_| Shared::default()).collect();
    let files = names
        .iter()
        .zip(&shared)
        .map(|(n, s)| {
            let w: Box<dyn std::io::Write + Send> = Box::new(s.clone());
            (n.to_string(), w)
        })
        .collect();
    let options = netlab::capture::CaptureOptions {
        all: false,
        filter: None,
        snaplen: None,
        sink: netlab::capture::Sink::Files(files),
    };
    let streamed = run_capturing("00-hello-web.ron", options);
    assert!(streamed.captures.is_empty(), "nothing kept in memory");
    for (name, sink) in names.iter().zip(&shared) {
        assert_eq!(
            memory.capture(name).unwrap(),
            sink.0.lock().unwrap().as_slice(),
            "{name}"
        );
    }
}

/// Whether tshark can be run; without it, CI fails and a developer's run skips with a note.
fn tshark_available() -> bool {
    let found = std::process::Command::new("tshark")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            !std::env::var("CI").is_ok_and(|ci| ci == "true"),
            "tshark is missing: CI must check the captures with it (install Debian package tshark)"
        );
        eprintln!("skipped: tshark not found; install Debian package tshark");
    }
    found
}

/// tshark's fields for the first frames of `file`, one line per frame, tab-separated.
fn tshark_fields(file: &std::path::Path, fields: &[&str], filter: Option<&str>) -> String {
    let mut command = std::process::Command::new("tshark");
    // The first 3,000 frames of each wire: handshakes, ARP, DNS, VRRP all happen early, and
    // the test stays a few seconds long.
    command
        .arg("-r")
        .arg(file)
        .args(["-c", "3000", "-T", "fields"]);
    if let Some(filter) = filter {
        command.args(["-Y", filter]);
    }
    for field in fields {
        command.args(["-e", field]);
    }
    let output = command.output().expect("tshark runs");
    assert!(
        output.status.success(),
        "tshark failed on {}",
        file.display()
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Expert severity "error" as tshark prints `_ws.expert.severity`.
const EXPERT_ERROR: u64 = 0x0080_0000;

/// The scenarios CI checks with tshark: every protocol netlab writes and every kind of
/// forwarding (routed, NAT, direct routing, proxy, VRRP, DNS), a few seconds each.
const TSHARK_SCENARIOS: [&str; 7] = [
    "00-hello-web",
    "01-two-subnets-ping",
    "dns-rr",
    "vrrp-failover",
    "l4-nat",
    "l4-dsr",
    "l7-routing",
];

#[test]
fn tshark_decodes_every_wire_cleanly() {
    if tshark_available() {
        tshark_check(&TSHARK_SCENARIOS);
    }
}

/// Every shipped scenario (several minutes in a debug build): `cargo test -- --ignored`.
#[test]
#[ignore = "minutes long: every shipped scenario"]
fn tshark_decodes_every_wire_of_every_scenario_cleanly() {
    if tshark_available() {
        tshark_check(&[]);
    }
}

/// Runs the scenarios named (all shipped ones if none) with every wire captured, and checks
/// that tshark finds no malformed frame and no expert error on any wire.
fn tshark_check(only: &[&str]) {
    let dir = std::env::temp_dir().join(format!("netlab-tshark-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut protocols_by_scenario = std::collections::BTreeMap::new();
    let mut scenarios: Vec<_> = std::fs::read_dir(super::support::root().join("scenarios"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "ron"))
        .collect();
    scenarios.sort();
    for path in &scenarios {
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        if !only.is_empty() && !only.contains(&stem.as_str()) {
            continue;
        }
        let a = super::support::run_path(path, None, true);
        let mut seen = std::collections::BTreeSet::new();
        for (name, bytes) in &a.captures {
            if !name.ends_with(".pcap") {
                continue;
            }
            let file = dir.join(format!("{stem}-{name}"));
            std::fs::write(&file, bytes).unwrap();
            let fields = ["frame.protocols", "_ws.malformed", "_ws.expert.severity"];
            for line in tshark_fields(&file, &fields, None).lines() {
                let mut columns = line.split('\t');
                let protocols = columns.next().unwrap_or_default();
                seen.extend(protocols.split(':').map(str::to_string));
                let malformed = columns.next().unwrap_or_default();
                assert!(
                    malformed.is_empty(),
                    "{stem} {name}: malformed frame: {line}"
                );
                let severities = columns.next().unwrap_or_default();
                for severity in severities.split(',').filter(|s| !s.is_empty()) {
                    let value: u64 = severity.parse().unwrap();
                    assert!(value < EXPERT_ERROR, "{stem} {name}: expert error: {line}");
                }
            }
            std::fs::remove_file(&file).unwrap();
        }
        protocols_by_scenario.insert(stem, seen);
    }
    if !only.is_empty() {
        assert_eq!(
            protocols_by_scenario.len(),
            only.len(),
            "every scenario named exists"
        );
    }
    let decodes = |scenario: &str, protocol: &str| {
        assert!(
            protocols_by_scenario[scenario].contains(protocol),
            "tshark decodes no {protocol} in {scenario}: {:?}",
            protocols_by_scenario[scenario]
        );
    };
    decodes("00-hello-web", "http");
    decodes("00-hello-web", "arp");
    decodes("01-two-subnets-ping", "icmp");
    decodes("dns-rr", "dns");
    decodes("vrrp-failover", "vrrp");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn tshark_reads_the_interface_names_and_comments_of_the_pcapng() {
    if !tshark_available() {
        return;
    }
    let a = run("l4-nat.ron", None, false);
    let file = std::env::temp_dir().join(format!("netlab-tshark-ng-{}.pcapng", std::process::id()));
    std::fs::write(&file, a.capture("capture.pcapng").unwrap()).unwrap();
    let names = tshark_fields(&file, &["frame.interface_name"], None);
    let names: std::collections::BTreeSet<&str> = names.lines().collect();
    assert_eq!(names, ["back", "front"].into_iter().collect());
    let front = tshark_fields(
        &file,
        &["frame.number"],
        Some("frame.interface_name == \"front\""),
    );
    assert!(front.lines().count() > 100);
    let comments = tshark_fields(
        &file,
        &["frame.interface_name", "frame.comment"],
        Some("frame.comment"),
    );
    let first = comments.lines().next().expect("a commented frame");
    assert!(first.starts_with("back\tlb: scheduler wrr for "), "{first}");
    std::fs::remove_file(&file).unwrap();
}

#[test]
fn the_sync_daemons_datagrams_decode_as_ipvs() {
    if !tshark_available() {
        return;
    }
    let a = run("vrrp-sync.ron", None, true);
    let file = std::env::temp_dir().join(format!("netlab-ipvs-sync-{}.pcap", std::process::id()));
    std::fs::write(&file, a.capture("capture-dmz.pcap").expect("the dmz wire")).unwrap();
    let fields = [
        "ipvs.version",
        "ipvs.conncount",
        "ipvs.caddr",
        "ipvs.vaddr",
        "ipvs.daddr",
        "ipvs.timeout",
        "_ws.malformed",
    ];
    let out = tshark_fields(&file, &fields, Some("ipvs"));
    std::fs::remove_file(&file).unwrap();
    let first = out.lines().next().expect("sync datagrams on the dmz wire");
    assert_eq!(
        first.split('\t').collect::<Vec<_>>(),
        [
            "1",
            "1",
            "192.0.2.102",
            "10.0.1.100",
            "10.0.1.13",
            "900",
            ""
        ],
        "version 1, one connection, its addresses and the ESTABLISHED timeout"
    );
    assert!(out.lines().count() > 10, "one datagram per new connection");
    assert!(
        out.lines().all(|l| l.ends_with('\t')),
        "no malformed sync datagram"
    );
}
