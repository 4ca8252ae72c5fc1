//! Failures around the plugin: the NB database unreachable during DEL, a
//! leak nobody retries and the node collector that removes it,
//! ovn-controller stopped during ADD, OVS restarted between ADD and DEL.
//! These tests stop daemons of the shared sandbox, so they hold one lock
//! and stay in this test binary of their own (cargo runs test binaries one
//! after another).

use e2e::faults::{NbRelay, Stopped, restart_ovs, serial};
use e2e::leftovers::{Before, assert_attachment_gone, assert_nothing_created};
use e2e::node_config::NodeConfigFile;
use e2e::plugin::cli_on;
use e2e::{Network, Pod, PodSpec, net, ovn, sandbox};
use serde_json::json;

/// A pod on chassis `node` reaching the NB through `relay`.
fn pod_through(relay: &NbRelay, node_config: &NodeConfigFile, net: &Network, node: usize) -> Pod {
    assert!(node_config.json["nbAddress"] == json!(relay.remote()));
    PodSpec::new(net, node)
        .env("OVN_UDN_CNI_NODE_CONFIG", &node_config.path())
        .add()
}

/// With the NB unreachable, DEL still removes the veth and the OVS port
/// and answers 11; the retried DEL removes the logical port, and its
/// address is handed out again.
#[test]
fn del_with_the_nb_down_cleans_up_locally_and_the_retry_finishes() {
    let _serial = serial();
    let relay = NbRelay::start(1);
    let node = NodeConfigFile::for_node(1, &[("nbAddress", json!(relay.remote()))]);
    // One pod address only: the leak would show as an exhausted pool.
    let net = Network::layer2("nbdown", "10.61.0.0/30");
    let mut pod = pod_through(&relay, &node, &net, 1);
    let veth = pod.host_veth().expect("host veth");
    let chassis_ns = sandbox().node_netns(1);

    relay.stop();
    pod.del()
        .expect_error_naming(11, &[&relay.remote()], "DEL with the NB down");
    assert!(net::link(&chassis_ns, &veth).is_none(), "the veth is gone");
    assert!(ovn::ovs_port(1, &veth).is_none(), "the OVS port is gone");
    assert!(
        ovn::lsp(&pod.lsp_name()).is_some(),
        "the LSP waits for the retry"
    );
    let blocked = PodSpec::new(&net, 2)
        .try_add()
        .expect_err("the pool is full");
    blocked.reply.expect_error(102, "address still held");
    drop(blocked);

    relay.resume();
    pod.del().expect_ok("the retried DEL");
    assert_attachment_gone(&pod.spec, Some(&veth), "after the retried DEL");
    let next = Pod::add(&net, 2);
    assert_eq!(next.ip(), pod.ip(), "the address is handed out again");
}

/// With the local OVS unreachable, DEL removes the veth and answers 11.
#[test]
fn del_with_ovs_down_removes_the_veth_and_asks_for_a_retry() {
    let _serial = serial();
    let net = Network::layer2("ovsdown", "10.61.1.0/24");
    let mut pod = Pod::add(&net, 1);
    let veth = pod.host_veth().expect("host veth");
    let node = NodeConfigFile::for_node(1, &[("ovsAddress", json!("unix:/nonexistent/db.sock"))]);
    pod.call("DEL")
        .var("OVN_UDN_CNI_NODE_CONFIG", Some(&node.path()))
        .run()
        .expect_error_naming(11, &["/nonexistent/db.sock"], "DEL with OVS down");
    assert!(
        net::link(&sandbox().node_netns(1), &veth).is_none(),
        "the veth is gone"
    );
    assert!(ovn::lsp(&pod.lsp_name()).is_none(), "the NB side went too");
    pod.del().expect_ok("the retry removes the OVS port");
    assert_attachment_gone(&pod.spec, Some(&veth), "after the retry");
}

/// A DEL that failed with the NB down and was never retried (podman's
/// cleanup does not retry) leaks the logical port and its address until
/// the node collector removes it; a dry run lists it and removes nothing.
#[test]
fn the_node_collector_removes_a_leak_nobody_retries() {
    let _serial = serial();
    let relay = NbRelay::start(1);
    let node = NodeConfigFile::for_node(1, &[("nbAddress", json!(relay.remote()))]);
    let net = Network::layer2("leak", "10.61.2.0/30");
    let mut pod = pod_through(&relay, &node, &net, 1);
    relay.stop();
    pod.del().expect_error(11, "DEL with the NB down");
    relay.resume();
    let lsp = pod.lsp_name();
    assert!(ovn::lsp(&lsp).is_some(), "leaked");

    let config = sandbox().node_config(1).display().to_string();
    let young = cli_on(1, &config, &["gc", "--dry-run"]);
    assert!(young.ok(), "gc --dry-run: {}", young.stderr);
    assert!(
        !young.stdout_text().contains(&lsp),
        "a port younger than the grace period is left alone: {}",
        young.stdout_text()
    );
    let dry = cli_on(1, &config, &["gc", "--dry-run", "--grace-period", "0"]);
    assert!(dry.ok(), "gc --dry-run: {}", dry.stderr);
    assert!(
        dry.stdout_text()
            .contains(&format!("would remove logical port {lsp}")),
        "{}",
        dry.stdout_text()
    );
    assert!(ovn::lsp(&lsp).is_some(), "a dry run removes nothing");

    let done = cli_on(1, &config, &["gc", "--grace-period", "0"]);
    assert!(done.ok(), "gc: {}", done.stderr);
    let out = done.stdout_text();
    assert!(
        out.contains(&format!("removed logical port {lsp}")),
        "{out}"
    );
    assert!(out.contains("chassis node1: removed"), "summary: {out}");
    assert!(ovn::lsp(&lsp).is_none(), "the collector removed the leak");
    let next = Pod::add(&net, 2);
    assert_eq!(next.ip(), pod.ip(), "the address is free again");
    pod.del().expect_ok("a late DEL finds nothing");
}

