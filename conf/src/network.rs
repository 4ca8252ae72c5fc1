//! A validated network: what the verbs act on.

use std::net::IpAddr;

use ipnet::IpNet;

use crate::subnet::{overlaps, parse_cidr, split_list};
use crate::{ConfError, NetConf, Subnet};

/// The `type` values this plugin answers to: its own, and ovn-kubernetes'
/// so that existing NetworkAttachmentDefinitions work unchanged.
const PLUGIN_TYPES: [&str; 2] = ["ovn-udn-cni", "ovn-k8s-cni-overlay"];

/// MTU when the config names none (Geneve overhead under a 1500 underlay).
pub const DEFAULT_MTU: u32 = 1400;

/// How the network is laid out in OVN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topology {
    /// One logical switch across all nodes.
    Layer2,
    /// A switch per node joined by a cluster router.
    Layer3,
    /// A switch with a localnet port to a physical network.
    Localnet,
}

impl Topology {
    /// The config spelling, also used in external_ids.
    pub fn as_str(self) -> &'static str {
        match self {
            Topology::Layer2 => "layer2",
            Topology::Layer3 => "layer3",
            Topology::Localnet => "localnet",
        }
    }
}

/// Whether the network is the pod's main one (default route) or an extra.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `ovn-udn1`, default route via the gateway.
    Primary,
    /// An extra interface, no default route.
    Secondary,
}

impl Role {
    /// The config spelling, also used in external_ids.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Primary => "primary",
            Role::Secondary => "secondary",
        }
    }
}

/// A network config after validation.
#[derive(Debug, Clone)]
pub struct Network {
    /// Network name; networks with one name are one network.
    pub name: String,
    /// Layout in OVN.
    pub topology: Topology,
    /// Primary or secondary.
    pub role: Role,
    /// Address ranges; empty means no IPAM.
    pub subnets: Vec<Subnet>,
    /// Ranges inside `subnets` never handed out.
    pub exclude_subnets: Vec<IpNet>,
    /// Interface MTU.
    pub mtu: u32,
    /// `<namespace>/<name>` of the NAD, when the runtime is Multus/ovn-k.
    pub nad: Option<String>,
    /// localnet access VLAN.
    pub vlan_id: Option<u16>,
    /// localnet: the `ovn-bridge-mappings` key.
    pub physical_network_name: String,
    /// Attachments with an IPAM claim keep IP and MAC.
    pub allow_persistent_ips: bool,
    /// Name servers for DHCP guests (`dns.nameservers`).
    pub dns_servers: Vec<IpAddr>,
}

