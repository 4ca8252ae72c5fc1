//! KubeVirt VMs: a guest namespace behind a launcher pod's bridge, as
//! KubeVirt's bridge binding wires it. The live-migration demo reproduced
//! (the guest takes its claimed address by DHCP, a pod on a third chassis
//! streams TCP to it, and the VM moves from chassis 1 to chassis 2 while the
//! stream keeps running), an aborted migration, a restart elsewhere, and
//! DHCPv4 + DHCPv6 on a dual-stack network.

use std::time::{Duration, Instant};

use e2e::net::{Listener, assert_ping, connects, payload, tcp_download};
use e2e::network::ovn_prefix;
use e2e::ovn::{self, map_get};
use e2e::physnet::EXT;
use e2e::stream::Stream;
use e2e::vm::{Binding, DHCP6_PREFIX_LEN, Guest, LauncherBridge};
use e2e::{Network, Pod, PodSpec};
use serde_json::json;

const BIND_TIMEOUT: Duration = Duration::from_secs(15);

fn vm_network(tag: &str, subnet: &str) -> Network {
    Network::layer2(tag, subnet)
        .with("allowPersistentIPs", json!(true))
        .with("dns", json!({"nameservers": ["10.96.0.10"]}))
}

fn launcher(net: &Network, node: usize, claim: &str) -> Pod {
    PodSpec::new(net, node)
        .cni_arg(&format!("IPAM_CLAIM={claim}"))
        .add()
}

fn requested_chassis(lsp: &str) -> Option<String> {
    let port = ovn::lsp(lsp).expect("the claim's port");
    map_get(&port, "options", "requested-chassis").map(str::to_owned)
}

fn activation_strategy(lsp: &str) -> Option<String> {
    let port = ovn::lsp(lsp).expect("the claim's port");
    map_get(&port, "options", "activation-strategy").map(str::to_owned)
}

#[test]
fn a_tcp_stream_survives_live_migration_and_the_vm_keeps_its_address() {
    let net = vm_network("vmmig", "10.95.0.0/24");
    let mut source = launcher(&net, 1, "vm-mig");
    let lsp = source.lsp_name();
    let (claim_ip, claim_mac) = (source.ip(), source.pod_interface()["mac"].clone());
    let claim_mac = claim_mac.as_str().expect("mac").to_owned();

    // The guest gets the claim's address, gateway, MTU and DNS by DHCP.
    let source_bridge = LauncherBridge::new(source.ns(), "ovn-udn1");
    let mut guest = Guest::new(&claim_mac, &source_bridge);
    let lease = guest.dhcp();
    assert_eq!(lease.ip, claim_ip, "DHCP hands out the claimed address");
    assert_eq!(lease.prefix_len, 24);
    assert_eq!(lease.router.as_deref(), Some("10.95.0.1"));
    assert_eq!(lease.mtu, Some(1400));
    assert_eq!(lease.dns, vec!["10.96.0.10".to_owned()]);
    assert_eq!(guest.default_gateway().as_deref(), Some("10.95.0.1"));

    // Egress from the guest leaves through node1's gateway.
    assert_ping(guest.ns(), EXT.ipv4);
    let data = payload(1 << 16, 11);
    let got = tcp_download(&EXT.netns(), EXT.ipv4, 6301, guest.ns(), &data).expect("egress");
    assert_eq!(got.seen_from, "172.20.0.11", "egress via node1");
    let ext_listener = Listener::start(&EXT.netns(), 6302);

    let peer = Pod::add(&net, 3);
    assert_ping(peer.ns(), &claim_ip);
    let stream = Stream::start(guest.ns(), &claim_ip, 5201, peer.ns());
    assert!(
        stream.wait_received(256 * 1024, Duration::from_secs(10)),
        "stream flows"
    );

    // Migration target: bound on both chassis, active on the source only.
    let target = launcher(&net, 2, "vm-mig");
    assert_eq!(target.ip(), claim_ip);
    assert_eq!(requested_chassis(&lsp).as_deref(), Some("node1,node2"));
    assert_eq!(activation_strategy(&lsp).as_deref(), Some("rarp"));
    Binding::wait(&lsp, BIND_TIMEOUT, "bound on node1 + node2", |b| {
        b.chassis.as_deref() == Some("node1") && b.additional_chassis == ["node2"]
    });
    let target_bridge = LauncherBridge::new(target.ns(), "ovn-udn1");
    // The target is ready when node2 can carry the VM's egress too (its
    // gateway router, made by the target's ADD, claimed there): KubeVirt
    // switches over only once the target launcher is up, seconds later.
    let gateway_port = format!("rtoj-{}GR_node2", ovn_prefix(&net.name));
    Binding::wait(&gateway_port, BIND_TIMEOUT, "claimed on node2", |b| {
        b.chassis.as_deref() == Some("node2")
    });

    // The VM moves and announces itself, as QEMU does at the switch-over.
    let moved = Instant::now();
    guest.move_to(&target_bridge);
    guest.announce();
    Binding::wait(&lsp, BIND_TIMEOUT, "activated on node2", |b| {
        b.activated.iter().any(|c| c == "node2")
    });
    // New connections to the outside go through node2's gateway now: the
    // guest's ARP entry for its gateway (the same address and MAC on every
    // chassis) stays valid.
    let activated = Instant::now();
    while !connects(guest.ns(), EXT.ipv4, 6302, Duration::from_millis(200)) {
        assert!(
            activated.elapsed() < Duration::from_secs(5),
            "no egress after the migration"
        );
    }
    let egress_back = activated.elapsed();
    println!(
        "egress after the migration: a new connection {egress_back:?} after activation ({:?} after the move)",
        moved.elapsed()
    );
    assert!(
        egress_back < Duration::from_secs(1),
        "egress back after {egress_back:?} (target < 1 s)"
    );
    drop(ext_listener);
    source.del().expect_ok("DEL of the source launcher");
    assert_eq!(requested_chassis(&lsp).as_deref(), Some("node2"));
    assert_eq!(activation_strategy(&lsp), None);
    Binding::wait(&lsp, BIND_TIMEOUT, "bound on node2 only", |b| {
        b.chassis.as_deref() == Some("node2") && b.additional_chassis.is_empty()
    });
    let after = stream.received();
    assert!(
        stream.wait_received(after + 256 * 1024, Duration::from_secs(10)),
        "bytes keep flowing after the migration"
    );
    let report = stream.stop();
    report.assert_unbroken();
    let gap = report.longest_gap();
    println!("live migration: {}", report.summary());
    println!("longest gap in the TCP stream: {gap:?}");
    assert!(report.bytes_after(moved) > 0);
    assert!(
        gap < Duration::from_secs(1),
        "longest gap {gap:?} (target < 1 s)"
    );

    assert_eq!(guest.link_mac(), claim_mac, "the guest keeps its MAC");
    assert_eq!(guest.ipv4().as_deref(), Some(claim_ip.as_str()));
    assert_eq!(
        guest.try_dhcp().expect("lease renewed on node2").ip,
        claim_ip
    );
    assert_ping(peer.ns(), &claim_ip);
    let got = tcp_download(&EXT.netns(), EXT.ipv4, 6303, guest.ns(), &data).expect("egress");
    assert_eq!(
        got.seen_from, "172.20.0.12",
        "egress via node2 after the migration"
    );
    assert!(got.received == data);
}

