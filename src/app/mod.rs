//! *Applications*: the programs that run on hosts and make traffic.
//!
//! Each application implements `node::App`: the host calls it after every poll of the TCP/IP
//! stack, and it works its sockets the way a program works the BSD socket API, without
//! blocking. Start with `http.rs` (the messages), then `web_server.rs` and `http_client.rs`.

mod cache;
pub mod dns;
mod health_check;
pub mod http;
mod http_client;
mod keep_alive;
mod l7_proxy;
mod monitor;
mod outbound;
mod ping;
mod ports;
mod resolver;
mod smtp;
mod web_server;

pub use cache::{CacheConfig, Lru, TransparentCache};
pub use health_check::{
    CheckKind, CheckTiming, CheckTransition, CheckerConfig, HealthBoard, HealthChecker,
};
pub use http_client::{HttpClient, HttpClientConfig, Workload};
pub use l7_proxy::{Algorithm, Backend, L7Proxy, Pool, ProxyConfig, RuleMatch};
pub use monitor::{Monitor, Probe};
pub use ping::{PingConfig, Pinger};
pub use ports::{PortAllocator, REUSE_GUARD};
pub use resolver::{Resolver, StaticHosts};
pub use smtp::SmtpGreeter;
pub use web_server::{Distribution, WebServer, WebServerConfig};
