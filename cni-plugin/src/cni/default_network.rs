//! A primary UDN chained after the cluster's default network (its
//! prevResult): the default network's pod interface (`eth0`) keeps only the
//! routes to the node config's `defaultNetworkSubnets`, via its own gateway;
//! the default route moves to the UDN. Read from prevResult, never trusted:
//! entries that do not parse are skipped, nothing panics.

use std::net::IpAddr;

use ipnet::IpNet;
use netns::Route;
use serde_json::{Value, json};

/// What the UDN changes on the default network's interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefaultNetwork {
    /// The default network's interface in the pod (`eth0`).
    pub ifname: String,
    /// The routes it keeps: each default-network subnet via the gateway of
    /// its family.
    pub routes: Vec<Route>,
}

impl DefaultNetwork {
    /// The default network's interface in `prev` (the first pod interface
    /// other than `own_ifname` with an address) and the routes it keeps to
    /// `subnets`. `None` when prevResult has no such interface.
    pub fn from_prev(prev: &Value, own_ifname: &str, subnets: &[IpNet]) -> Option<DefaultNetwork> {
        let interfaces = prev.get("interfaces").and_then(Value::as_array)?;
        let ips = prev.get("ips").and_then(Value::as_array);
        let ips: Vec<(usize, IpNet, Option<IpAddr>)> = ips
            .into_iter()
            .flatten()
            .filter_map(|ip| {
                let index = usize::try_from(ip.get("interface")?.as_u64()?).ok()?;
                let address: IpNet = ip.get("address")?.as_str()?.parse().ok()?;
                let gateway = ip
                    .get("gateway")
                    .and_then(Value::as_str)
                    .and_then(|g| g.parse().ok());
                Some((index, address, gateway))
            })
            .collect();
        let (index, ifname) = interfaces.iter().enumerate().find_map(|(i, interface)| {
            let name = interface.get("name")?.as_str()?;
            let in_pod = interface
                .get("sandbox")
                .and_then(Value::as_str)
                .is_some_and(|s| !s.is_empty());
            let addressed = ips.iter().any(|(index, _, _)| *index == i);
            (in_pod && addressed && name != own_ifname).then(|| (i, name.to_owned()))
        })?;
        let prev_routes = routes_of(prev);
        // Its own gateway, else a default route's next hop on its subnets
        // (in a merged result, the UDN's default route is there too).
        let own: Vec<&(usize, IpNet, Option<IpAddr>)> =
            ips.iter().filter(|(i, _, _)| *i == index).collect();
        let gateway = |v4: bool| {
            own.iter()
                .filter(|(_, address, _)| address.addr().is_ipv4() == v4)
                .find_map(|(_, _, gateway)| *gateway)
                .or_else(|| {
                    prev_routes.iter().find_map(|(dst, gw)| {
                        let gw = (*gw)?;
                        let on_link = own
                            .iter()
                            .any(|(_, address, _)| address.trunc().contains(&gw));
                        (dst.prefix_len() == 0 && on_link).then_some(gw)
                    })
                })
                .filter(|gw| gw.is_ipv4() == v4)
        };
        // A subnet eth0 is on needs no route: the kernel's connected one is.
        let on_link = |subnet: &IpNet| {
            own.iter()
                .any(|(_, address, _)| address.trunc().contains(subnet))
        };
        let routes = subnets
            .iter()
            .filter(|subnet| !on_link(subnet))
            .filter_map(|subnet| {
                Some(Route {
                    destination: *subnet,
                    gateway: gateway(subnet.addr().is_ipv4())?,
                })
            })
            .collect();
        Some(DefaultNetwork { ifname, routes })
    }

    /// `prev` as the merged result shows it: its default routes gone, the
    /// kept routes listed (once).
    pub fn rewrite_prev(&self, prev: &Value) -> Value {
        let mut prev = prev.clone();
        let mut routes: Vec<Value> = prev
            .get("routes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|route| !is_default(route))
            .cloned()
            .collect();
        for route in &self.routes {
            let entry =
                json!({"dst": route.destination.to_string(), "gw": route.gateway.to_string()});
            if !routes.contains(&entry) {
                routes.push(entry);
            }
        }
        if let Some(object) = prev.as_object_mut() {
            object.insert("routes".into(), Value::Array(routes));
        }
        prev
    }
}

/// prevResult's routes that parse: destination and gateway, if any.
fn routes_of(prev: &Value) -> Vec<(IpNet, Option<IpAddr>)> {
    prev.get("routes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|route| {
            let dst: IpNet = route.get("dst")?.as_str()?.parse().ok()?;
            let gw = route
                .get("gw")
                .and_then(Value::as_str)
                .and_then(|g| g.parse().ok());
            Some((dst.trunc(), gw))
        })
        .collect()
}

