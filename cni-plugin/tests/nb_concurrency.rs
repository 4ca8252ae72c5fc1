//! Racing writers against a real NB database: many ADDs at once, each on a
//! connection of its own as on many nodes, and the transaction engine that
//! makes the losers read again instead of writing a stale plan.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use common::{Add, Nb, all_rows, failure, ip, layer2, network, race, rows_named, switch};
use ipnet::IpNet;
use ovn_udn_cni::ovn::address_blocks::read_blocks;
use ovn_udn_cni::ovn::ovs::NodeInfo;
use ovn_udn_cni::ovn::segment;
use ovn_udn_cni::ovn::txn::{self, Step};
use ovn_udn_cni::vocabulary::{column, table};
use ovsdb::{Condition, Operation, Row, Value};

#[tokio::test(flavor = "current_thread")]
async fn forty_racing_adds_get_forty_addresses_on_one_switch() {
    let server = Rc::new(Nb::start());
    let net = Rc::new(network(
        r#"{"name":"race","role":"primary","subnets":"10.4.0.0/22"}"#,
    ));
    let jobs = (0..40).map(|i| {
        let (server, net) = (server.clone(), net.clone());
        async move {
            // A connection of its own, as an ADD on its own node.
            let nb = server.connect().await;
            let chassis = format!("node{}", i % 3);
            let port = Add::pod(&format!("race_p{i}"), &chassis)
                .run(&nb, &net, &layer2(&net))
                .await;
            port.unwrap_or_else(|e| panic!("ADD {i} on {chassis} failed: {e}"))
        }
    });
    let mut addresses = BTreeSet::new();
    for port in race(jobs.collect()).await {
        assert!(
            addresses.insert(ip(&port)),
            "{} handed out twice",
            ip(&port)
        );
    }
    assert_eq!(addresses.len(), 40);

    let nb = server.connect().await;
    let sw = switch(&nb, "race_ovn_layer2_switch").await;
    assert_eq!(sw.uuids(column::PORTS).len(), 40);
    assert_eq!(all_rows(&nb, table::LOGICAL_SWITCH).await.len(), 1);
    // The NB record agrees: 40 ports, 40 distinct addresses.
    let ports = all_rows(&nb, table::LOGICAL_SWITCH_PORT).await;
    let recorded: BTreeSet<Vec<String>> =
        ports.iter().map(|p| p.strings(column::ADDRESSES)).collect();
    assert_eq!((ports.len(), recorded.len()), (40, 40));
}

#[tokio::test(flavor = "current_thread")]
async fn nine_racing_first_pods_of_a_layer3_network_make_three_node_switches() {
    let server = Rc::new(Nb::start());
    let net = Rc::new(network(
        r#"{"name":"l3","topology":"layer3","subnets":"10.128.0.0/16/24"}"#,
    ));
    let jobs = (0..9).map(|i| {
        let (server, net) = (server.clone(), net.clone());
        async move {
            let nb = server.connect().await;
            let node = NodeInfo {
                chassis: format!("node{}", i % 3),
                bridge_uuid: String::new(),
                netdev: false,
                bridge_mappings: Vec::new(),
            };
            let seg = segment::prepare(&nb, &net, &node, None).await.unwrap();
            let port = Add::pod(&format!("l3_p{i}"), &node.chassis)
                .run(&nb, &net, &seg)
                .await
                .unwrap();
            (node.chassis, seg.subnets[0].cidr, port.addresses[0])
        }
    });
    let mut subnet_of: BTreeMap<String, IpNet> = BTreeMap::new();
    let mut addresses = BTreeSet::new();
    for (chassis, subnet, address) in race(jobs.collect()).await {
        let known = *subnet_of.entry(chassis.clone()).or_insert(subnet);
        assert_eq!(known, subnet, "{chassis} was given two node subnets");
        assert!(
            subnet.contains(&address.addr()),
            "{address} outside {subnet}"
        );
        assert!(addresses.insert(address.addr()), "{address} twice");
    }
    let subnets: BTreeSet<IpNet> = subnet_of.values().copied().collect();
    assert_eq!(subnets.len(), 3, "{subnet_of:?}");

    let nb = server.connect().await;
    let routers = rows_named(&nb, table::LOGICAL_ROUTER, "l3_ovn_cluster_router").await;
    assert_eq!(routers.len(), 1, "{routers:?}");
    assert_eq!(routers[0].uuids(column::PORTS).len(), 3);
    assert_eq!(all_rows(&nb, table::LOGICAL_ROUTER_PORT).await.len(), 3);
    assert_eq!(all_rows(&nb, table::LOGICAL_SWITCH).await.len(), 3);
    for chassis in ["node0", "node1", "node2"] {
        let sw = switch(&nb, &format!("l3_{chassis}")).await;
        // Three pods and the port to the router.
        assert_eq!(sw.uuids(column::PORTS).len(), 4, "{chassis}");
        assert_eq!(
            sw.map(column::OTHER_CONFIG).get("subnet"),
            Some(&subnet_of[chassis].to_string())
        );
    }
}

