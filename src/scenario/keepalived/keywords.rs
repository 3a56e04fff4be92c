//! *Keywords*: which keepalived 2.2.7 keywords netlab reads, which it knows but does not
//! model, and which do not exist.
//!
//! Each block of a configuration has its own keywords (`weight` means something in a
//! `real_server`, nothing in a `vrrp_instance`). For each kind of block this module lists:
//! - the keywords netlab **models**: the mapping reads them into the scenario;
//! - the keywords keepalived has but netlab **does not model** (notify scripts, SNMP, BFD,
//!   ...): each gives a warning naming it, never a silent change of meaning;
//! - anything else is **unknown**, an error that suggests the nearest known keyword, as
//!   keepalived's "Unknown keyword" does not.
//!
//! Keywords are case-sensitive, as in keepalived (`HTTP_GET`, not `http_get`).
//!
//! # Further reading
//! - keepalived.conf(5); `keepalived/check/check_parser.c`, `keepalived/vrrp/vrrp_parser.c`,
//!   `keepalived/core/global_parser.c` (where each keyword is installed).

use crate::scenario::diagnostic::nearest;

/// The kinds of block, each with its own keywords.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Context {
    /// The top level of the file.
    Top,
    /// `global_defs { ... }`.
    GlobalDefs,
    /// `vrrp_instance NAME { ... }`.
    VrrpInstance,
    /// `vrrp_sync_group NAME { ... }`.
    SyncGroup,
    /// `virtual_server IP PORT { ... }`.
    VirtualServer,
    /// `real_server IP PORT { ... }`.
    RealServer,
    /// A checker block (`HTTP_GET { ... }`, `TCP_CHECK { ... }`, ...).
    Checker,
    /// `url { ... }` inside `HTTP_GET` or `SSL_GET`.
    Url,
}

