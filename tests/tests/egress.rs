//! Egress of primary networks: pods reach the sandbox's external host
//! through a gateway on their own chassis, source-NATed to the chassis'
//! address on the physical network (node config `gateway`, 172.20.0.1<i>
//! in the sandbox); nothing comes in unasked; secondary networks have none.

use std::thread;

use e2e::net::{
    Download, Listener, assert_no_ping, assert_ping, assert_tcp_transfer, exec_in, payload,
    tcp_download,
};
use e2e::network::ovn_prefix;
use e2e::ovn::{self, map_get};
use e2e::physnet::EXT;
use e2e::{Network, Pod};
use serde_json::json;

/// The address chassis `node` egresses as (the sandbox's node config).
fn chassis_address(node: usize) -> String {
    format!("172.20.0.{}", 10 + node)
}

/// Downloads `len` bytes from the external host on `port` and checks they
/// arrived intact: a reply that reached another pod would not.
fn download(pod: &Pod, port: u16, len: usize) -> Download {
    let data = payload(len, u64::from(port));
    let got = tcp_download(&EXT.netns(), EXT.ipv4, port, pod.ns(), &data)
        .unwrap_or_else(|e| panic!("download to {} ({}): {e}", pod.ns(), pod.ip()));
    assert_eq!(
        got.received.len(),
        data.len(),
        "{}: length differs",
        pod.ns()
    );
    assert!(got.received == data, "{}: another pod's bytes", pod.ns());
    got
}

/// Ping, a download and an upload between `pod` on chassis `node` and the
/// external host, which sees the chassis' address.
fn assert_egress(pod: &Pod, node: usize, port: u16) {
    assert_ping(pod.ns(), EXT.ipv4);
    let got = download(pod, port, 1 << 20);
    assert_eq!(
        got.seen_from,
        chassis_address(node),
        "the external host must see chassis node{node}, not the pod {}",
        pod.ip()
    );
    assert_tcp_transfer(&EXT.netns(), EXT.ipv4, pod.ns());
}

#[test]
fn primary_layer2_pods_egress_as_their_chassis() {
    let net = Network::layer2("egl2", "10.140.0.0/16");
    let a = Pod::add(&net, 1);
    let b = Pod::add(&net, 2);
    assert_egress(&a, 1, 6101);
    assert_egress(&b, 2, 6102);
    assert_ping(a.ns(), &b.ip());

    let prefix = ovn_prefix(&net.name);
    for node in [1, 2] {
        let gr = ovn::nb_find("Logical_Router", &[&format!("name={prefix}GR_node{node}")]);
        assert_eq!(gr.len(), 1, "gateway router of node{node}");
        assert_eq!(
            map_get(&gr[0], "options", "chassis"),
            Some(format!("node{node}").as_str())
        );
    }
    // node3 had no pod of the network: no gateway router there.
    assert!(ovn::nb_find("Logical_Router", &[&format!("name={prefix}GR_node3")]).is_empty());
    let join = ovn::nb_find("Logical_Switch", &[&format!("name={prefix}join")]);
    assert_eq!(join.len(), 1, "one join switch");
    let router = ovn::nb_find(
        "Logical_Router",
        &[&format!("name={prefix}ovn_cluster_router")],
    );
    assert_eq!(router.len(), 1, "one distributed router");
    assert!(
        map_get(&router[0], "external_ids", "k8s.ovn.org/egress-link-subnet")
            .is_some_and(|s| s.starts_with("169.254.")),
        "link subnet recorded"
    );
}

#[test]
fn primary_layer3_pods_egress_as_their_chassis() {
    let net = Network::layer3("egl3", "10.141.0.0/16/24").with("role", json!("primary"));
    let a = Pod::add(&net, 2);
    let b = Pod::add(&net, 3);
    assert_egress(&a, 2, 6103);
    assert_egress(&b, 3, 6104);
    assert_ping(a.ns(), &b.ip());
}

#[test]
fn overlapping_networks_egress_at_once_each_to_its_own_pod() {
    let blue = Network::layer2("egblue", "192.168.0.0/16");
    let green = Network::layer2("eggreen", "192.168.0.0/16");
    let b = Pod::add(&blue, 1);
    let g = Pod::add(&green, 1);
    assert_eq!(
        b.ip(),
        g.ip(),
        "both first in their network: the same address"
    );
    thread::scope(|s| {
        let pings = [&b, &g].map(|pod| {
            s.spawn(move || {
                exec_in(
                    pod.ns(),
                    &["ping", "-c", "20", "-i", "0.05", "-W", "1", EXT.ipv4],
                    &[],
                    std::time::Duration::from_secs(10),
                )
            })
        });
        let downloads = [(&b, 6105), (&g, 6106)]
            .map(|(pod, port)| s.spawn(move || download(pod, port, 10 << 20)));
        for ping in pings {
            let out = ping.join().expect("ping thread");
            assert!(out.ok(), "concurrent ping: {}", out.stdout_text());
        }
        for download in downloads {
            let got = download.join().expect("download thread");
            assert_eq!(got.seen_from, chassis_address(1));
        }
    });
}

#[test]
fn a_secondary_network_has_no_egress() {
    let net = Network::layer2("egsec", "10.142.0.0/16").with("role", json!("secondary"));
    let pod = Pod::add(&net, 1);
    // Even with a route pointing at the would-be gateway, nothing answers.
    exec_in(
        pod.ns(),
        &["ip", "route", "add", "172.20.0.0/16", "via", "10.142.0.1"],
        &[],
        std::time::Duration::from_secs(5),
    );
    assert_no_ping(pod.ns(), EXT.ipv4);
    let routers = ovn::nb_find(
        "Logical_Router",
        &[&format!("external_ids:k8s.ovn.org/network={}", net.name)],
    );
    assert!(
        routers.is_empty(),
        "routers of a secondary network: {routers:?}"
    );
}

#[test]
fn the_external_host_cannot_reach_into_a_pod() {
    let net = Network::layer2("egin", "10.143.0.0/16");
    let pod = Pod::add(&net, 1);
    assert_ping(pod.ns(), EXT.ipv4);
    // The external host routes the pod subnet to the chassis, as a hostile
    // neighbour would.
    let _route = ExtRoute::add("10.143.0.0/16", &chassis_address(1));
    let _listener = Listener::start(pod.ns(), 6107);
    let connect = exec_in(
        &EXT.netns(),
        &["nc", "-z", "-n", "-w", "2", &pod.ip(), "6107"],
        &[],
        std::time::Duration::from_secs(10),
    );
    assert!(
        !connect.ok(),
        "the external host opened a connection to {}",
        pod.ip()
    );
    assert_no_ping(&EXT.netns(), &pod.ip());
    // Outbound still works: the refusal is for what was not asked for.
    assert_ping(pod.ns(), EXT.ipv4);
}

/// A route on the external host, removed on drop.
struct ExtRoute(String);

impl ExtRoute {
    fn add(destination: &str, via: &str) -> ExtRoute {
        let ns = EXT.netns();
        e2e::process::must(
            "ip",
            &["-n", &ns, "route", "replace", destination, "via", via],
        );
        ExtRoute(destination.to_owned())
    }
}

impl Drop for ExtRoute {
    fn drop(&mut self) {
        let _ = e2e::process::attempt("ip", &["-n", &EXT.netns(), "route", "del", &self.0]);
    }
}