#[tokio::test(flavor = "current_thread")]
async fn two_adds_racing_for_the_last_address_one_wins_one_gets_102() {
    let server = Nb::start();
    let mut raced = 0;
    for round in 0..20 {
        // A /30 of a primary network holds one pod address: .2.
        let net = network(&format!(
            r#"{{"name":"last{round}","role":"primary","subnets":"10.9.{round}.0/30"}}"#
        ));
        let seg = layer2(&net);
        let (a, b) = (server.connect().await, server.connect().await);
        let add_a = Add::pod(&format!("last{round}_a"), "node-a");
        let add_b = Add::pod(&format!("last{round}_b"), "node-b");
        let (ra, rb) = tokio::join!(add_a.run(&a, &net, &seg), add_b.run(&b, &net, &seg));
        let (won, lost, loser) = match (ra, rb) {
            (Ok(port), Err(e)) => (port, e, &b),
            (Err(e), Ok(port)) => (port, e, &a),
            (ra, rb) => panic!("round {round}: expected one winner, got {ra:?} and {rb:?}"),
        };
        assert_eq!(ip(&won), format!("10.9.{round}.2"));
        assert_eq!(lost.code(), 102, "{lost}");
        assert!(
            lost.to_string().contains(&format!("10.9.{round}.0/30")),
            "{lost}"
        );
        // A loser that read before the winner wrote also wrote, conflicted
        // and read again: more than the two reads of a plain refusal.
        if loser.traffic().requests > 2 {
            raced += 1;
        }
        let switches = rows_named(&a, table::LOGICAL_SWITCH, &seg.switch.name).await;
        assert_eq!(switches.len(), 1, "round {round}");
        assert_eq!(switches[0].uuids(column::PORTS).len(), 1, "round {round}");
    }
    eprintln!("{raced} of 20 rounds raced");
    assert!(
        raced > 0,
        "no round raced: the test never reached the engine's retry"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_write_planned_on_a_stale_snapshot_is_retried_on_a_fresh_one() {
    let server = Nb::start();
    let (nb, other) = (server.connect().await, server.connect().await);
    let net = network(r#"{"name":"eng","role":"primary","subnets":"10.6.0.0/24"}"#);
    let seg = layer2(&net);
    Add::pod("eng_p0", "n1").run(&nb, &net, &seg).await.unwrap();
    let block: IpNet = "10.6.0.0/26".parse().unwrap();
    let attempts = Cell::new(0);
    let committed = txn::optimistic(&nb, "test write", |attempt| {
        attempts.set(attempt + 1);
        let (nb, other, net, seg) = (&nb, &other, &net, &seg);
        async move {
            let read = read_blocks(nb, "eng", &[block]).await?;
            if attempt == 0 {
                // Another writer takes an address of the block between this
                // read and its write.
                Add::pod("eng_intruder", "n1").run(other, net, seg).await?;
            }
            let seen: BTreeSet<String> =
                read[0].used(None).iter().map(ToString::to_string).collect();
            Ok(Step::Write(vec![read[0].wait("eng")], seen))
        }
    })
    .await
    .unwrap();
    assert_eq!(attempts.get(), 2, "the stale write must conflict once");
    assert_eq!(
        committed.outcome,
        BTreeSet::from(["10.6.0.2".to_owned(), "10.6.0.3".to_owned()]),
        "the committed plan saw the intruder"
    );

    // Any other error ends the transaction at once (no retry), as code 103.
    let attempts = Cell::new(0);
    let result = txn::optimistic(&nb, "bad write", |_| {
        attempts.set(attempts.get() + 1);
        async {
            let bad = Operation::update(
                table::LOGICAL_SWITCH,
                vec![Condition::eq(column::NAME, Value::string("x"))],
                Row::new().with("no_such_column", Value::string("y")),
            );
            Ok(Step::Write(vec![bad], ()))
        }
    })
    .await;
    let (code, msg) = failure(result);
    assert_eq!((code, attempts.get()), (103, 1), "{msg}");
    assert!(msg.contains("bad write"), "{msg}");
}
