//! podman 4.3 (Debian bookworm, CNI backend, runc) drives the plugin: its
//! libcni finds `ovn-udn-cni` in the plugin dir, ADDs on `podman run` and
//! DELs on `podman rm -f` and from its own `container cleanup` process.

use e2e::Network;
use e2e::leftovers::assert_lsp_and_port_gone;
use e2e::network::ovn_prefix;
use e2e::ovn;
use e2e::podman::Podman;

/// The LSP podman's containers get: podman sends K8S_POD_NAME without a
/// namespace, so the plugin names the port after the container id.
fn lsp_of(net: &Network, id: &str) -> String {
    format!("{}{}_eth0", ovn_prefix(&net.name), &id[..12])
}

#[test]
fn podman_containers_on_two_chassis_ping_and_leave_nothing() {
    let net = Network::layer2("podman2", "10.90.0.0/24");
    let one = Podman::on(1, &net);
    let two = Podman::on(2, &net);
    let a = one.run("a", &[]);
    let b = two.run("b", &[]);
    let (a_cidr, _) = one.eth0("a");
    let (b_cidr, _) = two.eth0("b");
    let a_ip = a_cidr.split('/').next().expect("address").to_owned();
    let b_ip = b_cidr.split('/').next().expect("address").to_owned();
    assert!(a_cidr.starts_with("10.90.0.") && b_cidr.starts_with("10.90.0."));
    assert_ne!(a_ip, b_ip);
    assert!(ovn::lsp(&lsp_of(&net, &a)).is_some(), "no LSP for {a}");
    assert!(one.ping("a", &b_ip), "container a cannot ping b at {b_ip}");
    assert!(two.ping("b", &a_ip), "container b cannot ping a at {a_ip}");

    one.must(&["rm", "-f", "-t", "0", "a"]);
    assert_lsp_and_port_gone(1, &a, &lsp_of(&net, &a), "podman rm -f");
    // A stopped container's network is torn down by whichever podman takes
    // the container's lock first: this one, or the `podman container
    // cleanup` that conmon starts (its environment is conmon's, not ours).
    two.must(&["stop", "-t", "0", "b"]);
    assert_lsp_and_port_gone(2, &b, &lsp_of(&net, &b), "podman stop");
    assert!(
        two.calls().iter().any(|c| c.starts_with("DEL ")),
        "podman sent no DEL: {:?}",
        two.calls()
    );
    two.must(&["rm", "-f", "-t", "0", "b"]);
    assert!(
        net.lsp_names().is_empty(),
        "LSPs left: {:?}",
        net.lsp_names()
    );
}

#[test]
fn podman_ip_and_mac_address_are_honoured() {
    let net = Network::layer2("podmanip", "10.90.1.0/24");
    let one = Podman::on(1, &net);
    let id = one.run(
        "fixed",
        &["--ip", "10.90.1.50", "--mac-address", "02:90:01:00:00:50"],
    );
    let (cidr, mac) = one.eth0("fixed");
    assert_eq!(cidr, "10.90.1.50/24");
    assert_eq!(mac, "02:90:01:00:00:50");
    let lsp = ovn::lsp(&lsp_of(&net, &id)).expect("the container's LSP");
    assert_eq!(
        ovn::list(lsp.get("addresses")),
        vec![serde_json::json!("02:90:01:00:00:50 10.90.1.50")]
    );
    let other = one.run("dynamic", &[]);
    let (other_cidr, _) = one.eth0("dynamic");
    assert_ne!(other_cidr, cidr, "IPAM handed out the static address");
    assert!(
        one.ping("dynamic", "10.90.1.50"),
        "no ping to the static IP"
    );

    one.must(&["rm", "-f", "-t", "0", "fixed", "dynamic"]);
    assert_lsp_and_port_gone(1, &id, &lsp_of(&net, &id), "podman rm -f");
    assert_lsp_and_port_gone(1, &other, &lsp_of(&net, &other), "podman rm -f");
}
