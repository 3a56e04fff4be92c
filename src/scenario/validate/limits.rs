//! *Limits*: the largest (and smallest) value netlab accepts for every count, size and time in
//! a scenario, checked before anything is allocated.
//!
//! A typo such as `count: 1000000000` must get an error message, not a machine that swaps for
//! an hour. Each limit here is far above what a lab needs and well below what would make a run
//! take more memory than a laptop has, or never end. The book's scenario reference lists them
//! all ("Limits"); a test checks that it does.
//!
//! Durations and sizes are written as in scenario files, so the messages can quote them.

/// The most entries in `nodes`.
pub const MAX_NODES: usize = 1_000;
/// The most segments and links together.
pub const MAX_WIRES: usize = 1_000;
/// The most machines in a scenario, each host of a client group counted. Each one runs its
/// own TCP/IP stack with its own buffers, about 300 KB: 2,000 machines take about 600 MB.
pub const MAX_HOSTS: u64 = 2_000;
/// The most entries in any other list of the file (routes, real servers, faults, paths...).
pub const MAX_LIST: usize = 1_000;
/// The most interfaces on one router or balancer.
pub const MAX_INTERFACES: usize = 64;
/// The longest name (a node, segment, pool, VRRP instance): a DNS label's 63 characters.
pub const MAX_NAME_LEN: usize = 63;
/// The longest DNS name (RFC 1035, section 2.3.4).
pub const MAX_DNS_NAME_LEN: usize = 253;
/// The longest URL path or other free text (a check path, a HELO name).
pub const MAX_TEXT_LEN: usize = 1_024;
/// The most loopback addresses of a web server: smoltcp's interface holds 8 addresses
/// (`SMOLTCP_IFACE_MAX_ADDR_COUNT` in `.cargo/config.toml`), one of them its own.
pub const MAX_LOOPBACK: usize = 7;
/// The most virtual addresses in one VRRP instance (the advertisement's 8-bit count).
pub const MAX_VIPS: usize = 255;

/// The most workers of a web server (Apache's default `MaxRequestWorkers` is 256).
pub const MAX_WORKERS: u32 = 1_024;
/// Objects a transparent cache holds at most (an index entry each).
pub const MAX_CACHE_OBJECTS: u32 = 1_000_000;
/// The most connections waiting for a worker.
pub const MAX_BACKLOG: u32 = 1_024;
/// Linux `net.core.somaxconn` since 5.4 (`SOMAXCONN`; 128 before).
pub const DEFAULT_SOMAXCONN: u32 = 4_096;
/// The largest `somaxconn` accepted (Linux takes up to `INT_MAX`, but no backlog here can reach
/// more than `MAX_BACKLOG`).
pub const MAX_SOMAXCONN: u32 = 65_535;
/// The most connections an L7 proxy holds at once.
pub const MAX_PROXY_CONNECTIONS: u32 = 4_096;
/// The most origin servers (times paths) a client group spreads its requests over.
pub const MAX_ORIGINS: u32 = 100_000;
/// The most requests a client group makes.
pub const MAX_REQUESTS: u64 = 10_000_000;
/// The highest request rate of a client group, per second.
pub const MAX_RATE: f64 = 100_000.0;
/// The most closed-loop users of a client group (`count` × `users`).
pub const MAX_USERS: u64 = 10_000;
/// The most echo requests of a pinger.
pub const MAX_PINGS: u32 = 100_000;
/// The largest IPVS weight (ipvsadm's range is 0 to 65535).
pub const MAX_WEIGHT: u32 = 65_535;
/// The largest connection threshold of a real server.
pub const MAX_THRESHOLD: u32 = 65_535;
/// The most frames waiting for a director's CPU (Linux `netdev_max_backlog` is 1000).
pub const MAX_PACKET_BACKLOG: u32 = 100_000;
/// The most retries of a health check.
pub const MAX_RETRY: u32 = 100;
/// The most checks in a row a monitor's probe counts before it raises or clears an alarm
/// (`fail_after`, `clear_after`).
pub const MAX_PROBE_COUNT: u32 = 100;
/// The most gratuitous ARPs a new VRRP master sends.
pub const MAX_GARP_REPEAT: u32 = 100;
/// The most events one run may be allowed (`limits.max_events`).
pub const MAX_EVENTS: u64 = 10_000_000_000;
/// The largest slow-down factor of `SlowService`.
pub const MAX_SLOW_FACTOR: f64 = 10_000.0;

