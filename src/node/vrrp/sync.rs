//! *Sync groups*: VRRP instances of one node that change state together (keepalived's
//! `vrrp_sync_group`, `keepalived/vrrp/vrrp_sync.c`).
//!
//! A NAT director holds two VIPs: the outside one the clients connect to and the inside one
//! that is the real servers' default gateway. Replies must come back through the director
//! that holds the connection, so the two VIPs must always be on the same director. Two
//! independent VRRP instances do not guarantee that: if only the outside link of the master
//! fails, the backup takes the outside VIP while the old master keeps the inside one, and
//! the replies go to a director with no way out. A sync group ties the instances:
//!
//! - **FAULT spreads** (`vrrp_sync_fault`): one member in FAULT puts every member in FAULT.
//!   A master member resigns with a priority-0 advert on its own, still working, interface,
//!   so its peer takes over after its Skew_Time.
//! - **The group leaves FAULT together**: only once every member's interface is up, and then
//!   every member goes to BACKUP with its Master_Down_Timer armed.
//! - **Master only if everyone wants it** (`vrrp_sync_can_goto_master`, "prefer backup state
//!   to avoid thrashing"): a backup whose timer runs out becomes master only if every other
//!   member is master or wants master too; otherwise it stays backup and arms its timer
//!   again. When the last member wants master, they all become master at once (each sends
//!   its advert and gratuitous ARPs).
//! - **Backup spreads** (`vrrp_sync_backup`): a master that steps down (it heard a higher
//!   priority) takes every other master member down to backup with it.
//!
//! # Simplifications
//! - No group-level `track_script`, `notify` scripts or `global_tracking`.
//! - A group of one instance behaves as the instance alone (keepalived warns about it too).
//! - A sync group's instances are on one node; keepalived's "an instance in two groups" cannot
//!   be written in a scenario (the importer keeps the first group, as keepalived does).
//!
//! # Further reading
//! - `shared/reference/keepalived-vrrp.md` ("FAULT", `vrrp_sync_group`);
//!   `book/src/labs/redundancy.md`, Lab 9.

use super::{VrrpAction, VrrpConfig, VrrpInstance, VrrpState};
use crate::sim::SimTime;

/// What each member must do, in the order it happened: `(instance index, actions)`.
pub type Followers = Vec<(usize, Vec<VrrpAction>)>;

/// A sync group of one node: its name and its members' indices among the node's instances.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncGroup {
    /// Name, for events (`NAT`).
    pub name: String,
    /// The member instances, in the node's order.
    pub members: Vec<usize>,
}

