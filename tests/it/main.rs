//! Integration tests, one binary. Where things go:
//! - `scenarios`: every file in `scenarios/` runs, and its summary and table are snapshotted;
//! - `diagnostics`: every broken file in `tests/it/bad/` gets the snapshotted error output;
//! - `loading`: files on disk: folders, FIFOs, devices, huge files and wrong encodings refused;
//! - `expect`: `netlab test`: expected outcomes, `--accept`, JUnit XML, the book's exercises;
//! - `determinism`: same seed, same bytes; other seed, other bytes;
//! - `explain`: `netlab explain`: stories of chosen requests, selector errors, recording changes no file;
//! - `dns`: DNS round robin: cache skew, the TTL sweep, a dead server, real messages;
//! - `health`: failure injection and health checks: detection, timing, sorry server;
//! - `l4`: the IPVS director: weights, NAT/DR paths, the same-subnet pitfall, no server;
//! - `caches`: transparent caches behind a firewall-mark service: dh against rr;
//! - `redundancy`: VRRP failover, clean shutdown, split brain, GARP, sync, cold vs hot standby;
//! - `l7`: the reverse proxy: routing by URL, two handshakes, addresses, L4 vs L7;
//! - `lints`: warnings for valid scenarios that probably do not do what was meant;
//! - `operator`: operator actions on the timeline and the monitor node;
//! - `overload`: a full web server: SYNs dropped and retransmitted after 1 s and 3 s by default,
//!   reset (`refused`) with `abort_on_overflow`;
//! - `keep_alive`: HTTP keep-alive: handshakes saved, and IPVS balancing connections;
//! - `pcap`: the capture holds real, well-formed packets (handshake, HTTP, ARP, ICMP);
//! - `keepalived`: every exported keepalived.conf passes the real `keepalived -t`, and reads
//!   back into the same run;
//! - `keepalived_import`: reading keepalived.conf: broken confs in `tests/it/bad-keepalived/`
//!   and samples in `tests/it/good-keepalived/`, snapshotted; files outside the scenario's
//!   folder refused; the numbers Lab 7 and the keepalived hands-on lab quote;
//! - `benchmarks`: the ns-3 comparison (`benches/ns3/`) states the reference scenario's workload;
//! - `book`: the book's images exist (and `scenarios` checks the stored charts are current);
//! - `cli`: the `netlab` binary's exit codes and files;
//! - `output`: the output-folder rules: a student's files are never touched.
//! - `playground`: the wasm playground served to headless chromium: a run gives the native
//!   summary table and every file, a syntax error is listed at its line (needs its build);
//! - `browser`: headless chromium shared by the browser tests (find it, dump a page's DOM);
//! - `report_browser`: `report.html` opened in headless chromium: no errors, every row, the
//!   explanation `netlab explain` prints;
//! - `sweeps`: `compare --shard` and `merge` give the unsharded files; the thread count
//!   changes nothing; Ctrl-C stops `run` leaving nothing behind, and no bar off a terminal.
//! - `tun`: IPVS tunnelling: valid IP-in-IP in the capture, fragmentation needed, the MSS fix;
//! - `props`: property tests: mutated scenarios never crash `check`; random directors balance their books.

mod benchmarks;
mod book;
mod browser;
mod caches;
mod cli;
mod determinism;
mod diagnostics;
mod dns;
mod expect;
mod explain;
mod health;
mod keep_alive;
mod keepalived;
mod keepalived_import;
mod l4;
mod l7;
mod lints;
mod loading;
mod operator;
mod output;
mod overload;
mod pcap;
mod playground;
mod props;
mod redundancy;
mod report_browser;
mod scenarios;
mod support;
mod sweeps;
mod tun;
