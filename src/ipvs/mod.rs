//! *IPVS*: the Linux kernel's layer-4 load balancer, as modelled by netlab.
//!
//! IPVS (IP Virtual Server) lives inside the kernel's netfilter hooks.
//! A *virtual service* is an address and port (a VIP such as `10.0.0.100:80`) that clients connect to.
//! Behind it sit *real servers*, which IPVS calls destinations.
//! For every new connection a *scheduler* picks one destination; every later packet of that connection follows the same choice.
//! `ipvsadm` and keepalived configure all of this from user space.
//!
//! # Simplifications
//!
//! - Only the schedulers exist so far (module [`scheduler`]); the balancer that owns services,
//!   connection entries and the per-destination counters calls them and comes later.
//! - IPv4 only.
//!
//! # Further reading
//!
//! - Linux source: `net/netfilter/ipvs/` and `include/net/ip_vs.h`.
//! - `shared/reference/ipvs-schedulers.md`, the project's reading of that source.
//!
//! Start reading at [`scheduler`].

pub mod conn;
pub mod ipvsadm;
pub mod scheduler;
pub mod service;
