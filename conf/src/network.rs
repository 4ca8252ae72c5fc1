//! A validated network: what the verbs act on.

use std::net::{IpAddr, Ipv4Addr};

use ipnet::{IpNet, Ipv4Net};

use crate::subnet::{overlaps, parse_cidr, split_list};
use crate::{ConfError, NetConf, Subnet, name_rules, shown, special_range};

/// The `type` values this plugin answers to: its own, and ovn-kubernetes'
/// so that existing NetworkAttachmentDefinitions work unchanged.
pub const PLUGIN_TYPES: [&str; 2] = ["ovn-udn-cni", "ovn-k8s-cni-overlay"];

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

/// What names a network's OVN objects and an attachment's logical port:
/// all that DEL and GC read from a network config, so that keys only ADD
/// uses can never keep a runtime from cleaning up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkId {
    /// Network name; networks with one name are one network.
    pub name: String,
    /// `<namespace>/<name>` of the NAD, when the runtime is Multus/ovn-k.
    pub nad: Option<String>,
    /// Attachments with an IPAM claim keep IP and MAC (the claim names the port).
    pub allow_persistent_ips: bool,
}

impl NetworkId {
    /// Reads and validates `name`, `netAttachDefName` and
    /// `allowPersistentIPs`; nothing else.
    pub fn from_conf(conf: &NetConf) -> Result<NetworkId, ConfError> {
        let name: String = conf.get("name")?.ok_or(ConfError::Missing("name"))?;
        name_rules::network_name(&name)
            .map_err(|why| ConfError::invalid("name", format!("{} {why}", shown(&name))))?;
        let nad: Option<String> = conf.get("netAttachDefName")?;
        if let Some(nad) = &nad {
            name_rules::nad_name(nad).map_err(|why| {
                ConfError::invalid("netAttachDefName", format!("{} {why}", shown(nad)))
            })?;
        }
        Ok(NetworkId {
            name,
            nad,
            allow_persistent_ips: conf.get("allowPersistentIPs")?.unwrap_or(false),
        })
    }
}

/// A network config after validation: what ADD and CHECK act on.
#[derive(Debug, Clone)]
pub struct Network {
    /// Name, NAD and whether claims name ports.
    pub id: NetworkId,
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
    /// localnet access VLAN.
    pub vlan_id: Option<u16>,
    /// localnet: the `ovn-bridge-mappings` key.
    pub physical_network_name: String,
    /// Name servers for DHCP guests (`dns.nameservers`).
    pub dns_servers: Vec<IpAddr>,
    /// The delegated IPAM plugin (`ipam.type`), if addressing is delegated.
    pub ipam_plugin: Option<String>,
    /// The IPv4 subnet joining a primary network's router to its chassis'
    /// gateway routers (`joinSubnet`, as in ovn-kubernetes).
    pub join_subnet: Ipv4Net,
}

