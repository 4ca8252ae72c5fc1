//! The shared rows a network's pods need, against a real NB database: DHCP
//! options per subnet, the localnet switch with its port, and the refusal
//! of switches and routers that belong to another network of the same OVN
//! name.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;

use common::{Add, Nb, all_rows, external_ids, failure, layer2, network, options, rows_named};
use futures::future::join_all;
use ovn_udn_cni::ovn::dhcp;
use ovn_udn_cni::ovn::ovs::NodeInfo;
use ovn_udn_cni::ovn::segment;
use ovn_udn_cni::vocabulary::{NB_DB, column, table};
use ovsdb::{Condition, Operation, Row, Value};

fn node(chassis: &str, bridge_mappings: &[&str]) -> NodeInfo {
    NodeInfo {
        chassis: chassis.to_owned(),
        bridge_uuid: String::new(),
        netdev: false,
        bridge_mappings: bridge_mappings.iter().map(|m| (*m).to_owned()).collect(),
    }
}

const VMNET: &str = r#"{"name":"vmnet","role":"primary","subnets":"10.100.0.0/24,fd00:100::/64",
    "mtu":1300,"dns":{"nameservers":["10.100.0.53"]}}"#;

#[tokio::test(flavor = "current_thread")]
async fn dhcp_options_are_one_row_per_network_and_subnet_kept_up_to_date() {
    let server = Nb::start();
    let nb = server.connect().await;
    let net = network(VMNET);
    let refs = dhcp::ensure(&nb, &net, &net.subnets).await.unwrap();
    let columns: Vec<&str> = refs.iter().map(|(c, _)| *c).collect();
    assert_eq!(columns, ["dhcpv4_options", "dhcpv6_options"]);
    let rows = all_rows(&nb, table::DHCP_OPTIONS).await;
    assert_eq!(rows.len(), 2);
    let v4 = rows
        .iter()
        .find(|r| r.str(column::CIDR) == Some("10.100.0.0/24"))
        .unwrap();
    assert_eq!(v4.uuid(), Some(refs[0].1.as_str()));
    assert_eq!(external_ids(v4)["k8s.ovn.org/network"], "vmnet");
    let wanted = options(v4);
    assert_eq!(wanted["router"], "10.100.0.1");
    assert_eq!(wanted["mtu"], "1300");
    assert_eq!(wanted["dns_server"], "{10.100.0.53}");

    // Idempotent.
    assert_eq!(dhcp::ensure(&nb, &net, &net.subnets).await.unwrap(), refs);
    assert_eq!(all_rows(&nb, table::DHCP_OPTIONS).await.len(), 2);

    // Stale options (another MTU, a leftover key) are brought up to date
    // in place.
    nb.transact(
        NB_DB,
        &[Operation::update(
            table::DHCP_OPTIONS,
            vec![Condition::uuid(&refs[0].1)],
            Row::new().with(
                column::OPTIONS,
                Value::string_map([("mtu", "9000"), ("stale", "yes")]),
            ),
        )],
    )
    .await
    .unwrap();
    assert_eq!(dhcp::ensure(&nb, &net, &net.subnets).await.unwrap(), refs);
    let rows = rows_by_cidr(&nb, "10.100.0.0/24").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(options(&rows[0]), wanted);

    // Another network on the same subnet has rows of its own.
    let twin = network(r#"{"name":"twin","role":"primary","subnets":"10.100.0.0/24"}"#);
    let twin_refs = dhcp::ensure(&nb, &twin, &twin.subnets).await.unwrap();
    assert_ne!(twin_refs[0].1, refs[0].1);
    assert_eq!(rows_by_cidr(&nb, "10.100.0.0/24").await.len(), 2);
}

async fn rows_by_cidr(nb: &ovsdb::Client, cidr: &str) -> Vec<Row> {
    let by_cidr = vec![Condition::eq(column::CIDR, Value::string(cidr))];
    nb.select(NB_DB, table::DHCP_OPTIONS, by_cidr, None)
        .await
        .unwrap()
}

#[tokio::test(flavor = "current_thread")]
async fn racing_dhcp_ensures_create_one_row_per_subnet() {
    let server = Nb::start();
    let mut clients = Vec::new();
    for _ in 0..10 {
        clients.push(server.connect().await);
    }
    // Whether ten ensures really overlap depends on the scheduler, so the
    // race is run on fresh networks until one round did race; every round
    // must end with one row per subnet.
    let mut raced = false;
    for round in 0..20 {
        let net = network(&VMNET.replace("vmnet", &format!("vmnet{round}")));
        let before: u64 = clients.iter().map(|nb| nb.traffic().requests).sum();
        let results = join_all(
            clients
                .iter()
                .map(|nb| dhcp::ensure(nb, &net, &net.subnets)),
        )
        .await;
        let refs: BTreeSet<Vec<(&str, String)>> = results.into_iter().map(Result::unwrap).collect();
        assert_eq!(refs.len(), 1, "round {round}: ensures disagree: {refs:?}");
        let rows = all_rows(&clients[0], table::DHCP_OPTIONS).await;
        assert_eq!(
            rows.len(),
            2 * (round + 1),
            "round {round}: one row per subnet"
        );
        // Without a race: one ensure reads and inserts each row (4
        // requests), the nine others only read them (2 each). More: some
        // inserts lost and were retried.
        let requests: u64 = clients.iter().map(|nb| nb.traffic().requests).sum::<u64>() - before;
        if requests > 4 + 9 * 2 {
            raced = true;
            break;
        }
    }
    assert!(raced, "the ensures never raced in 20 rounds");
}

#[tokio::test(flavor = "current_thread")]
async fn a_localnet_switch_comes_with_its_port_on_chassis_that_bridge_it() {
    let server = Nb::start();
    let nb = server.connect().await;
    let net = network(
        r#"{"name":"phys","topology":"localnet","subnets":"192.168.50.0/24","vlanID":42,
            "physicalNetworkName":"tenant"}"#,
    );
    let (code, msg) = failure(segment::prepare(&nb, &net, &node("n1", &["other"]), None).await);
    assert_eq!(code, 11, "{msg}");
    assert!(msg.contains("tenant") && msg.contains("n1"), "{msg}");

    let seg = segment::prepare(&nb, &net, &node("n1", &["tenant"]), None)
        .await
        .unwrap();
    for i in 0..2 {
        let port = Add::pod(&format!("phys_p{i}"), "n1")
            .run(&nb, &net, &seg)
            .await
            .unwrap();
        // No gateway on localnet: the first host address is a pod's.
        assert_eq!(
            port.addresses[0].to_string(),
            format!("192.168.50.{}/24", i + 1)
        );
    }
    let localnet = common::lsp(&nb, "phys_ovn_localnet_port").await;
    assert_eq!(localnet.str(column::TYPE), Some("localnet"));
    assert_eq!(localnet.i64(column::TAG_REQUEST), Some(42));
    assert_eq!(options(&localnet)["network_name"], "tenant");
    let sw = common::switch(&nb, "phys_ovn_localnet_switch").await;
    assert_eq!(sw.uuids(column::PORTS).len(), 3);
}