/// The range a duration, size or bandwidth field accepts, as scenario text.
#[derive(Clone, Copy, Debug)]
pub struct Bounds {
    /// The smallest value.
    pub min: &'static str,
    /// The largest value.
    pub max: &'static str,
}

/// Any time in a run: a fault's `at`, a workload's `start` (and `max_sim_time` itself).
pub const TIME: Bounds = Bounds {
    min: "0s",
    max: "24h",
};
/// `limits.max_sim_time`.
pub const SIM_TIME: Bounds = Bounds {
    min: "1ms",
    max: "24h",
};
/// A wait or a cost inside a run: service and think times, delays, costs.
pub const WAIT: Bounds = Bounds {
    min: "0s",
    max: "1h",
};
/// A timeout or an idle time, which must be able to expire: zero would fire at once.
pub const TIMEOUT: Bounds = Bounds {
    min: "1ms",
    max: "1h",
};
/// The one-way delay of a wire.
pub const WIRE_DELAY: Bounds = Bounds {
    min: "0s",
    max: "10s",
};
/// keepalived's `delay_loop`: a check every 100 ms at the most, or a run never ends.
pub const DELAY_LOOP: Bounds = Bounds {
    min: "100ms",
    max: "1h",
};
/// A ping interval.
pub const PING_INTERVAL: Bounds = Bounds {
    min: "1ms",
    max: "1h",
};
/// ARP cache entries.
pub const ARP_TIMEOUT: Bounds = Bounds {
    min: "1s",
    max: "1h",
};
/// IPVS persistence (ipvsadm takes whole seconds).
pub const PERSISTENCE: Bounds = Bounds {
    min: "1s",
    max: "24h",
};
/// A DNS TTL, and the resolver's clamps (a week is common for stable records).
pub const TTL: Bounds = Bounds {
    min: "0s",
    max: "168h",
};

/// A web server's response body.
pub const RESPONSE_SIZE: Bounds = Bounds {
    min: "0B",
    max: "16MiB",
};
/// A client's `Cookie` header: the web server reads heads of at most 4 KiB.
pub const COOKIE_SIZE: Bounds = Bounds {
    min: "1B",
    max: "3KiB",
};
/// A wire's drop-tail queue: at least one full-size frame.
pub const QUEUE: Bounds = Bounds {
    min: "1514B",
    max: "64MiB",
};
/// A wire's speed.
pub const BANDWIDTH: Bounds = Bounds {
    min: "1Kbps",
    max: "100Gbps",
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::units::{parse_bandwidth, parse_duration, parse_size};

    #[test]
    fn every_limit_parses_and_is_ordered() {
        for span in [
            TIME,
            SIM_TIME,
            WAIT,
            TIMEOUT,
            WIRE_DELAY,
            DELAY_LOOP,
            PING_INTERVAL,
            ARP_TIMEOUT,
            PERSISTENCE,
            TTL,
        ] {
            let (min, max) = (
                parse_duration(span.min).unwrap(),
                parse_duration(span.max).unwrap(),
            );
            assert!(min < max, "{span:?}");
        }
        for range in [RESPONSE_SIZE, QUEUE] {
            assert!(parse_size(range.min).unwrap() < parse_size(range.max).unwrap());
        }
        assert!(
            parse_bandwidth(BANDWIDTH.min).unwrap().bits_per_sec()
                < parse_bandwidth(BANDWIDTH.max).unwrap().bits_per_sec()
        );
    }
}