#[test]
fn a_failed_migration_leaves_the_source_alone_and_a_restarted_vm_keeps_its_ip() {
    let net = vm_network("vmfail", "10.97.0.0/24");
    let mut source = launcher(&net, 1, "vm-fail");
    let lsp = source.lsp_name();
    let claim_ip = source.ip();
    let bridge = LauncherBridge::new(source.ns(), "ovn-udn1");
    let mut guest = Guest::new(
        source.pod_interface()["mac"].as_str().expect("mac"),
        &bridge,
    );
    guest.dhcp();
    let peer = Pod::add(&net, 3);

    let mut target = launcher(&net, 2, "vm-fail");
    assert_eq!(requested_chassis(&lsp).as_deref(), Some("node1,node2"));
    target
        .del()
        .expect_ok("DEL of the target: migration aborted");
    assert_eq!(requested_chassis(&lsp).as_deref(), Some("node1"));
    assert_eq!(activation_strategy(&lsp), None);
    Binding::wait(&lsp, BIND_TIMEOUT, "bound on node1 only", |b| {
        b.chassis.as_deref() == Some("node1") && b.additional_chassis.is_empty()
    });
    assert_ping(peer.ns(), &claim_ip);

    // Stop (last attachment gone), start on chassis 3: same address.
    drop(guest);
    drop(bridge);
    source.del().expect_ok("VM stopped");
    assert_eq!(requested_chassis(&lsp), None);
    let restarted = launcher(&net, 3, "vm-fail");
    assert_eq!(restarted.ip(), claim_ip);
    assert_ping(peer.ns(), &claim_ip);
}

#[test]
fn a_dual_stack_guest_gets_both_claimed_addresses_by_dhcp() {
    let net = vm_network("vmdhcp", "10.98.0.0/24,fd00:98::/64");
    let vm = launcher(&net, 1, "vm-dhcp");
    let (claim_ip, claim_ip6) = (vm.ip(), vm.ip6());
    let claim_mac = vm.pod_interface()["mac"].as_str().expect("mac").to_owned();

    let bridge = LauncherBridge::new(vm.ns(), "ovn-udn1");
    let mut guest = Guest::new(&claim_mac, &bridge);
    assert_eq!(
        guest.dhcp().ip,
        claim_ip,
        "DHCPv4 hands out the claimed address"
    );
    assert_eq!(
        guest.dhcp6(),
        claim_ip6,
        "DHCPv6 hands out the claimed address"
    );
    let cidr6 = format!("{claim_ip6}/{DHCP6_PREFIX_LEN}");
    assert!(
        guest.addresses().contains(&cidr6),
        "{cidr6} on the guest: {:?}",
        guest.addresses()
    );

    let peer = Pod::add(&net, 2);
    assert_ping(peer.ns(), &claim_ip6);
    assert_ping(peer.ns(), &claim_ip);
}
