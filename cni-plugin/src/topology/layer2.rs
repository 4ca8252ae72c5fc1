//! layer2: one logical switch across every node, so a pod (or VM) keeps its
//! address wherever it runs.

use conf::{Network, Role};

use super::{Segment, SwitchSpec, default_routes, network_ids, subnet_config};

/// The one switch of a layer2 network; a primary network's pods route
/// everything through the first host address of each subnet.
pub fn segment(network: &Network) -> Segment {
    let primary = network.role == Role::Primary;
    Segment {
        switch: SwitchSpec {
            name: conf::switch_name(network, ""),
            external_ids: network_ids(network),
            other_config: subnet_config(network.subnets.iter().map(|s| s.cidr)),
            ports: Vec::new(),
        },
        subnets: network.subnets.clone(),
        excludes: network.exclude_subnets.clone(),
        has_gateway: primary,
        routed: if primary {
            default_routes()
        } else {
            Vec::new()
        },
    }
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use super::*;
    use conf::NetConf;

    fn network(json: &str) -> Network {
        Network::from_conf(&NetConf::from_slice(json.as_bytes()).expect("json")).expect("valid")
    }

    #[test]
    fn primary_gets_default_routes_per_family() {
        let n =
            network(r#"{"name":"blue","role":"primary","subnets":"192.168.0.0/16,fd00:10::/64"}"#);
        let l2 = segment(&n);
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
        assert_eq!(routes.len(), 2);
        assert_eq!(routes[0].0.to_string(), "0.0.0.0/0");
        assert_eq!(routes[1].0.to_string(), "::/0");
        assert_eq!(l2.switch.name, "blue_ovn_layer2_switch");
        assert!(
            l2.switch
                .other_config
                .contains(&("subnet".into(), "192.168.0.0/16".into()))
        );
        assert!(
            l2.switch
                .other_config
                .contains(&("ipv6_prefix".into(), "fd00:10::".into()))
        );
        assert!(
            l2.switch
                .external_ids
                .contains(&("k8s.ovn.org/role".into(), "primary".into()))
        );
    }

    #[test]
    fn secondary_has_no_gateway_and_no_routes() {
        let n = network(r#"{"name":"x","subnets":"10.0.0.0/24"}"#);
        let l2 = segment(&n);
        assert!(
            l2.gateways(&["10.0.0.5/24".parse().expect("net")])
                .is_empty()
        );
        assert!(l2.routes(&["10.0.0.1".parse().expect("ip")]).is_empty());
        assert!(!l2.pool().reserve_gateway);
    }
}
