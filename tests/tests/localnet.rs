//! localnet networks: pods on the sandbox's physical network reach its
//! external hosts, on the native VLAN or only on their own access VLAN.

use e2e::leftovers::{Before, assert_nothing_created};
use e2e::net::{assert_no_ping, assert_ping, assert_tcp_transfer};
use e2e::network::ovn_prefix;
use e2e::ovn::{self, column_str, map_get};
use e2e::physnet::{EXT, EXT100, EXT200, PHYSNET};
use e2e::{Network, Pod, PodSpec};
use serde_json::json;

fn localnet_port(net: &Network) -> ovn::Row {
    let name = format!("{}ovn_localnet_port", ovn_prefix(&net.name));
    ovn::lsp(&name).unwrap_or_else(|| panic!("localnet port {name}"))
}

#[test]
fn pods_on_two_chassis_reach_the_external_host() {
    // The physical network's own hosts live in the first /24: out of IPAM.
    // Tests on the native VLAN share one L2 domain, so each excludes its
    // way to its own addresses (this one 172.20.1.x).
    let net = Network::localnet("lnet", PHYSNET, "172.20.0.0/16")
        .with("excludeSubnets", json!("172.20.0.0/24"));
    let a = Pod::add(&net, 1);
    let b = Pod::add(&net, 2);
    assert!(
        a.ip().starts_with("172.20.1."),
        "{} outside the excluded /24",
        a.ip()
    );

    let port = localnet_port(&net);
    assert_eq!(column_str(&port, "type"), Some("localnet"));
    assert_eq!(ovn::list(port.get("addresses")), vec![json!("unknown")]);
    assert_eq!(map_get(&port, "options", "network_name"), Some(PHYSNET));
    assert!(ovn::list(port.get("tag_request")).is_empty(), "no VLAN");

    for pod in [&a, &b] {
        assert_ping(pod.ns(), EXT.ipv4);
        assert_tcp_transfer(&EXT.netns(), EXT.ipv4, pod.ns());
        assert_tcp_transfer(pod.ns(), &pod.ip(), &EXT.netns());
    }
    assert_ping(a.ns(), &b.ip());
    // No gateway and no routes: the physical network's router is not ours.
    assert!(a.pod_interface().get("gateway").is_none());
    assert!(
        a.result["routes"].as_array().is_none_or(Vec::is_empty),
        "{}",
        a.result
    );
}

#[test]
fn a_vlan_network_reaches_only_the_host_on_its_vlan() {
    let net = Network::localnet("lvlan", PHYSNET, "172.21.0.0/16")
        .with("vlanID", json!(100))
        .with("excludeSubnets", json!("172.21.0.0/24"));
    let pod = Pod::add(&net, 3);
    let port = localnet_port(&net);
    assert_eq!(ovn::list(port.get("tag_request")), vec![json!(100)]);
    assert_ping(pod.ns(), EXT100.ipv4);
    assert_tcp_transfer(&EXT100.netns(), EXT100.ipv4, pod.ns());
    // EXT200 has an address of the same subnet, but is on VLAN 200.
    assert_no_ping(pod.ns(), EXT200.ipv4);
}

#[test]
fn dual_stack_localnet_reaches_the_host_over_both_families() {
    // 172.20.2.x and fd20::400 on: see the native VLAN note above.
    let net = Network::localnet("ldual", PHYSNET, "172.20.0.0/16,fd20::/64")
        .with("excludeSubnets", json!("172.20.0.0/23,fd20::/118"));
    let pod = Pod::add(&net, 2);
    assert_eq!(pod.cidrs().len(), 2, "{}", pod.result);
    let lsp = ovn::lsp(&pod.lsp_name()).expect("pod port");
    let security = ovn::list(lsp.get("port_security"));
    assert!(
        security.iter().any(|s| {
            let s = s.as_str().unwrap_or_default();
            s.contains(&pod.ip()) && s.contains(&pod.ip6())
        }),
        "both addresses in port_security: {security:?}"
    );
    assert_ping(pod.ns(), EXT.ipv6);
    assert_tcp_transfer(&EXT.netns(), EXT.ipv6, pod.ns());
    assert_ping(&EXT.netns(), &pod.ip6());
}

#[test]
fn a_chassis_without_the_bridge_mapping_refuses_and_creates_nothing() {
    let net = Network::localnet("lnomap", "nowhere", "172.22.0.0/16");
    let spec = PodSpec::new(&net, 2);
    let before = Before::take(&net, &spec);
    spec.call("ADD").run().expect_error_naming(
        11,
        &[&net.name, "node2", "nowhere", "ovn-bridge-mappings"],
        "unmapped physical network",
    );
    assert_nothing_created(&net, &before, &spec, "unmapped physical network");
    assert!(
        ovn::switches_of_network(&net.name).is_empty(),
        "no switch for a network no pod could join"
    );
}
