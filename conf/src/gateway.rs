//! The node config's egress settings: the chassis' side on a physical
//! network (`gateway`) and the default network's subnets that stay on `eth0`
//! when a primary UDN takes the default route (`defaultNetworkSubnets`).

use std::net::Ipv4Addr;

use ipnet::{IpNet, Ipv4Net};
use serde::{Deserialize, Serialize};

use crate::{name_rules, overlaps, special_range};

/// Where primary networks leave this chassis: its own address on a physical
/// network (one of `ovn-bridge-mappings`), and the next hop beyond it.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Gateway {
    /// The `ovn-bridge-mappings` key of the external physical network.
    pub physical_network_name: String,
    /// The chassis' address on it, with the segment's prefix; egress is
    /// source-NATed to it. IPv4: egress is IPv4 only.
    pub address: Ipv4Net,
    /// Router for destinations that are not on the segment; without it only
    /// the segment itself is reachable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_hop: Option<Ipv4Addr>,
}

impl Gateway {
    /// Checks the values; the error names the key.
    pub(crate) fn validate(&self) -> Result<(), String> {
        let key = |key: &str, why: String| format!("`gateway.{key}`: {why}");
        name_rules::physical_network(&self.physical_network_name).map_err(|why| {
            key(
                "physicalNetworkName",
                format!("{:?} {why}", self.physical_network_name),
            )
        })?;
        let address = self.address;
        if address.prefix_len() > 30 {
            return Err(key(
                "address",
                format!("{address}: the segment needs a prefix of /30 or shorter"),
            ));
        }
        if address.addr() == address.network() || address.addr() == address.broadcast() {
            return Err(key(
                "address",
                format!("{address} is the segment's network or broadcast address, not a host's"),
            ));
        }
        if let Some((range, what)) = special_range(IpNet::V4(address)) {
            return Err(key("address", format!("{address} is in {range} ({what})")));
        }
        if let Some(hop) = self.next_hop {
            if !address.contains(&hop) || hop == address.network() || hop == address.broadcast() {
                return Err(key(
                    "nextHop",
                    format!(
                        "{hop} is not a host on the gateway's segment {}",
                        address.trunc()
                    ),
                ));
            }
            if hop == address.addr() {
                return Err(key(
                    "nextHop",
                    format!("{hop} is the gateway's own address"),
                ));
            }
        }
        Ok(())
    }
}

/// Checks `defaultNetworkSubnets`: network addresses, no default route, no
/// special range; the error names the key and item.
pub(crate) fn validate_default_network_subnets(subnets: &[IpNet]) -> Result<(), String> {
    for (i, net) in subnets.iter().enumerate() {
        let key = |why: String| format!("`defaultNetworkSubnets[{i}]`: {why}");
        if net.trunc() != *net {
            return Err(key(format!(
                "{net} has host bits set (did you mean {}?)",
                net.trunc()
            )));
        }
        if net.prefix_len() == 0 {
            return Err(key(format!(
                "{net} is the default route, which moves to the primary network"
            )));
        }
        if let Some((range, what)) = special_range(*net) {
            return Err(key(format!("{net} overlaps {range} ({what})")));
        }
    }
    Ok(())
}

/// The first of `subnets` that overlaps one of the default network's, for
/// refusing a primary network whose addresses `eth0` keeps.
pub fn overlapping_default_subnet(default: &[IpNet], subnets: &[IpNet]) -> Option<(IpNet, IpNet)> {
    default
        .iter()
        .find_map(|d| subnets.iter().find(|s| overlaps(**s, *d)).map(|s| (*d, *s)))
}
