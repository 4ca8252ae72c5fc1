//! Configuration of ovn-udn-cni: the network config a runtime hands the plugin
//! (ovn-kubernetes compatible), the node config, the rules names must follow,
//! and the OVN names derived from them. Everything here is pure: no I/O
//! beyond reading the node config file.

mod address;
mod error;
mod gateway;
mod mac;
pub mod name_rules;
mod netconf;
mod network;
mod node;
mod ovn_names;
mod subnet;

pub use address::{StaticIp, special_range};
pub use error::{ConfError, shown};
pub use gateway::{Gateway, overlapping_default_subnet};
pub use mac::{MacAddr, mac_for_addresses, parse_unicast_mac, random_local_mac};
pub use netconf::{MAX_CONFIG_BYTES, NetConf, RuntimeConfig, ValidAttachment};
pub use network::{
    DEFAULT_JOIN_SUBNET, DEFAULT_MTU, Network, NetworkId, PLUGIN_TYPES, Role, Topology, ipam_plugin,
};
pub use node::{DEFAULT_NODE_CONFIG_PATH, NODE_CONFIG_ENV, NODE_KEYS, NodeConfig, Tls};
pub use ovn_names::{
    PeerKind, PodRef, egress_router_name, external_switch_name, gateway_router_name,
    host_veth_name, is_host_veth_name, join_switch_name, link_switch_name, localnet_port_name,
    lsp_name, peer_port_names, prefix, router_name, router_port_names, switch_name,
};
pub use subnet::{Subnet, overlaps};
