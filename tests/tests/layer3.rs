//! layer3 networks: a node subnet per chassis, allocated once and kept, and
//! pods on different chassis joined through the network's cluster router.

use std::collections::BTreeSet;
use std::thread;

use e2e::net::{assert_no_ping, assert_ping, assert_tcp_transfer, reply_ttl, routes};
use e2e::ovn::{self, column_str, map_get};
use e2e::{Network, Pod, PodSpec};
use serde_json::json;

/// `other_config:subnet` of the network's switch on chassis `node`.
fn node_subnet(net: &Network, node: usize) -> String {
    let switches = ovn::switches_named(&net.switch_on(node));
    assert_eq!(switches.len(), 1, "switch {}", net.switch_on(node));
    map_get(&switches[0], "other_config", "subnet")
        .unwrap_or_else(|| panic!("switch {} has no subnet", net.switch_on(node)))
        .to_owned()
}

fn in_subnet(ip: &str, subnet: &str) -> bool {
    let net: ipnet::IpNet = subnet.parse().expect("subnet");
    net.contains(&ip.parse::<std::net::IpAddr>().expect("ip"))
}

#[test]
fn pods_on_two_chassis_reach_each_other_through_the_router() {
    let net = Network::layer3("l3conn", "10.60.0.0/16/24");
    let a = Pod::add(&net, 1);
    let b = Pod::add(&net, 2);
    let (subnet1, subnet2) = (node_subnet(&net, 1), node_subnet(&net, 2));
    assert_ne!(subnet1, subnet2, "each chassis has its own node subnet");
    assert!(in_subnet(&a.ip(), &subnet1), "{} in {subnet1}", a.ip());
    assert!(in_subnet(&b.ip(), &subnet2), "{} in {subnet2}", b.ip());

    // One router with a port per node switch, at the node subnet's first
    // host address, and the switch's router-type port facing it.
    let routers = ovn::nb_find("Logical_Router", &[&format!("name={}", net.router_name())]);
    assert_eq!(routers.len(), 1, "one cluster router");
    for (node, subnet) in [(1, &subnet1), (2, &subnet2)] {
        let switch = net.switch_on(node);
        let rtos = ovn::nb_find("Logical_Router_Port", &[&format!("name=rtos-{switch}")]);
        assert_eq!(rtos.len(), 1, "router port for {switch}");
        let gateway = subnet.replace(".0/24", ".1/24");
        assert_eq!(
            ovn::list(rtos[0].get("networks")),
            vec![json!(gateway)],
            "router port address"
        );
        let stor = ovn::lsp(&format!("stor-{switch}")).expect("switch port to the router");
        assert_eq!(column_str(&stor, "type"), Some("router"));
        assert_eq!(
            map_get(&stor, "options", "router-port"),
            Some(format!("rtos-{switch}").as_str())
        );
    }

    // Secondary: only the network's CIDR goes via the node gateway.
    let gateway1 = subnet1.replace(".0/24", ".1");
    let pod_routes = routes(a.ns(), "-4");
    assert!(
        pod_routes.iter().any(|r| r["dst"] == "10.60.0.0/16"
            && r["gateway"].as_str() == Some(gateway1.as_str())),
        "route to the network via {gateway1}: {pod_routes:?}"
    );
    assert!(
        !pod_routes.iter().any(|r| r["dst"] == "default"),
        "a secondary network sets no default route: {pod_routes:?}"
    );

    assert_ping(a.ns(), &b.ip());
    assert_ping(b.ns(), &a.ip());
    assert_eq!(
        reply_ttl(a.ns(), &b.ip()),
        63,
        "one routed hop between chassis"
    );
    assert_tcp_transfer(b.ns(), &b.ip(), a.ns());
    assert_tcp_transfer(a.ns(), &a.ip(), b.ns());

    // Same chassis: same switch, no router in between.
    let c = Pod::add(&net, 1);
    assert!(in_subnet(&c.ip(), &subnet1));
    assert_eq!(reply_ttl(a.ns(), &c.ip()), 64, "no hop on one switch");
}

