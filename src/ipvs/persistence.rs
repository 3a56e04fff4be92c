//! *Persistence templates*: how `ipvsadm -p` keeps a client on one real server.
//!
//! A persistent service (`ipvsadm -A -t VIP:80 -s rr -p 300`) does not call its scheduler for
//! every new connection. The first connection from a client is scheduled as usual, and IPVS
//! also writes a **template**: a special entry that says "this client goes to that server".
//! Every later connection from the client finds the template and goes to the same server
//! without asking the scheduler. Shopping carts and TLS sessions kept on one server rely on it.
//!
//! How long does a template last? Not simply "the persistence timeout after the last
//! connection". In the kernel a template is an entry of the connection table with its own
//! timer, and it also **controls** the connections made through it: each such connection
//! points back at the template (`cp->control`) and the template counts them (`n_control`).
//!
//! - A new connection through a template adds itself to the count and restarts the template's
//!   timer with the template's timeout (`ip_vs_sched_persist` in `ip_vs_core.c`:
//!   `ip_vs_control_add`, then `ip_vs_conn_put`).
//! - A connection leaving the table takes itself off the count (`ip_vs_conn_expire` in
//!   `ip_vs_conn.c` calls `ip_vs_control_del`).
//! - When the template's timer fires while the count is not zero, the template is *not*
//!   removed: `ip_vs_conn_expire` jumps to `expire_later`, sets the template's timeout to
//!   **60 seconds** (`cp->timeout = 60*HZ`) and starts the timer again. Only a timer that fires
//!   with the count at zero removes the template.
//!
//! So a client keeps its server for at least as long as one of its connections is still in
//! the table. A finished HTTP connection stays there for two minutes (TIME_WAIT or FIN_WAIT),
//! which is much longer than a short persistence timeout: with `-p 1` and a request every
//! three seconds, every request still goes to the same server.
//!
//! The 60 seconds stick: a template that has been kept alive once has a timeout of 60 s from
//! then on, and each new connection restarts its timer with 60 s, not with the service's
//! timeout (`ip_vs_sched_persist` sets `ct->timeout = svc->timeout` only when it creates a
//! template).
//!
//! A template whose server has left the service is useless: the next lookup finds it invalid
//! (`ip_vs_check_template`), takes it out of the lookup table so that a new template can be
//! made, and leaves its timer alone. It stays in memory, still counting the connections it
//! controls, until its timer fires with the count at zero, like any other template.
//!
//! # Simplifications
//! - A template is keyed by the client's address alone (persistence netmask /32) within its
//!   service; no `--persistent-netmask`, no persistence engines (`--pe sip`), no FTP or
//!   port-zero or firewall-mark templates.
//! - Timers due at the same instant fire connections first, then templates, in order of
//!   creation; the kernel's order for timers in the same jiffy is not specified.
//! - Templates are not synchronised to backup directors (the kernel's sync daemon sends them);
//!   connections learned from a master are controlled by no template.
//! - No `persistconns` counter per real server: `ipvsadm -Ln` does not print it and no
//!   scheduler reads it (`ipvsadm -Ln --persistent-conn` is not modelled).
//! - `expire_quiescent_template` is off, the kernel's default: a template to a weight-0
//!   server still pins its client.
//!
//! # Further reading
//! - Linux `net/netfilter/ipvs/ip_vs_core.c` (`ip_vs_sched_persist`), `ip_vs_conn.c`
//!   (`ip_vs_conn_expire`, `ip_vs_check_template`, `ip_vs_ct_in_get`),
//!   `include/net/ip_vs.h` (`ip_vs_control_add`, `ip_vs_control_del`); `ipvsadm(8)`, `-p`.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use crate::sim::{SimDuration, SimTime};

/// The timeout a template gets when its timer fires while it still controls connections
/// (`cp->timeout = 60*HZ` in `ip_vs_conn_expire`).
pub const EXPIRE_LATER: SimDuration = SimDuration::from_secs(60);

/// Names one template of a service: what a connection's `cp->control` points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct TemplateId(u64);

/// One persistence template.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Template {
    /// The client it pins.
    pub client: Ipv4Addr,
    /// The real server's address.
    pub dest_addr: Ipv4Addr,
    /// The real server's port.
    pub dest_port: u16,
    /// `ct->timeout`: the service's persistence timeout, or [`EXPIRE_LATER`] once the timer
    /// has fired while connections were controlled.
    pub timeout: SimDuration,
    /// When the timer fires next.
    pub expires: SimTime,
    /// `n_control`: connections in the table that were made through this template.
    pub n_control: u32,
}

