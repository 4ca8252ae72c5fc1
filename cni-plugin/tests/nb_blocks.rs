//! Address blocks against a real NB database: where each chassis takes its
//! addresses, and that an ADD reads only the blocks it takes them from.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Add, Nb, external_ids, ip, layer2, lsp, network};
use conf::Network;
use ovn_udn_cni::topology::Segment;
use ovn_udn_cni::vocabulary::{NB_DB, column, ids, option, table};
use ovsdb::{Client, Operation, Row, Value};

/// The block tag of a port, e.g. `10.2.0.64/26`.
async fn block(nb: &Client, name: &str) -> String {
    let ids = external_ids(&lsp(nb, name).await);
    let tags: Vec<&str> = ids
        .keys()
        .filter_map(|k| k.strip_prefix(ids::BLOCK_PREFIX))
        .collect();
    assert_eq!(tags.len(), 1, "{ids:?}");
    tags[0].to_owned()
}

#[tokio::test(flavor = "current_thread")]
async fn each_chassis_starts_in_the_first_empty_block_and_stays_there() {
    let server = Nb::start();
    let nb = server.connect().await;
    let net = network(r#"{"name":"wide","role":"primary","subnets":"10.2.0.0/16"}"#);
    let seg = layer2(&net);
    let add = |name: &str, chassis: &str| Add::pod(name, chassis);
    let a0 = add("a0", "node-a").run(&nb, &net, &seg).await.unwrap();
    assert_eq!(ip(&a0), "10.2.0.2");
    // Block 0 has a pod (of another chassis): node-b starts in block 1.
    let b0 = add("b0", "node-b").run(&nb, &net, &seg).await.unwrap();
    assert_eq!(ip(&b0), "10.2.0.64");
    assert_eq!(block(&nb, "b0").await, "10.2.0.64/26");
    // Each chassis then stays in its own block.
    let a1 = add("a1", "node-a").run(&nb, &net, &seg).await.unwrap();
    let b1 = add("b1", "node-b").run(&nb, &net, &seg).await.unwrap();
    assert_eq!((ip(&a1), ip(&b1)), ("10.2.0.3".into(), "10.2.0.65".into()));
    let c0 = add("c0", "node-c").run(&nb, &net, &seg).await.unwrap();
    assert_eq!(ip(&c0), "10.2.0.128");

    // node-a fills block 0 (.2 to .63), then moves to the first empty
    // block, not into node-b's or node-c's.
    for i in 4..=63 {
        let port = add(&format!("a-fill{i}"), "node-a")
            .run(&nb, &net, &seg)
            .await
            .unwrap();
        assert_eq!(ip(&port), format!("10.2.0.{i}"));
    }
    let next = add("a-next", "node-a").run(&nb, &net, &seg).await.unwrap();
    assert_eq!(ip(&next), "10.2.0.192");
    assert_eq!(block(&nb, "a-next").await, "10.2.0.192/26");
    // node-b's pods still go to its block.
    let b2 = add("b2", "node-b").run(&nb, &net, &seg).await.unwrap();
    assert_eq!(ip(&b2), "10.2.0.66");
}

#[tokio::test(flavor = "current_thread")]
async fn without_an_empty_block_a_chassis_borrows_from_another() {
    let server = Nb::start();
    let nb = server.connect().await;
    // Four blocks: 10.3.0.0/26, .64/26, .128/26, .192/26.
    let net = network(r#"{"name":"four","role":"primary","subnets":"10.3.0.0/24"}"#);
    let seg = layer2(&net);
    let mut firsts = Vec::new();
    for chassis in ["n1", "n2", "n3", "n4"] {
        let port = Add::pod(&format!("{chassis}-p0"), chassis)
            .run(&nb, &net, &seg)
            .await
            .unwrap();
        firsts.push(ip(&port));
    }
    assert_eq!(
        firsts,
        ["10.3.0.2", "10.3.0.64", "10.3.0.128", "10.3.0.192"]
    );
    // n5 finds no empty block: it borrows the first one with room.
    let borrowed = Add::pod("n5-p0", "n5").run(&nb, &net, &seg).await.unwrap();
    assert_eq!(ip(&borrowed), "10.3.0.3");
    assert_eq!(block(&nb, "n5-p0").await, "10.3.0.0/26");
    // Its next pod prefers that block, now its own too.
    let again = Add::pod("n5-p1", "n5").run(&nb, &net, &seg).await.unwrap();
    assert_eq!(ip(&again), "10.3.0.4");
}

/// Inserts `count` ports of `chassis` of network 10.2.0.0/16, and its
/// switch with them, in one plain transaction: 62 to a block (full) from
/// block `first_block` on, tagged as the plugin tags them.
async fn fill(
    nb: &Client,
    net: &Network,
    seg: &Segment,
    chassis: &str,
    count: usize,
    first_block: usize,
) {
    let per_block = 62;
    let mut ops = Vec::new();
    let mut names = Vec::new();
    for i in 0..count {
        let block = first_block + i / per_block;
        // Block b of a /16 is 10.x.(b/4).(b%4*64); hosts from .2 up.
        let (third, fourth) = (block / 4, block % 4 * 64 + 2 + i % per_block);
        let addr = format!("10.2.{third}.{fourth}");
        let entry = format!("0a:58:0a:02:{third:02x}:{fourth:02x} {addr}");
        let tag = format!("{}10.2.{third}.{}/26", ids::BLOCK_PREFIX, block % 4 * 64);
        let name = format!("filler-{chassis}-{i}");
        let row = Row::new()
            .with(column::NAME, Value::string(&name))
            .with(column::ADDRESSES, Value::string_set([entry.clone()]))
            .with(column::PORT_SECURITY, Value::string_set([entry]))
            .with(
                column::EXTERNAL_IDS,
                Value::string_map([
                    (ids::POD, "true"),
                    (ids::NETWORK, net.id.name.as_str()),
                    (ids::TOPOLOGY, "layer2"),
                    (ids::NAMESPACE, "ns"),
                    (ids::SANDBOX, &format!("{i:064x}")),
                    (ids::POD_IF_NAME, "eth0"),
                    (tag.as_str(), "true"),
                ]),
            )
            .with(
                column::OPTIONS,
                Value::string_map([(option::REQUESTED_CHASSIS, chassis)]),
            );
        let named = format!("p{i}");
        ops.push(Operation::insert_named(
            table::LOGICAL_SWITCH_PORT,
            row,
            &named,
        ));
        names.push(named);
    }
    ops.push(Operation::insert(
        table::LOGICAL_SWITCH,
        Row::new()
            .with(column::NAME, Value::string(&seg.switch.name))
            .with(column::PORTS, Value::named_uuid_set(names))
            .with(
                column::EXTERNAL_IDS,
                Value::string_map(seg.switch.external_ids.clone()),
            )
            .with(
                column::OTHER_CONFIG,
                Value::string_map(seg.switch.other_config.clone()),
            ),
    ));
    nb.transact(NB_DB, &ops).await.unwrap();
}

/// The NB traffic of one ADD on a connection of its own.
async fn traffic_of(
    server: &Nb,
    add: Add,
    net: &Network,
    seg: &Segment,
) -> (ovsdb::Traffic, String) {
    let nb = server.connect().await;
    let before = nb.traffic();
    let port = add.run(&nb, net, seg).await.unwrap();
    let after = nb.traffic();
    let traffic = ovsdb::Traffic {
        bytes_read: after.bytes_read - before.bytes_read,
        bytes_written: after.bytes_written - before.bytes_written,
        requests: after.requests - before.requests,
    };
    (traffic, ip(&port))
}

const NET: &str = r#"{"name":"big","role":"primary","subnets":"10.2.0.0/16"}"#;

/// The NB traffic of the ADD of a chassis' third pod, beside `others`
/// ports of another chassis in the blocks after its own (block 0).
async fn third_add_cost(others: usize) -> ovsdb::Traffic {
    let server = Nb::start();
    let nb = server.connect().await;
    let net = network(NET);
    let seg = layer2(&net);
    if others > 0 {
        fill(&nb, &net, &seg, "busy", others, 1).await;
    }
    for name in ["quiet-0", "quiet-1"] {
        Add::pod(name, "quiet").run(&nb, &net, &seg).await.unwrap();
    }
    let (cost, addr) = traffic_of(&server, Add::pod("quiet-2", "quiet"), &net, &seg).await;
    assert_eq!(addr, "10.2.0.4");
    cost
}

#[tokio::test(flavor = "current_thread")]
async fn an_add_reads_its_own_block_not_the_network() {
    let empty = third_add_cost(0).await;
    let full = third_add_cost(2000).await;
    eprintln!("ADD alone on the network: {empty:?}; beside 2000 other ports: {full:?}");
    assert!(full.bytes_read < 64 * 1024, "{full:?}");
    assert!(
        full.bytes_read < 2 * empty.bytes_read,
        "{full:?} vs {empty:?}"
    );
    assert_eq!(full.requests, empty.requests, "{full:?} vs {empty:?}");
}

/// The NB traffic of a new chassis' first ADD, beside `others` ports of
/// another chassis packed from block 0 up (the usual state of a network).
async fn first_add_cost(others: usize) -> (ovsdb::Traffic, String) {
    let server = Nb::start();
    let nb = server.connect().await;
    let net = network(NET);
    let seg = layer2(&net);
    if others > 0 {
        fill(&nb, &net, &seg, "busy", others, 0).await;
    } else {
        Add::pod("busy-0", "busy")
            .run(&nb, &net, &seg)
            .await
            .unwrap();
    }
    traffic_of(&server, Add::pod("new-0", "new"), &net, &seg).await
}

#[tokio::test(flavor = "current_thread")]
async fn a_new_chassis_finds_an_empty_block_without_reading_the_network() {
    let (small, addr) = first_add_cost(0).await;
    assert_eq!(addr, "10.2.0.64");
    // 2000 ports fill blocks 0 to 31 and part of 32: the first empty is 33.
    let (big, addr) = first_add_cost(2000).await;
    assert_eq!(addr, "10.2.8.64");
    eprintln!("first ADD of a chassis beside 1 port: {small:?}; beside 2000: {big:?}");
    assert!(big.bytes_read < 64 * 1024, "{big:?}");
}
