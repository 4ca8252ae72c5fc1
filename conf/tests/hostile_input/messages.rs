//! Messages stay bounded whatever the tenant writes: an error goes back to
//! the runtime (and `kubectl describe`) and into the node's log, so a
//! megabyte value must not become a megabyte message. Tenant text is quoted
//! through `conf::shown`, which cuts it at 64 characters.

use conf::{ConfError, NODE_KEYS, NetConf, Network, NetworkId};
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Map, Value as Json, json};

use super::strategies::{base, key, long_text};
use super::{NETWORK_KEYS, config, named_key, top_key};

/// One mebibyte of tenant text.
fn megabyte() -> String {
    "x".repeat(1 << 20)
}

/// `{"name": "n", key: value}` refused by `Network::from_conf` naming
/// `key`, in a bounded message (checked by `named_key`).
fn refused(key: &str, value: Json) -> ConfError {
    let mut object = Map::new();
    object.insert("name".into(), json!("n"));
    // Only a primary network reads its join subnet.
    object.insert("role".into(), json!("primary"));
    object.insert(key.into(), value);
    let conf = NetConf::from_slice(&serde_json::to_vec(&object).unwrap()).expect("object");
    let err = Network::from_conf(&conf).expect_err(key);
    let named = named_key(&err).expect("names a key");
    assert_eq!(top_key(&named), key, "{err}");
    err
}

/// Keys read as text and checked by a rule quote the text through
/// `shown`; a value of the wrong shape is described, not quoted.
#[test]
fn megabyte_text_in_text_keys_gives_bounded_messages() {
    let huge = megabyte();
    for key in ["name", "type", "topology", "role", "netAttachDefName"] {
        refused(key, json!(huge));
    }
    refused("physicalNetworkName", json!(format!("{huge}:x")));
    refused("ipam", json!({"type": format!("{huge}/")}));
    refused("dns", json!({"nameservers": [huge]}));
    // 64 KiB is as telling as a megabyte against a 2 KiB bound, and fast.
    let large = "x".repeat(64 << 10);
    for key in NODE_KEYS {
        refused(key, json!(large));
    }
    for key in NETWORK_KEYS.iter().filter(|k| **k != "name") {
        refused(key, json!([large, {large.clone(): large}]));
    }
}

/// A string where a number, a boolean or a list belongs.
#[test]
fn megabyte_text_in_typed_keys_gives_bounded_messages() {
    let huge = megabyte();
    for key in ["mtu", "vlanID", "allowPersistentIPs"] {
        refused(key, json!(huge));
    }
    refused("dns", json!({"nameservers": huge}));
    // DEL reads allowPersistentIPs too.
    let conf = NetConf::from_slice(
        &serde_json::to_vec(&json!({"name": "n", "allowPersistentIPs": huge})).unwrap(),
    )
    .expect("object");
    named_key(&NetworkId::from_conf(&conf).expect_err("a string is no boolean"));
}

/// A CIDR list whose item is a megabyte of text.
#[test]
fn megabyte_cidrs_give_bounded_messages() {
    let huge = megabyte();
    refused("subnets", json!(huge));
    refused("subnets", json!(format!("10.100.0.0/16,{huge}")));
    refused("subnets", json!(format!("10.100.0.0/16/{huge}")));
    refused("excludeSubnets", json!(huge));
}

proptest! {
    #![proptest_config(config!(24, "messages"))]

    /// A huge value in any key of a valid config, bare or inside the shapes
    /// the parser walks into, gives a bounded message, from ADD and DEL.
    #[test]
    fn huge_values_give_bounded_messages(
        object in base(),
        key in prop_oneof![select(&NETWORK_KEYS[..]).prop_map(String::from), key()],
        long in long_text(),
        shape in 0usize..5,
    ) {
        let value = match shape {
            0 => json!(long),
            1 => json!([long]),
            2 => json!({"type": long, "nameservers": [long], "ips": [long], "cni": {"ips": long}}),
            3 => json!({long.clone(): long}),
            _ => json!(format!("10.100.0.0/16,{long}")),
        };
        let mut object = object;
        object.insert(key, value);
        let conf = NetConf::from_slice(&serde_json::to_vec(&object).unwrap()).expect("object");
        if let Err(err) = Network::from_conf(&conf) {
            prop_assert!(named_key(&err).is_some());
        }
        if let Err(err) = NetworkId::from_conf(&conf) {
            prop_assert!(named_key(&err).is_some());
        }
    }
}
