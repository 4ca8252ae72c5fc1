//! Configuration of ovn-udn-cni: the network config a runtime hands the plugin
//! (ovn-kubernetes compatible), the node config, and the OVN names derived from
//! them. Everything here is pure: no I/O beyond reading the node config file.

mod error;
mod mac;
mod naming;
mod netconf;
mod network;
mod node;
mod subnet;

pub use error::ConfError;
pub use mac::{MacAddr, mac_for_addresses, random_local_mac};
pub use naming::{
    PodRef, host_veth_name, localnet_port_name, lsp_name, prefix, router_name, router_port_names,
    switch_name,
};
pub use netconf::{Dns, NetConf, RuntimeConfig, ValidAttachment};
pub use network::{DEFAULT_MTU, Network, Role, Topology};
pub use node::{DEFAULT_NODE_CONFIG_PATH, NODE_CONFIG_ENV, NodeConfig, Tls};
pub use subnet::{Subnet, overlaps};
