//! Persistent IPs: an attachment naming an IPAM claim on a network with
//! `allowPersistentIPs` gets the claim's address and MAC on any chassis, for
//! any pod, until `ovn-udn-cni ipam release` frees them.

use e2e::leftovers::{Before, assert_nothing_created};
use e2e::net::assert_ping;
use e2e::ovn::{self, map_get};
use e2e::plugin::cli;
use e2e::{Network, Pod, PodSpec};
use serde_json::json;

fn claimed(net: &Network, node: usize, claim: &str) -> PodSpec {
    PodSpec::new(net, node).cni_arg(&format!("IPAM_CLAIM={claim}"))
}

/// `ovn-udn-cni ipam list --network <net>`'s line for `claim`.
fn listed(net: &Network, claim: &str) -> Option<String> {
    let done = cli(&["ipam", "list", "--network", &net.name]);
    assert!(done.ok(), "ipam list: {}", done.stderr);
    done.stdout_text()
        .lines()
        .find(|l| l.contains(&format!("e2e/{claim}")))
        .map(str::to_owned)
}

fn release(net: &Network, claim: &str) -> e2e::process::Finished {
    cli(&["ipam", "release", "--network", &net.name, "--claim", claim])
}

#[test]
fn a_claim_keeps_its_address_across_pods_and_chassis_until_released() {
    let net = Network::layer2("pip", "10.90.0.0/24").with("allowPersistentIPs", json!(true));
    let mut first = claimed(&net, 1, "vm-a.pip").add();
    let lsp = first.lsp_name();
    assert!(lsp.ends_with("_e2e_vm-a.pip"), "{lsp}");
    let (ip, mac) = (first.ip(), first.pod_interface()["mac"].clone());
    assert!(ovn::lsp(&lsp).is_some(), "port named after the claim");

    // The VM stops: the port stays, bound nowhere, its address reserved.
    first.del().expect_ok("DEL of the only attachment");
    let port = ovn::lsp(&lsp).expect("the reservation outlives DEL");
    assert_eq!(map_get(&port, "options", "requested-chassis"), None);
    let line = listed(&net, "vm-a.pip").expect("ipam list shows the claim");
    assert!(
        line.contains(&ip) && line.trim_end().ends_with('-'),
        "{line}"
    );
    let other = Pod::add(&net, 1);
    assert_ne!(other.ip(), ip, "a reserved address is not handed out");

    // It starts again elsewhere, in another pod, with the same IP and MAC.
    let second = claimed(&net, 2, "vm-a.pip").add();
    assert_eq!(second.ip(), ip);
    assert_eq!(second.pod_interface()["mac"], mac);
    assert_ping(other.ns(), &ip);
    let line = listed(&net, "vm-a.pip").expect("listed");
    assert!(line.contains("node2"), "{line}");

    // Release is refused while attached, then frees the address.
    let busy = release(&net, "e2e/vm-a.pip");
    assert!(!busy.ok(), "release while attached must fail");
    assert!(busy.stderr.contains("node2"), "{}", busy.stderr);
    drop(second);
    let done = release(&net, "e2e/vm-a.pip");
    assert!(done.ok(), "release: {}", done.stderr);
    assert!(ovn::lsp(&lsp).is_none(), "released");
    assert!(listed(&net, "vm-a.pip").is_none());
    let reuse = PodSpec::new(&net, 2)
        .conf_key("runtimeConfig", json!({ "ips": [format!("{ip}/24")] }))
        .add();
    assert_eq!(reuse.ip(), ip, "the released address is free for others");
    let again = release(&net, "e2e/vm-a.pip");
    assert!(
        !again.ok() && again.stderr.contains("no reservation"),
        "{}",
        again.stderr
    );
}

#[test]
fn one_claim_one_attachment_per_chassis_and_two_chassis_at_most() {
    let net = Network::layer2("pipclash", "10.91.0.0/24").with("allowPersistentIPs", json!(true));
    let source = claimed(&net, 1, "vm-b").add();
    let lsp = source.lsp_name();
    let spec = claimed(&net, 1, "vm-b");
    let before = Before::take(&net, &spec);
    spec.call("ADD").run().expect_error_naming(
        101,
        &["e2e/vm-b", "node1"],
        "second attachment on one chassis",
    );
    assert_nothing_created(&net, &before, &spec, "second attachment on one chassis");

    let _target = claimed(&net, 2, "vm-b").add();
    let port = ovn::lsp(&lsp).expect("port");
    assert_eq!(
        map_get(&port, "options", "requested-chassis"),
        Some("node1,node2")
    );
    let third = claimed(&net, 3, "vm-b");
    third.call("ADD").run().expect_error_naming(
        101,
        &["e2e/vm-b", "node3", "node1 and node2"],
        "a third chassis",
    );
    let port = ovn::lsp(&lsp).expect("port");
    assert_eq!(
        map_get(&port, "options", "requested-chassis"),
        Some("node1,node2")
    );
}

#[test]
fn claims_via_args_cni_on_localnet_and_ignored_without_allow_persistent_ips() {
    let net = Network::localnet("piplnet", e2e::physnet::PHYSNET, "172.21.0.0/16")
        .with("vlanID", json!(100))
        .with("excludeSubnets", json!("172.21.0.0/24"))
        .with("allowPersistentIPs", json!(true));
    let by_args = |node| {
        PodSpec::new(&net, node)
            .conf_key("args", json!({"cni": {"ipam-claim-reference": "vm-c"}}))
            .add()
    };
    let mut first = by_args(3);
    let ip = first.ip();
    assert!(first.lsp_name().ends_with("_e2e_vm-c"));
    assert!(ovn::lsp(&first.lsp_name()).is_some());
    first.del().expect_ok("DEL");
    let second = by_args(1);
    assert_eq!(second.ip(), ip, "same address on localnet too");
    assert_ping(second.ns(), e2e::physnet::EXT100.ipv4);

    let plain = Network::layer2("pipoff", "10.92.0.0/24");
    let pod = claimed(&plain, 1, "vm-d").add();
    assert!(!pod.lsp_name().contains("vm-d"));
    assert!(
        ovn::lsp(&pod.lsp_name()).is_some(),
        "named after the pod: claim ignored"
    );
}

/// GC of a chassis drops a stale attachment of a claim, never the claim's
/// reservation, and leaves the attachment on the other chassis alone.
#[test]
fn gc_detaches_a_stale_claim_attachment_and_keeps_the_reservation() {
    let net = Network::layer2("pipgc", "10.93.0.0/24").with("allowPersistentIPs", json!(true));
    let source = claimed(&net, 1, "vm-e").add();
    let _target = claimed(&net, 2, "vm-e").add();
    let lsp = source.lsp_name();
    let mut conf = net.conf.clone();
    conf["cni.dev/valid-attachments"] = json!([]);
    e2e::Call::new("GC", 1)
        .config(&conf)
        .run()
        .expect_ok("GC on node1");
    e2e::leftovers::assert_no_ovs_port(&source.spec, "GC");
    let port = ovn::lsp(&lsp).expect("the reservation stays");
    assert_eq!(
        map_get(&port, "options", "requested-chassis"),
        Some("node2")
    );
    assert_eq!(map_get(&port, "options", "activation-strategy"), None);
}
