//! IPAM against a real NB database: which address each ADD gets, how the
//! port records it, and when there is none to give.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Add, Nb, external_ids, failure, ip, layer2, lsp, network, switch};
use ovn_udn_cni::ovn::port::delete_port;
use ovn_udn_cni::vocabulary::column;

#[tokio::test(flavor = "current_thread")]
async fn successive_adds_take_successive_addresses_recorded_on_the_port() {
    let server = Nb::start();
    let nb = server.connect().await;
    let net = network(r#"{"name":"blue","role":"primary","subnets":"10.1.0.0/24"}"#);
    let seg = layer2(&net);
    let mut got = Vec::new();
    for i in 0..4 {
        let port = Add::pod(&format!("blue_ns_p{i}"), "node1")
            .run(&nb, &net, &seg)
            .await
            .unwrap();
        assert!(port.created);
        got.push(port.addresses[0].to_string());
    }
    // The gateway .1 is never handed out.
    assert_eq!(
        got,
        ["10.1.0.2/24", "10.1.0.3/24", "10.1.0.4/24", "10.1.0.5/24"]
    );

    let row = lsp(&nb, "blue_ns_p1").await;
    let entry = "0a:58:0a:01:00:03 10.1.0.3";
    assert_eq!(row.strings(column::ADDRESSES), [entry]);
    assert_eq!(row.strings(column::PORT_SECURITY), [entry]);
    let ids = external_ids(&row);
    assert_eq!(
        ids.get("k8s.ovn.org/ipam-block.10.1.0.0/26")
            .map(String::as_str),
        Some("true"),
        "{ids:?}"
    );
    assert_eq!(
        ids.get("k8s.ovn.org/network").map(String::as_str),
        Some("blue")
    );

    // One switch, created by the first ADD, with the subnet and all four ports.
    let sw = switch(&nb, "blue_ovn_layer2_switch").await;
    assert_eq!(sw.uuids(column::PORTS).len(), 4);
    assert_eq!(
        sw.map(column::OTHER_CONFIG)
            .get("subnet")
            .map(String::as_str),
        Some("10.1.0.0/24")
    );
    assert_eq!(
        external_ids(&sw)
            .get("k8s.ovn.org/network")
            .map(String::as_str),
        Some("blue")
    );
}

#[tokio::test(flavor = "current_thread")]
async fn exclude_subnets_are_never_handed_out() {
    let server = Nb::start();
    let nb = server.connect().await;
    let net = network(
        r#"{"name":"ex","role":"primary","subnets":"10.1.0.0/24",
            "excludeSubnets":"10.1.0.0/30,10.1.0.5/32"}"#,
    );
    let seg = layer2(&net);
    let mut got = Vec::new();
    for i in 0..3 {
        let port = Add::pod(&format!("ex_p{i}"), "node1")
            .run(&nb, &net, &seg)
            .await
            .unwrap();
        got.push(ip(&port));
    }
    assert_eq!(got, ["10.1.0.4", "10.1.0.6", "10.1.0.7"]);

    // A block excluded whole has no room: the first pod starts in the next.
    let net = network(
        r#"{"name":"exblock","role":"primary","subnets":"10.1.0.0/24",
            "excludeSubnets":"10.1.0.0/26"}"#,
    );
    let port = Add::pod("exblock_p0", "node1")
        .run(&nb, &net, &layer2(&net))
        .await
        .unwrap();
    assert_eq!(ip(&port), "10.1.0.64");
}

