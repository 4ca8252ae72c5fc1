//! layer2: one logical switch across every node, so a pod (or VM) keeps its
//! address wherever it runs.

use std::net::IpAddr;

use conf::{Network, Role};
use ipnet::IpNet;

use super::{SwitchSpec, Topology, network_ids};
use crate::ipam::{Pool, pool::gateway};

/// A layer2 network.
pub struct Layer2<'a> {
    /// Its config.
    pub network: &'a Network,
}

impl Topology for Layer2<'_> {
    fn switch(&self, chassis: &str) -> SwitchSpec {
        let mut other_config = Vec::new();
        // OVN reads one IPv4 `subnet` and one IPv6 `ipv6_prefix` per switch.
        if let Some(v4) = self
            .network
            .subnets
            .iter()
            .find(|s| s.cidr.addr().is_ipv4())
        {
            other_config.push(("subnet".into(), v4.cidr.to_string()));
        }
        if let Some(v6) = self
            .network
            .subnets
            .iter()
            .find(|s| !s.cidr.addr().is_ipv4())
        {
            other_config.push(("ipv6_prefix".into(), v6.cidr.network().to_string()));
        }
        SwitchSpec {
            name: conf::switch_name(self.network, chassis),
            external_ids: network_ids(self.network),
            other_config,
        }
    }

    fn pool(&self) -> Pool<'_> {
        Pool {
            subnets: &self.network.subnets,
            excludes: &self.network.exclude_subnets,
            reserve_gateway: self.network.role == Role::Primary,
        }
    }

    fn gateways(&self, addresses: &[IpNet]) -> Vec<IpAddr> {
        if self.network.role != Role::Primary {
            return Vec::new();
        }
        addresses
            .iter()
            .filter_map(|a| {
                self.network
                    .subnets
                    .iter()
                    .find(|s| s.cidr.contains(&a.addr()))
            })
            .map(|s| gateway(s.cidr))
            .collect()
    }

    fn routes(&self, gateways: &[IpAddr]) -> Vec<(IpNet, IpAddr)> {
        gateways
            .iter()
            .map(|gw| {
                let default: IpNet = if gw.is_ipv4() {
                    IpNet::V4(Default::default())
                } else {
                    IpNet::V6(Default::default())
                };
                (default, *gw)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use conf::NetConf;

    fn network(json: &str) -> Network {
        Network::from_conf(&NetConf::from_slice(json.as_bytes()).expect("json")).expect("valid")
    }

    #[test]
    fn primary_gets_default_routes_per_family() {
        let n =
            network(r#"{"name":"blue","role":"primary","subnets":"192.168.0.0/16,fd00:10::/64"}"#);
        let l2 = Layer2 { network: &n };
        let addrs = [
            "192.168.0.5/16".parse().expect("net"),
            "fd00:10::5/64".parse().expect("net"),
        ];
        let gws = l2.gateways(&addrs);
        assert_eq!(
            gws,
            vec![
                "192.168.0.1".parse::<IpAddr>().expect("ip"),
                "fd00:10::1".parse().expect("ip")
            ]
        );
        let routes = l2.routes(&gws);
        assert_eq!(routes[0].0.to_string(), "0.0.0.0/0");
        assert_eq!(routes[1].0.to_string(), "::/0");
        let spec = l2.switch("node1");
        assert_eq!(spec.name, "blue_ovn_layer2_switch");
        assert!(
            spec.other_config
                .contains(&("subnet".into(), "192.168.0.0/16".into()))
        );
        assert!(
            spec.external_ids
                .contains(&("k8s.ovn.org/role".into(), "primary".into()))
        );
    }

    #[test]
    fn secondary_has_no_gateway() {
        let n = network(r#"{"name":"x","subnets":"10.0.0.0/24"}"#);
        let l2 = Layer2 { network: &n };
        assert!(
            l2.gateways(&["10.0.0.5/24".parse().expect("net")])
                .is_empty()
        );
    }
}
