//! *IPVS*: the Linux kernel's layer-4 load balancer, as modelled by netlab.
//!
//! IPVS (IP Virtual Server) lives inside the kernel's netfilter hooks.
//! A *virtual service* is an address and port (a VIP such as `10.0.0.100:80`) that clients connect to.
//! Behind it sit *real servers*, which IPVS calls destinations.
//! For every new connection a *scheduler* picks one destination; every later packet of that connection follows the same choice.
//! A service may instead match a *firewall mark* set by a netfilter rule (module [`fwmark`]).
//! A *persistent* service sends all of a client's connections to one destination for a while
//! (module [`persistence`]).
//! `ipvsadm` and keepalived configure all of this from user space.
//!
//! # Simplifications
//!
//! - The director that owns services and the connection table, and forwards packets, is
//!   `node::l4_balancer`; this module holds its kernel-side logic.
//! - IPv4 only.
//!
//! # Further reading
//!
//! - Linux source: `net/netfilter/ipvs/` and `include/net/ip_vs.h`.
//! - `shared/reference/ipvs-schedulers.md`, the project's reading of that source.
//!
//! Start reading at [`scheduler`].

pub mod conn;
pub mod fwmark;
pub mod ipvsadm;
pub mod persistence;
pub mod scheduler;
pub mod service;
pub mod sync;