/// What a template's timer did when it fired.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fired {
    /// The count was zero: the template is gone.
    Expired(TemplateId),
    /// Connections still refer to it: the timer was started again, to fire at this time.
    Rearmed(TemplateId, SimTime),
}

/// The templates of one service.
#[derive(Debug, Default)]
pub struct Templates {
    /// Every template still in memory, including invalidated ones.
    entries: BTreeMap<TemplateId, Template>,
    /// The one template per client that a lookup can find (the kernel's hashed ones).
    by_client: BTreeMap<Ipv4Addr, TemplateId>,
    /// Timers, earliest first.
    timers: BTreeSet<(SimTime, TemplateId)>,
    /// The next template's name.
    next_id: u64,
}

impl Templates {
    /// The template a lookup finds for `client` (`ip_vs_ct_in_get`), if any.
    pub fn find(&self, client: Ipv4Addr) -> Option<(TemplateId, &Template)> {
        let id = *self.by_client.get(&client)?;
        self.entries.get(&id).map(|t| (id, t))
    }

    /// A template by name.
    pub fn get(&self, id: TemplateId) -> Option<&Template> {
        self.entries.get(&id)
    }

    /// Writes a new template for `client` with the service's `timeout` (`ip_vs_conn_new` with
    /// `IP_VS_CONN_F_TEMPLATE`, then `ct->timeout = svc->timeout`), its timer due `timeout`
    /// from `now`. It controls nothing yet: [`Templates::control_add`] follows.
    pub fn create(
        &mut self,
        client: Ipv4Addr,
        dest_addr: Ipv4Addr,
        dest_port: u16,
        timeout: SimDuration,
        now: SimTime,
    ) -> TemplateId {
        let id = TemplateId(self.next_id);
        self.next_id += 1;
        let template = Template {
            client,
            dest_addr,
            dest_port,
            timeout,
            expires: now + timeout,
            n_control: 0,
        };
        self.entries.insert(id, template);
        self.timers.insert((template.expires, id));
        self.by_client.insert(client, id);
        id
    }

    /// A new connection was made through template `id`: it counts one more controlled
    /// connection (`ip_vs_control_add`) and its timer starts again with its own timeout
    /// (`ip_vs_conn_put`, which calls `__ip_vs_conn_put_timer`).
    pub fn control_add(&mut self, id: TemplateId, now: SimTime) {
        let Some(template) = self.entries.get_mut(&id) else {
            return;
        };
        template.n_control += 1;
        self.timers.remove(&(template.expires, id));
        template.expires = now + template.timeout;
        self.timers.insert((template.expires, id));
    }

    /// A connection controlled by template `id` left the table (`ip_vs_control_del`). The
    /// template's timer is not touched.
    pub fn control_del(&mut self, id: TemplateId) {
        if let Some(template) = self.entries.get_mut(&id) {
            template.n_control = template.n_control.saturating_sub(1);
        }
    }

    /// `ip_vs_check_template` found the template's server gone: later lookups no longer find
    /// it, and its timer is not restarted. It lives on until its timer fires with nothing to
    /// control.
    pub fn invalidate(&mut self, id: TemplateId) {
        if let Some(template) = self.entries.get(&id)
            && self.by_client.get(&template.client) == Some(&id)
        {
            self.by_client.remove(&template.client);
        }
    }

    /// When the next timer fires.
    pub fn next_timer(&self) -> Option<SimTime> {
        self.timers.first().map(|&(at, _)| at)
    }

    /// Fires the earliest timer if it is due by `now` (`ip_vs_conn_expire` for a template):
    /// a template that still controls connections gets [`EXPIRE_LATER`] as its timeout and is
    /// started again from the moment its timer fired; one that controls none is removed.
    pub fn fire_next(&mut self, now: SimTime) -> Option<Fired> {
        let &(at, id) = self.timers.first()?;
        if at > now {
            return None;
        }
        self.timers.remove(&(at, id));
        let template = self.entries.get_mut(&id)?;
        if template.n_control > 0 {
            template.timeout = EXPIRE_LATER;
            template.expires = at + EXPIRE_LATER;
            self.timers.insert((template.expires, id));
            return Some(Fired::Rearmed(id, template.expires));
        }
        let client = template.client;
        self.entries.remove(&id);
        if self.by_client.get(&client) == Some(&id) {
            self.by_client.remove(&client);
        }
        Some(Fired::Expired(id))
    }