impl Network {
    /// Validates a raw config; every error names the offending key.
    pub fn from_conf(conf: &NetConf) -> Result<Network, ConfError> {
        let name = conf
            .name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .ok_or(ConfError::Missing("name"))?
            .to_owned();
        if let Some(plugin) = conf.plugin_type.as_deref()
            && !PLUGIN_TYPES.contains(&plugin)
        {
            return Err(ConfError::invalid(
                "type",
                format!(
                    "{plugin:?} is not this plugin (expected {})",
                    PLUGIN_TYPES.join(" or ")
                ),
            ));
        }
        let topology = match conf.topology.as_deref().unwrap_or("layer2") {
            "layer2" => Topology::Layer2,
            "layer3" => Topology::Layer3,
            "localnet" => Topology::Localnet,
            other => {
                return Err(ConfError::invalid(
                    "topology",
                    format!("unknown topology {other:?} (expected layer2, layer3 or localnet)"),
                ));
            }
        };
        let role = match conf.role.as_deref().unwrap_or("secondary") {
            "primary" => Role::Primary,
            "secondary" => Role::Secondary,
            other => {
                return Err(ConfError::invalid(
                    "role",
                    format!("unknown role {other:?} (expected primary or secondary)"),
                ));
            }
        };
        if topology == Topology::Localnet && role == Role::Primary {
            return Err(ConfError::invalid(
                "role",
                "a localnet network is secondary only",
            ));
        }
        let subnets = parse_subnets(conf.subnets.as_deref().unwrap_or(""), topology)?;
        if conf.ipam.is_some() && !subnets.is_empty() {
            return Err(ConfError::invalid(
                "ipam",
                "an ipam section and `subnets` are exclusive: addresses come either from the IPAM plugin or from OVN",
            ));
        }
        if topology == Topology::Layer3 && subnets.is_empty() {
            return Err(ConfError::invalid(
                "subnets",
                "a layer3 network needs subnets",
            ));
        }
        let exclude_subnets = parse_excludes(conf.exclude_subnets.as_deref(), &subnets)?;
        let mtu = conf.mtu.unwrap_or(DEFAULT_MTU);
        validate_mtu(mtu, &subnets)?;
        if let Some(nad) = conf.net_attach_def_name.as_deref()
            && nad.split('/').filter(|p| !p.is_empty()).count() != 2
        {
            return Err(ConfError::invalid(
                "netAttachDefName",
                format!("{nad:?} is not <namespace>/<name>"),
            ));
        }
        if let Some(vlan) = conf.vlan_id {
            if topology != Topology::Localnet {
                return Err(ConfError::invalid(
                    "vlanID",
                    "only a localnet network has a VLAN",
                ));
            }
            if !(1..=4094).contains(&vlan) {
                return Err(ConfError::invalid(
                    "vlanID",
                    format!("{vlan} is not in 1-4094"),
                ));
            }
        }
        let allow_persistent_ips = conf.allow_persistent_ips.unwrap_or(false);
        if allow_persistent_ips && topology == Topology::Layer3 {
            return Err(ConfError::invalid(
                "allowPersistentIPs",
                "a layer3 network gives each node its own subnet, so an address cannot follow a VM (use layer2 or localnet)",
            ));
        }
        let dns_servers = parse_dns(conf.dns.as_ref())?;
        Ok(Network {
            physical_network_name: conf
                .physical_network_name
                .clone()
                .unwrap_or_else(|| name.clone()),
            name,
            topology,
            role,
            subnets,
            exclude_subnets,
            mtu,
            nad: conf.net_attach_def_name.clone(),
            vlan_id: conf.vlan_id,
            allow_persistent_ips,
            dns_servers,
        })
    }
}

fn parse_subnets(text: &str, topology: Topology) -> Result<Vec<Subnet>, ConfError> {
    let mut subnets = Vec::new();
    for item in split_list(text) {
        let mut subnet = Subnet::parse(item, "subnets")?;
        match topology {
            Topology::Layer3 => {
                subnet.host_prefix.get_or_insert(match subnet.cidr {
                    IpNet::V4(_) => 24,
                    IpNet::V6(_) => 64,
                });
            }
            _ if subnet.host_prefix.is_some() => {
                return Err(ConfError::invalid(
                    "subnets",
                    format!("{item:?}: a host prefix is only valid on layer3"),
                ));
            }
            _ => {}
        }
        if subnets
            .iter()
            .any(|s: &Subnet| overlaps(s.cidr, subnet.cidr))
        {
            return Err(ConfError::invalid(
                "subnets",
                format!("{item:?} overlaps another subnet"),
            ));
        }
        subnets.push(subnet);
    }
    Ok(subnets)
}

fn parse_dns(dns: Option<&crate::netconf::Dns>) -> Result<Vec<IpAddr>, ConfError> {
    dns.map_or(&[][..], |d| &d.nameservers)
        .iter()
        .map(|server| {
            server.trim().parse().map_err(|_| {
                ConfError::invalid(
                    "dns.nameservers",
                    format!("{server:?} is not an IP address"),
                )
            })
        })
        .collect()
}

fn parse_excludes(text: Option<&str>, subnets: &[Subnet]) -> Result<Vec<IpNet>, ConfError> {
    let mut excludes = Vec::new();
    for item in split_list(text.unwrap_or("")) {
        let net = parse_cidr(item, "excludeSubnets")?;
        if !subnets.iter().any(|s| s.cidr.contains(&net)) {
            return Err(ConfError::invalid(
                "excludeSubnets",
                format!("{net} is not inside any of the subnets"),
            ));
        }
        excludes.push(net);
    }
    Ok(excludes)
}

