//! Who may take, join or delete a logical port, against a real NB
//! database: a newer sandbox of the same pod, an IPAM claim's VM moving
//! between chassis, and everyone else refused with the port left as it was.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Add, Nb, external_ids, failure, ip, layer2, lsp, network, options, switch};
use ovn_udn_cni::ovn::dhcp;
use ovn_udn_cni::ovn::port::{claim, delete_port};
use ovn_udn_cni::vocabulary::{column, table};

const OLD: &str = "aaaaaaaaaaaa1111111111111111111111111111111111111111111111111111";
const NEW: &str = "bbbbbbbbbbbb2222222222222222222222222222222222222222222222222222";

#[tokio::test(flavor = "current_thread")]
async fn a_newer_sandbox_of_the_same_pod_takes_the_port_over_keeping_its_address() {
    let server = Nb::start();
    let nb = server.connect().await;
    let net = network(r#"{"name":"tk","role":"primary","subnets":"10.7.0.0/24"}"#);
    let seg = layer2(&net);
    let old = Add::pod("tk_ns_p", "node1").sandbox(OLD);
    let first = old.run(&nb, &net, &seg).await.unwrap();
    Add::pod("tk_ns_other", "node1")
        .run(&nb, &net, &seg)
        .await
        .unwrap();
    let old_uuid = lsp(&nb, "tk_ns_p").await.uuid().unwrap().to_owned();

    // A repeated ADD of the same sandbox gets the same port back.
    let again = old.run(&nb, &net, &seg).await.unwrap();
    assert_eq!(again.addresses, first.addresses);

    // The pod restarted with a new sandbox on another node.
    let taken = Add::pod("tk_ns_p", "node2")
        .sandbox(NEW)
        .run(&nb, &net, &seg)
        .await
        .unwrap();
    assert!(taken.created);
    assert_eq!(ip(&taken), "10.7.0.2");
    assert_eq!((taken.mac, &taken.addresses), (first.mac, &first.addresses));
    let row = lsp(&nb, "tk_ns_p").await;
    assert_ne!(
        row.uuid(),
        Some(old_uuid.as_str()),
        "a new row replaces the old"
    );
    assert_eq!(external_ids(&row)["sandbox"], NEW);
    assert_eq!(options(&row)["requested-chassis"], "node2");
    let ports = switch(&nb, "tk_ovn_layer2_switch")
        .await
        .uuids(column::PORTS);
    assert_eq!(ports.len(), 2, "the old row left the switch: {ports:?}");
    assert!(!ports.contains(&old_uuid));

    // The old sandbox's DEL no longer owns the port: nothing is deleted.
    assert!(!delete_port(&nb, "tk_ns_p", OLD).await.unwrap());
    assert!(!delete_port(&nb, "tk_ns_nobody", OLD).await.unwrap());
    assert_eq!(lsp(&nb, "tk_ns_p").await, row);
    // Its owner's DEL does, and frees the address.
    assert!(delete_port(&nb, "tk_ns_p", NEW).await.unwrap());
    assert!(
        common::rows_named(&nb, table::LOGICAL_SWITCH_PORT, "tk_ns_p")
            .await
            .is_empty()
    );
    let ports = switch(&nb, "tk_ovn_layer2_switch").await;
    assert_eq!(ports.uuids(column::PORTS).len(), 1);
    let reused = Add::pod("tk_ns_q", "node1")
        .run(&nb, &net, &seg)
        .await
        .unwrap();
    assert_eq!(ip(&reused), "10.7.0.2");
}

#[tokio::test(flavor = "current_thread")]
async fn anyone_but_a_newer_sandbox_of_the_same_pod_is_refused_and_changes_nothing() {
    let server = Nb::start();
    let nb = server.connect().await;
    let net = network(r#"{"name":"tk","role":"primary","subnets":"10.7.0.0/24"}"#);
    let seg = layer2(&net);
    let mut plain = Add::pod("tk_ctr", "node1").sandbox(OLD);
    (plain.namespace, plain.nad) = (None, None);
    plain.run(&nb, &net, &seg).await.unwrap();
    Add::pod("tk_ns_p", "node1")
        .sandbox(OLD)
        .run(&nb, &net, &seg)
        .await
        .unwrap();
    let before = (lsp(&nb, "tk_ctr").await, lsp(&nb, "tk_ns_p").await);

    // A plain container whose id shares the 12-character prefix.
    let mut lookalike = plain
        .clone()
        .sandbox(&format!("{}{}", &OLD[..12], &NEW[12..]));
    assert_eq!(lookalike.sandbox[..12], OLD[..12]);
    lookalike.chassis = "node2".into();
    let (code, msg) = failure(lookalike.run(&nb, &net, &seg).await);
    assert_eq!(code, 101, "{msg}");
    assert!(msg.contains(OLD), "{msg}");

    // A pod of another namespace, or of another NAD, under the same name.
    let mut other_ns = Add::pod("tk_ns_p", "node2").sandbox(NEW);
    other_ns.namespace = Some("elsewhere".into());
    assert_eq!(failure(other_ns.run(&nb, &net, &seg).await).0, 101);
    let mut other_nad = Add::pod("tk_ns_p", "node2").sandbox(NEW);
    other_nad.nad = Some("ns/another".into());
    assert_eq!(failure(other_nad.run(&nb, &net, &seg).await).0, 101);

    // A second interface of the same sandbox on the same network.
    let mut second = Add::pod("tk_ns_p", "node1").sandbox(OLD);
    second.ifname = "eth1".into();
    let (code, msg) = failure(second.run(&nb, &net, &seg).await);
    assert_eq!(code, 101, "{msg}");
    assert!(msg.contains("eth0"), "{msg}");

    // The same port name on another network.
    let other = network(r#"{"name":"tk2","role":"primary","subnets":"10.17.0.0/24"}"#);
    let (code, msg) = failure(
        Add::pod("tk_ns_p", "node2")
            .sandbox(NEW)
            .run(&nb, &other, &layer2(&other))
            .await,
    );
    assert_eq!(code, 101, "{msg}");
    assert!(msg.contains("\"tk\""), "{msg}");

    let after = (lsp(&nb, "tk_ctr").await, lsp(&nb, "tk_ns_p").await);
    assert_eq!(after, before, "a refused ADD changed a port");
    assert_eq!(
        common::all_rows(&nb, table::LOGICAL_SWITCH).await.len(),
        1,
        "the refused ADD on tk2 must not leave a switch behind"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_claimed_port_follows_its_vm_across_chassis_until_released() {
    let server = Nb::start();
    let nb = server.connect().await;
    // One /26: one address block, so every ADD sees the claimed address.
    let net = network(
        r#"{"name":"vmnet","role":"primary","subnets":"10.8.0.0/26","allowPersistentIPs":true}"#,
    );
    let seg = layer2(&net);
    let dhcp = dhcp::ensure(&nb, &net, &seg.subnets).await.unwrap();
    let vm = |chassis: &str, sandbox: &str| {
        let mut add = Add::pod("vmnet_ns_vm1", chassis).sandbox(sandbox);
        add.claim = Some("ns/vm1".into());
        add.dhcp = dhcp.clone();
        add
    };
    let port = || lsp(&nb, "vmnet_ns_vm1");

    let first = vm("node1", "src").run(&nb, &net, &seg).await.unwrap();
    assert!(first.created);
    assert_eq!(ip(&first), "10.8.0.2");
    let row = port().await;
    let ids = external_ids(&row);
    assert_eq!(ids["k8s.ovn.org/ipam-claim"], "ns/vm1");
    assert_eq!(ids["k8s.ovn.org/attached.node1"], "src/eth0");
    assert!(!ids.contains_key("sandbox"), "{ids:?}");
    assert_eq!(options(&row)["requested-chassis"], "node1");
    assert_eq!(row.uuids(column::DHCPV4_OPTIONS), [dhcp[0].1.clone()]);

    // Released only once nothing is attached.
    let (code, msg) = failure(claim::release(&nb, "vmnet", "ns/vm1").await);
    assert_eq!(code, 101, "{msg}");
    assert!(msg.contains("node1"), "{msg}");

    // Live migration: the target joins, the port is bound on both.
    let target = vm("node2", "dst").run(&nb, &net, &seg).await.unwrap();
    assert!(!target.created);
    assert_eq!(
        (target.mac, &target.addresses),
        (first.mac, &first.addresses)
    );
    let row = port().await;
    assert_eq!(options(&row)["requested-chassis"], "node1,node2");
    assert_eq!(options(&row)["activation-strategy"], "rarp");
    assert_eq!(external_ids(&row)["k8s.ovn.org/attached.node2"], "dst/eth0");

    // Nobody else joins: a third chassis, a second sandbox on one chassis,
    // a pod without the claim.
    let (code, msg) = failure(vm("node3", "third").run(&nb, &net, &seg).await);
    assert_eq!(code, 101, "{msg}");
    assert!(msg.contains("node3"), "{msg}");
    assert_eq!(
        failure(vm("node1", "other").run(&nb, &net, &seg).await).0,
        101
    );
    let (code, msg) = failure(Add::pod("vmnet_ns_vm1", "node3").run(&nb, &net, &seg).await);
    assert_eq!(code, 101, "{msg}");
    assert!(msg.contains("ns/vm1"), "{msg}");
    assert_eq!(port().await, row, "a refused join changed the port");

    // A sandbox that is not attached deletes nothing.
    assert!(!delete_port(&nb, "vmnet_ns_vm1", "third").await.unwrap());
    assert_eq!(port().await, row);

    // The source leaves: bound on the target alone, activated for good.
    assert!(delete_port(&nb, "vmnet_ns_vm1", "src").await.unwrap());
    let row = port().await;
    assert_eq!(options(&row)["requested-chassis"], "node2");
    assert!(!options(&row).contains_key("activation-strategy"));
    assert!(!external_ids(&row).contains_key("k8s.ovn.org/attached.node1"));

    // The VM stops: the port stays, bound nowhere, its address held.
    assert!(delete_port(&nb, "vmnet_ns_vm1", "dst").await.unwrap());
    let row = port().await;
    assert!(!options(&row).contains_key("requested-chassis"), "{row:?}");
    assert_eq!(
        row.strings(column::ADDRESSES),
        ["0a:58:0a:08:00:02 10.8.0.2"]
    );
    let pod = Add::pod("vmnet_ns_pod", "node1")
        .run(&nb, &net, &seg)
        .await
        .unwrap();
    assert_eq!(ip(&pod), "10.8.0.3", "the held address is skipped");

    // It starts again elsewhere with the same address and MAC.
    let restarted = vm("node3", "again").run(&nb, &net, &seg).await.unwrap();
    assert_eq!(
        (restarted.mac, &restarted.addresses),
        (first.mac, &first.addresses)
    );
    assert_eq!(options(&port().await)["requested-chassis"], "node3");
    assert!(delete_port(&nb, "vmnet_ns_vm1", "again").await.unwrap());

    // Released: the port and its address are gone.
    let released = claim::release(&nb, "vmnet", "ns/vm1").await.unwrap();
    assert_eq!(released.map(|p| p.name).as_deref(), Some("vmnet_ns_vm1"));
    assert!(
        common::rows_named(&nb, table::LOGICAL_SWITCH_PORT, "vmnet_ns_vm1")
            .await
            .is_empty()
    );
    assert!(
        claim::release(&nb, "vmnet", "ns/vm1")
            .await
            .unwrap()
            .is_none()
    );
    let next = Add::pod("vmnet_ns_pod2", "node1")
        .run(&nb, &net, &seg)
        .await
        .unwrap();
    assert_eq!(ip(&next), "10.8.0.2");
}

#[tokio::test(flavor = "current_thread")]
async fn without_subnets_a_joined_claim_keeps_the_static_prefix() {
    let server = Nb::start();
    let nb = server.connect().await;
    let net = network(r#"{"name":"bare","allowPersistentIPs":true}"#);
    let seg = layer2(&net);
    let vm = |chassis: &str, sandbox: &str| {
        let mut add = Add::pod("bare_ns_vm1", chassis)
            .sandbox(sandbox)
            .statics(&["10.5.0.5/24"]);
        add.claim = Some("ns/vm1".into());
        add
    };
    let source = vm("node1", "src").run(&nb, &net, &seg).await.unwrap();
    assert_eq!(source.addresses[0].to_string(), "10.5.0.5/24");
    let target = vm("node2", "dst").run(&nb, &net, &seg).await.unwrap();
    assert_eq!(target.addresses, source.addresses);
}

#[tokio::test(flavor = "current_thread")]
async fn without_subnets_a_taken_over_port_keeps_the_static_prefix() {
    let server = Nb::start();
    let nb = server.connect().await;
    let net = network(r#"{"name":"bare"}"#);
    let seg = layer2(&net);
    let old = Add::pod("bare_ns_p", "node1")
        .sandbox(OLD)
        .statics(&["10.5.0.5/24"])
        .run(&nb, &net, &seg)
        .await
        .unwrap();
    let new = Add::pod("bare_ns_p", "node2")
        .sandbox(NEW)
        .run(&nb, &net, &seg)
        .await
        .unwrap();
    assert_eq!(new.addresses, old.addresses);
}
