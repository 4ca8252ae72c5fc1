//! A primary UDN chained after the cluster's default network (Debian's
//! `bridge` + `host-local` here): `eth0` keeps only the routes to the node
//! config's `defaultNetworkSubnets`, the default route moves to `ovn-udn1`,
//! and the result is the merged one. Also the bad input around egress.

use e2e::leftovers::{assert_refused, assert_rejected};
use e2e::net::{self, assert_ping, payload, tcp_download};
use e2e::node_config::NodeConfigFile;
use e2e::physnet::EXT;
use e2e::temp::TempPath;
use e2e::{Network, PodSpec, names, ovn, process, sandbox};
use serde_json::{Value, json};

/// Debian's containernetworking-plugins install the reference plugins here.
const CNI_PATH: &str = "/usr/lib/cni";
/// The default network's node subnet (the bridge's) and a "service" subnet
/// behind the chassis, with a host on it.
const DEFAULT_SUBNET: &str = "10.99.0.0/24";
const SERVICE_SUBNET: &str = "10.98.0.0/16";
const SERVICE_HOST: &str = "10.98.0.10";

/// The default network on chassis `node`: a Linux bridge with a gateway
/// address, and the service host's address on the chassis' loopback behind
/// it; removed on drop.
struct DefaultNetwork {
    node: usize,
    bridge: String,
    leases: TempPath,
}

impl DefaultNetwork {
    fn new(node: usize) -> DefaultNetwork {
        let tag = &names::unique("d")[..8];
        let dn = DefaultNetwork {
            node,
            bridge: format!("cni{tag}"),
            leases: TempPath::dir("dn-leases"),
        };
        let ns = sandbox().node_netns(node);
        let host = format!("{SERVICE_HOST}/32");
        process::must("ip", &["-n", &ns, "addr", "replace", &host, "dev", "lo"]);
        dn
    }

    fn config(&self) -> Value {
        json!({
            "cniVersion": "1.0.0",
            "name": "default-network",
            "type": "bridge",
            "bridge": self.bridge,
            "isGateway": true,
            "isDefaultGateway": true,
            "ipam": {"type": "host-local", "dataDir": self.leases.path(),
                     "ranges": [[{"subnet": DEFAULT_SUBNET}]]},
        })
    }

    /// The bridge plugin's verb for `spec`'s pod as `eth0`.
    fn call(&self, command: &str, spec: &PodSpec) -> e2e::Reply {
        let mut call = spec
            .call(command)
            .binary(std::path::Path::new(&format!("{CNI_PATH}/bridge")));
        call = call
            .var("CNI_IFNAME", Some("eth0"))
            .var("CNI_PATH", Some(CNI_PATH));
        call.config(&self.config()).run()
    }
}

impl Drop for DefaultNetwork {
    fn drop(&mut self) {
        let ns = sandbox().node_netns(self.node);
        let host = format!("{SERVICE_HOST}/32");
        let _ = process::attempt("ip", &["-n", &ns, "link", "del", &self.bridge]);
        let _ = process::attempt("ip", &["-n", &ns, "addr", "del", &host, "dev", "lo"]);
    }
}

fn routes(ns: &str) -> Vec<(String, String, String)> {
    net::routes(ns, "-4")
        .iter()
        .map(|r| {
            let text = |key: &str| r[key].as_str().unwrap_or_default().to_owned();
            (text("dst"), text("gateway"), text("dev"))
        })
        .collect()
}