fn validate_mtu(mtu: u32, subnets: &[Subnet]) -> Result<(), ConfError> {
    let has_v6 = subnets.iter().any(|s| matches!(s.cidr, IpNet::V6(_)));
    let min = if has_v6 { 1280 } else { 576 };
    if mtu < min || mtu > 65535 {
        let family = if has_v6 { " with IPv6" } else { "" };
        return Err(ConfError::invalid(
            "mtu",
            format!("{mtu} is out of range ({min}-65535{family})"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<Network, ConfError> {
        Network::from_conf(&NetConf::from_slice(json.as_bytes())?)
    }

    #[test]
    fn ovn_kubernetes_nad_config_is_accepted() {
        let n = parse(
            r#"{"cniVersion":"1.0.0","name":"l2-network","type":"ovn-k8s-cni-overlay",
                "topology":"layer2","subnets":"10.100.200.0/24,fd00:10::/64","mtu":1300,
                "netAttachDefName":"ns1/l2-network","role":"primary","joinSubnet":"100.65.0.0/16"}"#,
        )
        .expect("valid");
        assert_eq!(n.name, "l2-network");
        assert_eq!(n.role, Role::Primary);
        assert_eq!(n.subnets.len(), 2);
        assert_eq!(n.mtu, 1300);
        assert_eq!(n.subnets[1].cidr.to_string(), "fd00:10::/64");
    }

    #[test]
    fn defaults_are_layer2_secondary_1400_no_ipam() {
        let n = parse(r#"{"cniVersion":"1.1.0","name":"x"}"#).expect("valid");
        assert_eq!(
            (n.topology, n.role, n.mtu, n.subnets.is_empty()),
            (Topology::Layer2, Role::Secondary, 1400, true)
        );
        assert_eq!(n.physical_network_name, "x");
    }

    #[test]
    fn layer3_gets_default_host_prefixes() {
        let n = parse(r#"{"name":"x","topology":"layer3","subnets":"10.128.0.0/16,fd00::/48"}"#)
            .expect("valid");
        assert_eq!(n.subnets[0].host_prefix, Some(24));
        assert_eq!(n.subnets[1].host_prefix, Some(64));
    }

    #[test]
    fn each_bad_key_is_named() {
        let cases = [
            (r#"{"topology":"layer2"}"#, "`name`"),
            (r#"{"name":"x","topology":"layer4"}"#, "`topology`"),
            (r#"{"name":"x","role":"main"}"#, "`role`"),
            (r#"{"name":"x","subnets":"10.0.0.0/33"}"#, "`subnets`"),
            (
                r#"{"name":"x","subnets":"10.0.0.0/16,10.0.1.0/24"}"#,
                "`subnets`",
            ),
            (r#"{"name":"x","subnets":"10.0.0.0/16/24"}"#, "`subnets`"),
            (
                r#"{"name":"x","subnets":"10.0.0.0/16","excludeSubnets":"10.1.0.0/24"}"#,
                "`excludeSubnets`",
            ),
            (r#"{"name":"x","mtu":500}"#, "`mtu`"),
            (r#"{"name":"x","subnets":"fd00::/64","mtu":1200}"#, "`mtu`"),
            (r#"{"name":"x","mtu":70000}"#, "`mtu`"),
            (
                r#"{"name":"x","netAttachDefName":"nons"}"#,
                "`netAttachDefName`",
            ),
            (
                r#"{"name":"x","topology":"localnet","role":"primary"}"#,
                "`role`",
            ),
            (r#"{"name":"x","vlanID":100}"#, "`vlanID`"),
            (r#"{"name":"x","topology":"layer3"}"#, "`subnets`"),
            (r#"{"name":"x","type":"bridge"}"#, "`type`"),
            (
                r#"{"name":"x","topology":"layer3","subnets":"10.0.0.0/16","allowPersistentIPs":true}"#,
                "`allowPersistentIPs`",
            ),
            (
                r#"{"name":"x","dns":{"nameservers":["resolver"]}}"#,
                "`dns.nameservers`",
            ),
            (
                r#"{"name":"x","subnets":"10.0.0.0/24","ipam":{"type":"host-local"}}"#,
                "`ipam`",
            ),
        ];
        for (json, field) in cases {
            let err = parse(json).expect_err(json).to_string();
            assert!(err.contains(field), "{json}: {err}");
        }
    }

    #[test]
    fn wrong_types_are_decode_errors() {
        let err = parse(r#"{"name":"x","mtu":"big"}"#).expect_err("decode");
        assert!(matches!(err, ConfError::Decode(_)));
        assert!(matches!(parse("{not json"), Err(ConfError::Decode(_))));
    }
}
