//! CHECK, GC and STATUS.

use std::collections::BTreeSet;

use e2e::net;
use e2e::node_config::NodeConfigFile;
use e2e::ovn::{self, column_str};
use e2e::{Call, Network, Pod, PodSpec, sandbox};
use serde_json::json;

#[test]
fn check_passes_after_add_and_names_a_missing_address() {
    let net = Network::layer2("check", "10.26.0.0/24");
    let pod = Pod::add(&net, 2);
    pod.check().expect_ok("CHECK after ADD");
    let cidr = pod.cidrs()[0].clone();
    e2e::process::must(
        "ip",
        &["-n", pod.ns(), "addr", "del", &cidr, "dev", "ovn-udn1"],
    );
    let reply = pod.check();
    reply.expect_failure_naming(&[&pod.ip()], "CHECK after the address was removed");
}

/// CHECK also looks past the pod: a missing OVS port, then a missing LSP, fail it.
#[test]
fn check_notices_a_missing_ovs_port_or_lsp() {
    let net = Network::layer2("checkovn", "10.26.1.0/24");
    let port_gone = Pod::add(&net, 1);
    let lsp_gone = Pod::add(&net, 2);
    for pod in [&port_gone, &lsp_gone] {
        pod.check().expect_ok("CHECK after ADD");
    }

    let ifs = ovn::interfaces_of_sandbox(1, &port_gone.spec.container_id);
    let if_name = column_str(&ifs[0], "name")
        .expect("interface name")
        .to_owned();
    sandbox().vsctl(1, &["del-port", "br-int", &if_name]);
    port_gone.check().expect_failure_naming(
        &[&if_name, "ovs", "port", "ovn-installed"],
        "CHECK without OVS port",
    );

    sandbox().nbctl(&["lsp-del", &lsp_gone.lsp_name()]);
    lsp_gone.check().expect_failure_naming(
        &[&lsp_gone.lsp_name(), "logical switch port", "lsp"],
        "CHECK without LSP",
    );
}

#[test]
fn check_at_0_4_0_passes_after_add() {
    let net = Network::layer2("check04", "10.27.0.0/24").with("cniVersion", json!("0.4.0"));
    let pod = Pod::add(&net, 1);
    assert_eq!(pod.result["cniVersion"], "0.4.0");
    pod.check().expect_ok("CHECK 0.4.0");
}

/// GC on node1 with one valid attachment removes the other node1 ports of
/// the network, and nothing on node2 or of another network.
#[test]
fn gc_removes_exactly_the_attachments_not_listed() {
    let net = Network::layer2("gc", "10.28.0.0/24");
    let other = Network::layer2("gcother", "10.28.0.0/24");
    let keep = Pod::add(&net, 1);
    let stale1 = Pod::add(&net, 1);
    let stale2 = PodSpec::new(&net, 1).without_k8s().ifname("net1").add();
    let remote = Pod::add(&net, 2);
    let foreign = Pod::add(&other, 1);

    let mut conf = net.conf.clone();
    conf["cni.dev/valid-attachments"] = json!([
        { "containerID": keep.spec.container_id, "ifname": keep.spec.ifname },
    ]);
    Call::new("GC", 1).config(&conf).run().expect_ok("GC");

    for stale in [&stale1, &stale2] {
        assert!(
            ovn::lsp(&stale.lsp_name()).is_none(),
            "GC left LSP {}",
            stale.lsp_name()
        );
        e2e::leftovers::assert_no_ovs_port(&stale.spec, "GC");
    }
    for (pod, node) in [(&keep, 1), (&remote, 2), (&foreign, 1)] {
        assert!(
            ovn::lsp(&pod.lsp_name()).is_some(),
            "GC removed LSP {}",
            pod.lsp_name()
        );
        let ifs = ovn::interfaces_of_sandbox(node, &pod.spec.container_id);
        assert_eq!(
            ifs.len(),
            1,
            "GC removed the OVS port of {}",
            pod.lsp_name()
        );
    }
    assert_eq!(
        net.lsp_names(),
        BTreeSet::from([keep.lsp_name(), remote.lsp_name()])
    );
    net::assert_ping(keep.ns(), &remote.ip());
}

#[test]
fn status_succeeds_with_the_sandbox_up() {
    let net = Network::layer2("status", "10.30.0.0/24");
    for node in 1..=2 {
        Call::new("STATUS", node)
            .config(&net.conf)
            .run()
            .expect_ok("STATUS");
    }
}

#[test]
fn status_answers_50_when_nb_or_ovs_is_unreachable() {
    let net = Network::layer2("statusdown", "10.30.0.0/24");
    for (key, remote) in [
        ("nbAddress", "unix:/nonexistent/e2e-nb.sock"),
        ("ovsAddress", "unix:/nonexistent/e2e-ovs.sock"),
    ] {
        let node = NodeConfigFile::for_node(1, &[(key, json!(remote))]);
        Call::new("STATUS", 1)
            .var("OVN_UDN_CNI_NODE_CONFIG", Some(&node.path()))
            .config(&net.conf)
            .run()
            .expect_error_naming(50, &[remote], &format!("STATUS with {key} unreachable"));
    }
}

/// A cluster UDN gives every namespace its own NAD on one network name; the
/// GC of one NAD lists only its own pods and must leave the others'.
#[test]
fn gc_of_one_nad_keeps_the_pods_of_another_nad_on_the_same_network() {
    let red = Network::layer2("gcshared", "10.35.0.0/24");
    let yellow_nad = format!("yellow/{}", red.name);
    let mut yellow_conf = red.conf.clone();
    yellow_conf["netAttachDefName"] = json!(yellow_nad);
    let yellow = Network {
        name: red.name.clone(),
        conf: yellow_conf,
    };
    let red_stale = Pod::add(&red, 1);
    let yellow_pod = PodSpec::new(&yellow, 1).k8s("yellow", "pod-y").add();

    let mut conf = red.conf.clone();
    conf["cni.dev/valid-attachments"] = json!([]);
    Call::new("GC", 1)
        .config(&conf)
        .run()
        .expect_ok("GC of the red NAD");

    assert!(
        ovn::lsp(&red_stale.lsp_name()).is_none(),
        "red's stale pod collected"
    );
    assert!(
        ovn::lsp(&yellow_pod.lsp_name()).is_some(),
        "yellow's pod kept"
    );
    assert_eq!(
        ovn::interfaces_of_sandbox(1, &yellow_pod.spec.container_id).len(),
        1
    );
    assert!(
        net::link(yellow_pod.ns(), "ovn-udn1").is_some(),
        "yellow's interface kept"
    );
}

/// A logical port whose OVS side is already gone (a lost DEL, a node that
/// crashed) is collected from the NB database too, freeing its address.
#[test]
fn gc_collects_a_logical_port_whose_ovs_port_is_gone() {
    let net = Network::layer2("gcnbonly", "10.38.0.0/29");
    let orphan = Pod::add(&net, 1);
    let host_veth = orphan.host_veth().expect("ADD reports the host veth");
    sandbox().vsctl(1, &["del-port", "br-int", &host_veth]);
    assert!(
        ovn::lsp(&orphan.lsp_name()).is_some(),
        "the LSP is still there"
    );

    let mut conf = net.conf.clone();
    conf["cni.dev/valid-attachments"] = json!([]);
    Call::new("GC", 1).config(&conf).run().expect_ok("GC");
    assert!(
        ovn::lsp(&orphan.lsp_name()).is_none(),
        "GC collected the orphan LSP"
    );
    let next = Pod::add(&net, 1);
    assert_eq!(next.ip(), orphan.ip(), "its address is free again");
}
