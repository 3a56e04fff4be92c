//! A cluster of transparent caches behind a firewall-mark service: the director marks the
//! campus's packets to any origin, schedules them to the caches, and the caches' hit ratio
//! depends on the scheduler (`book/src/labs/cache-cluster.md`).

use netlab::scenario::load_str;

/// Two caches of 8 objects, four origins on one machine, 10 pages each (40 objects), the
/// first origin the most popular.
const CLUSTER: &str = r#"Scenario(
    name: "small-cache-cluster",
    description: "two caches behind a fwmark service",
    segments: [(name: "campus"), (name: "caches"), (name: "internet", delay: "5ms")],
    nodes: [
        L4Balancer(
            name: "lb",
            interfaces: [
                (attach: "campus", ip: "10.0.1.1/24"),
                (attach: "caches", ip: "10.0.2.1/24"),
                (attach: "internet", ip: "198.51.100.254/24"),
            ],
            marks: [(mark: 1, from: "10.0.1.0/24", port: 80)],
            services: [(fwmark: 1, scheduler: "SCHED", real_servers: [(ip: "10.0.2.11"), (ip: "10.0.2.12")])],
        ),
        WebServer(name: "cache1", interface: (attach: "caches", ip: "10.0.2.11/24"), gateway: "10.0.2.1",
                  transparent_cache: (capacity: 8)),
        WebServer(name: "cache2", interface: (attach: "caches", ip: "10.0.2.12/24"), gateway: "10.0.2.1",
                  transparent_cache: (capacity: 8)),
        WebServer(name: "origin", interface: (attach: "internet", ip: "198.51.100.1/24"), gateway: "198.51.100.254",
                  loopback: ["198.51.100.2", "198.51.100.3", "198.51.100.4"], arp_ignore: false),
        Clients(
            name: "campus", count: 4, attach: "campus", first_ip: "10.0.1.100/24", gateway: "10.0.1.1",
            url: "http://198.51.100.1/",
            paths: ["/1", "/2", "/3", "/4", "/5", "/6", "/7", "/8", "/9", "/10"],
            origins: (first: "198.51.100.1", count: 4, popularity: Zipf(1.0)),
            workload: OpenLoop(rate: 100.0, requests: 400),
        ),
    ],
)"#;

/// The run's `summary.json` with `scheduler`.
fn run(scheduler: &str) -> (serde_json::Value, String) {
    let scenario = load_str("cluster.ron", &CLUSTER.replace("SCHED", scheduler))
        .unwrap_or_else(|e| panic!("the cluster does not load:\n{e}"));
    let artifacts = netlab::run::execute(&scenario, scenario.seed, false).unwrap();
    (
        serde_json::from_str(&artifacts.summary_json).unwrap(),
        artifacts.ipvsadm_txt.unwrap_or_default(),
    )
}

#[test]
fn destination_hashing_makes_two_caches_one_big_one() {
    let (rr, _) = run("rr");
    let (dh, ipvsadm) = run("dh");
    for summary in [&rr, &dh] {
        assert_eq!(summary["requests"]["ok"], 400, "{summary}");
        let caches = &summary["caches"];
        assert_eq!(
            caches["hits"].as_u64().unwrap() + caches["misses"].as_u64().unwrap(),
            400,
            "every request is a hit or a miss: {caches}"
        );
    }
    // The service has no address: ipvsadm lists it by its mark, as the real tool does.
    assert!(ipvsadm.contains("FWM  1 dh\n"), "{ipvsadm}");
    // dh: each origin's pages live in one cache, so 16 slots hold more of the 40 pages.
    let ratio = |s: &serde_json::Value| s["caches"]["hit_ratio"].as_f64().unwrap();
    assert!(
        ratio(&dh) > ratio(&rr) + 0.1,
        "dh {} against rr {}",
        ratio(&dh),
        ratio(&rr)
    );
    // The clients never see a cache's address: the answers come from the origins'.
    assert_eq!(dh["servers"]["origin"]["served"], 0);
    assert!(dh["servers"]["cache1"]["cache"]["hits"].as_u64().unwrap() > 0);
}

#[test]
fn the_caches_own_fetches_are_not_marked() {
    // Every miss is fetched by the cache from the origin, through the director: the origin
    // sees only the caches' addresses as its peers.
    let (dh, _) = run("dh");
    let misses = dh["caches"]["misses"].as_u64().unwrap();
    assert!(misses > 0);
    assert_eq!(dh["servers"]["origin"]["distinct_peers"], 2, "{dh}");
}