impl Network {
    /// Validates a whole config; every error names the offending key.
    pub fn from_conf(conf: &NetConf) -> Result<Network, ConfError> {
        conf.refuse_node_settings()?;
        let id = NetworkId::from_conf(conf)?;
        if let Some(plugin) = conf.get::<String>("type")?
            && !PLUGIN_TYPES.contains(&plugin.as_str())
        {
            return Err(ConfError::invalid(
                "type",
                format!(
                    "{} is not this plugin (expected {})",
                    shown(&plugin),
                    PLUGIN_TYPES.join(" or ")
                ),
            ));
        }
        let topology = match conf
            .get::<String>("topology")?
            .as_deref()
            .unwrap_or("layer2")
        {
            "layer2" => Topology::Layer2,
            "layer3" => Topology::Layer3,
            "localnet" => Topology::Localnet,
            other => {
                return Err(ConfError::invalid(
                    "topology",
                    format!(
                        "unknown topology {} (expected layer2, layer3 or localnet)",
                        shown(other)
                    ),
                ));
            }
        };
        let role = match conf
            .get::<String>("role")?
            .as_deref()
            .unwrap_or("secondary")
        {
            "primary" => Role::Primary,
            "secondary" => Role::Secondary,
            other => {
                return Err(ConfError::invalid(
                    "role",
                    format!(
                        "unknown role {} (expected primary or secondary)",
                        shown(other)
                    ),
                ));
            }
        };
        if topology == Topology::Localnet && role == Role::Primary {
            return Err(ConfError::invalid(
                "role",
                "a localnet network is secondary only",
            ));
        }
        let subnets_text: Option<String> = conf.get("subnets")?;
        let subnets = parse_subnets(subnets_text.as_deref().unwrap_or(""), topology)?;
        let ipam_plugin = ipam_plugin(conf)?;
        if ipam_plugin.is_some() && !subnets.is_empty() {
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
        let excludes_text: Option<String> = conf.get("excludeSubnets")?;
        let exclude_subnets = parse_excludes(excludes_text.as_deref(), &subnets)?;
        let mtu = conf.get("mtu")?.unwrap_or(DEFAULT_MTU);
        validate_mtu(mtu, &subnets)?;
        let vlan_id: Option<u16> = conf.get("vlanID")?;
        if let Some(vlan) = vlan_id {
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
        if id.allow_persistent_ips && topology == Topology::Layer3 {
            return Err(ConfError::invalid(
                "allowPersistentIPs",
                "a layer3 network gives each node its own subnet, so an address cannot follow a VM (use layer2 or localnet)",
            ));
        }
        let physical_network_name = match conf.get::<String>("physicalNetworkName")? {
            Some(physnet) => {
                name_rules::physical_network(&physnet).map_err(|why| {
                    ConfError::invalid("physicalNetworkName", format!("{} {why}", shown(&physnet)))
                })?;
                physnet
            }
            None => id.name.clone(),
        };
        let dns_servers = parse_dns(conf.get_at(&["dns", "nameservers"])?.unwrap_or_default())?;
        // Only a primary network has routers to join; ovn-kubernetes' NADs
        // carry the key on secondary ones too.
        let join_subnet = match role {
            Role::Primary => parse_join_subnet(conf.get("joinSubnet")?, &subnets)?,
            Role::Secondary => DEFAULT_JOIN_SUBNET,
        };
        Ok(Network {
            id,
            topology,
            role,
            subnets,
            exclude_subnets,
            mtu,
            vlan_id,
            physical_network_name,
            dns_servers,
            ipam_plugin,
            join_subnet,
        })
    }
}

/// ovn-kubernetes' join subnet of user-defined networks.
pub const DEFAULT_JOIN_SUBNET: Ipv4Net = Ipv4Net::new_assert(Ipv4Addr::new(100, 65, 0, 0), 16);

/// `joinSubnet`: its IPv4 CIDR (egress is IPv4; an IPv6 one is accepted and
/// unused), room for the router and gateways, apart from the pod subnets.
fn parse_join_subnet(text: Option<String>, subnets: &[Subnet]) -> Result<Ipv4Net, ConfError> {
    const FIELD: &str = "joinSubnet";
    let mut join = None;
    for item in split_list(text.as_deref().unwrap_or_default()) {
        match parse_cidr(item, FIELD)? {
            IpNet::V4(v4) if join.is_some() => {
                return Err(ConfError::invalid(
                    FIELD,
                    format!("{v4}: one IPv4 join subnet at most"),
                ));
            }
            IpNet::V4(v4) => join = Some(v4),
            IpNet::V6(_) => {}
        }
    }
    let join = join.unwrap_or(DEFAULT_JOIN_SUBNET);
    if join.prefix_len() > 29 {
        return Err(ConfError::invalid(
            FIELD,
            format!("{join} is too small for a router and its gateways (/29 or shorter)"),
        ));
    }
    if let Some((range, what)) = special_range(IpNet::V4(join)) {
        return Err(ConfError::invalid(
            FIELD,
            format!("{join} overlaps {range} ({what})"),
        ));
    }
    if let Some(subnet) = subnets.iter().find(|s| overlaps(s.cidr, IpNet::V4(join))) {
        return Err(ConfError::invalid(
            FIELD,
            format!(
                "{join} overlaps the network's subnet {} (set another `joinSubnet`)",
                subnet.cidr
            ),
        ));
    }
    Ok(join)
}

/// `ipam.type`: the delegated IPAM plugin, a binary looked up in CNI_PATH,
/// so a plain file name and nothing that could walk out of those directories.
pub fn ipam_plugin(conf: &NetConf) -> Result<Option<String>, ConfError> {
    if !conf.has("ipam") {
        return Ok(None);
    }
    let plugin: String = conf
        .get_at(&["ipam", "type"])?
        .ok_or_else(|| ConfError::invalid("ipam", "`type` must name an IPAM plugin"))?;
    let valid = !plugin.is_empty()
        && !plugin.starts_with('.')
        && plugin.len() <= 255
        && plugin
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if !valid {
        return Err(ConfError::invalid(
            "ipam.type",
            format!("{} is not a plugin file name", shown(&plugin)),
        ));
    }
    Ok(Some(plugin))
}

fn parse_subnets(text: &str, topology: Topology) -> Result<Vec<Subnet>, ConfError> {
    let mut subnets = Vec::new();
    for item in split_list(text) {
        let mut subnet = Subnet::parse(item, "subnets")?;
        match topology {
            Topology::Layer3 => {
                let default = match subnet.cidr {
                    IpNet::V4(_) => 24,
                    IpNet::V6(_) => 64,
                };
                subnet = subnet.with_default_host_prefix(default, "subnets")?;
            }
            _ if subnet.host_prefix.is_some() => {
                return Err(ConfError::invalid(
                    "subnets",
                    format!("{}: a host prefix is only valid on layer3", shown(item)),
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
                format!("{} overlaps another subnet", shown(item)),
            ));
        }
        subnets.push(subnet);
    }
    Ok(subnets)
}

fn parse_dns(servers: Vec<String>) -> Result<Vec<IpAddr>, ConfError> {
    servers
        .iter()
        .map(|server| {
            server.trim().parse().map_err(|_| {
                ConfError::invalid(
                    "dns.nameservers",
                    format!("{} is not an IP address", shown(server)),
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
        assert_eq!(n.id.name, "l2-network");
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
            (
                r#"{"name":"x","ipam":{"type":"../../bin/sh"}}"#,
                "`ipam.type`",
            ),
            (r#"{"name":"x\nforged"}"#, "`name`"),
            (
                r#"{"name":"x","netAttachDefName":"../.."}"#,
                "`netAttachDefName`",
            ),
            (
                r#"{"name":"x","netAttachDefName":"a//b"}"#,
                "`netAttachDefName`",
            ),
            (
                r#"{"name":"x","physicalNetworkName":"a:b"}"#,
                "`physicalNetworkName`",
            ),
            (r#"{"name":"x","subnets":"127.0.0.0/8"}"#, "`subnets`"),
            (r#"{"name":"x","bridge":"br-ex"}"#, "`bridge`"),
            (r#"{"name":"x","readyTimeout":1}"#, "`readyTimeout`"),
        ];
        for (json, field) in cases {
            let err = parse(json).expect_err(json).to_string();
            assert!(err.contains(field), "{json}: {err}");
        }
    }

    #[test]
    fn the_identity_ignores_add_only_keys() {
        let conf = NetConf::from_slice(
            br#"{"name":"x","netAttachDefName":"ns/x","subnets":5,"mtu":"big",
                "runtimeConfig":{"ips":"x"},"dns":{"nameservers":5},"allowPersistentIPs":true}"#,
        )
        .expect("object");
        let id = NetworkId::from_conf(&conf).expect("identity");
        assert_eq!(id.nad.as_deref(), Some("ns/x"));
        assert!(id.allow_persistent_ips);
        assert!(Network::from_conf(&conf).is_err());
    }

    #[test]
    fn wrong_types_are_decode_errors() {
        let err = parse(r#"{"name":"x","mtu":"big"}"#).expect_err("decode");
        assert!(matches!(err, ConfError::Decode { .. }));
        assert!(err.to_string().contains("`mtu`"), "{err}");
        assert!(matches!(parse("{not json"), Err(ConfError::Decode { .. })));
    }

    #[test]
    fn join_subnet_defaults_and_stays_apart_from_the_pods() {
        let primary = |extra: &str| {
            parse(&format!(
                r#"{{"name":"blue","role":"primary","subnets":"10.1.0.0/16"{extra}}}"#
            ))
        };
        let n = primary("").expect("default");
        assert_eq!(n.join_subnet, DEFAULT_JOIN_SUBNET);
        let n = primary(r#","joinSubnet":"100.99.0.0/16,fd99::/64""#).expect("dual");
        assert_eq!(n.join_subnet.to_string(), "100.99.0.0/16");
        for (extra, needle) in [
            (
                r#","joinSubnet":"10.1.128.0/20""#,
                "overlaps the network's subnet",
            ),
            (r#","joinSubnet":"100.65.0.0/30""#, "too small"),
            (r#","joinSubnet":"169.254.0.0/16""#, "link-local"),
            (r#","joinSubnet":"100.1.0.0/16,100.2.0.0/16""#, "one IPv4"),
        ] {
            let err = primary(extra).expect_err(extra).to_string();
            assert!(
                err.contains("`joinSubnet`") && err.contains(needle),
                "{err}"
            );
        }
        let err = parse(r#"{"name":"b","role":"primary","subnets":"100.65.1.0/24"}"#)
            .expect_err("default join overlaps");
        assert!(err.to_string().contains("`joinSubnet`"), "{err}");
    }
}
