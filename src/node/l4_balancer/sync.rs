//! The sync daemon's two halves (`ipvsadm --start-daemon`): the master announces each new
//! connection by multicast, the backups learn it as established. The wire format is
//! `ipvs::sync`'s.

use smoltcp::wire::{EthernetAddress, EthernetFrame, Ipv4Packet, UdpPacket};

use super::super::NodeCtx;
use super::super::frames;
use super::L4Balancer;
use crate::ipvs::conn::{Conn, ConnKey, TcpState};
use crate::ipvs::service::Forward;
use crate::ipvs::sync;
use crate::sim::SimTime;

/// The Ethernet address of the IPVS sync daemon's group 224.0.0.81 (`ipvs::sync`):
/// 01:00:5e:00:00:51.
pub(super) const SYNC_GROUP_MAC: EthernetAddress =
    EthernetAddress([0x01, 0x00, 0x5e, 0x00, 0x00, 0x51]);

impl L4Balancer {
    /// The sync daemon (`ipvsadm --start-daemon master`): tells the backup directors about a
    /// new connection with a UDP multicast to 224.0.0.81:8848, so they can carry it on after
    /// a failover.
    pub(super) fn send_sync(&mut self, ctx: &mut NodeCtx<'_>, key: &ConnKey, conn: &Conn) {
        let service = &self.services[conn.service];
        let forward = service
            .dest_index(conn.dest_ip, conn.dest_port)
            .map(|d| service.configs[d].forward);
        let message = sync::encode(&sync::SyncConn {
            client: (key.client_ip, key.client_port),
            virtual_service: (key.vip, key.vport),
            dest: (conn.dest_ip, conn.dest_port),
            flags: match forward {
                Some(Forward::Route) => sync::CONN_F_DROUTE,
                Some(Forward::Tunnel) => sync::CONN_F_TUNNEL,
                Some(Forward::Masq) | None => sync::CONN_F_MASQ,
            },
            state: sync::TCP_S_ESTABLISHED,
            timeout_s: (TcpState::Established.timeout().as_nanos() / 1_000_000_000) as u32,
        });
        let iface = self.router.iface_for_vip(key.vip).unwrap_or(0);
        let me = self.router.interface(iface);
        let frame = frames::udp(
            me.mac,
            SYNC_GROUP_MAC,
            (me.ip, sync::SYNC_PORT),
            (sync::SYNC_GROUP, sync::SYNC_PORT),
            1,
            &message,
        );
        ctx.send(iface, frame);
    }

    /// A sync message from the master: learn its connections (backup side of the daemon).
    pub(super) fn receive_sync(&mut self, now: SimTime, frame: &[u8]) {
        let Ok(eth) = EthernetFrame::new_checked(frame) else {
            return;
        };
        let Ok(ip) = Ipv4Packet::new_checked(eth.payload()) else {
            return;
        };
        let Ok(udp) = UdpPacket::new_checked(ip.payload()) else {
            return;
        };
        if udp.dst_port() != sync::SYNC_PORT {
            return;
        }
        for announced in sync::decode(udp.payload()) {
            self.learn_synced(now, &announced);
        }
    }

    /// One connection a sync message announced.
    pub(super) fn learn_synced(&mut self, now: SimTime, announced: &sync::SyncConn) {
        let key = ConnKey {
            client_ip: announced.client.0,
            client_port: announced.client.1,
            vip: announced.virtual_service.0,
            vport: announced.virtual_service.1,
        };
        let (dest_ip, dest_port) = announced.dest;
        let Some(service) = self.service_index(key.vip, key.vport) else {
            return;
        };
        if self.conns.get(&key).is_some() {
            return;
        }
        let Some(dest) = self.services[service].dest_index(dest_ip, dest_port) else {
            return;
        };
        self.services[service].bind(dest);
        // The backup does not see the handshake; the entry starts as the kernel's synced
        // entries do, established, with its timeout. Templates are not synchronised, so no
        // template controls it.
        self.conns.insert(
            key,
            Conn {
                service,
                dest_ip,
                dest_port,
                state: TcpState::None,
                expires: now + TcpState::Established.timeout(),
                control: None,
            },
        );
        self.conns.update(&key, TcpState::Established, now);
        self.services[service].activity_changed(dest, true);
    }
}