/// The collector also removes an OVS port whose logical port is gone and a
/// host veth of the plugin's with neither, and no other link.
#[test]
fn the_node_collector_removes_orphaned_ovs_ports_and_veths_only() {
    let _serial = serial();
    let net = Network::layer2("orphans", "10.61.3.0/24");
    let orphan = Pod::add(&net, 1);
    let healthy = Pod::add(&net, 1);
    let orphan_veth = orphan.host_veth().expect("host veth");
    sandbox().nbctl(&["lsp-del", &orphan.lsp_name()]);
    let ns = sandbox().node_netns(1);
    let stray = conf_like_host_veth();
    let foreign = format!("keep{}", &e2e::names::container_id()[..8]);
    for name in [&stray, &foreign] {
        let peer = format!("p{}", &e2e::names::container_id()[..8]);
        e2e::process::must(
            "ip",
            &[
                "-n", &ns, "link", "add", name, "type", "veth", "peer", "name", &peer,
            ],
        );
    }

    let config = sandbox().node_config(1).display().to_string();
    let done = cli_on(1, &config, &["gc", "--grace-period", "0"]);
    let foreign_kept = net::link(&ns, &foreign).is_some();
    let _ = e2e::process::attempt("ip", &["-n", &ns, "link", "del", &foreign]);
    let _ = e2e::process::attempt("ip", &["-n", &ns, "link", "del", &stray]);
    assert!(done.ok(), "gc: {} {}", done.stdout_text(), done.stderr);
    let out = done.stdout_text();
    assert!(
        out.contains(&format!("removed OVS port {orphan_veth}")),
        "{out}"
    );
    assert!(out.contains(&format!("removed host veth {stray}")), "{out}");
    assert!(
        ovn::ovs_port(1, &orphan_veth).is_none(),
        "orphaned OVS port removed"
    );
    assert!(net::link(&ns, &orphan_veth).is_none(), "its veth removed");
    assert!(net::link(&ns, &stray).is_none(), "the stray veth removed");
    assert!(foreign_kept, "a link the plugin did not name was deleted");
    healthy.check().expect_ok("the healthy pod is untouched");
}

/// A name of the shape the plugin gives host veth ends, for no attachment.
fn conf_like_host_veth() -> String {
    format!("udn{}", &e2e::names::container_id()[..12])
}

/// ovn-controller stopped: ADD fails after readyTimeout naming
/// ovn-controller and ovn-installed, and leaves nothing behind.
#[test]
fn add_without_ovn_controller_fails_in_time_and_rolls_back() {
    let _serial = serial();
    let net = Network::layer2("nocontroller", "10.61.4.0/24");
    let node = NodeConfigFile::for_node(3, &[("readyTimeout", json!(2))]);
    let spec = PodSpec::new(&net, 3).env("OVN_UDN_CNI_NODE_CONFIG", &node.path());
    let before = Before::take(&net, &spec);
    let reply = {
        let _stopped = Stopped::daemon(3, "ovn-controller");
        spec.call("ADD").run()
    };
    reply.expect_error_naming(104, &["ovn-controller"], "ADD without ovn-controller");
    reply.assert_names(&["ovn-installed"], "ADD without ovn-controller");
    assert_nothing_created(&net, &before, &spec, "ADD without ovn-controller");
    // Back up, the chassis serves pods again.
    let pod = Pod::add(&net, 3);
    let peer = Pod::add(&net, 1);
    net::assert_ping(peer.ns(), &pod.ip());
}

/// OVS restarted between ADD and DEL (transient ports dropped, as on a
/// node): CHECK names the missing OVS port, DEL still cleans up, and the
/// chassis serves new pods.
#[test]
fn ovs_restarted_between_add_and_del() {
    let _serial = serial();
    let net = Network::layer2("ovsrestart", "10.61.5.0/24");
    let mut pod = Pod::add(&net, 3);
    let veth = pod.host_veth().expect("host veth");
    restart_ovs(3);
    pod.check()
        .expect_error_naming(105, &[&veth], "CHECK after the OVS restart");
    pod.del().expect_ok("DEL after the OVS restart");
    assert_attachment_gone(&pod.spec, Some(&veth), "after the OVS restart");
    let again = Pod::add(&net, 3);
    let peer = Pod::add(&net, 1);
    net::assert_ping(peer.ns(), &again.ip());
}
