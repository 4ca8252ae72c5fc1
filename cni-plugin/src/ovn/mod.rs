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

/// The NB database name.
pub const NB_DB: &str = "OVN_Northbound";
/// The local OVS database name.
pub const OVS_DB: &str = "Open_vSwitch";

/// external_ids key naming the NAD of an LSP or OVS interface.
pub const NAD_KEY: &str = "k8s.ovn.org/nad";

/// The external_ids that pick out this config's attachments: its network's
/// and, when the config names its NAD, the NAD's too. Several NADs share one
/// network name (a cluster UDN has one per namespace), and each one's GC
/// lists only its own attachments, so it must never see the others'.
pub fn attachment_ids(network: &conf::Network) -> ovsdb::Value {
    let mut ids = vec![(nb::NETWORK_KEY, network.name.as_str())];
    if let Some(nad) = &network.nad {
        ids.push((NAD_KEY, nad.as_str()));
    }
    ovsdb::Value::string_map(ids)
}
