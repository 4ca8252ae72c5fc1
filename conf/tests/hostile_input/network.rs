//! `NetConf`, `Network` and `NetworkId` on arbitrary bytes, arbitrary JSON
//! and near-valid configs.

use conf::{ConfError, MAX_CONFIG_BYTES, NODE_KEYS, NetConf, Network, NetworkId};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{Map, Value as Json, json};

use super::strategies::{self, base, json, near_valid, object};
use super::{NETWORK_KEYS, check_network, config, named_key, top_key};

/// Parses `object` as stdin bytes; an object always decodes.
fn netconf(object: &Map<String, Json>) -> NetConf {
    NetConf::from_slice(&serde_json::to_vec(object).unwrap()).expect("an object decodes")
}

/// The keys an error may name when `replaced` was changed in a valid
/// config: the key itself, or one whose value is only valid together
/// with it.
fn may_name(replaced: &str) -> &'static [&'static str] {
    match replaced {
        "topology" => &["role", "subnets", "vlanID", "allowPersistentIPs"],
        "subnets" => &["excludeSubnets", "joinSubnet"],
        "role" => &["joinSubnet"],
        _ => &[],
    }
}

/// What `Network::from_conf` makes of `conf`: an accepted network keeps
/// every invariant, a refusal names a key of the network config.
fn validate(conf: &NetConf) -> Result<Network, ConfError> {
    let outcome = Network::from_conf(conf);
    match &outcome {
        Ok(network) => check_network(network, conf),
        Err(err) => {
            let key = named_key(err).expect("a parsed config is refused for a key");
            let top = top_key(&key);
            assert!(
                NETWORK_KEYS.contains(&top) || NODE_KEYS.contains(&top),
                "{top} is no key of a network config: {err}"
            );
            if let ConfError::Decode { .. } = err {
                assert!(conf.raw(top).is_some(), "decode error on absent {top}");
            }
        }
    }
    outcome
}

/// Stdin bytes: arbitrary, or a serialised config with a few bytes
/// overwritten and maybe cut short.
fn stdin_bytes() -> impl Strategy<Value = Vec<u8>> {
    let mangled = (
        object(),
        vec((any::<Index>(), any::<u8>()), 0..4),
        proptest::option::of(any::<Index>()),
    )
        .prop_map(|(object, edits, cut)| {
            let mut bytes = serde_json::to_vec(&object).unwrap();
            if !bytes.is_empty() {
                for (at, byte) in edits {
                    let at = at.index(bytes.len());
                    bytes[at] = byte;
                }
            }
            if let Some(cut) = cut {
                bytes.truncate(cut.index(bytes.len() + 1));
            }
            bytes
        });
    prop_oneof![vec(any::<u8>(), 0..256), mangled]
}

