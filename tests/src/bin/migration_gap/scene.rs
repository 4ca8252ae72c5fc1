//! What a run sets up around the migration, as in `tests/tests/vms.rs`: a
//! network with persistent IPs, the source launcher with the guest behind
//! its bridge, the pod that sends to the guest, and the target launcher.

use std::path::Path;
use std::time::Duration;

use e2e::net::{self, assert_ping};
use e2e::ovn::{self, map_get};
use e2e::vm::{Binding, Guest, LauncherBridge};
use e2e::{Network, Pod, PodSpec, sandbox};
use serde_json::json;

use crate::options::Options;

/// Bind timeout for SB waits.
pub const BIND_TIMEOUT: Duration = Duration::from_secs(15);
/// The launchers' interface, the uplink of their bridges.
const LAUNCHER_IF: &str = "ovn-udn1";

/// The source side of a migration and the sender. Fields drop in
/// declaration order, as the locals they were made from would: the sender
/// first, the network (whose switch everything else is on) last.
pub struct Scene {
    /// The pod on chassis 3 that streams to the guest.
    pub peer: Pod,
    /// The VM, behind the source launcher's bridge until it moves.
    pub guest: Guest,
    /// The source launcher's bridge.
    pub source_bridge: LauncherBridge,
    /// The source launcher on chassis 1.
    pub source: Pod,
    /// The VM's network.
    pub net: Network,
    /// The IPAM claim both launchers name.
    pub claim: String,
    /// The claim's logical switch port, which both launchers share.
    pub lsp: String,
    /// The claim's address, which DHCP gives the guest.
    pub claim_ip: String,
    /// The claim's MAC, the guest's.
    pub claim_mac: String,
}

/// The target launcher on chassis 2. Fields drop in declaration order: the
/// bridge before the pod whose namespace holds it.
pub struct Target {
    /// The target launcher's bridge, where the tap moves to.
    pub bridge: LauncherBridge,
    /// The target launcher.
    pub pod: Pod,
}

/// The VMs' network of run `tag`: layer2 with persistent IPs, as KubeVirt's.
fn vm_network(tag: &str) -> Network {
    Network::layer2(tag, "10.93.0.0/24")
        .with("allowPersistentIPs", json!(true))
        .with("dns", json!({"nameservers": ["10.96.0.10"]}))
}

/// A virt-launcher pod for `claim` on chassis `node`.
fn launcher(net: &Network, node: usize, claim: &str) -> Pod {
    PodSpec::new(net, node)
        .cni_arg(&format!("IPAM_CLAIM={claim}"))
        .add()
}

/// Option `key` of the logical switch port `lsp`.
fn lsp_option(lsp: &str, key: &str) -> Option<String> {
    let port = ovn::lsp(lsp).expect("the claim's port");
    map_get(&port, "options", key).map(str::to_owned)
}

/// Sets `rto_min` on every route through `ifname` in `ns`.
fn set_rto_min(ns: &str, ifname: &str, ms: u64) {
    let routes = e2e::process::must("ip", &["-n", ns, "-4", "route", "show", "dev", ifname]);
    let rto = format!("{ms}ms");
    for route in routes.lines().filter(|l| !l.trim().is_empty()) {
        let mut args = vec!["-n", ns, "route", "change"];
        args.extend(route.split_whitespace());
        args.extend(["dev", ifname, "rto_min", &rto]);
        e2e::process::must("ip", &args);
    }
}

/// Makes the guest forget its neighbours when its link drops, as it did
/// before the harness kept them (`--old-harness`), where the kernel can.
fn evict_neighbours_without_carrier(guest: &Guest) {
    if !Path::new("/proc/sys/net/ipv4/conf/all/arp_evict_nocarrier").exists() {
        return;
    }
    let evict = [
        "sysctl",
        "-qw",
        "net.ipv4.conf.eth0.arp_evict_nocarrier=1",
        "net.ipv6.conf.eth0.ndisc_evict_nocarrier=1",
    ];
    assert!(net::exec_in(guest.ns(), &evict, &[], Duration::from_secs(5)).ok());
}

impl Scene {
    /// Sets up run `index`: the source launcher on chassis 1, the guest
    /// behind its bridge with the claim's address from DHCP, and the
    /// sender on chassis 3, which can reach the guest.
    pub fn set_up(opts: &Options, index: usize) -> Scene {
        let net = vm_network(&format!("mg{index}"));
        let claim = format!("vm-gap-{index}");
        let source = launcher(&net, 1, &claim);
        let lsp = source.lsp_name();
        let claim_ip = source.ip();
        let claim_mac = source.pod_interface()["mac"]
            .as_str()
            .expect("mac")
            .to_owned();
        let source_bridge = LauncherBridge::new(source.ns(), LAUNCHER_IF);
        let mut guest = Guest::new(&claim_mac, &source_bridge);
        assert_eq!(
            guest.dhcp().ip,
            claim_ip,
            "DHCP hands out the claimed address"
        );
        if opts.old_harness {
            evict_neighbours_without_carrier(&guest);
        }
        let peer = Pod::add(&net, 3);
        assert_ping(peer.ns(), &claim_ip);
        if let Some(rto_min) = opts.sender_rto_min {
            set_rto_min(peer.ns(), &peer.spec.ifname, rto_min);
        }
        Scene {
            peer,
            guest,
            source_bridge,
            source,
            net,
            claim,
            lsp,
            claim_ip,
            claim_mac,
        }
    }

    /// ADDs the target launcher on chassis 2 and waits until the port is
    /// bound on both chassis: the plugin must give the target the same
    /// address and ask for both chassis, activated by the guest's RARP.
    pub fn add_target(&self, opts: &Options) -> Target {
        let pod = launcher(&self.net, 2, &self.claim);
        assert_eq!(pod.ip(), self.claim_ip);
        assert_eq!(
            lsp_option(&self.lsp, "requested-chassis").as_deref(),
            Some("node1,node2")
        );
        if opts.no_activation_strategy {
            sandbox().nbctl(&[
                "remove",
                "Logical_Switch_Port",
                &self.lsp,
                "options",
                "activation-strategy",
            ]);
        }
        Binding::wait(&self.lsp, BIND_TIMEOUT, "bound on node1 + node2", |b| {
            b.chassis.as_deref() == Some("node1") && b.additional_chassis == ["node2"]
        });
        let bridge = LauncherBridge::new(pod.ns(), LAUNCHER_IF);
        Target { bridge, pod }
    }
}