impl Context {
    /// How a message names the block.
    pub fn name(self) -> &'static str {
        match self {
            Context::Top => "the top level",
            Context::GlobalDefs => "global_defs",
            Context::VrrpInstance => "vrrp_instance",
            Context::SyncGroup => "vrrp_sync_group",
            Context::VirtualServer => "virtual_server",
            Context::RealServer => "real_server",
            Context::Checker => "a checker",
            Context::Url => "url",
        }
    }

    /// The keywords netlab reads here.
    pub fn modelled(self) -> &'static [&'static str] {
        match self {
            Context::Top => &[
                "global_defs",
                "vrrp_instance",
                "vrrp_sync_group",
                "virtual_server_group",
                "virtual_server",
            ],
            Context::GlobalDefs => &[
                "router_id",
                "lvs_sync_daemon",
                "vrrp_garp_master_repeat",
                "vrrp_garp_master_delay",
            ],
            Context::VrrpInstance => &[
                "state",
                "interface",
                "virtual_router_id",
                "priority",
                "advert_int",
                "nopreempt",
                "preempt",
                "virtual_ipaddress",
                "garp_master_repeat",
                "garp_master_delay",
            ],
            Context::SyncGroup => &["group"],
            Context::VirtualServer => &[
                "lb_algo",
                "lvs_sched",
                "lb_kind",
                "lvs_method",
                "protocol",
                "persistence_timeout",
                "persistence_granularity",
                "quorum",
                "hysteresis",
                "alpha",
                "inhibit_on_failure",
                "sorry_server",
                "sorry_server_lvs_method",
                "delay_loop",
                "connect_timeout",
                "retry",
                "delay_before_retry",
                "warmup",
                "weight",
                "real_server",
            ],
            Context::RealServer => &[
                "weight",
                "lvs_method",
                "inhibit_on_failure",
                "uthreshold",
                "lthreshold",
                "delay_loop",
                "connect_timeout",
                "retry",
                "delay_before_retry",
                "warmup",
                "alpha",
                "HTTP_GET",
                "SSL_GET",
                "TCP_CHECK",
                "SMTP_CHECK",
                "MISC_CHECK",
                "PING_CHECK",
            ],
            Context::Checker => &[
                "connect_ip",
                "connect_port",
                "connect_timeout",
                "retry",
                "nb_get_retry",
                "delay_before_retry",
                "delay_loop",
                "warmup",
                "alpha",
                "url",
                "helo_name",
                "misc_path",
                "misc_timeout",
            ],
            Context::Url => &["path", "status_code"],
        }
    }

    /// The keywords keepalived has here that netlab does not model ([`why_not_modelled`]
    /// says what that means for each).
    pub fn not_modelled(self) -> &'static [&'static str] {
        match self {
            Context::Top => &[
                "vrrp_script",
                "static_ipaddress",
                "static_routes",
                "static_rules",
                "track_file",
                "vrrp_track_file",
                "track_process",
                "vrrp_track_process",
                "garp_group",
                "bfd_instance",
                "SSL",
                "linkbeat_interfaces",
                "net_namespace",
            ],
            Context::GlobalDefs => &[
                "notification_email",
                "notification_email_from",
                "smtp_server",
                "smtp_helo_name",
                "smtp_connect_timeout",
                "smtp_alert",
                "smtp_alert_vrrp",
                "smtp_alert_checker",
                "enable_script_security",
                "script_user",
                "vrrp_version",
                "vrrp_strict",
                "vrrp_mcast_group4",
                "vrrp_mcast_group6",
                "lvs_flush",
                "lvs_flush_onstop",
                "lvs_timeouts",
                "dynamic_interfaces",
                "vrrp_garp_master_refresh",
                "vrrp_garp_master_refresh_repeat",
                "vrrp_garp_lower_prio_delay",
                "vrrp_garp_lower_prio_repeat",
                "vrrp_garp_interval",
                "vrrp_gna_interval",
                "vrrp_min_garp",
                "vrrp_lower_prio_no_advert",
                "vrrp_higher_prio_send_advert",
                "vrrp_iptables",
                "vrrp_ipsets",
                "vrrp_check_unicast_src",
                "vrrp_skip_check_adv_addr",
                "vrrp_priority",
                "checker_priority",
                "bfd_priority",
                "vrrp_no_swap",
                "checker_no_swap",
                "vrrp_startup_delay",
                "vrrp_rx_bufs_policy",
                "enable_traps",
                "snmp_socket",
                "enable_snmp_vrrp",
                "enable_snmp_checker",
                "enable_snmp_rfc",
                "enable_snmp_rfcv2",
                "enable_snmp_rfcv3",
                "enable_dbus",
                "max_auto_priority",
                "default_interface",
                "log_unknown_vrids",
                "umask",
                "notify_fifo",
                "vrrp_notify_fifo",
                "lvs_notify_fifo",
                "process_names",
                "process_name",
                "vrrp_process_name",
                "checker_process_name",
                "linkbeat_use_polling",
                "random_seed",
                "nftables",
                "instance",
                "use_pid_dir",
            ],
            Context::VrrpInstance => &[
                "preempt_delay",
                "authentication",
                "track_interface",
                "track_script",
                "track_process",
                "track_file",
                "track_bfd",
                "unicast_peer",
                "unicast_src_ip",
                "mcast_src_ip",
                "version",
                "notify",
                "notify_master",
                "notify_backup",
                "notify_fault",
                "notify_stop",
                "notify_master_rx_lower_pri",
                "smtp_alert",
                "virtual_ipaddress_excluded",
                "virtual_routes",
                "virtual_rules",
                "dont_track_primary",
                "skip_check_adv_addr",
                "strict_mode",
                "garp_master_refresh",
                "garp_master_refresh_repeat",
                "garp_lower_prio_delay",
                "garp_lower_prio_repeat",
                "lower_prio_no_advert",
                "higher_prio_send_advert",
                "use_vmac",
                "vmac_xmit_base",
                "native_ipv6",
                "accept",
                "no_accept",
                "debug",
                "linkbeat_use_polling",
                "kernel_rx_buf_size",
                "unicast_ttl",
                "lvs_sync_daemon_interface",
                "promote_secondaries",
                "check_unicast_src",
                "old_unicast_checksum",
                "track_src_ip",
                "unicast_fault_no_peer",
                "down_timer_adverts",
                "garp_extra_if",
                "vmac_garp_intvl",
            ],
            Context::SyncGroup => &[
                "notify",
                "notify_master",
                "notify_backup",
                "notify_fault",
                "notify_stop",
                "smtp_alert",
                "track_interface",
                "track_script",
                "track_process",
                "track_file",
                "track_bfd",
                "global_tracking",
                "sync_group_tracking_weight",
            ],
            Context::VirtualServer => &[
                "omega",
                "ha_suspend",
                "virtualhost",
                "ops",
                "sh-port",
                "sh-fallback",
                "mh-port",
                "mh-fallback",
                "flag-1",
                "flag-2",
                "flag-3",
                "quorum_up",
                "quorum_down",
                "sorry_server_inhibit",
                "persistence_engine",
                "smtp_alert",
                "ip_family",
                "retry_fail",
            ],
            Context::RealServer => &[
                "notify_up",
                "notify_down",
                "smtp_alert",
                "virtualhost",
                "DNS_CHECK",
                "UDP_CHECK",
                "BFD_CHECK",
                "FILE_CHECK",
                "log_all_failures",
            ],
            Context::Checker => &[
                "bindto",
                "bind_port",
                "bind_if",
                "fwmark",
                "log_all_failures",
                "http_protocol",
                "fast_recovery",
                "enable_sni",
                "virtualhost",
                "host",
                "misc_dynamic",
                "user",
                "dynamic",
                "dont_track",
            ],
            Context::Url => &[
                "digest",
                "virtualhost",
                "regex",
                "regex_no_match",
                "regex_options",
                "regex_stack",
                "regex_min_offset",
                "regex_max_offset",
            ],
        }
    }
}

