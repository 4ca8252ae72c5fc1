//! What differs between layer2, layer3 and localnet networks, resolved once
//! per verb into a [`Segment`]: the switch a pod on this chassis plugs into,
//! the addresses it may get there, its gateway and its routes. The verbs
//! never branch on the topology name.

pub mod egress;
mod layer2;
mod layer3;
mod localnet;

use std::net::IpAddr;

use conf::{Network, StaticIp, Subnet, Topology as Kind};
use ipnet::IpNet;

use crate::error::PluginError;
use crate::ipam::{Pool, pool::gateway};
use crate::vocabulary::{ids, subnet_config as config_keys};

pub use layer3::{allocate_node_subnets, recorded_node_subnets, segment as layer3_segment};

/// The logical switch an attachment plugs into, as it is created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwitchSpec {
    /// Logical_Switch name.
    pub name: String,
    /// Its external_ids.
    pub external_ids: Vec<(String, String)>,
    /// Its other_config.
    pub other_config: Vec<(String, String)>,
    /// Ports created with the switch (a localnet port).
    pub ports: Vec<FixedPort>,
}

/// A port of the topology itself rather than of a pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixedPort {
    /// Logical_Switch_Port name.
    pub name: String,
    /// Its `type` (`localnet`, `router`).
    pub kind: String,
    /// Its `addresses`.
    pub addresses: Vec<String>,
    /// Its options.
    pub options: Vec<(String, String)>,
    /// Its `tag_request` (the VLAN of a localnet port).
    pub tag_request: Option<u16>,
    /// Its external_ids.
    pub external_ids: Vec<(String, String)>,
}

/// The part of a network that pods on one chassis attach to.
#[derive(Debug, Clone)]
pub struct Segment {
    /// The switch, created with the first port if absent.
    pub switch: SwitchSpec,
    /// Where pod addresses come from: the network's subnets, or on layer3
    /// this chassis' node subnets.
    pub subnets: Vec<Subnet>,
    /// Never handed out.
    pub excludes: Vec<IpNet>,
    /// The first host address of each subnet is the gateway.
    pub has_gateway: bool,
    /// Destinations the pod reaches through the gateway of their family.
    pub routed: Vec<IpNet>,
}

impl Segment {
    /// The address space IPAM allocates from.
    pub fn pool(&self) -> Pool<'_> {
        Pool {
            subnets: &self.subnets,
            excludes: &self.excludes,
            reserve_gateway: self.has_gateway,
        }
    }

    /// The gateway of each family the pod has an address in, if any.
    pub fn gateways(&self, addresses: &[IpNet]) -> Vec<IpAddr> {
        if !self.has_gateway {
            return Vec::new();
        }
        addresses
            .iter()
            .filter_map(|a| self.pool().subnet_of(a.addr()))
            .map(gateway)
            .collect()
    }

    /// The pod's routes via those gateways, each family via its own.
    pub fn routes(&self, gateways: &[IpAddr]) -> Vec<(IpNet, IpAddr)> {
        gateways
            .iter()
            .flat_map(|gw| {
                self.routed
                    .iter()
                    .filter(|dst| dst.addr().is_ipv4() == gw.is_ipv4())
                    .map(|dst| (*dst, *gw))
            })
            .collect()
    }
}

/// Whether pods of `network` take their addresses from a per-chassis node
/// subnet (layer3), which must be allocated before the segment exists.
pub fn has_node_subnets(network: &Network) -> bool {
    network.topology == Kind::Layer3
}

/// The segment of `network` on `chassis`; `node_subnets` are the chassis'
/// node subnets where [`has_node_subnets`], else ignored.
pub fn segment(network: &Network, chassis: &str, node_subnets: &[IpNet]) -> Segment {
    match network.topology {
        Kind::Layer2 => layer2::segment(network),
        Kind::Localnet => localnet::segment(network),
        Kind::Layer3 => layer3::segment(network, chassis, node_subnets),
    }
}