#[test]
fn primary_layer3_dual_stack_routes_by_default_through_the_node_gateway() {
    let net = Network::layer3("l3dual", "10.61.0.0/16,fd00:61::/48").with("role", json!("primary"));
    let a = Pod::add(&net, 1);
    let b = Pod::add(&net, 3);
    for family in ["-4", "-6"] {
        let defaults: Vec<_> = routes(a.ns(), family)
            .into_iter()
            .filter(|r| r["dst"] == "default")
            .collect();
        assert_eq!(
            defaults.len(),
            1,
            "one {family} default route: {defaults:?}"
        );
    }
    let switch = &ovn::switches_named(&net.switch_on(1))[0];
    let prefix6 = map_get(switch, "other_config", "ipv6_prefix").expect("ipv6_prefix");
    assert!(
        a.ip6().starts_with(prefix6.trim_end_matches("::")),
        "{} in node prefix {prefix6}",
        a.ip6()
    );
    assert_ping(a.ns(), &b.ip());
    assert_ping(a.ns(), &b.ip6());
    assert_eq!(reply_ttl(a.ns(), &b.ip6()), 63, "one routed hop (IPv6)");
    assert_tcp_transfer(b.ns(), &b.ip6(), a.ns());
}

#[test]
fn layer3_networks_with_one_cidr_are_isolated() {
    let blue = Network::layer3("l3blue", "10.62.0.0/16");
    let red = Network::layer3("l3red", "10.62.0.0/16");
    let blue1 = Pod::add(&blue, 1);
    let blue2 = Pod::add(&blue, 2);
    let red1 = Pod::add(&red, 1);
    let red2 = Pod::add(&red, 2);
    // Same node subnets, same addresses, on both networks.
    assert_eq!((blue1.ip(), blue2.ip()), (red1.ip(), red2.ip()));
    assert_ping(blue1.ns(), &blue2.ip());
    assert_ping(red1.ns(), &red2.ip());
    // An address only the other network has stays out of reach, across
    // the router (chassis 2) and on the local switch (chassis 1).
    let red3 = Pod::add(&red, 2);
    let blue3 = Pod::add(&blue, 1);
    assert_no_ping(blue1.ns(), &red3.ip());
    assert_no_ping(red1.ns(), &blue3.ip());
    assert_no_ping(red2.ns(), &blue3.ip());
}

#[test]
fn a_chassis_keeps_its_node_subnet_after_its_last_pod_leaves() {
    let net = Network::layer3("l3keep", "10.63.0.0/16");
    let mut a = Pod::add(&net, 2);
    let subnet = node_subnet(&net, 2);
    a.del().expect_ok("DEL of the last pod");
    assert!(net.lsp_names().is_empty(), "pod port gone");
    assert_eq!(node_subnet(&net, 2), subnet, "node subnet kept");
    let b = Pod::add(&net, 2);
    assert!(in_subnet(&b.ip(), &subnet), "{} in {subnet}", b.ip());
    // CHECK verifies the route via the kept gateway.
    b.check().expect_ok("CHECK");
}

#[test]
fn first_pods_racing_on_three_chassis_get_three_node_subnets() {
    let net = Network::layer3("l3race", "10.64.0.0/16");
    let specs: Vec<PodSpec> = (0..9).map(|i| PodSpec::new(&net, 1 + i % 3)).collect();
    let pods: Vec<Pod> = thread::scope(|s| {
        let handles: Vec<_> = specs
            .into_iter()
            .map(|spec| s.spawn(move || spec.add()))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("ADD thread panicked"))
            .collect()
    });
    let subnets: BTreeSet<String> = (1..=3).map(|n| node_subnet(&net, n)).collect();
    assert_eq!(subnets.len(), 3, "distinct node subnets: {subnets:?}");
    let routers = ovn::nb_find("Logical_Router", &[&format!("name={}", net.router_name())]);
    assert_eq!(routers.len(), 1, "the router was created once");
    let ips: BTreeSet<String> = pods.iter().map(Pod::ip).collect();
    assert_eq!(ips.len(), pods.len(), "distinct pod addresses");
    for pod in &pods {
        let node = pod.spec.node;
        assert!(in_subnet(&pod.ip(), &node_subnet(&net, node)));
    }
    assert_ping(pods[0].ns(), &pods[1].ip());
    assert_ping(pods[0].ns(), &pods[2].ip());
}
