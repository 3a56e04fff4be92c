//! # netlab: a deterministic network lab for redundancy and load distribution
//!
//! netlab simulates small networks with real packets: every end host runs a smoltcp TCP/IP
//! stack, routers rewrite real Ethernet/IPv4 frames, and every wire has bandwidth, delay,
//! queues and loss. Time is virtual, so a run is exactly repeatable.
//!
//! The layers, from the bottom up:
//! - [`sim`]: virtual time, the event queue and seeded random streams (no packets here);
//! - [`net`]: wires and switches; [`capture`]: what a tap on each wire sees;
//! - [`node`]: machines: smoltcp hosts and routers;
//! - [`app`]: programs on hosts: web server, HTTP clients, pinger;
//! - [`ipvs`]: Linux IPVS load-balancing logic: the ten schedulers;
//! - [`world`]: all of the above and the event loop that runs them;
//! - [`scenario`]: RON scenario files: loading, checking, building a world;
//! - [`trace`] and [`report`]: what a run recorded, and the files made from it;
//! - [`run`]: one run end to end, scenario in, file contents out;
//! - [`compare`]: the same scenario under several schedulers and seeds, on one machine or
//!   sharded over many and merged;
//! - [`expect`]: a scenario's expected outcomes, and `netlab test`, which checks them;
//! - [`explain`]: the story of one request, decision by decision (`netlab explain`);
//! - [`output`]: the output folders netlab may write, replaced atomically;
//! - [`progress`]: a long run's progress bar on the terminal, and a clean Ctrl-C;
//! - [`cli`]: the `netlab` command.
//!
//! Start reading at `world::World::run`, then `node::Host`.

pub mod app;
pub mod capture;
pub mod cli;
pub mod compare;
pub mod expect;
pub mod explain;
pub mod ipvs;
pub mod net;
pub mod node;
pub mod output;
pub mod progress;
pub mod report;
pub mod run;
pub mod scenario;
pub mod sim;
pub mod trace;
pub mod world;
