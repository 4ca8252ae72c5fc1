//! One pod on three networks at once, as Multus attaches them: a primary
//! layer2 network on `ovn-udn1`, a layer3 one on `net1` and a localnet one
//! on `net2`, all dual-stack. Each attachment lives and dies on its own.

use e2e::net::{self, assert_ping, routes};
use e2e::physnet::{EXT, PHYSNET};
use e2e::{Network, Pod, PodSpec};
use serde_json::{Value, json};

/// Destinations of `ns`'s routes through `dev`, for family `-4` or `-6`.
fn destinations(ns: &str, family: &str, dev: &str) -> Vec<String> {
    routes(ns, family)
        .iter()
        .filter(|r| r["dev"] == dev && r.get("gateway").is_some())
        .filter_map(|r| r["dst"].as_str().map(str::to_owned))
        .collect()
}

fn gateways(result: &Value) -> Vec<String> {
    result["ips"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|ip| ip["gateway"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn primary_layer2_plus_layer3_and_localnet_secondaries_each_stand_alone() {
    let primary = Network::layer2("mhprimary", "10.70.0.0/16,fd00:70::/64");
    let layer3 = Network::layer3("mhl3", "10.71.0.0/16,fd00:71::/48");
    let localnet = Network::localnet("mhlnet", PHYSNET, "172.20.0.0/16,fd20::/64")
        // Its own addresses on the shared native VLAN (see localnet.rs).
        .with("excludeSubnets", json!("172.20.0.0/22,fd20::/117"));

    let main = Pod::add(&primary, 1);
    let mut on_l3 = PodSpec::another_interface(&main, &layer3, "net1").add();
    let on_lnet = PodSpec::another_interface(&main, &localnet, "net2").add();
    // Peers on another chassis, one per network.
    let peer = Pod::add(&primary, 2);
    let peer_l3 = PodSpec::new(&layer3, 2).ifname("net1").add();

    for (pod, ifname) in [(&main, "ovn-udn1"), (&on_l3, "net1"), (&on_lnet, "net2")] {
        assert_eq!(
            net::addresses(main.ns(), ifname).len(),
            2,
            "{ifname}: both families"
        );
        pod.check().expect_ok(&format!("CHECK of {ifname}"));
    }

    // Routes do not collide: defaults only via the primary network, the
    // layer3 network's CIDRs via its node gateway, nothing via localnet.
    for (family, l3_cidr) in [("-4", "10.71.0.0/16"), ("-6", "fd00:71::/48")] {
        assert_eq!(destinations(main.ns(), family, "ovn-udn1"), vec!["default"]);
        assert_eq!(destinations(main.ns(), family, "net1"), vec![l3_cidr]);
        assert!(destinations(main.ns(), family, "net2").is_empty());
    }
    assert_eq!(gateways(&main.result), vec!["10.70.0.1", "fd00:70::1"]);
    assert!(gateways(&on_lnet.result).is_empty());

    let reach_all = || {
        assert_ping(main.ns(), &peer.ip());
        assert_ping(main.ns(), &peer.ip6());
        assert_ping(main.ns(), EXT.ipv4);
        assert_ping(main.ns(), EXT.ipv6);
    };
    reach_all();
    assert_ping(main.ns(), &peer_l3.ip());
    assert_ping(main.ns(), &peer_l3.ip6());

    // DEL of the layer3 attachment leaves the other two working and intact.
    on_l3.del().expect_ok("DEL net1");
    assert!(net::link(main.ns(), "net1").is_none(), "net1 removed");
    assert!(destinations(main.ns(), "-4", "net1").is_empty());
    main.check().expect_ok("CHECK ovn-udn1 after DEL of net1");
    on_lnet.check().expect_ok("CHECK net2 after DEL of net1");
    reach_all();

    // And it comes back on its own: same interface name, same network.
    let again = PodSpec::another_interface(&main, &layer3, "net1").add();
    again.check().expect_ok("CHECK net1 re-added");
    assert_ping(main.ns(), &peer_l3.ip());
    main.check()
        .expect_ok("CHECK ovn-udn1 after re-adding net1");
}
