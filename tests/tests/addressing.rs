//! Addresses and MACs: static requests through every channel, MTU, IPv6-only
//! and dual-stack attachments.

use e2e::net::{self, assert_ping};
use e2e::{Network, Pod, PodSpec, process, sandbox};
use serde_json::{Value, json};

fn pod_mac(pod: &Pod) -> String {
    pod.pod_interface()["mac"]
        .as_str()
        .unwrap_or_default()
        .to_lowercase()
}

fn link_mac(pod: &Pod) -> String {
    let link = net::link(pod.ns(), &pod.spec.ifname).expect("pod interface");
    link["address"].as_str().unwrap_or_default().to_lowercase()
}

/// `0a:58:` + the first four bytes of sha256(`text`).
fn hashed_mac(text: &str) -> String {
    let done = process::run(
        std::process::Command::new("sha256sum").arg("-"),
        text.as_bytes(),
        std::time::Duration::from_secs(5),
    );
    let hex = done.stdout_text();
    let b = &hex[..8];
    format!("0a:58:{}:{}:{}:{}", &b[0..2], &b[2..4], &b[4..6], &b[6..8])
}

#[test]
fn static_ip_and_mac_through_every_channel() {
    let net = Network::layer2("static", "10.60.0.0/24");
    let by_runtime = PodSpec::new(&net, 1)
        .conf_key(
            "runtimeConfig",
            json!({ "ips": ["10.60.0.20/24"], "mac": "02:e2:e2:00:00:20" }),
        )
        .add();
    let by_args = PodSpec::new(&net, 2)
        .conf_key(
            "args",
            json!({ "cni": { "ips": ["10.60.0.21/24"], "mac": "02:e2:e2:00:00:21" } }),
        )
        .add();
    let by_cni_args = PodSpec::new(&net, 1)
        .cni_arg("IP=10.60.0.22/24")
        .cni_arg("MAC=02:e2:e2:00:00:22")
        .add();
    for (pod, ip, mac) in [
        (&by_runtime, "10.60.0.20", "02:e2:e2:00:00:20"),
        (&by_args, "10.60.0.21", "02:e2:e2:00:00:21"),
        (&by_cni_args, "10.60.0.22", "02:e2:e2:00:00:22"),
    ] {
        assert_eq!(pod.ip(), ip, "result address: {}", pod.result);
        assert_eq!(pod_mac(pod), mac, "result MAC: {}", pod.result);
        assert_eq!(link_mac(pod), mac, "pod interface MAC");
        assert_eq!(
            net::addresses(pod.ns(), "ovn-udn1"),
            vec![format!("{ip}/24")]
        );
    }
    assert_ping(by_runtime.ns(), "10.60.0.21");
    assert_ping(by_args.ns(), "10.60.0.22");
    assert_ping(by_cni_args.ns(), "10.60.0.20");
}

#[test]
fn configured_mtu_reaches_both_veth_ends_and_the_result() {
    let net = Network::layer2("mtu", "10.61.0.0/24").with("mtu", json!(1300));
    let pod = Pod::add(&net, 2);
    let link = net::link(pod.ns(), "ovn-udn1").expect("pod interface");
    assert_eq!(link["mtu"], 1300);
    let host_veth = pod.host_veth().expect("host end in the result");
    let host = net::link(&sandbox().node_netns(2), &host_veth).expect("host end");
    assert_eq!(host["mtu"], 1300, "host end");
    for interface in pod.result["interfaces"].as_array().expect("interfaces") {
        assert_eq!(interface["mtu"], json!(1300), "result: {interface}");
    }
}