#[test]
fn a_primary_udn_after_the_default_network_takes_only_the_default_route() {
    let node = 2;
    let default = DefaultNetwork::new(node);
    let udn = Network::layer2("chained", "10.150.0.0/16");
    let node_config = NodeConfigFile::for_node(
        node,
        &[(
            "defaultNetworkSubnets",
            json!([SERVICE_SUBNET, DEFAULT_SUBNET]),
        )],
    );
    let spec = PodSpec::new(&udn, node).env("OVN_UDN_CNI_NODE_CONFIG", &node_config.path());
    let prev = default.call("ADD", &spec).expect_ok("bridge ADD");
    let eth0_gateway = prev["ips"][0]["gateway"]
        .as_str()
        .expect("bridge gateway")
        .to_owned();
    let mut pod = spec.conf_key("prevResult", prev.clone()).add();

    // The merged result: the default network's interfaces and IPs first.
    let result = &pod.result;
    let prev_interfaces = prev["interfaces"].as_array().expect("interfaces").len();
    assert_eq!(result["interfaces"][prev_interfaces - 1]["name"], "eth0");
    assert_eq!(
        result["interfaces"][prev_interfaces + 1]["name"],
        "ovn-udn1"
    );
    assert_eq!(result["ips"][0], prev["ips"][0]);
    assert_eq!(result["ips"][1]["interface"], json!(prev_interfaces + 1));
    let listed: Vec<(String, String)> = result["routes"]
        .as_array()
        .expect("routes")
        .iter()
        .map(|r| {
            (
                r["dst"].as_str().unwrap_or("").into(),
                r["gw"].as_str().unwrap_or("").into(),
            )
        })
        .collect();
    let udn_gateway = "10.150.0.1".to_owned();
    assert!(
        listed.contains(&("0.0.0.0/0".into(), udn_gateway.clone())),
        "{listed:?}"
    );
    assert!(
        listed.contains(&(SERVICE_SUBNET.into(), eth0_gateway.clone())),
        "{listed:?}"
    );
    assert!(
        !listed.contains(&("0.0.0.0/0".into(), eth0_gateway.clone())),
        "the default network's default route is gone from the result: {listed:?}"
    );

    // The kernel agrees.
    let kernel = routes(pod.ns());
    assert!(
        kernel.contains(&("default".into(), udn_gateway, "ovn-udn1".into())),
        "{kernel:?}"
    );
    assert!(
        kernel.contains(&(SERVICE_SUBNET.into(), eth0_gateway.clone(), "eth0".into())),
        "{kernel:?}"
    );
    assert!(
        !kernel
            .iter()
            .any(|(dst, _, dev)| dst == "default" && dev == "eth0"),
        "{kernel:?}"
    );

    // The default network's host through eth0, the outside through the UDN.
    assert_ping(pod.ns(), SERVICE_HOST);
    assert_ping(pod.ns(), EXT.ipv4);
    let got = tcp_download(&EXT.netns(), EXT.ipv4, 6201, pod.ns(), &payload(1 << 16, 7))
        .expect("download through ovn-udn1");
    assert_eq!(got.seen_from, format!("172.20.0.{}", 10 + node));

    pod.check().expect_ok("CHECK of the chained attachment");
    // A default route back on eth0 is a difference CHECK names.
    let ns = pod.ns().to_owned();
    let eth0_default = |verb: &str| {
        let route = [
            "route",
            verb,
            "default",
            "via",
            &eth0_gateway,
            "dev",
            "eth0",
            "metric",
            "50",
        ];
        process::must("ip", &[&["-n", ns.as_str()][..], &route[..]].concat());
    };
    eth0_default("add");
    pod.check().expect_error_naming(
        105,
        &["eth0", "default route"],
        "CHECK with eth0's default route back",
    );
    eth0_default("del");
    pod.check().expect_ok("CHECK once it is gone again");

    let eth0_before = net::addresses(&ns, "eth0");
    pod.del().expect_ok("DEL");
    assert!(net::link(&ns, "ovn-udn1").is_none(), "ovn-udn1 gone");
    assert_eq!(
        net::addresses(&ns, "eth0"),
        eth0_before,
        "DEL leaves eth0 alone"
    );
    assert!(routes(&ns).contains(&(SERVICE_SUBNET.into(), eth0_gateway, "eth0".into())));
    pod.call("DEL").run().expect_ok("DEL again");
    default.call("DEL", &pod.spec).expect_ok("bridge DEL");
}

#[test]
fn default_network_subnets_may_not_overlap_the_udn() {
    let udn = Network::layer2("dnover", "10.151.0.0/16");
    let node_config =
        NodeConfigFile::for_node(1, &[("defaultNetworkSubnets", json!(["10.151.128.0/20"]))]);
    let spec = PodSpec::new(&udn, 1).env("OVN_UDN_CNI_NODE_CONFIG", &node_config.path());
    let call = spec.call("ADD").config(&spec.conf);
    assert_rejected(
        &udn,
        &spec,
        call,
        7,
        &["defaultNetworkSubnets", "10.151.128.0/20"],
        "overlap",
    );
}

#[test]
fn egress_misconfigured_on_the_node_is_refused_before_anything_is_made() {
    let udn = Network::layer2("gwbad", "10.152.0.0/16");
    let unmapped = NodeConfigFile::for_node(
        1,
        &[(
            "gateway",
            json!({"physicalNetworkName": "nosuch", "address": "172.20.0.11/16"}),
        )],
    );
    let spec = PodSpec::new(&udn, 1).env("OVN_UDN_CNI_NODE_CONFIG", &unmapped.path());
    let call = spec.call("ADD").config(&spec.conf);
    assert_rejected(
        &udn,
        &spec,
        call,
        11,
        &["gateway.physicalNetworkName", "nosuch"],
        "unmapped",
    );
    let routers = ovn::nb_find(
        "Logical_Router",
        &[&format!("external_ids:k8s.ovn.org/network={}", udn.name)],
    );
    assert!(routers.is_empty(), "nothing created: {routers:?}");

    let off_segment = NodeConfigFile::for_node(
        1,
        &[(
            "gateway",
            json!({"physicalNetworkName": "physnet", "address": "172.20.0.11/16",
                              "nextHop": "10.0.0.1"}),
        )],
    );
    // A node config every verb refuses: no DEL either.
    let spec = PodSpec::new(&udn, 1).env("OVN_UDN_CNI_NODE_CONFIG", &off_segment.path());
    let call = spec.call("ADD").config(&spec.conf);
    assert_refused(
        &udn,
        &spec,
        call,
        7,
        &["gateway.nextHop", "10.0.0.1"],
        "next hop off the segment",
    );
}
