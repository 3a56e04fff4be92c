//! *`ipvsadm -Ln`*: the director's state in the exact layout of the real tool.
//!
//! Students compare what they see here with a real director, so the columns, widths and sort
//! order are ipvsadm 1.31's: services sorted by protocol, address and port; real servers by
//! address and port (with ipvsadm's wrapping address comparison), not in kernel list order.
//!
//! # Further reading
//! - `ipvsadm(8)`; `shared/reference/ipvs-schedulers.md` §7.

use std::cmp::Ordering;
use std::fmt::Write;
use std::net::Ipv4Addr;

use super::service::{Stats, VirtualService};

/// ipvsadm's address comparison: `(int)(ntohl(a) - ntohl(b))`, which wraps for addresses more
/// than 2^31 apart (so 10.0.0.1 sorts after 192.168.0.1, as on a real director).
fn compare_addr(a: Ipv4Addr, b: Ipv4Addr) -> Ordering {
    let difference = u32::from(a).wrapping_sub(u32::from(b)) as i32;
    difference.cmp(&0)
}

/// Services in ipvsadm's order (`ipvs_cmp_services`: the mark first, so firewall-mark
/// services come after the others, then address and port).
fn sorted_services(services: &[VirtualService]) -> Vec<&VirtualService> {
    let mut sorted: Vec<&VirtualService> = services.iter().collect();
    sorted.sort_by(|a, b| {
        a.fwmark
            .unwrap_or(0)
            .cmp(&b.fwmark.unwrap_or(0))
            .then(compare_addr(a.vip, b.vip))
            .then(a.port.cmp(&b.port))
    });
    sorted
}

/// The protocol column and the service's name: `TCP` and `VIP:port`, or `FWM` and the mark.
fn service_name(service: &VirtualService) -> (&'static str, String) {
    match service.fwmark {
        Some(mark) => ("FWM", mark.to_string()),
        None => ("TCP", format!("{}:{}", service.vip, service.port)),
    }
}

/// Destination indices of a service in ipvsadm's order.
fn sorted_dests(service: &VirtualService) -> Vec<usize> {
    // Deleted servers (the kernel's trash) are not listed.
    let mut order: Vec<usize> = (0..service.dests.len())
        .filter(|&i| service.dests[i].available)
        .collect();
    order.sort_by(|&a, &b| {
        let (da, db) = (&service.dests[a], &service.dests[b]);
        compare_addr(da.addr, db.addr).then(da.port.cmp(&db.port))
    });
    order
}

/// The service line's extras: ` persistent <s>`.
fn service_suffix(service: &VirtualService) -> String {
    match service.persistence {
        Some(timeout) => format!(" persistent {}", timeout.as_nanos() / 1_000_000_000),
        None => String::new(),
    }
}

/// `ipvsadm -Ln`.
///
/// # Examples
/// ```
/// use std::net::Ipv4Addr;
/// use netlab::ipvs::ipvsadm::list;
/// use netlab::ipvs::scheduler::by_name;
/// use netlab::ipvs::service::{Forward, RealServerConfig, VirtualService};
/// let rs = RealServerConfig {
///     addr: Ipv4Addr::new(10, 0, 0, 11), port: 80, weight: 4,
///     forward: Forward::Route, upper_threshold: 0, lower_threshold: 0,
/// };
/// let svc = VirtualService::new(Ipv4Addr::new(10, 0, 0, 100), 80, by_name("wrr").unwrap(), &[rs], None);
/// let text = list(&[svc]);
/// assert!(text.contains("TCP  10.0.0.100:80 wrr\n"));
/// assert!(text.contains("  -> 10.0.0.11:80                 Route   4      0          0         \n"));
/// ```
pub fn list(services: &[VirtualService]) -> String {
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = writeln!(out, "IP Virtual Server version 1.2.1 (size=4096)");
    let _ = writeln!(out, "Prot LocalAddress:Port Scheduler Flags");
    let _ = writeln!(
        out,
        "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn"
    );
    for service in sorted_services(services) {
        let (protocol, name) = service_name(service);
        let _ = writeln!(
            out,
            "{:<4} {} {}{}",
            protocol,
            name,
            service.scheduler.name(),
            service_suffix(service)
        );
        for index in sorted_dests(service) {
            let dest = &service.dests[index];
            let remote = format!("{}:{}", dest.addr, dest.port);
            let _ = writeln!(
                out,
                "  -> {:<28} {:<7} {:<6} {:<10} {:<10}",
                remote,
                service.configs[index].forward.name(),
                dest.weight,
                dest.active_conns,
                dest.inactive_conns
            );
        }
    }
    out
}

/// ipvsadm's `print_largenum`: nine columns, then K/M/G/T scaling.
fn largenum(n: u64) -> String {
    if n < 100_000_000 {
        format!("{n:9}")
    } else if n < 1_000_000_000 {
        format!("{:8}K", n / 1_000)
    } else if n < 100_000_000_000 {
        format!("{:8}M", n / 1_000_000)
    } else if n < 100_000_000_000_000 {
        format!("{:8}G", n / 1_000_000_000)
    } else {
        format!("{:8}T", n / 1_000_000_000_000)
    }
}

