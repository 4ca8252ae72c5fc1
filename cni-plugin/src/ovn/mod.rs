//! Programming OVN: the transaction
//! engine every guarded NB write goes through (`txn`), the attachment's
//! logical port (`port`) with its addresses held in address blocks
//! (`address_blocks`), the shared topology a pod needs first (`segment`: a
//! layer3 node switch, `node_switch`; DHCP rows, `dhcp`; a primary
//! network's way out, `egress`; the ports joining a router to a switch,
//! `router_ports`), the identifiers
//! every attachment carries (`ids`), and the OVS port that ovn-controller
//! binds to the logical port (`ovs`). Planners are pure; only the
//! functions that take a [`ovsdb::Client`] touch a database.

pub mod address_blocks;
pub mod dhcp;
pub mod egress;
pub mod ids;
pub mod node_switch;
pub mod ovs;
pub mod port;
pub mod router_ports;
pub mod segment;
pub mod txn;

use crate::error::PluginError;
use crate::vocabulary::{column, ids as keys};

/// Refuses a row (switch, router) that another network owns: two network
/// names can map to one OVN name (`prefix` turns `-` and `/` into `.`, as
/// ovn-kubernetes does), and sharing it would merge the two networks.
pub fn check_owner(
    kind: &str,
    name: &str,
    row: &ovsdb::Row,
    network: &str,
) -> Result<(), PluginError> {
    let ids = row.map(column::EXTERNAL_IDS);
    match ids.get(keys::NETWORK) {
        Some(owner) if owner == network => Ok(()),
        owner => Err(conf::ConfError::invalid(
            "name",
            format!(
                "{kind} {name} belongs to network {}, not to {}: the two names map to the same \
                 OVN names ('-' and '/' become '.'); rename one of the networks",
                conf::shown(owner.map_or("(none)", String::as_str)),
                conf::shown(network)
            ),
        )
        .into()),
    }
}

/// The external_ids that pick out this config's attachments: its network's
/// and, when the config names its NAD, the NAD's too. Several NADs share one
/// network name (a cluster UDN has one per namespace), and each one's GC
/// lists only its own attachments, so it must never see the others'.
pub fn attachment_ids(network: &conf::NetworkId) -> ovsdb::Value {
    let mut ids = vec![(keys::NETWORK, network.name.as_str())];
    if let Some(nad) = &network.nad {
        ids.push((keys::NAD, nad.as_str()));
    }
    ovsdb::Value::string_map(ids)
}