/// Whether a prevResult route is a default route.
fn is_default(route: &Value) -> bool {
    route
        .get("dst")
        .and_then(Value::as_str)
        .and_then(|d| d.parse::<IpNet>().ok())
        .is_some_and(|d| d.prefix_len() == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|s| s.parse().expect("net")).collect()
    }

    fn bridge_result() -> Value {
        json!({
            "cniVersion": "1.0.0",
            "interfaces": [
                {"name": "cni0", "mac": "aa:bb:cc:dd:ee:01"},
                {"name": "veth1", "mac": "aa:bb:cc:dd:ee:02"},
                {"name": "eth0", "mac": "aa:bb:cc:dd:ee:03", "sandbox": "/run/netns/p"}
            ],
            "ips": [{"address": "10.244.1.5/24", "gateway": "10.244.1.1", "interface": 2}],
            "routes": [{"dst": "0.0.0.0/0", "gw": "10.244.1.1"}, {"dst": "10.96.0.0/12"}],
            "dns": {}
        })
    }

    #[test]
    fn eth0_keeps_the_default_network_subnets_via_its_gateway() {
        let subnets = nets(&[
            "10.244.0.0/16",
            "10.96.0.0/12",
            "fd00:10::/64",
            "10.244.1.0/24",
        ]);
        let dn = DefaultNetwork::from_prev(&bridge_result(), "ovn-udn1", &subnets).expect("eth0");
        assert_eq!(dn.ifname, "eth0");
        let routes: Vec<String> = dn.routes.iter().map(ToString::to_string).collect();
        // No IPv6 gateway: the IPv6 subnet cannot be routed via eth0.
        assert_eq!(
            routes,
            [
                "10.244.0.0/16 via 10.244.1.1",
                "10.96.0.0/12 via 10.244.1.1"
            ]
        );
        let merged = dn.rewrite_prev(&bridge_result());
        assert_eq!(
            merged["routes"],
            json!([{"dst": "10.96.0.0/12"}, {"dst": "10.244.0.0/16", "gw": "10.244.1.1"},
                   {"dst": "10.96.0.0/12", "gw": "10.244.1.1"}])
        );
        assert_eq!(merged["interfaces"], bridge_result()["interfaces"]);
        // CHECK gets the merged result: the same interface and routes.
        assert_eq!(
            DefaultNetwork::from_prev(&merged, "ovn-udn1", &subnets),
            Some(dn)
        );
    }

    #[test]
    fn no_pod_interface_or_garbage_means_nothing_to_do() {
        for prev in [
            json!({}),
            json!({"interfaces": 5}),
            json!({"interfaces": [{"name": "eth0"}], "ips": [{"address": "10.0.0.2/24", "interface": 0}]}),
            json!({"interfaces": [{"name": "ovn-udn1", "sandbox": "/x"}],
                   "ips": [{"address": "10.0.0.2/24", "interface": 0}]}),
            json!({"interfaces": [{"name": "eth0", "sandbox": "/x"}], "ips": [{"address": "x", "interface": 0}]}),
        ] {
            assert_eq!(
                DefaultNetwork::from_prev(&prev, "ovn-udn1", &[]),
                None,
                "{prev}"
            );
        }
        let odd = json!({"interfaces": [{"name": "eth0", "sandbox": "/x"}],
            "ips": [{"address": "10.0.0.2/24", "interface": 0, "gateway": "fd00::1"}],
            "routes": [{"dst": "0.0.0.0/0", "gw": 7}, "x"]});
        let dn =
            DefaultNetwork::from_prev(&odd, "ovn-udn1", &nets(&["10.96.0.0/12"])).expect("eth0");
        assert!(
            dn.routes.is_empty(),
            "a gateway of the wrong family is no gateway"
        );
    }

    #[test]
    fn the_udn_default_route_is_not_taken_for_eth0s_gateway() {
        let merged = json!({
            "interfaces": [{"name": "eth0", "sandbox": "/x"}, {"name": "udn0"},
                           {"name": "ovn-udn1", "sandbox": "/x"}],
            "ips": [{"address": "10.244.1.5/24", "interface": 0},
                    {"address": "10.1.0.3/16", "gateway": "10.1.0.1", "interface": 2}],
            "routes": [{"dst": "0.0.0.0/0", "gw": "10.1.0.1"}, {"dst": "0.0.0.0/0", "gw": "10.244.1.1"}]
        });
        let dn =
            DefaultNetwork::from_prev(&merged, "ovn-udn1", &nets(&["10.96.0.0/12"])).expect("eth0");
        assert_eq!(dn.routes[0].to_string(), "10.96.0.0/12 via 10.244.1.1");
    }
}