/// What a keyword netlab does not model means for the run, for the warning's help line.
pub fn why_not_modelled(keyword: &str) -> &'static str {
    match keyword {
        k if k.starts_with("notif") || k.starts_with("smtp") || k.ends_with("_fifo") => {
            "netlab runs no notify scripts and sends no mail; the rest of the file is read"
        }
        k if k.contains("snmp") || k == "enable_traps" || k == "enable_dbus" => {
            "netlab has no SNMP or D-Bus; the rest of the file is read"
        }
        "authentication" => {
            "netlab's adverts carry no password: in keepalived, routers with different passwords would not hear each other"
        }
        "unicast_peer" | "unicast_src_ip" | "mcast_src_ip" | "vrrp_mcast_group4" => {
            "netlab's adverts are multicast on the instance's segment, which reaches the same peers when they share it"
        }
        "preempt_delay" => "netlab preempts as soon as a higher priority is heard",
        "version" | "vrrp_version" => "netlab speaks VRRP version 2, keepalived's default",
        k if k.starts_with("track_") || k == "vrrp_script" || k == "vrrp_track_process" => {
            "netlab's instances track nothing: only faults in the scenario's timeline change them"
        }
        "virtual_server_group" => {
            "netlab's services are an address and a port each: write one virtual_server per address"
        }
        "DNS_CHECK" | "UDP_CHECK" | "BFD_CHECK" | "FILE_CHECK" => {
            "this checker is not run: the real server counts as up as far as it is concerned"
        }
        "digest" | "regex" | "regex_no_match" => "netlab checks the status code only",
        "vrrp_strict" | "strict_mode" => "netlab does not apply strict RFC mode's extra checks",
        _ => "netlab ignores this statement and reads the rest of the file",
    }
}

/// What a keyword is in a block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// netlab reads it.
    Modelled,
    /// keepalived has it; netlab does not model it.
    NotModelled,
    /// keepalived does not have it here; the nearest keyword of the block, if one is close.
    Unknown(Option<&'static str>),
}

/// What `keyword` is in `context`.
pub fn classify(context: Context, keyword: &str) -> Class {
    if context.modelled().contains(&keyword) {
        Class::Modelled
    } else if context.not_modelled().contains(&keyword) {
        Class::NotModelled
    } else {
        let known = context
            .modelled()
            .iter()
            .chain(context.not_modelled())
            .copied();
        // A keyword in the wrong case is close to the right one: suggest it first.
        let same_but_case = known
            .clone()
            .find(|k| k.eq_ignore_ascii_case(keyword) && *k != keyword);
        Class::Unknown(same_but_case.or_else(|| nearest(keyword, known)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_are_classified_per_block() {
        assert_eq!(classify(Context::RealServer, "weight"), Class::Modelled);
        assert_eq!(
            classify(Context::RealServer, "notify_up"),
            Class::NotModelled
        );
        assert_eq!(
            classify(Context::RealServer, "wieght"),
            Class::Unknown(Some("weight"))
        );
        assert_eq!(
            classify(Context::RealServer, "http_get"),
            Class::Unknown(Some("HTTP_GET"))
        );
        assert_eq!(
            classify(Context::VrrpInstance, "weight"),
            Class::Unknown(None)
        );
    }

    #[test]
    fn no_keyword_is_both_modelled_and_not() {
        for context in [
            Context::Top,
            Context::GlobalDefs,
            Context::VrrpInstance,
            Context::SyncGroup,
            Context::VirtualServer,
            Context::RealServer,
            Context::Checker,
            Context::Url,
        ] {
            for keyword in context.modelled() {
                assert!(
                    !context.not_modelled().contains(keyword),
                    "{keyword} in {context:?}"
                );
            }
        }
    }
}
