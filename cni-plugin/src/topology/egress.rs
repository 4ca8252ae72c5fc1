//! Egress of primary networks, as data: which networks have it, the
//! addresses of the routers that carry it, and the policy that sends a pod's
//! traffic to the gateway router of its own chassis.
//!
//! The path out: pod → the network's distributed router (the pods' gateway,
//! the same address and MAC on every chassis, so a migrated VM's ARP entry
//! stays valid) → a policy rerouting to this chassis' gateway router over
//! the join switch → the gateway router, which source-NATs the pod subnets
//! to its address on a per-network /30 link → the chassis' egress router,
//! which NATs every link to the chassis' own address on the physical
//! network. Two routers never own one address on a segment: only the egress
//! router owns the chassis address, and each network's link is its own.

use std::net::Ipv4Addr;

use conf::{Gateway, Network, Role, Topology};
use ipnet::{IpNet, Ipv4Net};

use crate::error::PluginError;

/// Where the per-network link subnets come from (never seen outside: the
/// egress router NATs them to the chassis address).
pub const LINK_RANGE: Ipv4Net = Ipv4Net::new_assert(Ipv4Addr::new(169, 254, 0, 0), 16);
/// Prefix length of one network's link between its gateway router and the
/// chassis' egress router.
const LINK_PREFIX: u8 = 30;
/// Priority of the reroute policies on a distributed router.
pub const POLICY_PRIORITY: i64 = 100;

/// Whether `network`'s pods leave through the gateway of a chassis that has
/// one: primary layer2/layer3 networks with IPv4 subnets (egress is IPv4; a
/// secondary network never has egress, as in ovn-kubernetes).
pub fn applies(network: &Network) -> bool {
    network.role == Role::Primary
        && matches!(network.topology, Topology::Layer2 | Topology::Layer3)
        && !ipv4_subnets(network).is_empty()
}

/// Refuses egress this chassis cannot give: the gateway's physical network
/// has no bridge in its `ovn-bridge-mappings`.
pub fn check_mapping(
    gateway: &Gateway,
    chassis: &str,
    bridge_mappings: &[String],
) -> Result<(), PluginError> {
    super::require_mapping(
        format_args!("node config `gateway.physicalNetworkName`"),
        &gateway.physical_network_name,
        chassis,
        bridge_mappings,
    )
}

/// The network's IPv4 subnets: what its gateway routers NAT and route back.
pub fn ipv4_subnets(network: &Network) -> Vec<Ipv4Net> {
    network
        .subnets
        .iter()
        .filter_map(|s| match s.cidr {
            IpNet::V4(v4) => Some(v4),
            IpNet::V6(_) => None,
        })
        .collect()
}

/// The distributed router's address on the join switch: the first host.
pub fn router_join_ip(join: Ipv4Net) -> Ipv4Addr {
    nth(join, 1)
}

/// The next hop of the distributed router's default route. Nothing owns it:
/// the route only lets off-network traffic reach the policies, which
/// reroute it to the chassis' gateway router; a pod on a chassis without a
/// gateway router has no egress, and its packets end here.
pub fn unreachable_next_hop(join: Ipv4Net) -> Ipv4Addr {
    nth(join, join_hosts(join))
}

/// The lowest join address no gateway router has (`taken`), after the
/// distributed router's and before [`unreachable_next_hop`].
pub fn free_join_ip(join: Ipv4Net, taken: &[Ipv4Addr]) -> Option<Ipv4Addr> {
    (2..join_hosts(join))
        .map(|i| nth(join, i))
        .find(|ip| !taken.contains(ip))
}

/// The lowest /30 of [`LINK_RANGE`] no network has.
pub fn free_link_subnet(taken: &[Ipv4Net]) -> Option<Ipv4Net> {
    LINK_RANGE
        .subnets(LINK_PREFIX)
        .ok()?
        .find(|candidate| !taken.contains(candidate))
}

/// On a link subnet: the egress router's address (first host) and the
/// gateway router's (second).
pub fn link_ips(link: Ipv4Net) -> (Ipv4Addr, Ipv4Addr) {
    (nth(link, 1), nth(link, 2))
}

/// The match of the policy sending `network`'s off-network traffic on
/// `chassis` to its gateway router there. A layer3 network's traffic comes
/// from the chassis' own switch; a layer2 network has one switch, so the
/// policy holds where the gateway router is (every chassis evaluates the
/// distributed router for its own pods).
pub fn policy_match(network: &Network, pod_switch: &str, gateway_join_port: &str) -> String {
    let (rtos, _) = conf::router_port_names(pod_switch);
    let subnets: Vec<String> = ipv4_subnets(network)
        .iter()
        .map(ToString::to_string)
        .collect();
    let mut expr = format!(
        "inport == \"{rtos}\" && ip4.dst != {{{}}}",
        subnets.join(", ")
    );
    if network.topology == Topology::Layer2 {
        expr.push_str(&format!(" && is_chassis_resident(\"{gateway_join_port}\")"));
    }
    expr
}

