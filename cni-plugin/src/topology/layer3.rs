//! layer3: each chassis gets its own node subnet, carved out of the
//! network's subnets the first time a pod of the network lands there, on its
//! own switch; one cluster router joins the switches.

use std::collections::BTreeMap;

use conf::{Network, Role, Subnet, overlaps};
use ipnet::IpNet;

use super::{Segment, SwitchSpec, default_routes, network_ids, subnet_config};
use crate::error::PluginError;

/// The switch of `chassis` with its node subnets. Pods route through the
/// router port (the first host address): everything on a primary network,
/// the network's own subnets on a secondary one.
pub fn segment(network: &Network, chassis: &str, node_subnets: &[IpNet]) -> Segment {
    Segment {
        switch: SwitchSpec {
            name: conf::switch_name(network, chassis),
            external_ids: network_ids(network),
            other_config: subnet_config(node_subnets.iter().copied()),
            ports: Vec::new(),
        },
        subnets: node_subnets
            .iter()
            .map(|cidr| Subnet {
                cidr: *cidr,
                host_prefix: None,
            })
            .collect(),
        excludes: network.exclude_subnets.clone(),
        has_gateway: true,
        routed: match network.role {
            Role::Primary => default_routes(),
            Role::Secondary => network.subnets.iter().map(|s| s.cidr).collect(),
        },
    }
}

/// The first free node subnet of each of the network's subnets, given those
/// other chassis hold.
pub fn allocate_node_subnets(
    network: &Network,
    taken: &[IpNet],
) -> Result<Vec<IpNet>, PluginError> {
    network
        .subnets
        .iter()
        .map(|subnet| {
            let host_prefix = subnet.host_prefix.unwrap_or(subnet.cidr.prefix_len());
            let exhausted = || {
                PluginError::AddressUnavailable(format!(
                    "subnets: no /{host_prefix} node subnet left in {} for another chassis",
                    subnet.cidr
                ))
            };
            subnet
                .cidr
                .subnets(host_prefix)
                .map_err(|_| exhausted())?
                .find(|candidate| !taken.iter().any(|t| overlaps(*t, *candidate)))
                .ok_or_else(exhausted)
        })
        .collect()
}

/// The node subnets recorded on a layer3 switch: `other_config:subnet`, and
/// `ipv6_prefix` with the host prefix of the network's IPv6 subnet.
pub fn recorded_node_subnets(
    network: &Network,
    other_config: &BTreeMap<String, String>,
) -> Vec<IpNet> {
    let v4 = other_config
        .get("subnet")
        .and_then(|s| s.parse::<IpNet>().ok());
    let v6 = other_config.get("ipv6_prefix").and_then(|prefix| {
        let host_prefix = network
            .subnets
            .iter()
            .find(|s| s.cidr.addr().is_ipv6())?
            .host_prefix?;
        IpNet::new(prefix.parse().ok()?, host_prefix).ok()
    });
    v4.into_iter().chain(v6).collect()
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use super::*;
    use conf::NetConf;

    fn network(json: &str) -> Network {
        Network::from_conf(&NetConf::from_slice(json.as_bytes()).expect("json")).expect("valid")
    }

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|s| s.parse().expect("net")).collect()
    }

    #[test]
    fn node_subnets_skip_those_taken_and_run_out_clearly() {
        let n = network(
            r#"{"name":"l3","topology":"layer3","subnets":"10.128.0.0/22,fd00:30::/62/64"}"#,
        );
        let first = allocate_node_subnets(&n, &[]).expect("first");
        assert_eq!(first, nets(&["10.128.0.0/24", "fd00:30::/64"]));
        let taken = nets(&["10.128.0.0/24", "10.128.2.0/24", "fd00:30::/64"]);
        let next = allocate_node_subnets(&n, &taken).expect("next");
        assert_eq!(next, nets(&["10.128.1.0/24", "fd00:30:0:1::/64"]));
        let all = nets(&[
            "10.128.0.0/24",
            "10.128.1.0/24",
            "10.128.2.0/24",
            "10.128.3.0/24",
        ]);
        let err = allocate_node_subnets(&n, &all).expect_err("full");
        assert_eq!(err.code(), 102);
        assert!(err.to_string().contains("10.128.0.0/22"), "{err}");
    }

    #[test]
    fn recorded_subnets_round_trip_through_other_config() {
        let n =
            network(r#"{"name":"l3","topology":"layer3","subnets":"10.128.0.0/16,fd00:30::/48"}"#);
        let subnets = nets(&["10.128.7.0/24", "fd00:30:0:7::/64"]);
        let seg = segment(&n, "node7", &subnets);
        let config: BTreeMap<String, String> = seg.switch.other_config.iter().cloned().collect();
        assert_eq!(
            config.get("subnet").map(String::as_str),
            Some("10.128.7.0/24")
        );
        assert_eq!(recorded_node_subnets(&n, &config), subnets);
        assert_eq!(seg.switch.name, "l3_node7");
    }

    #[test]
    fn pods_route_through_the_node_gateway() {
        let subnets = nets(&["10.128.7.0/24", "fd00:30:0:7::/64"]);
        let addrs = nets(&["10.128.7.2/24", "fd00:30:0:7::2/64"]);
        let gw4: IpAddr = "10.128.7.1".parse().expect("ip");
        let gw6: IpAddr = "fd00:30:0:7::1".parse().expect("ip");

        let secondary =
            network(r#"{"name":"l3","topology":"layer3","subnets":"10.128.0.0/16,fd00:30::/48"}"#);
        let seg = segment(&secondary, "node7", &subnets);
        assert!(seg.pool().reserve_gateway);
        let gws = seg.gateways(&addrs);
        assert_eq!(gws, vec![gw4, gw6]);
        assert_eq!(
            seg.routes(&gws),
            vec![
                ("10.128.0.0/16".parse().expect("net"), gw4),
                ("fd00:30::/48".parse().expect("net"), gw6)
            ]
        );

        let primary = network(
            r#"{"name":"l3","role":"primary","topology":"layer3","subnets":"10.128.0.0/16"}"#,
        );
        let seg = segment(&primary, "node7", &subnets[..1]);
        assert_eq!(
            seg.routes(&[gw4]),
            vec![("0.0.0.0/0".parse().expect("net"), gw4)]
        );
    }
}
