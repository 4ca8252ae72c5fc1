//! Programming OVN: the logical port in the NB database (`nb`) and the OVS
//! port that ovn-controller binds to it (`ovs`).

pub mod claim;
pub mod dhcp;
pub mod ids;
pub mod nb;
pub mod node_switch;
pub mod ovs;
pub mod port_record;
mod retry;

use crate::error::PluginError;

/// The NB database name.
pub const NB_DB: &str = "OVN_Northbound";
/// The local OVS database name.
pub const OVS_DB: &str = "Open_vSwitch";

/// external_ids key naming the NAD of an LSP or OVS interface.
pub const NAD_KEY: &str = "k8s.ovn.org/nad";

/// Refuses a row (switch, router) that another network owns: two network
/// names can map to one OVN name (`prefix` turns `-` and `/` into `.`, as
/// ovn-kubernetes does), and sharing it would merge the two networks.
pub fn check_owner(
    kind: &str,
    name: &str,
    row: &ovsdb::Row,
    network: &str,
) -> Result<(), PluginError> {
    let ids = row.map("external_ids");
    match ids.get(nb::NETWORK_KEY) {
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
    let mut ids = vec![(nb::NETWORK_KEY, network.name.as_str())];
    if let Some(nad) = &network.nad {
        ids.push((NAD_KEY, nad.as_str()));
    }
    ovsdb::Value::string_map(ids)
}
