//! *DNS*: names to addresses, and round robin by record order.
//!
//! - `wire`: DNS messages (A queries and answers), parsed and written by hand;
//! - `authority`: an authoritative server that rotates its records;
//! - `cache`: a caching resolver (an ISP's or carrier's), with TTL clamping;
//! - `stub`: the client side: a host's resolver with its own cache policy.

pub mod authority;
pub mod cache;
pub mod stub;
pub mod wire;