/// Refuses, before anything is contacted, static addresses the network's
/// subnets already rule out: outside every subnet, excluded, or (on layer2
/// and localnet, whose pool is the network's) reserved. A layer3 chassis'
/// node subnet is carved later, so there only the network's subnets count
/// now. Whether an address is free is for the allocation to say.
pub fn check_static_addresses(network: &Network, ips: &[StaticIp]) -> Result<(), PluginError> {
    let network_pool = Pool {
        subnets: &network.subnets,
        excludes: &network.exclude_subnets,
        reserve_gateway: false,
    };
    let segment = segment(network, "", &[]);
    for ip in ips {
        match network.topology {
            Kind::Layer3 => network_pool.check_inside(ip)?,
            Kind::Layer2 | Kind::Localnet => segment.pool().check_static(ip)?,
        };
    }
    Ok(())
}

/// Refuses a primary network whose subnets overlap the default network's
/// (node config `defaultNetworkSubnets`): the pod would route them both ways.
pub fn check_default_network(network: &Network, default: &[IpNet]) -> Result<(), PluginError> {
    if network.role != conf::Role::Primary {
        return Ok(());
    }
    let own: Vec<IpNet> = network.subnets.iter().map(|s| s.cidr).collect();
    match conf::overlapping_default_subnet(default, &own) {
        Some((theirs, ours)) => Err(conf::ConfError::invalid(
            "subnets",
            format!(
                "{ours} overlaps the default network's {theirs} (node config \
                 `defaultNetworkSubnets`): a primary network's pods route both"
            ),
        )
        .into()),
        None => Ok(()),
    }
}

/// Refuses a network this chassis cannot carry: a localnet network whose
/// physical network has no bridge in the chassis' `ovn-bridge-mappings`.
pub fn check_chassis(
    network: &Network,
    chassis: &str,
    bridge_mappings: &[String],
) -> Result<(), PluginError> {
    match network.topology {
        Kind::Localnet => localnet::check_mapping(network, chassis, bridge_mappings),
        Kind::Layer2 | Kind::Layer3 => Ok(()),
    }
}

/// Refuses `physnet` when the chassis has no bridge for it in its
/// `ovn-bridge-mappings`; `what` says who needs it, for the message.
fn require_mapping(
    what: std::fmt::Arguments<'_>,
    physnet: &str,
    chassis: &str,
    bridge_mappings: &[String],
) -> Result<(), PluginError> {
    if bridge_mappings.iter().any(|m| m == physnet) {
        return Ok(());
    }
    let mapped = if bridge_mappings.is_empty() {
        "none".to_owned()
    } else {
        bridge_mappings.join(", ")
    };
    Err(PluginError::NodeNotReady(format!(
        "{what}: chassis {chassis} has no bridge for physical network {physnet:?} \
         in Open_vSwitch external_ids:ovn-bridge-mappings (mapped: {mapped})"
    )))
}

/// external_ids every switch, router and fixed port of a network carries.
pub fn network_ids(network: &Network) -> Vec<(String, String)> {
    vec![
        (ids::NETWORK.into(), network.id.name.clone()),
        (ids::ROLE.into(), network.role.as_str().into()),
        (ids::TOPOLOGY.into(), network.topology.as_str().into()),
    ]
}

/// `other_config` telling OVN a switch's subnets: one IPv4 `subnet` and one
/// IPv6 `ipv6_prefix` (the prefix address, as OVN reads it).
fn subnet_config(cidrs: impl IntoIterator<Item = IpNet>) -> Vec<(String, String)> {
    let mut config = Vec::new();
    for cidr in cidrs {
        let entry = match cidr {
            IpNet::V4(v4) => (config_keys::SUBNET, v4.to_string()),
            IpNet::V6(v6) => (config_keys::IPV6_PREFIX, v6.network().to_string()),
        };
        if !config.iter().any(|(k, _): &(String, String)| k == entry.0) {
            config.push((entry.0.to_owned(), entry.1));
        }
    }
    config
}

/// A default route destination for each family.
fn default_routes() -> Vec<IpNet> {
    vec![IpNet::V4(Default::default()), IpNet::V6(Default::default())]
}