/// The five `--stats` numbers.
fn stats_columns(stats: &Stats) -> String {
    [
        stats.conns,
        stats.in_pkts,
        stats.out_pkts,
        stats.in_bytes,
        stats.out_bytes,
    ]
    .iter()
    .map(|&n| largenum(n))
    .collect()
}

/// `ipvsadm -Ln --stats`.
pub fn stats(services: &[VirtualService]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "IP Virtual Server version 1.2.1 (size=4096)");
    let _ = writeln!(
        out,
        "{:<33} {:>8} {:>8} {:>8} {:>8} {:>8}\n  -> RemoteAddress:Port",
        "Prot LocalAddress:Port", "Conns", "InPkts", "OutPkts", "InBytes", "OutBytes"
    );
    for service in sorted_services(services) {
        let (protocol, name) = service_name(service);
        let name = format!("{protocol:<4} {name}");
        let _ = writeln!(out, "{name:<33}{}", stats_columns(&service.stats));
        for index in sorted_dests(service) {
            let dest = &service.dests[index];
            let remote = format!("{}:{}", dest.addr, dest.port);
            let _ = writeln!(
                out,
                "  -> {remote:<28}{}",
                stats_columns(&service.dest_stats[index])
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipvs::scheduler::by_name;
    use crate::ipvs::service::{Forward, RealServerConfig};

    fn rs(addr: [u8; 4], weight: u32) -> RealServerConfig {
        RealServerConfig {
            addr: Ipv4Addr::from(addr),
            port: 80,
            weight,
            forward: Forward::Masq,
            upper_threshold: 0,
            lower_threshold: 0,
        }
    }

    #[test]
    fn the_list_matches_ipvsadm_byte_for_byte() {
        let svc = VirtualService::new(
            Ipv4Addr::new(10, 0, 0, 100),
            80,
            by_name("wrr").unwrap(),
            &[
                rs([10, 0, 0, 11], 4),
                rs([10, 0, 0, 12], 3),
                rs([10, 0, 0, 13], 2),
            ],
            None,
        );
        let expected = concat!(
            "IP Virtual Server version 1.2.1 (size=4096)\n",
            "Prot LocalAddress:Port Scheduler Flags\n",
            "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n",
            "TCP  10.0.0.100:80 wrr\n",
            "  -> 10.0.0.11:80                 Masq    4      0          0         \n",
            "  -> 10.0.0.12:80                 Masq    3      0          0         \n",
            "  -> 10.0.0.13:80                 Masq    2      0          0         \n",
        );
        assert_eq!(list(&[svc]), expected);
    }

    #[test]
    fn each_forwarding_method_has_ipvsadms_name() {
        let mut servers = [
            rs([10, 0, 0, 11], 1),
            rs([10, 0, 0, 12], 1),
            rs([10, 0, 2, 13], 1),
        ];
        servers[1].forward = Forward::Route;
        servers[2].forward = Forward::Tunnel;
        let svc = VirtualService::new(
            Ipv4Addr::new(10, 0, 0, 100),
            80,
            by_name("rr").unwrap(),
            &servers,
            None,
        );
        let text = list(&[svc]);
        assert!(
            text.contains("  -> 10.0.0.11:80                 Masq    1"),
            "{text}"
        );
        assert!(
            text.contains("  -> 10.0.0.12:80                 Route   1"),
            "{text}"
        );
        assert!(
            text.contains("  -> 10.0.2.13:80                 Tunnel  1"),
            "{text}"
        );
    }

    #[test]
    fn a_firewall_mark_service_is_listed_as_fwm_after_the_others() {
        let marked = VirtualService::new(
            Ipv4Addr::UNSPECIFIED,
            0,
            by_name("lblc").unwrap(),
            &[rs([10, 0, 2, 11], 1)],
            None,
        )
        .with_fwmark(1);
        let plain = VirtualService::new(
            Ipv4Addr::new(10, 0, 0, 100),
            80,
            by_name("rr").unwrap(),
            &[rs([10, 0, 0, 11], 1)],
            None,
        );
        let text = list(&[marked, plain]);
        let tail = concat!(
            "TCP  10.0.0.100:80 rr\n",
            "  -> 10.0.0.11:80                 Masq    1      0          0         \n",
            "FWM  1 lblc\n",
            "  -> 10.0.2.11:80                 Masq    1      0          0         \n",
        );
        assert!(text.ends_with(tail), "{text}");
    }

    #[test]
    fn addresses_sort_with_ipvsadms_wrapping_compare() {
        assert_eq!(
            compare_addr(Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(192, 168, 0, 1)),
            Ordering::Greater
        );
        assert_eq!(
            compare_addr(Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2)),
            Ordering::Less
        );
    }

    #[test]
    fn large_numbers_scale() {
        assert_eq!(largenum(12), "       12");
        assert_eq!(largenum(987_654_321), "  987654K");
    }

    #[test]
    fn stats_lines_have_the_tools_widths() {
        let mut svc = VirtualService::new(
            Ipv4Addr::new(10, 0, 0, 100),
            80,
            by_name("rr").unwrap(),
            &[rs([10, 0, 0, 11], 1)],
            None,
        );
        svc.stats.conns = 1234;
        let text = stats(&[svc]);
        assert!(
            text.contains(
                "Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("TCP  10.0.0.100:80                    1234        0"),
            "{text}"
        );
    }
}