/// Host addresses of the join subnet (network and broadcast excluded).
fn join_hosts(join: Ipv4Net) -> u32 {
    (1u32 << (32 - join.prefix_len())) - 2
}

/// The `i`-th address of `net` (0 is the network address).
fn nth(net: Ipv4Net, i: u32) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(net.network()).saturating_add(i))
}

#[cfg(test)]
mod tests {
    use super::*;
    use conf::NetConf;

    fn network(json: &str) -> Network {
        Network::from_conf(&NetConf::from_slice(json.as_bytes()).expect("json")).expect("valid")
    }

    fn gateway() -> Gateway {
        Gateway {
            physical_network_name: "physnet".into(),
            address: "172.20.0.11/16".parse().expect("cidr"),
            next_hop: None,
        }
    }

    #[test]
    fn only_primary_ipv4_layer2_and_layer3_networks_egress() {
        let primary = network(r#"{"name":"b","role":"primary","subnets":"10.1.0.0/16"}"#);
        assert!(applies(&primary));
        let l3 =
            network(r#"{"name":"b","topology":"layer3","role":"primary","subnets":"10.1.0.0/16"}"#);
        assert!(applies(&l3));
        let secondary = network(r#"{"name":"b","subnets":"10.1.0.0/16"}"#);
        assert!(!applies(&secondary));
        let v6 = network(r#"{"name":"b","role":"primary","subnets":"fd00::/64"}"#);
        assert!(!applies(&v6));
        let localnet = network(r#"{"name":"b","topology":"localnet","subnets":"10.1.0.0/16"}"#);
        assert!(!applies(&localnet));
    }

    #[test]
    fn join_and_link_addresses_are_handed_out_once() {
        let join: Ipv4Net = "100.65.0.0/29".parse().expect("cidr");
        assert_eq!(router_join_ip(join), Ipv4Addr::new(100, 65, 0, 1));
        assert_eq!(unreachable_next_hop(join), Ipv4Addr::new(100, 65, 0, 6));
        let mut taken = Vec::new();
        while let Some(ip) = free_join_ip(join, &taken) {
            taken.push(ip);
        }
        let expected: Vec<Ipv4Addr> = (2..=5).map(|i| Ipv4Addr::new(100, 65, 0, i)).collect();
        assert_eq!(
            taken, expected,
            "router, next hop and broadcast never handed out"
        );

        let first = free_link_subnet(&[]).expect("free");
        assert_eq!(first.to_string(), "169.254.0.0/30");
        let second = free_link_subnet(&[first]).expect("free");
        assert_eq!(second.to_string(), "169.254.0.4/30");
        let (egress, gateway) = link_ips(second);
        assert_eq!(
            (egress.to_string(), gateway.to_string()),
            ("169.254.0.5".into(), "169.254.0.6".into())
        );
        let all: Vec<Ipv4Net> = LINK_RANGE.subnets(30).expect("subnets").collect();
        assert_eq!(free_link_subnet(&all), None);
    }

    #[test]
    fn policies_pick_the_chassis_by_switch_or_residence() {
        let l3 = network(
            r#"{"name":"b","topology":"layer3","role":"primary","subnets":"10.1.0.0/16,fd00::/60"}"#,
        );
        assert_eq!(
            policy_match(&l3, "b_node1", "rtoj-b_GR_node1"),
            r#"inport == "rtos-b_node1" && ip4.dst != {10.1.0.0/16}"#
        );
        let l2 = network(r#"{"name":"b","role":"primary","subnets":"10.1.0.0/16,10.2.0.0/16"}"#);
        assert_eq!(
            policy_match(&l2, "b_ovn_layer2_switch", "rtoj-b_GR_node1"),
            r#"inport == "rtos-b_ovn_layer2_switch" && ip4.dst != {10.1.0.0/16, 10.2.0.0/16} && is_chassis_resident("rtoj-b_GR_node1")"#
        );
    }

    #[test]
    fn an_unmapped_gateway_network_is_named() {
        let err = check_mapping(&gateway(), "node1", &["other".into()]).expect_err("unmapped");
        let text = err.to_string();
        assert!(text.contains("gateway.physicalNetworkName") && text.contains("other"));
        check_mapping(&gateway(), "node1", &["physnet".into()]).expect("mapped");
    }
}
