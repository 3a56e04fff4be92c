//! *Scenario files*: from a student's RON file to a world ready to run.
//!
//! 1. `format`: the serde types the file is read into (nothing else derives `Deserialize`);
//! 2. `load`: reading and parsing, with positioned syntax errors; then `keepalived` reads the
//!    keepalived.conf files the scenario names into the same file types;
//! 3. `validate`: semantic checks, all collected, producing the typed `model::Scenario`;
//! 4. `build`: the `world::World` for a scenario and seed.
//!
//! `spans` finds where each entry of the file is, so diagnostics point at the right one.
//! `lint` warns about valid scenarios that probably do not do what was meant.
//! `units` parses `"10ms"`, `"100Mbps"` and `"64KiB"`; `diagnostic` renders errors.
//! `keepalived` also writes a scenario's directors back as keepalived.conf files.

pub mod build;
pub mod diagnostic;
pub mod format;
pub mod keepalived;
pub mod lint;
pub mod load;
pub mod model;
pub mod spans;
pub mod units;
pub mod validate;
pub mod vary;

pub use build::{Built, build, build_capturing};
pub use diagnostic::Diagnostic;
pub use load::{LoadError, load_file, load_str};
pub use model::Scenario;
