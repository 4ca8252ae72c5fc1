//! The launcher pod's side: a linux bridge joining the plugin's interface
//! and the guests' taps.

use super::{BRIDGE, ip_in, ip_now, must_in, tx_offload_off};
use crate::{net, process};

/// A linux bridge `br0` in a launcher pod's namespace, holding the interface
/// the plugin attached (the uplink toward br-int) and the guests' taps.
/// Dropping it deletes the bridge (if the namespace is still there); the
/// uplink is left to the plugin's DEL.
#[derive(Debug)]
pub struct LauncherBridge {
    /// The launcher pod's namespace name.
    pub netns: String,
    /// The plugin-attached interface (CNI_IFNAME), now a bridge port.
    pub uplink: String,
    /// The uplink's MTU, given to every tap.
    pub mtu: u64,
}

impl LauncherBridge {
    /// Builds `br0` in `netns` (forward delay 0, STP off) and enslaves
    /// `uplink` to it, after taking the uplink's addresses and routes away
    /// (the guest owns them now), giving it a random locally administered
    /// MAC (with the claim's MAC on a bridge port, the bridge would keep
    /// frames for the guest to itself), and disabling IPv6 in the
    /// namespace (no stray router solicitations from the bridge).
    pub fn new(netns: &str, uplink: &str) -> LauncherBridge {
        let link = net::link(netns, uplink)
            .unwrap_or_else(|| panic!("launcher {netns} has no interface {uplink}"));
        let mtu = link["mtu"].as_u64().unwrap_or(1500);
        must_in(
            netns,
            &[
                "sysctl",
                "-qw",
                "net.ipv6.conf.all.disable_ipv6=1",
                "net.ipv6.conf.default.disable_ipv6=1",
            ],
        );
        ip_in(netns, &["addr", "flush", "dev", uplink]);
        ip_in(netns, &["-4", "route", "flush", "dev", uplink]);
        let id = crate::names::container_id();
        let mac = format!(
            "02:{}:{}:{}:{}:{}",
            &id[0..2],
            &id[2..4],
            &id[4..6],
            &id[6..8],
            &id[8..10]
        );
        ip_in(netns, &["link", "set", uplink, "address", &mac]);
        tx_offload_off(netns, uplink);
        let bridge = LauncherBridge {
            netns: netns.to_owned(),
            uplink: uplink.to_owned(),
            mtu,
        };
        ip_in(
            netns,
            &[
                "link",
                "add",
                BRIDGE,
                "type",
                "bridge",
                "forward_delay",
                "0",
                "stp_state",
                "0",
            ],
        );
        ip_in(netns, &["link", "set", uplink, "master", BRIDGE]);
        ip_in(netns, &["link", "set", uplink, "up"]);
        ip_in(netns, &["link", "set", BRIDGE, "up"]);
        bridge
    }

    /// Makes `port`, already in this namespace, a bridge port: TX offload
    /// off, the uplink's MTU, enslaved, up.
    pub fn plug(&self, port: &str) {
        tx_offload_off(&self.netns, port);
        ip_in(
            &self.netns,
            &["link", "set", port, "mtu", &self.mtu.to_string()],
        );
        ip_in(&self.netns, &["link", "set", port, "master", BRIDGE]);
        ip_in(&self.netns, &["link", "set", port, "up"]);
    }

    /// Makes `port`, just moved into this namespace with its settings (TX
    /// offload off, MTU) kept, a bridge port in one `ip` command: enslaved
    /// and up, with MTU `mtu` if given.
    pub fn enslave(&self, port: &str, mtu: Option<u64>) {
        let mtu = mtu.map(|m| m.to_string());
        let mut args = vec!["link", "set", port];
        if let Some(mtu) = &mtu {
            args.extend(["mtu", mtu.as_str()]);
        }
        args.extend(["master", BRIDGE, "up"]);
        ip_now(&self.netns, &args);
    }
}

impl Drop for LauncherBridge {
    fn drop(&mut self) {
        let _ = process::attempt("ip", &["-n", &self.netns, "link", "del", BRIDGE]);
    }
}