proptest! {
    #![proptest_config(config!(256, "network"))]

    /// Any bytes give a config or a whole-document decode error.
    #[test]
    fn any_bytes_decode_or_fail_as_a_whole(bytes in stdin_bytes()) {
        match NetConf::from_slice(&bytes) {
            Ok(conf) => {
                prop_assert!(matches!(
                    serde_json::from_slice::<Json>(&bytes),
                    Ok(Json::Object(_))
                ));
                let _ = validate(&conf);
                let _ = NetworkId::from_conf(&conf);
            }
            Err(err) => prop_assert_eq!(named_key(&err), None, "{}", err),
        }
    }

    /// Any JSON value decodes exactly when it is an object.
    #[test]
    fn only_objects_decode(value in json()) {
        let outcome = NetConf::from_slice(&serde_json::to_vec(&value).unwrap());
        match outcome {
            Ok(conf) => {
                prop_assert!(value.is_object());
                let _ = validate(&conf);
            }
            Err(err) => {
                prop_assert!(!value.is_object(), "{}", err);
                prop_assert_eq!(named_key(&err), None, "{}", err);
            }
        }
    }

    /// An object of any keys and values is accepted with every invariant
    /// kept, or refused naming one of its keys.
    #[test]
    fn any_object_is_validated_or_refused_by_key(object in object()) {
        let conf = netconf(&object);
        let _ = validate(&conf);
        if let Err(err) = NetworkId::from_conf(&conf) {
            let key = named_key(&err).expect("identity errors name a key");
            prop_assert!(
                ["name", "netAttachDefName", "allowPersistentIPs"].contains(&key.as_str()),
                "{}",
                err
            );
        }
    }

    /// The generator's valid configs are valid.
    #[test]
    fn the_base_configs_are_accepted(object in base()) {
        let conf = netconf(&object);
        prop_assert!(validate(&conf).is_ok(), "{:?}", Network::from_conf(&conf).err());
    }

    /// One key of a valid config replaced by anything: accepted, or refused
    /// naming that key (or a key only valid together with it); a key the
    /// network does not read never matters, a node setting always does,
    /// and the identity (all DEL reads) survives any key but its own.
    #[test]
    fn one_bad_key_is_the_key_named((object, replaced, value) in near_valid()) {
        let conf = netconf(&object);
        let outcome = validate(&conf);
        let is_node_key = NODE_KEYS.contains(&replaced.as_str());
        if is_node_key && value.is_some() {
            match &outcome {
                Err(ConfError::NodeSetting(key)) => prop_assert_eq!(key, &replaced),
                other => prop_assert!(false, "node setting {} gave {:?}", replaced, other),
            }
        } else if !NETWORK_KEYS.contains(&replaced.as_str()) {
            prop_assert!(outcome.is_ok(), "unread {} refused: {:?}", replaced, outcome.err());
        } else if let Err(err) = &outcome {
            let key = named_key(err).expect("named");
            let top = top_key(&key);
            let allowed = top == replaced
                || (!matches!(err, ConfError::Decode { .. }) && may_name(&replaced).contains(&top));
            prop_assert!(allowed, "{} replaced by {:?}, but: {}", replaced, value, err);
        }
        let identity_keys = ["name", "netAttachDefName", "allowPersistentIPs"];
        if !identity_keys.contains(&replaced.as_str()) {
            let id = NetworkId::from_conf(&conf);
            prop_assert!(id.is_ok(), "{} blocks the identity: {:?}", replaced, id.err());
        }
    }

    /// A node setting, whatever its value and whatever else the config
    /// holds, is refused naming a node key the config has.
    #[test]
    fn node_settings_are_always_refused(
        mut object in object(),
        node_key in proptest::sample::select(&NODE_KEYS[..]),
        value in json(),
    ) {
        object.insert(node_key.to_owned(), value);
        let conf = netconf(&object);
        match Network::from_conf(&conf) {
            Err(ConfError::NodeSetting(key)) => {
                prop_assert!(object.contains_key(&key), "{} not in the config", key);
                let present: Vec<&&str> =
                    NODE_KEYS.iter().filter(|k| object.contains_key(**k)).collect();
                if present.len() == 1 {
                    prop_assert_eq!(key.as_str(), node_key);
                }
            }
            other => prop_assert!(false, "{} gave {:?}", node_key, other),
        }
    }

    /// Valid identity keys give the identity, whatever garbage every other
    /// key holds: DEL is never blocked by keys only ADD reads.
    #[test]
    fn the_identity_survives_garbage_elsewhere(
        mut object in object(),
        name in "[a-zA-Z0-9][a-zA-Z0-9_.-]{0,40}",
        nad in proptest::option::of(nad_name()),
        persistent in proptest::option::of(any::<bool>()),
    ) {
        object.insert("name".into(), json!(name));
        match &nad {
            Some(nad) => object.insert("netAttachDefName".into(), json!(nad)),
            None => object.remove("netAttachDefName"),
        };
        match persistent {
            Some(p) => object.insert("allowPersistentIPs".into(), json!(p)),
            None => object.remove("allowPersistentIPs"),
        };
        let id = NetworkId::from_conf(&netconf(&object)).expect("identity");
        prop_assert_eq!(id.name, name);
        prop_assert_eq!(id.nad, nad);
        prop_assert_eq!(id.allow_persistent_ips, persistent.unwrap_or(false));
    }
}

proptest! {
    #![proptest_config(config!(256, "network"))]

    /// `get_at` names the path it walked (`args.cni`), or the full path and
    /// the index inside the value (`args.cni.ips[1]`); `has` and `raw`
    /// treat null as absent.
    #[test]
    fn lookups_name_the_path_walked(
        object in object(),
        // The crates only look up literal, non-empty keys.
        path in vec(strategies::key().prop_filter("a key", |k| !k.is_empty()), 1..4),
        nested in json(),
    ) {
        let mut object = object;
        // Half the time, make the path lead somewhere.
        if nested.is_object() {
            let mut value = nested;
            for key in path.iter().skip(1).rev() {
                value = json!({key.clone(): value});
            }
            object.insert(path[0].clone(), value);
        }
        let bytes = serde_json::to_vec(&object).unwrap();
        let conf = NetConf::from_slice(&bytes).expect("an object decodes");
        // What the plugin sees: floats need not survive a round trip.
        let object: Map<String, Json> = serde_json::from_slice(&bytes).unwrap();
        let keys: Vec<&str> = path.iter().map(String::as_str).collect();
        let full = keys.join(".");
        for outcome in [
            conf.get_at::<Vec<String>>(&keys).map(drop),
            conf.get_at::<u16>(&keys).map(drop),
            conf.get_at::<String>(&keys).map(drop),
        ] {
            match outcome {
                Ok(()) => {}
                Err(ConfError::Decode { path, reason }) => {
                    let inside = path == full || path.starts_with(&format!("{full}["));
                    let walked = !path.is_empty() && full.starts_with(&path);
                    prop_assert!(inside || walked, "{} for {}: {}", path, full, reason);
                }
                Err(other) => prop_assert!(false, "{:?}", other),
            }
        }
        for (key, value) in &object {
            prop_assert_eq!(conf.has(key), !value.is_null());
            prop_assert_eq!(conf.raw(key), Some(value).filter(|v| !v.is_null()));
        }
    }
}