#[tokio::test(flavor = "current_thread")]
async fn a_layer2_switch_of_another_network_is_refused_with_code_7() {
    let server = Nb::start();
    let nb = server.connect().await;
    // '-' and '.' both become '.' in OVN names.
    let first = network(r#"{"name":"own-a","role":"primary","subnets":"10.11.0.0/24"}"#);
    let second = network(r#"{"name":"own.a","role":"primary","subnets":"10.12.0.0/24"}"#);
    assert_eq!(layer2(&first).switch.name, layer2(&second).switch.name);
    Add::pod("p1", "n1")
        .run(&nb, &first, &layer2(&first))
        .await
        .unwrap();
    let before = all_rows(&nb, table::LOGICAL_SWITCH).await;
    let (code, msg) = failure(
        Add::pod("p2", "n1")
            .run(&nb, &second, &layer2(&second))
            .await,
    );
    assert_eq!(code, 7, "{msg}");
    assert!(
        msg.contains("\"own-a\"") && msg.contains("\"own.a\""),
        "{msg}"
    );
    assert_eq!(all_rows(&nb, table::LOGICAL_SWITCH).await, before);
    assert!(
        rows_named(&nb, table::LOGICAL_SWITCH_PORT, "p2")
            .await
            .is_empty()
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_layer3_router_or_switch_of_another_network_is_refused_with_code_7() {
    let server = Nb::start();
    let nb = server.connect().await;
    let first = network(r#"{"name":"red-x","topology":"layer3","subnets":"10.20.0.0/16"}"#);
    let second = network(r#"{"name":"red.x","topology":"layer3","subnets":"10.21.0.0/16"}"#);
    let seg = segment::prepare(&nb, &first, &node("n1", &[]), None)
        .await
        .unwrap();
    assert_eq!(seg.subnets[0].cidr.to_string(), "10.20.0.0/24");
    let switches = all_rows(&nb, table::LOGICAL_SWITCH).await;
    let routers = all_rows(&nb, table::LOGICAL_ROUTER).await;
    assert_eq!((switches.len(), routers.len()), (1, 1));

    // Its chassis' switch name is taken by red-x.
    let (code, msg) = failure(segment::prepare(&nb, &second, &node("n1", &[]), None).await);
    assert_eq!(code, 7, "{msg}");
    assert!(msg.contains("red.x_n1"), "{msg}");
    assert!(
        msg.contains("\"red-x\"") && msg.contains("\"red.x\""),
        "{msg}"
    );
    // On a new chassis, the router's name is.
    let (code, msg) = failure(segment::prepare(&nb, &second, &node("n2", &[]), None).await);
    assert_eq!(code, 7, "{msg}");
    assert!(msg.contains("red.x_ovn_cluster_router"), "{msg}");
    assert!(
        msg.contains("\"red-x\"") && msg.contains("\"red.x\""),
        "{msg}"
    );

    assert_eq!(all_rows(&nb, table::LOGICAL_SWITCH).await, switches);
    assert_eq!(all_rows(&nb, table::LOGICAL_ROUTER).await, routers);
    assert_eq!(all_rows(&nb, table::LOGICAL_ROUTER_PORT).await.len(), 1);
}