#[tokio::test(flavor = "current_thread")]
async fn a_full_subnet_fails_with_102_and_a_freed_address_is_reused() {
    let server = Nb::start();
    let nb = server.connect().await;
    // .0 network, .1 gateway, .7 broadcast: .2 to .6 for pods.
    let net = network(r#"{"name":"tiny","role":"primary","subnets":"10.1.0.0/29"}"#);
    let seg = layer2(&net);
    for i in 2..=6 {
        let port = Add::pod(&format!("tiny_p{i}"), "node1")
            .run(&nb, &net, &seg)
            .await
            .unwrap();
        assert_eq!(ip(&port), format!("10.1.0.{i}"));
        // The block of a subnet smaller than /26 is the subnet.
        let ids = external_ids(&lsp(&nb, &format!("tiny_p{i}")).await);
        assert!(
            ids.contains_key("k8s.ovn.org/ipam-block.10.1.0.0/29"),
            "{ids:?}"
        );
    }
    let (code, msg) = failure(Add::pod("tiny_full", "node1").run(&nb, &net, &seg).await);
    assert_eq!(code, 102, "{msg}");
    assert!(msg.contains("10.1.0.0/29"), "{msg}");
    // Another chassis finds it full too.
    let (code, _) = failure(Add::pod("tiny_full", "node2").run(&nb, &net, &seg).await);
    assert_eq!(code, 102);

    assert!(delete_port(&nb, "tiny_p4", "sb-tiny_p4").await.unwrap());
    let again = Add::pod("tiny_again", "node2")
        .run(&nb, &net, &seg)
        .await
        .unwrap();
    assert_eq!(ip(&again), "10.1.0.4");
    assert_eq!(
        switch(&nb, "tiny_ovn_layer2_switch")
            .await
            .uuids(column::PORTS)
            .len(),
        5
    );
}

#[tokio::test(flavor = "current_thread")]
async fn dual_stack_takes_one_address_per_family_tagged_with_each_block() {
    let server = Nb::start();
    let nb = server.connect().await;
    let net = network(r#"{"name":"ds","role":"primary","subnets":"10.1.0.0/24,fd00:1::/64"}"#);
    let seg = layer2(&net);
    let first = Add::pod("ds_p0", "node1")
        .run(&nb, &net, &seg)
        .await
        .unwrap();
    let second = Add::pod("ds_p1", "node1")
        .run(&nb, &net, &seg)
        .await
        .unwrap();
    let text = |p: &ovn_udn_cni::ovn::port::LogicalPort| -> Vec<String> {
        p.addresses.iter().map(ToString::to_string).collect()
    };
    assert_eq!(text(&first), ["10.1.0.2/24", "fd00:1::2/64"]);
    assert_eq!(text(&second), ["10.1.0.3/24", "fd00:1::3/64"]);
    let row = lsp(&nb, "ds_p1").await;
    assert_eq!(
        row.strings(column::ADDRESSES),
        ["0a:58:0a:01:00:03 10.1.0.3 fd00:1::3"]
    );
    let ids = external_ids(&row);
    assert!(
        ids.contains_key("k8s.ovn.org/ipam-block.10.1.0.0/26"),
        "{ids:?}"
    );
    assert!(
        ids.contains_key("k8s.ovn.org/ipam-block.fd00:1::/120"),
        "{ids:?}"
    );
    let blocks = ids.keys().filter(|k| k.contains("ipam-block")).count();
    assert_eq!(blocks, 2, "{ids:?}");
}

#[tokio::test(flavor = "current_thread")]
async fn a_static_address_in_use_is_102_and_dynamic_ones_skip_statics() {
    let server = Nb::start();
    let nb = server.connect().await;
    let net = network(r#"{"name":"st","role":"primary","subnets":"10.1.0.0/24"}"#);
    let seg = layer2(&net);
    let fixed = Add::pod("st_fixed", "node1")
        .statics(&["10.1.0.2"])
        .run(&nb, &net, &seg)
        .await
        .unwrap();
    assert_eq!(fixed.addresses[0].to_string(), "10.1.0.2/24");
    // A dynamic ADD does not take the static one's address.
    let dynamic = Add::pod("st_dyn", "node1")
        .run(&nb, &net, &seg)
        .await
        .unwrap();
    assert_eq!(ip(&dynamic), "10.1.0.3");
    // Another chassis asking for a taken address, static or dynamic: 102.
    for taken in ["10.1.0.2", "10.1.0.3"] {
        let (code, msg) = failure(
            Add::pod("st_clash", "node2")
                .statics(&[taken])
                .run(&nb, &net, &seg)
                .await,
        );
        assert_eq!(code, 102, "{msg}");
        assert!(
            msg.contains("already in use") && msg.contains(taken),
            "{msg}"
        );
    }
    let far = Add::pod("st_far", "node2")
        .statics(&["10.1.0.200"])
        .run(&nb, &net, &seg)
        .await
        .unwrap();
    assert_eq!(far.addresses[0].to_string(), "10.1.0.200/24");
    let ids = external_ids(&lsp(&nb, "st_far").await);
    assert!(
        ids.contains_key("k8s.ovn.org/ipam-block.10.1.0.192/26"),
        "{ids:?}"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn without_subnets_a_static_address_needs_a_prefix_and_is_unique() {
    let server = Nb::start();
    let nb = server.connect().await;
    let net = network(r#"{"name":"bare"}"#);
    let seg = layer2(&net);
    let (code, msg) = failure(
        Add::pod("bare_p0", "node1")
            .statics(&["10.5.0.5"])
            .run(&nb, &net, &seg)
            .await,
    );
    assert_eq!(code, 102, "{msg}");
    assert!(msg.contains("prefix"), "{msg}");

    let port = Add::pod("bare_p0", "node1")
        .statics(&["10.5.0.5/24"])
        .run(&nb, &net, &seg)
        .await
        .unwrap();
    assert_eq!(port.addresses[0].to_string(), "10.5.0.5/24");
    let row = lsp(&nb, "bare_p0").await;
    assert_eq!(
        row.strings(column::ADDRESSES),
        ["0a:58:0a:05:00:05 10.5.0.5"]
    );
    assert!(external_ids(&row).contains_key("k8s.ovn.org/ipam-block.10.5.0.0/26"));

    let (code, msg) = failure(
        Add::pod("bare_p1", "node2")
            .statics(&["10.5.0.5/24"])
            .run(&nb, &net, &seg)
            .await,
    );
    assert_eq!(code, 102, "{msg}");
    assert!(msg.contains("already in use"), "{msg}");

    // Without subnets and without statics: a port without addresses.
    let none = Add::pod("bare_p2", "node1")
        .run(&nb, &net, &seg)
        .await
        .unwrap();
    assert!(none.addresses.is_empty());
}