impl SyncGroup {
    /// The groups named by `sync_group` in a node's instances, in order of first mention.
    pub fn from_configs<'a>(configs: impl IntoIterator<Item = &'a VrrpConfig>) -> Vec<SyncGroup> {
        let mut groups: Vec<SyncGroup> = Vec::new();
        for (index, config) in configs.into_iter().enumerate() {
            let Some(name) = &config.sync_group else {
                continue;
            };
            match groups.iter_mut().find(|g| &g.name == name) {
                Some(group) => group.members.push(index),
                None => groups.push(SyncGroup {
                    name: name.clone(),
                    members: vec![index],
                }),
            }
        }
        groups
    }

    /// keepalived's `VRRP_TSM_HANDLE`: member `index` went from `prev` to its present state
    /// (and `wished`: its timer ran out); brings the other members along.
    pub fn follow(
        &self,
        instances: &mut [VrrpInstance],
        index: usize,
        prev: VrrpState,
        wished: bool,
        now: SimTime,
    ) -> Followers {
        let state = instances[index].state;
        if state == VrrpState::Fault && prev != VrrpState::Fault {
            self.fault(instances, index)
        } else if prev == VrrpState::Master && state == VrrpState::Backup {
            self.backup(instances, index, now)
        } else if wished {
            self.master(instances, index, now)
        } else {
            Vec::new()
        }
    }

    /// `vrrp_sync_fault`: every other running member goes to FAULT.
    fn fault(&self, instances: &mut [VrrpInstance], index: usize) -> Followers {
        let why = format!(
            "sync group {}: {} is in FAULT",
            self.name, instances[index].config.name
        );
        let running: Vec<usize> = self
            .others(index)
            .filter(|&m| matches!(instances[m].state, VrrpState::Backup | VrrpState::Master))
            .collect();
        each(instances, running, |vi, actions| {
            vi.enter_fault(&why, actions)
        })
    }

    /// `vrrp_sync_backup`: every other master member steps down to backup.
    fn backup(&self, instances: &mut [VrrpInstance], index: usize, now: SimTime) -> Followers {
        let why = format!(
            "sync group {}: {} went BACKUP",
            self.name, instances[index].config.name
        );
        let masters: Vec<usize> = self
            .others(index)
            .filter(|&m| instances[m].state == VrrpState::Master)
            .collect();
        each(instances, masters, |vi, actions| {
            vi.step_down(now, &why, actions)
        })
    }

    /// `vrrp_sync_can_goto_master` then `vrrp_sync_master`: member `index` wants master; the
    /// group goes master if every other member is master or wants it, else `index` waits.
    fn master(&self, instances: &mut [VrrpInstance], index: usize, now: SimTime) -> Followers {
        let not_ready = self.others(index).find(|&m| {
            let other = &instances[m];
            other.state != VrrpState::Master && !other.wants_master()
        });
        if let Some(m) = not_ready {
            let why = format!(
                "sync group {}: {} does not want master; Master_Down_Timer armed again",
                self.name, instances[m].config.name
            );
            return vec![(index, vec![VrrpAction::Waits(why)])];
        }
        let why = format!(
            "sync group {}: with {}",
            self.name, instances[index].config.name
        );
        let backups: Vec<usize> = std::iter::once(index)
            .chain(self.others(index))
            .filter(|&m| instances[m].state != VrrpState::Master)
            .collect();
        // The member whose timer ran out gives its own reason; the others follow it.
        let mut followers = each(instances, vec![index], |vi, actions| {
            vi.take_over(now, None, actions)
        });
        let rest: Vec<usize> = backups.into_iter().filter(|&m| m != index).collect();
        followers.extend(each(instances, rest, |vi, actions| {
            vi.take_over(now, Some(&why), actions)
        }));
        followers
    }

    /// A member's interface came back: once no member's interface is down, every member in
    /// FAULT goes to BACKUP (`try_up_instance`, then `vrrp_sync_backup`).
    pub fn recover(&self, instances: &mut [VrrpInstance], now: SimTime) -> Followers {
        if self.members.iter().any(|&m| instances[m].link_down()) {
            return Vec::new();
        }
        let why = format!("sync group {}: every interface up", self.name);
        let faulty: Vec<usize> = self
            .members
            .iter()
            .copied()
            .filter(|&m| instances[m].state == VrrpState::Fault)
            .collect();
        each(instances, faulty, |vi, actions| {
            vi.step_down(now, &why, actions)
        })
    }

    /// After the members started: if one is in FAULT, all are.
    pub fn settle(&self, instances: &mut [VrrpInstance]) -> Followers {
        match self
            .members
            .iter()
            .copied()
            .find(|&m| instances[m].state == VrrpState::Fault)
        {
            Some(index) => self.fault(instances, index),
            None => Vec::new(),
        }
    }

    /// The members other than `index`.
    fn others(&self, index: usize) -> impl Iterator<Item = usize> + '_ {
        self.members.iter().copied().filter(move |&m| m != index)
    }
}