fn default_routes(r: &Value) -> Vec<(String, String)> {
    r["routes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|rt| {
            (
                rt["dst"].as_str().unwrap_or_default().to_owned(),
                rt["gw"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[test]
fn ipv6_only_attachment() {
    let net = Network::layer2("v6", "fd00:62::/64");
    let a = Pod::add(&net, 1);
    let b = Pod::add(&net, 2);
    for pod in [&a, &b] {
        let r = &pod.result;
        let ips = r["ips"].as_array().expect("ips");
        assert_eq!(ips.len(), 1, "{r}");
        let addr = ips[0]["address"].as_str().expect("address");
        assert!(
            addr.starts_with("fd00:62::") && addr.ends_with("/64"),
            "{addr}"
        );
        assert_ne!(addr, "fd00:62::/64", "network address handed out");
        assert_ne!(addr, "fd00:62::1/64", "gateway handed out");
        assert_eq!(ips[0]["gateway"], "fd00:62::1", "{r}");
        assert!(
            default_routes(r).contains(&("::/0".into(), "fd00:62::1".into())),
            "no ::/0 via gateway: {r}"
        );
        let ip = pod.ip6();
        let mac = pod_mac(pod);
        assert!(
            mac == hashed_mac(&ip) || mac == hashed_mac(addr),
            "IPv6-only MAC {mac} is not 0a:58 + sha256({ip}) ({})",
            hashed_mac(&ip)
        );
        assert_eq!(link_mac(pod), mac);
        assert!(net::addresses(pod.ns(), "ovn-udn1").contains(&addr.to_owned()));
        let defaults: Vec<Value> = net::routes(pod.ns(), "-6")
            .into_iter()
            .filter(|rt| rt["dst"] == "default")
            .collect();
        assert!(
            defaults.iter().any(|rt| rt["gateway"] == "fd00:62::1"),
            "no IPv6 default route in the pod: {defaults:?}"
        );
    }
    assert_ne!(a.ip6(), b.ip6());
    assert_ping(a.ns(), &b.ip6());
    assert_ping(b.ns(), &a.ip6());
}

#[test]
fn dual_stack_attachment() {
    let net = Network::layer2("dual", "10.63.0.0/24,fd00:63::/64");
    let a = Pod::add(&net, 1);
    let b = Pod::add(&net, 2);
    for pod in [&a, &b] {
        let r = &pod.result;
        let ips = r["ips"].as_array().expect("ips");
        assert_eq!(ips.len(), 2, "one address per family: {r}");
        let v4 = pod.ip();
        let v6 = pod.ip6();
        assert!(
            v4.starts_with("10.63.0.") && v6.starts_with("fd00:63::"),
            "{r}"
        );
        let gateways: Vec<&str> = ips.iter().filter_map(|i| i["gateway"].as_str()).collect();
        assert!(
            gateways.contains(&"10.63.0.1") && gateways.contains(&"fd00:63::1"),
            "{r}"
        );
        let routes = default_routes(r);
        assert!(
            routes.contains(&("0.0.0.0/0".into(), "10.63.0.1".into())),
            "{r}"
        );
        assert!(
            routes.contains(&("::/0".into(), "fd00:63::1".into())),
            "{r}"
        );
        let o: Vec<u8> = v4.split('.').map(|x| x.parse().expect("octet")).collect();
        let mac = format!("0a:58:{:02x}:{:02x}:{:02x}:{:02x}", o[0], o[1], o[2], o[3]);
        assert_eq!(pod_mac(pod), mac, "dual-stack MAC follows the IPv4 address");
        assert_eq!(link_mac(pod), mac);
        let addrs = net::addresses(pod.ns(), "ovn-udn1");
        assert!(
            addrs.contains(&format!("{v4}/24")) && addrs.contains(&format!("{v6}/64")),
            "{addrs:?}"
        );
    }
    assert_ping(a.ns(), &b.ip());
    assert_ping(a.ns(), &b.ip6());
    net::assert_tcp_transfer(b.ns(), &b.ip6(), a.ns());
}

/// A secondary network attaches without gateway or default route, so the
/// pod's primary network keeps the default route.
#[test]
fn secondary_network_has_no_gateway_or_default_route() {
    let net = Network::layer2("second", "10.64.0.0/24").with("role", json!("secondary"));
    let a = PodSpec::new(&net, 1).ifname("net1").add();
    let b = PodSpec::new(&net, 2).ifname("net1").add();
    for pod in [&a, &b] {
        let r = &pod.result;
        let ips = r["ips"].as_array().expect("ips");
        assert_eq!(ips.len(), 1, "{r}");
        assert!(
            ips[0].get("gateway").is_none(),
            "secondary with a gateway: {r}"
        );
        assert!(
            default_routes(r).iter().all(|(dst, _)| dst != "0.0.0.0/0"),
            "secondary with a default route: {r}"
        );
        let defaults: Vec<Value> = net::routes(pod.ns(), "-4")
            .into_iter()
            .filter(|rt| rt["dst"] == "default")
            .collect();
        assert!(
            defaults.is_empty(),
            "default route in the pod: {defaults:?}"
        );
    }
    let ovn_ls = e2e::ovn::switches_named(&net.switch_name());
    assert_eq!(
        ovn_ls
            .first()
            .and_then(|ls| e2e::ovn::map_get(ls, "external_ids", "k8s.ovn.org/role")),
        Some("secondary")
    );
    assert_ping(a.ns(), &b.ip());
}

/// Without `subnets` there is no IPAM: no address, a random locally
/// administered MAC, and layer2 traffic still flows (link-local IPv6).
#[test]
fn layer2_without_subnets_has_no_ipam() {
    let net = Network::layer2("noipam", "")
        .with("subnets", Value::Null)
        .with("role", json!("secondary"));
    let a = PodSpec::new(&net, 1).ifname("net1").add();
    let b = PodSpec::new(&net, 2).ifname("net1").add();
    for pod in [&a, &b] {
        let r = &pod.result;
        assert!(
            r["ips"].as_array().is_none_or(Vec::is_empty),
            "addresses without IPAM: {r}"
        );
        let mac = pod_mac(pod);
        let first = u8::from_str_radix(&mac[..2], 16).expect("hex MAC");
        assert_eq!(
            first & 0x03,
            0x02,
            "MAC {mac} not unicast locally administered"
        );
        assert_eq!(link_mac(pod), mac);
        assert!(net::addresses(pod.ns(), "net1").is_empty());
    }
    assert_ne!(pod_mac(&a), pod_mac(&b));
    // Give both ends an address of our own: the switch forwards by MAC.
    process::must(
        "ip",
        &["-n", a.ns(), "addr", "add", "10.65.0.10/24", "dev", "net1"],
    );
    process::must(
        "ip",
        &["-n", b.ns(), "addr", "add", "10.65.0.11/24", "dev", "net1"],
    );
    assert_ping(a.ns(), "10.65.0.11");
}
