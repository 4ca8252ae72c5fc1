//! Delegated IPAM: with an `ipam` section, the reference `host-local`
//! plugin hands out the addresses, OVN carries them, and every lease is
//! released on DEL and on a failed ADD.

use std::path::{Path, PathBuf};

use e2e::leftovers::{Before, assert_nothing_created};
use e2e::net::assert_ping;
use e2e::{Network, PodSpec};
use serde_json::json;

/// Debian's containernetworking-plugins install host-local here.
const CNI_PATH: &str = "/usr/lib/cni";

/// host-local's lease directory, removed on drop, also when the test fails.
struct Leases(PathBuf);

impl Leases {
    fn new() -> Leases {
        Leases(std::env::temp_dir().join(format!("udn-leases-{}", e2e::names::unique("l"))))
    }

    /// The addresses host-local holds for `network`.
    fn held(&self, network: &str) -> Vec<String> {
        let mut held: Vec<String> = std::fs::read_dir(self.0.join(network))
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok()?.file_name().into_string().ok())
                    .filter(|name| name.parse::<std::net::IpAddr>().is_ok())
                    .collect()
            })
            .unwrap_or_default();
        held.sort();
        held
    }
}

impl Drop for Leases {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A primary layer2 network whose addresses come from host-local (which
/// speaks CNI up to 1.0.0, so the config does too).
fn network(leases: &Path) -> Network {
    Network::layer2("hostlocal", "")
        .with("subnets", serde_json::Value::Null)
        .with("cniVersion", json!("1.0.0"))
        .with(
            "ipam",
            json!({"type": "host-local", "dataDir": leases, "ranges": [[{"subnet": "10.88.0.0/24"}]]}),
        )
}

#[test]
fn host_local_addresses_ride_on_ovn_and_are_released() {
    let leases = Leases::new();
    let net = network(&leases.0);
    let mut a = PodSpec::new(&net, 1).env("CNI_PATH", CNI_PATH).add();
    let b = PodSpec::new(&net, 2).env("CNI_PATH", CNI_PATH).add();
    assert_eq!(
        (a.ip().as_str(), b.ip().as_str()),
        ("10.88.0.2", "10.88.0.3"),
        "host-local's first addresses"
    );
    assert_eq!(leases.held(&net.name), ["10.88.0.2", "10.88.0.3"]);
    assert_eq!(
        a.result["ips"][0]["gateway"], "10.88.0.1",
        "host-local's gateway"
    );
    assert_eq!(
        a.result["routes"][0],
        json!({"dst": "0.0.0.0/0", "gw": "10.88.0.1"}),
        "primary: default route"
    );
    let routes = e2e::net::routes(a.ns(), "-4");
    assert!(
        routes
            .iter()
            .any(|r| r["dst"] == "default" && r["gateway"] == "10.88.0.1"),
        "default route in the pod: {routes:?}"
    );
    // The logical port carries the address, so OVN forwards it across chassis.
    let lsp = sandbox_lsp_addresses(&a.lsp_name());
    assert!(lsp.contains("10.88.0.2"), "LSP addresses {lsp}");
    assert_ping(a.ns(), &b.ip());
    a.call("CHECK")
        .config(&with_prev(&net, &a.result))
        .run()
        .expect_ok("CHECK with host-local");

    a.del().expect_ok("DEL");
    assert_eq!(
        leases.held(&net.name),
        ["10.88.0.3"],
        "DEL released the lease"
    );
    assert!(
        !net.lsp_names().contains(&a.lsp_name()),
        "DEL removed the logical port"
    );
}

#[test]
fn a_failed_add_releases_the_delegated_lease() {
    let leases = Leases::new();
    let net = network(&leases.0);
    // host-local does not know about this port: it will hand out its address.
    let _squatter = PodSpec::new(&net, 2)
        .conf_key("ipam", serde_json::Value::Null)
        .conf_key("runtimeConfig", json!({"ips": ["10.88.0.2/24"]}))
        .add();
    let spec = PodSpec::new(&net, 1).env("CNI_PATH", CNI_PATH);
    let before = Before::take(&net, &spec);
    let reply = spec.call("ADD").run();
    reply.expect_error_naming(102, &["10.88.0.2", "in use"], "address taken in OVN");
    assert_nothing_created(&net, &before, &spec, "failed delegated ADD");
    assert!(
        leases.held(&net.name).is_empty(),
        "the lease was released: {:?}",
        leases.held(&net.name)
    );
}

#[test]
fn a_missing_ipam_plugin_is_named_and_nothing_is_created() {
    let leases = Leases::new();
    let net = network(&leases.0).with("ipam", json!({"type": "no-such-ipam"}));
    let spec = PodSpec::new(&net, 1).env("CNI_PATH", CNI_PATH);
    let before = Before::take(&net, &spec);
    spec.call("ADD")
        .run()
        .expect_error_naming(7, &["ipam", "no-such-ipam"], "missing IPAM plugin");
    assert_nothing_created(&net, &before, &spec, "missing IPAM plugin");
}

fn with_prev(net: &Network, result: &serde_json::Value) -> serde_json::Value {
    let mut conf = net.conf.clone();
    conf["prevResult"] = result.clone();
    conf
}

fn sandbox_lsp_addresses(lsp: &str) -> String {
    e2e::sandbox().nbctl(&["get", "Logical_Switch_Port", lsp, "addresses"])
}
