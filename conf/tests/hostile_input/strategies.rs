//! Generators of hostile network configs: arbitrary JSON, steered towards
//! the words the parser branches on, and near-valid configs (a valid base
//! with one key replaced) that get past the first checks.

use conf::NODE_KEYS;
use proptest::collection::{btree_map, vec};
use proptest::option;
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Map, Value as Json, json};

use super::NETWORK_KEYS;

/// Texts the parser branches on: topologies, roles, plugin types, CIDRs
/// valid, special or malformed, NAD names, keys.
const WORDS: &[&str] = &[
    "",
    "n",
    "layer2",
    "layer3",
    "localnet",
    "primary",
    "secondary",
    "ovn-udn-cni",
    "ovn-k8s-cni-overlay",
    "host-local",
    "1.1.0",
    "0.3.1",
    "10.100.0.0/16",
    "10.100.0.0/24",
    "10.100.0.0/30",
    "10.100.0.0/31",
    "10.100.0.0/16/24",
    "10.100.0.0/16/31",
    "10.100.0.0/16,fd00:10::/48",
    "10.100.0.0/16,10.100.1.0/24",
    "10.100.0.1/24",
    "fd00:10::/48",
    "fd00:10::/64/127",
    "0.0.0.0/0",
    "127.0.0.0/8",
    "224.0.0.0/4",
    "169.254.0.0/16",
    "255.255.255.255/32",
    "::/0",
    "fe80::/64",
    "ff02::/16",
    "::ffff:10.0.0.0/120",
    "10.100.0.5",
    "ns1/net-a",
    "../..",
    "a//b",
    "a:b",
    ",",
    "/",
    "name",
    "subnets",
    "nameservers",
    "type",
    "ips",
    "cni",
];

/// A word the parser looks for, any text, or text of the characters that
/// separate list items, prefixes and name parts.
pub fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        select(WORDS).prop_map(String::from),
        any::<String>(),
        "[a-z0-9./:, \\-\n\r\t]{0,12}",
    ]
}

/// Text far longer than any valid value: a piece repeated up to ~300 KB.
pub fn long_text() -> impl Strategy<Value = String> {
    (text(), 1_000usize..20_000).prop_map(|(piece, times)| {
        let piece = if piece.is_empty() { "x".into() } else { piece };
        piece.repeat(times.min(300_000 / piece.len().max(1)).max(1))
    })
}

/// Any JSON number, around the limits the parser checks as well.
fn number() -> impl Strategy<Value = Json> {
    prop_oneof![
        select(&[0i64, -1, 1, 575, 576, 1279, 1280, 4094, 4095, 65535, 65536][..])
            .prop_map(Json::from),
        any::<i64>().prop_map(Json::from),
        any::<u64>().prop_map(Json::from),
        any::<f64>().prop_map(Json::from),
    ]
}

/// Any JSON value a few levels deep, objects keyed by the config's keys
/// as often as by arbitrary text.
pub fn json() -> impl Strategy<Value = Json> {
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::from),
        number(),
        text().prop_map(Json::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Json::Array),
            btree_map(key(), inner, 0..6).prop_map(|m| Json::Object(m.into_iter().collect())),
        ]
    })
}

/// Keys of the CNI spec (and the runtime) that `Network::from_conf` does
/// not read.
const UNREAD_KEYS: [&str; 5] = [
    "cniVersion",
    "runtimeConfig",
    "args",
    "prevResult",
    "capabilities",
];

/// Every key a network config may hold, node settings and keys nobody
/// reads included: built from the lists the parser's tests keep, so a new
/// key is never left out here.
fn keys() -> Vec<&'static str> {
    [&NETWORK_KEYS[..], &UNREAD_KEYS[..], &NODE_KEYS[..]].concat()
}

/// A config key, or any text.
pub fn key() -> impl Strategy<Value = String> {
    prop_oneof![select(keys()).prop_map(String::from), text()]
}

/// A JSON object of arbitrary keys and values: a config of any shape.
pub fn object() -> impl Strategy<Value = Map<String, Json>> {
    btree_map(key(), json(), 0..10).prop_map(|m| m.into_iter().collect())
}

/// A valid config of any topology and role, with or without the optional
/// keys, that `Network::from_conf` must accept.
pub fn base() -> impl Strategy<Value = Map<String, Json>> {
    let topology = select(&["layer2", "layer3", "localnet"][..]);
    let subnets = select(
        &[
            "10.100.0.0/16",
            "fd00:10::/48",
            "10.100.0.0/16,fd00:10::/48",
        ][..],
    );
    (
        topology,
        any::<bool>(),
        subnets,
        option::of(select(&[1300u32, 1400, 9000][..])),
        any::<[bool; 6]>(),
    )
        .prop_map(|(topology, primary, subnets, mtu, flags)| {
            let role = if primary && topology != "localnet" {
                "primary"
            } else {
                "secondary"
            };
            let mut conf = json!({
                "cniVersion": "1.1.0",
                "name": "tenant-blue",
                "type": "ovn-k8s-cni-overlay",
                "topology": topology,
                "role": role,
                "subnets": subnets,
            });
            if let Some(mtu) = mtu {
                conf["mtu"] = json!(mtu);
            }
            if flags[0] {
                conf["netAttachDefName"] = json!("blue/tenant-blue");
            }
            if flags[1] {
                conf["physicalNetworkName"] = json!("physnet");
            }
            if flags[2] {
                conf["dns"] = json!({"nameservers": ["10.100.0.10", " fd00:10::a "]});
            }
            if flags[3] && subnets.starts_with("10.") {
                conf["excludeSubnets"] = json!("10.100.0.0/29");
            }
            if flags[4] && topology == "localnet" {
                conf["vlanID"] = json!(100);
            }
            if flags[5] && topology != "layer3" {
                conf["allowPersistentIPs"] = json!(true);
            }
            match conf {
                Json::Object(object) => object,
                _ => unreachable!("built as an object"),
            }
        })
}

/// A replacement value: any JSON, any text, or a huge text.
pub fn replacement() -> impl Strategy<Value = Json> {
    prop_oneof![
        4 => json(),
        4 => text().prop_map(Json::from),
        1 => Just(Json::Null),
    ]
}

/// A near-valid config: a valid base with key `.1` set to `.2` (or
/// removed when `.2` is `None`).
pub fn near_valid() -> impl Strategy<Value = (Map<String, Json>, String, Option<Json>)> {
    let key = prop_oneof![
        3 => select(&NETWORK_KEYS[..]).prop_map(String::from),
        1 => key(),
    ];
    (base(), key, option::weighted(0.9, replacement())).prop_map(|(mut conf, key, value)| {
        match &value {
            Some(value) => conf.insert(key.clone(), value.clone()),
            None => conf.remove(&key),
        };
        (conf, key, value)
    })
}