    /// Forgets every template (the director lost its memory).
    pub fn clear(&mut self) {
        self.entries.clear();
        self.by_client.clear();
        self.timers.clear();
    }

    /// Number of templates in memory, invalidated ones included.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLIENT: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 100);
    const SERVER: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 13);

    fn at(secs: u64) -> SimTime {
        SimTime::ZERO + SimDuration::from_secs(secs)
    }

    #[test]
    fn a_template_with_connections_is_rearmed_for_60_s_and_expires_once_they_are_gone() {
        let mut templates = Templates::default();
        let id = templates.create(CLIENT, SERVER, 80, SimDuration::from_secs(1), at(0));
        templates.control_add(id, at(0));
        assert_eq!(templates.next_timer(), Some(at(1)));
        // Nothing is due before the timer.
        assert_eq!(templates.fire_next(at(0)), None);
        // At 1 s one connection still refers to it: kept, and its timeout is now 60 s.
        assert_eq!(templates.fire_next(at(5)), Some(Fired::Rearmed(id, at(61))));
        assert_eq!(templates.get(id).unwrap().timeout, EXPIRE_LATER);
        assert_eq!(templates.find(CLIENT).map(|(found, _)| found), Some(id));
        // A second connection restarts the timer with 60 s, not with the service's 1 s.
        templates.control_add(id, at(10));
        assert_eq!(templates.next_timer(), Some(at(70)));
        assert_eq!(templates.get(id).unwrap().n_control, 2);
        // Both connections leave the table; the timer is not moved by that.
        templates.control_del(id);
        templates.control_del(id);
        assert_eq!(templates.next_timer(), Some(at(70)));
        assert_eq!(templates.fire_next(at(69)), None);
        // The next time it fires the count is zero: gone.
        assert_eq!(templates.fire_next(at(70)), Some(Fired::Expired(id)));
        assert!(templates.find(CLIENT).is_none());
        assert!(templates.is_empty());
        assert_eq!(templates.next_timer(), None);
    }

    #[test]
    fn a_template_without_connections_expires_at_its_timeout() {
        let mut templates = Templates::default();
        let id = templates.create(CLIENT, SERVER, 80, SimDuration::from_secs(300), at(0));
        templates.control_add(id, at(0));
        templates.control_del(id);
        assert_eq!(templates.fire_next(at(299)), None);
        assert_eq!(templates.fire_next(at(300)), Some(Fired::Expired(id)));
        assert_eq!(templates.len(), 0);
    }

    #[test]
    fn an_invalidated_template_is_not_found_but_lives_while_it_controls_connections() {
        let mut templates = Templates::default();
        let old = templates.create(CLIENT, SERVER, 80, SimDuration::from_secs(1), at(0));
        templates.control_add(old, at(0));
        templates.invalidate(old);
        assert!(templates.find(CLIENT).is_none());
        // A new template for the same client, to another server.
        let new = templates.create(
            CLIENT,
            Ipv4Addr::new(10, 0, 2, 11),
            80,
            SimDuration::from_secs(1),
            at(0),
        );
        templates.control_add(new, at(0));
        assert_ne!(old, new);
        assert_eq!(templates.find(CLIENT).map(|(id, _)| id), Some(new));
        // Both timers fire at 1 s and both templates still control a connection.
        assert_eq!(
            templates.fire_next(at(1)),
            Some(Fired::Rearmed(old, at(61)))
        );
        assert_eq!(
            templates.fire_next(at(1)),
            Some(Fired::Rearmed(new, at(61)))
        );
        // The old one's connection leaves; at 61 s it goes, and the new one stays findable.
        templates.control_del(old);
        assert_eq!(templates.fire_next(at(61)), Some(Fired::Expired(old)));
        assert_eq!(
            templates.fire_next(at(61)),
            Some(Fired::Rearmed(new, at(121)))
        );
        assert_eq!(templates.find(CLIENT).map(|(id, _)| id), Some(new));
        assert_eq!(templates.len(), 1);
    }
}
