//! *The engine*: virtual time, the event queue, seeded randomness and a lookup-only map.
//!
//! This module knows nothing about packets or nodes; `world` builds the simulation on top of it.
//! Start with [`SimTime`], then [`EventQueue`], then [`Streams`].

mod lookup;
mod queue;
mod rng;
mod time;

pub use lookup::LookupMap;
pub use queue::EventQueue;
pub use rng::{Stream, Streams};
pub use time::{SimDuration, SimTime};
