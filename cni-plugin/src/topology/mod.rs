//! Each topology plans its own OVN rows behind one trait, chosen from the
//! config in one place; the verbs never branch on the topology name.

mod layer2;

use std::net::IpAddr;

use conf::{Network, Topology as Kind};
use ipnet::IpNet;

use crate::error::PluginError;
use crate::ipam::Pool;

/// The logical switch an attachment plugs into, as it is created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwitchSpec {
    /// Logical_Switch name.
    pub name: String,
    /// Its external_ids.
    pub external_ids: Vec<(String, String)>,
    /// Its other_config.
    pub other_config: Vec<(String, String)>,
}

/// What differs between layer2, layer3 and localnet networks.
pub trait Topology {
    /// The switch a pod on `chassis` plugs into.
    fn switch(&self, chassis: &str) -> SwitchSpec;
    /// The address space IPAM allocates from.
    fn pool(&self) -> Pool<'_>;
    /// The gateway of each family the pod has an address in, if any.
    fn gateways(&self, addresses: &[IpNet]) -> Vec<IpAddr>;
    /// The routes the pod gets via those gateways.
    fn routes(&self, gateways: &[IpAddr]) -> Vec<(IpNet, IpAddr)>;
}

/// The topology of `network`.
pub fn for_network(network: &Network) -> Result<Box<dyn Topology + '_>, PluginError> {
    match network.topology {
        Kind::Layer2 => Ok(Box::new(layer2::Layer2 { network })),
        other => Err(PluginError::Unsupported(format!(
            "topology: {} networks are not supported by this version yet (layer2 is)",
            other.as_str()
        ))),
    }
}

/// external_ids every switch of a network carries.
fn network_ids(network: &Network) -> Vec<(String, String)> {
    vec![
        ("k8s.ovn.org/network".into(), network.name.clone()),
        ("k8s.ovn.org/role".into(), network.role.as_str().into()),
        (
            "k8s.ovn.org/topology".into(),
            network.topology.as_str().into(),
        ),
    ]
}