/// Runs `step` on each of `members`, collecting what each must do.
fn each(
    instances: &mut [VrrpInstance],
    members: Vec<usize>,
    mut step: impl FnMut(&mut VrrpInstance, &mut Vec<VrrpAction>),
) -> Followers {
    members
        .into_iter()
        .map(|m| {
            let mut actions = Vec::new();
            step(&mut instances[m], &mut actions);
            (m, actions)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::node::vrrp::Advert;
    use crate::sim::SimDuration;

    const MDI_150: u64 = 3_414_062_500;

    fn at(nanos: u64) -> SimTime {
        SimTime::from_nanos(nanos)
    }

    /// A NAT director's two instances, `VI_1` outside (interface 0) and `VI_2` inside
    /// (interface 1), both priority `priority`, in sync group `NAT`.
    fn director(priority: u8) -> (SyncGroup, Vec<VrrpInstance>) {
        let instances: Vec<VrrpInstance> = [(1u8, 0usize), (2, 1)]
            .into_iter()
            .map(|(vrid, iface)| {
                VrrpInstance::new(
                    VrrpConfig {
                        name: format!("VI_{vrid}"),
                        iface,
                        vrid,
                        priority,
                        advert_int: 1,
                        preempt: true,
                        vips: vec![Ipv4Addr::new(10, 0, vrid, 100)],
                        garp_repeat: 5,
                        garp_delay: SimDuration::from_secs(5),
                        sync_group: Some("NAT".into()),
                    },
                    Ipv4Addr::new(10, 0, vrid, 2),
                )
            })
            .collect();
        let groups = SyncGroup::from_configs(instances.iter().map(|vi| &vi.config));
        assert_eq!(groups.len(), 1);
        (groups[0].clone(), instances)
    }

    /// Runs `step` on member `index` and lets the group follow, as the router does.
    fn step(
        group: &SyncGroup,
        instances: &mut [VrrpInstance],
        index: usize,
        now: SimTime,
        step: impl FnOnce(&mut VrrpInstance, &mut Vec<VrrpAction>),
    ) -> Vec<VrrpAction> {
        let prev = instances[index].state;
        let mut actions = Vec::new();
        step(&mut instances[index], &mut actions);
        let wished = actions.contains(&VrrpAction::WantsMaster);
        for (_, more) in group.follow(instances, index, prev, wished, now) {
            actions.extend(more);
        }
        actions.retain(|a| a != &VrrpAction::WantsMaster);
        actions
    }

    fn tick(group: &SyncGroup, instances: &mut [VrrpInstance], now: SimTime) -> Vec<VrrpAction> {
        let mut all = Vec::new();
        for index in 0..instances.len() {
            all.extend(step(group, instances, index, now, |vi, a| vi.tick(now, a)));
        }
        all
    }

    fn states(instances: &[VrrpInstance]) -> Vec<VrrpState> {
        instances.iter().map(|vi| vi.state).collect()
    }

    /// Both members master at `MDI_150`.
    fn masters() -> (SyncGroup, Vec<VrrpInstance>) {
        let (group, mut instances) = director(150);
        for vi in &mut instances {
            vi.start(SimTime::ZERO, &mut Vec::new());
        }
        tick(&group, &mut instances, at(MDI_150));
        assert_eq!(states(&instances), [VrrpState::Master, VrrpState::Master]);
        (group, instances)
    }

    #[test]
    fn equal_timers_go_master_together() {
        let (group, mut instances) = director(150);
        for vi in &mut instances {
            vi.start(SimTime::ZERO, &mut Vec::new());
        }
        let actions = tick(&group, &mut instances, at(MDI_150));
        // VI_1 wants first and waits; VI_2 wants too, so both become master.
        assert!(matches!(&actions[0], VrrpAction::Waits(_)));
        assert_eq!(states(&instances), [VrrpState::Master, VrrpState::Master]);
        assert_eq!(
            actions
                .iter()
                .filter(|a| matches!(a, VrrpAction::GratuitousArp))
                .count(),
            2,
            "each member announces its VIPs"
        );
    }

    #[test]
    fn a_member_goes_master_only_when_every_member_wants_it() {
        let (group, mut instances) = director(100);
        for vi in &mut instances {
            vi.start(SimTime::ZERO, &mut Vec::new());
        }
        // VI_1's master keeps advertising; VI_2's resigns (priority 0) at 1 s.
        let peer = |vrid: u8, priority: u8| Advert {
            vrid,
            priority,
            advert_int: 1,
            vips: vec![Ipv4Addr::new(10, 0, vrid, 100)],
            sender: Ipv4Addr::new(10, 0, vrid, 3),
        };
        let second = 1_000_000_000;
        step(&group, &mut instances, 0, at(second), |vi, a| {
            vi.on_advert(at(second), &peer(1, 150), a)
        });
        step(&group, &mut instances, 1, at(second), |vi, a| {
            vi.on_advert(at(second), &peer(2, 0), a)
        });
        // VI_2's Skew_Time (0.609 s) runs out: it wants master but VI_1 does not.
        let skew = second + 609_375_000;
        assert_eq!(instances[1].next_timer(), Some(at(skew)));
        let actions = tick(&group, &mut instances, at(skew));
        assert!(matches!(&actions[..], [VrrpAction::Waits(_)]));
        assert_eq!(states(&instances), [VrrpState::Backup, VrrpState::Backup]);
        assert!(instances[1].wants_master());
        assert_eq!(
            instances[1].next_timer(),
            Some(at(skew + 3_609_375_000)),
            "timer armed again with the whole Master_Down_Interval"
        );
        // VI_1's master goes silent: 3.609 s after its last advert, VI_1 wants master too,
        // and the whole group becomes master.
        tick(&group, &mut instances, at(second + 3_609_375_000));
        assert_eq!(states(&instances), [VrrpState::Master, VrrpState::Master]);
    }

    #[test]
    fn hearing_an_accepted_master_cancels_the_wish() {
        let (group, mut instances) = director(100);
        for vi in &mut instances {
            vi.start(SimTime::ZERO, &mut Vec::new());
        }
        let master = |vrid: u8| Advert {
            vrid,
            priority: 150,
            advert_int: 1,
            vips: vec![Ipv4Addr::new(10, 0, vrid, 100)],
            sender: Ipv4Addr::new(10, 0, vrid, 3),
        };
        let second = at(1_000_000_000);
        step(&group, &mut instances, 1, second, |vi, a| {
            vi.on_advert(second, &master(2), a)
        });
        // VI_1 heard nobody: it wants master at 3.609 s, but VI_2 does not.
        tick(&group, &mut instances, at(3_609_375_000));
        assert!(instances[0].wants_master());
        let later = at(4_000_000_000);
        step(&group, &mut instances, 0, later, |vi, a| {
            vi.on_advert(later, &master(1), a)
        });
        assert!(!instances[0].wants_master(), "a master it accepts is back");
        // VI_2's master is silent from 1 s: at 4.609 s VI_2 wants master, VI_1 no longer.
        let actions = tick(&group, &mut instances, at(4_609_375_000));
        assert!(matches!(&actions[..], [VrrpAction::Waits(_)]));
        assert_eq!(states(&instances), [VrrpState::Backup, VrrpState::Backup]);
    }

    #[test]
    fn a_master_that_steps_down_takes_the_group_to_backup() {
        let (group, mut instances) = masters();
        let higher = Advert {
            vrid: 2,
            priority: 200,
            advert_int: 1,
            vips: vec![Ipv4Addr::new(10, 0, 2, 100)],
            sender: Ipv4Addr::new(10, 0, 2, 3),
        };
        let now = at(5_000_000_000);
        let actions = step(&group, &mut instances, 1, now, |vi, a| {
            vi.on_advert(now, &higher, a)
        });
        assert_eq!(states(&instances), [VrrpState::Backup, VrrpState::Backup]);
        assert!(
            !actions.contains(&VrrpAction::Advertise(0)),
            "stepping down to backup sends no priority 0"
        );
    }

    #[test]
    fn one_fault_puts_the_group_in_fault_and_masters_resign() {
        let (group, mut instances) = masters();
        let now = at(10_000_000_000);
        let actions = step(&group, &mut instances, 0, now, |vi, a| vi.interface_down(a));
        assert_eq!(states(&instances), [VrrpState::Fault, VrrpState::Fault]);
        // VI_1's link is dead; VI_2 resigns on its own, working, interface.
        assert_eq!(
            actions,
            vec![
                VrrpAction::Became(VrrpState::Fault, "interface 0 down".into()),
                VrrpAction::Advertise(0),
                VrrpAction::Became(VrrpState::Fault, "sync group NAT: VI_1 is in FAULT".into()),
            ]
        );
        assert!(instances.iter().all(|vi| vi.next_timer().is_none()));
    }

    #[test]
    fn the_group_leaves_fault_when_every_interface_is_up() {
        let (group, mut instances) = masters();
        let now = at(10_000_000_000);
        step(&group, &mut instances, 0, now, |vi, a| vi.interface_down(a));
        step(&group, &mut instances, 1, now, |vi, a| vi.interface_down(a));
        let later = at(20_000_000_000);
        step(&group, &mut instances, 0, later, |vi, a| {
            vi.interface_up(later, a)
        });
        assert!(
            group.recover(&mut instances, later).is_empty(),
            "VI_2's link is still down"
        );
        assert_eq!(states(&instances), [VrrpState::Fault, VrrpState::Fault]);
        step(&group, &mut instances, 1, later, |vi, a| {
            vi.interface_up(later, a)
        });
        let back = group.recover(&mut instances, later);
        assert_eq!(back.len(), 2);
        assert_eq!(states(&instances), [VrrpState::Backup, VrrpState::Backup]);
        assert_eq!(
            instances[0].next_timer(),
            Some(later + SimDuration::from_nanos(MDI_150))
        );
    }

    #[test]
    fn a_member_that_starts_with_its_link_down_holds_the_group_in_fault() {
        let (group, mut instances) = director(150);
        instances[1].interface_down(&mut Vec::new());
        for vi in &mut instances {
            vi.start(SimTime::ZERO, &mut Vec::new());
        }
        group.settle(&mut instances);
        assert_eq!(states(&instances), [VrrpState::Fault, VrrpState::Fault]);
    }
}