/// A NetworkAttachmentDefinition name: a namespace label and a subdomain.
fn nad_name() -> impl Strategy<Value = String> {
    let label = "[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?";
    (label, vec(label, 1..4)).prop_map(|(ns, parts)| format!("{ns}/{}", parts.join(".")))
}

/// serde_json stops at depth 128: nesting far deeper is a decode error of
/// the whole document, not a stack overflow, at the top and inside a key.
#[test]
fn deep_nesting_is_refused_without_overflow() {
    for depth in [129, 10_000, 1_000_000] {
        for doc in [
            "[".repeat(depth),
            format!("{}{}", "[".repeat(depth), "]".repeat(depth)),
            format!("{}1{}", r#"{"a":"#.repeat(depth), "}".repeat(depth)),
            format!(r#"{{"name":"n","subnets":{}"#, "[".repeat(depth)),
        ] {
            let err = NetConf::from_slice(doc.as_bytes()).expect_err("too deep");
            assert_eq!(named_key(&err), None, "{err}");
        }
    }
    // Within the limit, a deep value is a plain decode error of its key.
    let deep = format!(
        r#"{{"name":"n","subnets":{}1{}}}"#,
        "[".repeat(100),
        "]".repeat(100)
    );
    let conf = NetConf::from_slice(deep.as_bytes()).expect("within the limit");
    let err = Network::from_conf(&conf).expect_err("an array is no subnet list");
    assert_eq!(named_key(&err).as_deref(), Some("subnets"), "{err}");
}

/// Larger than the limit is refused before parsing, naming the size.
#[test]
fn oversized_stdin_is_refused_whole() {
    let mut bytes = br#"{"name":"n","x":""#.to_vec();
    bytes.resize(MAX_CONFIG_BYTES + 1, b'x');
    let err = NetConf::from_slice(&bytes).expect_err("too big");
    assert_eq!(named_key(&err), None);
    assert!(err.to_string().contains("limit"), "{err}");
}

proptest! {
    #![proptest_config(config!(64, "network"))]

    /// On layer3 each node takes a share of the subnet: the share's prefix
    /// (given, or the default /24 or /64) lies between the subnet's and the
    /// longest a pod can live in, or the subnet is refused.
    #[test]
    fn layer3_host_prefixes_fit_their_subnet(
        v6 in any::<bool>(),
        prefix in 8u8..=126,
        host in proptest::option::of(8u8..=128),
    ) {
        let (net, prefix) = if v6 { ("fd00::", prefix) } else { ("10.0.0.0", prefix % 23 + 8) };
        let subnets = match host {
            Some(host) => format!("{net}/{prefix}/{host}"),
            None => format!("{net}/{prefix}"),
        };
        let object = json!({"name": "n", "topology": "layer3", "subnets": subnets});
        let conf = netconf(object.as_object().unwrap());
        match Network::from_conf(&conf) {
            Ok(network) => {
                let longest = if v6 { 126 } else { 30 };
                let share = network.subnets[0].host_prefix;
                prop_assert!(
                    share.is_some_and(|h| (prefix..=longest).contains(&h)),
                    "{} accepted with host prefix {:?}", subnets, share
                );
            }
            Err(err) => prop_assert_eq!(named_key(&err), Some("subnets".to_owned())),
        }
    }
}

/// `ipam.type` names a plugin binary in CNI_PATH: an empty name is none.
#[test]
fn ipam_type_names_a_file() {
    let conf = NetConf::from_slice(br#"{"name":"n","ipam":{"type":""}}"#).expect("object");
    let err = Network::from_conf(&conf).expect_err("an empty plugin name");
    assert_eq!(named_key(&err).as_deref(), Some("ipam.type"), "{err}");
}
