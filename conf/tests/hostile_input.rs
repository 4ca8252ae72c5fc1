//! The network config is tenant input: whoever may write a
//! NetworkAttachmentDefinition writes it. Property tests throw arbitrary
//! bytes, arbitrary JSON and near-valid configs at the parser through the
//! crate's public API, and a committed corpus of hostile configs
//! (`tests/corpus/`, see its README) pins known attacks. Every input must
//! give a value that keeps the invariants below, or an error naming the key
//! at fault in a bounded message; nothing may panic.
//!
//! Proptest keeps the seeds of failing cases in
//! `conf/proptest-regressions/hostile_input/<module>.txt` (the layout of
//! `ovsdb/proptest-regressions/`), replayed first on later runs; commit
//! them with the fix.

#![allow(clippy::unwrap_used)]

#[path = "hostile_input/corpus.rs"]
mod corpus;
#[path = "hostile_input/messages.rs"]
mod messages;
#[path = "hostile_input/network.rs"]
mod network;
#[path = "hostile_input/node.rs"]
mod node;
#[path = "hostile_input/pieces.rs"]
mod pieces;
#[path = "hostile_input/strategies.rs"]
mod strategies;

use std::net::IpAddr;

use conf::{ConfError, NODE_KEYS, NetConf, Network, NetworkId, Topology, name_rules};
use ipnet::IpNet;

/// A proptest config with `cases` cases whose failures are saved in
/// `conf/proptest-regressions/hostile_input/<file>.txt`. Integration tests
/// have no `lib.rs` or `main.rs` above them, so proptest's default
/// (`SourceParallel`) would fall back to a file next to the source: the
/// path is spelled out instead.
macro_rules! config {
    ($cases:expr, $file:literal) => {
        proptest::test_runner::Config {
            cases: $cases,
            failure_persistence: Some(Box::new(
                proptest::test_runner::FileFailurePersistence::Direct(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/proptest-regressions/hostile_input/",
                    $file,
                    ".txt"
                )),
            )),
            ..proptest::test_runner::Config::default()
        }
    };
}
pub(crate) use config;

/// Longest message an error may have, whatever the input: tenant text is
/// quoted through `conf::shown`, which cuts it at 64 characters.
const MAX_MESSAGE: usize = 2048;

/// Top-level keys `Network::from_conf` reads, and so may name.
const NETWORK_KEYS: [&str; 14] = [
    "name",
    "joinSubnet",
    "type",
    "topology",
    "role",
    "subnets",
    "excludeSubnets",
    "mtu",
    "vlanID",
    "netAttachDefName",
    "allowPersistentIPs",
    "physicalNetworkName",
    "dns",
    "ipam",
];

/// The top-level key a key path (`runtimeConfig.ips[1]`) starts with.
fn top_key(path: &str) -> &str {
    path.split(['.', '[']).next().unwrap_or(path)
}

/// The key (or key path) an error names; `None` for a whole-document
/// decode error. Checks that the message is bounded and quotes the key.
fn named_key(err: &ConfError) -> Option<String> {
    let message = err.to_string();
    assert!(
        message.len() < MAX_MESSAGE,
        "{} byte message: {}...",
        message.len(),
        message.chars().take(200).collect::<String>()
    );
    let key = match err {
        ConfError::Decode { path, .. } if path.is_empty() => return None,
        ConfError::Decode { path, .. } => path.clone(),
        ConfError::Missing(key) => (*key).to_owned(),
        ConfError::Invalid { field, .. } => field.clone(),
        ConfError::NodeSetting(key) => key.clone(),
        ConfError::Node { .. } | ConfError::NodeKey { .. } => {
            panic!("a node config error from a network config: {err}")
        }
    };
    assert!(
        message.contains(&format!("`{key}`")),
        "the message does not quote {key}: {message}"
    );
    Some(key)
}

/// Everything an accepted network promises the verbs.
fn check_network(network: &Network, conf: &NetConf) {
    assert!(
        NODE_KEYS.iter().all(|key| conf.raw(key).is_none()),
        "accepted with a node setting"
    );
    assert_eq!(
        NetworkId::from_conf(conf).expect("an accepted network has an identity"),
        network.id
    );
    name_rules::network_name(&network.id.name).expect("name");
    if let Some(nad) = &network.id.nad {
        name_rules::nad_name(nad).expect("netAttachDefName");
    }
    if conf.has("physicalNetworkName") {
        name_rules::physical_network(&network.physical_network_name).expect("physicalNetworkName");
    } else {
        assert_eq!(network.physical_network_name, network.id.name);
    }
    for (i, subnet) in network.subnets.iter().enumerate() {
        let cidr = subnet.cidr;
        assert!(conf::special_range(cidr).is_none(), "{cidr} is special");
        assert_eq!(cidr.trunc(), cidr, "{cidr} has host bits");
        let longest = match cidr {
            IpNet::V4(_) => 30,
            IpNet::V6(_) => 126,
        };
        assert!(cidr.prefix_len() <= longest, "{cidr} is too small");
        match (network.topology, subnet.host_prefix) {
            (Topology::Layer3, Some(host)) => assert!(
                (cidr.prefix_len()..=longest).contains(&host),
                "host prefix /{host} does not fit {cidr}"
            ),
            (Topology::Layer3, None) => panic!("layer3 {cidr} without host prefix"),
            (_, Some(host)) => panic!("host prefix /{host} on {cidr} outside layer3"),
            (_, None) => {}
        }
        for other in &network.subnets[i + 1..] {
            assert!(!conf::overlaps(cidr, other.cidr), "{cidr} overlaps");
        }
    }
    for exclude in &network.exclude_subnets {
        assert!(
            network.subnets.iter().any(|s| s.cidr.contains(exclude)),
            "exclude {exclude} outside the subnets"
        );
    }
    let has_v6 = network.subnets.iter().any(|s| s.cidr.addr().is_ipv6());
    let min_mtu = if has_v6 { 1280 } else { 576 };
    assert!(
        (min_mtu..=65535).contains(&network.mtu),
        "mtu {}",
        network.mtu
    );
    if let Some(vlan) = network.vlan_id {
        assert!((1..=4094).contains(&vlan), "vlan {vlan}");
        assert_eq!(
            network.topology,
            Topology::Localnet,
            "vlan outside localnet"
        );
    }
    if network.topology == Topology::Localnet {
        assert_eq!(network.role, conf::Role::Secondary, "primary localnet");
    }
    if network.topology == Topology::Layer3 {
        assert!(!network.subnets.is_empty(), "layer3 without subnets");
        assert!(!network.id.allow_persistent_ips, "layer3 persistent IPs");
    }
    if let Some(plugin) = &network.ipam_plugin {
        assert!(network.subnets.is_empty(), "ipam and subnets");
        assert!(
            !plugin.is_empty()
                && !plugin.starts_with('.')
                && plugin.len() <= 255
                && plugin
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c)),
            "ipam plugin {plugin:?}"
        );
    }
    let servers: Option<Vec<String>> = conf.get_at(&["dns", "nameservers"]).expect("dns");
    let parsed: Vec<IpAddr> = servers
        .unwrap_or_default()
        .iter()
        .map(|s| s.trim().parse().expect("name server"))
        .collect();
    assert_eq!(network.dns_servers, parsed);
}
