//! The ADD result rendered at every spec version, appended to any
//! `prevResult` a tenant can put in the config.

use std::net::IpAddr;

use conf::MacAddr;
use ipnet::IpNet;
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Map, Value as Json, json};

use super::{config, json, text};
use crate::cni::default_network::DefaultNetwork;
use crate::cni::result::{AddResult, mac_text};
use crate::cni::version::SUPPORTED_VERSIONS;

/// Any network: any address with any prefix its family allows.
fn ipnet() -> impl Strategy<Value = IpNet> {
    (any::<IpAddr>(), any::<u8>()).prop_map(|(addr, p)| {
        let max = if addr.is_ipv4() { 33 } else { 129 };
        IpNet::new(addr, p % max).unwrap()
    })
}

fn attachment() -> impl Strategy<Value = AddResult> {
    (
        (text(), any::<[u8; 6]>(), text(), any::<[u8; 6]>(), text()),
        any::<u32>(),
        vec(ipnet(), 0..4),
        vec(any::<IpAddr>(), 0..3),
        vec((ipnet(), any::<IpAddr>()), 0..3),
    )
        .prop_map(
            |((host, host_mac, pod, pod_mac, sandbox), mtu, addresses, gateways, routes)| {
                AddResult {
                    host_ifname: host,
                    host_mac: MacAddr::from(host_mac),
                    pod_ifname: pod,
                    pod_mac: MacAddr::from(pod_mac),
                    sandbox,
                    mtu,
                    addresses,
                    gateways,
                    routes,
                }
            },
        )
}

/// A list entry of a previous result: shaped like one, or anything.
fn entry() -> impl Strategy<Value = Json> {
    let address = prop_oneof![ipnet().prop_map(|n| n.to_string()), text()];
    prop_oneof![
        (address, json(), option::of(json()), option::of(json())).prop_map(
            |(address, interface, version, mtu)| {
                json!({"address": address, "interface": interface, "name": "eth0",
                       "version": version, "mtu": mtu})
            }
        ),
        json(),
    ]
}

/// A list of a previous result: a list of entries, or anything.
fn list() -> impl Strategy<Value = Json> {
    prop_oneof![3 => vec(entry(), 0..4).prop_map(Json::Array), 1 => json()]
}

/// A `prevResult`: shaped like a result with hostile contents, or any JSON.
fn prev_result() -> impl Strategy<Value = Json> {
    let shaped =
        (list(), list(), list(), option::of(json())).prop_map(|(interfaces, ips, routes, dns)| {
            let mut prev = json!({"cniVersion": "1.0.0", "interfaces": interfaces,
                                  "ips": ips, "routes": routes});
            if let Some(dns) = dns {
                prev["dns"] = dns;
            }
            prev
        });
    prop_oneof![3 => shaped, 1 => json()]
}

/// A `prevResult` of a default network: a pod interface `eth0` and hostile
/// addresses, gateways and routes pointing at it (or at nothing).
fn default_network_result() -> impl Strategy<Value = Json> {
    let ip_text = || prop_oneof![any::<IpAddr>().prop_map(|ip| json!(ip.to_string())), json()];
    let net_text = || {
        prop_oneof![
            ipnet().prop_map(|n| json!(n.to_string())),
            select(&["0.0.0.0/0", "::/0"][..]).prop_map(|d| json!(d)),
            json(),
        ]
    };
    let index = prop_oneof![3 => Just(json!(0)), 1 => json()];
    let ip = (net_text(), index, option::of(ip_text()))
        .prop_map(|(address, interface, gateway)| json!({"address": address, "interface": interface, "gateway": gateway}));
    let route =
        (net_text(), option::of(ip_text())).prop_map(|(dst, gw)| json!({"dst": dst, "gw": gw}));
    (vec(ip, 0..4), vec(route, 0..4)).prop_map(|(ips, routes)| {
        json!({"cniVersion": "1.0.0", "interfaces": [{"name": "eth0", "sandbox": "/var/run/netns/p"}],
               "ips": ips, "routes": routes})
    })
}

/// A version: one the plugin speaks, or any text.
fn version() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => select(&SUPPORTED_VERSIONS[..]).prop_map(String::from),
        1 => text(),
    ]
}

/// The array at `key` of a (previous) result, empty when it is none.
fn array<'a>(value: Option<&'a Json>, key: &str) -> &'a [Json] {
    value
        .and_then(|v| v.get(key))
        .and_then(Json::as_array)
        .map_or(&[], Vec::as_slice)
}

/// An entry without the keys rendering may rewrite.
fn without(entry: &Json, keys: &[&str]) -> Json {
    match entry {
        Json::Object(object) => Json::Object(
            object
                .iter()
                .filter(|(k, _)| !keys.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<Map<_, _>>(),
        ),
        other => other.clone(),
    }
}

/// The family `ips[].version` must name for an entry's address, if any.
fn family(entry: &Json) -> Option<&'static str> {
    let net: IpNet = entry.get("address")?.as_str()?.parse().ok()?;
    Some(if net.addr().is_ipv4() { "4" } else { "6" })
}

proptest! {
    #![proptest_config(config(256))]

    /// Rendering never panics; the output has the version asked, keeps the
    /// previous entries, and appends ours pointing at our pod interface,
    /// with `ips[].version` exactly below 1.0.0 and `interfaces[].mtu`
    /// only from 1.1.0.
    #[test]
    fn results_follow_the_version_asked(
        attachment in attachment(),
        prev in option::of(prev_result()),
        version in version(),
    ) {
        let r = attachment.render(prev.as_ref(), &version);
        prop_assert_eq!(&r["cniVersion"], &json!(version));
        let interfaces = r["interfaces"].as_array().unwrap();
        let ips = r["ips"].as_array().unwrap();
        let routes = r["routes"].as_array().unwrap();
        let prev_interfaces = array(prev.as_ref(), "interfaces");
        let prev_ips = array(prev.as_ref(), "ips");
        let prev_routes = array(prev.as_ref(), "routes");
        prop_assert_eq!(interfaces.len(), prev_interfaces.len() + 2);
        prop_assert_eq!(ips.len(), prev_ips.len() + attachment.addresses.len());
        prop_assert_eq!(routes.len(), prev_routes.len() + attachment.routes.len());
        for (old, new) in prev_interfaces.iter().zip(interfaces) {
            prop_assert_eq!(without(old, &["mtu"]), without(new, &["mtu"]));
        }
        for (old, new) in prev_ips.iter().zip(ips) {
            prop_assert_eq!(without(old, &["version"]), without(new, &["version"]));
        }
        prop_assert_eq!(&routes[..prev_routes.len()], prev_routes);
        let expected_dns = prev.as_ref().and_then(|p| p.get("dns")).cloned().unwrap_or(json!({}));
        prop_assert_eq!(&r["dns"], &expected_dns);

        let pod = interfaces.len() - 1;
        let (host_entry, pod_entry) = (&interfaces[pod - 1], &interfaces[pod]);
        prop_assert_eq!(&host_entry["name"], &json!(attachment.host_ifname));
        prop_assert_eq!(&pod_entry["name"], &json!(attachment.pod_ifname));
        prop_assert_eq!(&pod_entry["sandbox"], &json!(attachment.sandbox));
        prop_assert_eq!(&pod_entry["mac"], &json!(mac_text(&attachment.pod_mac)));
        for (ip, address) in ips[prev_ips.len()..].iter().zip(&attachment.addresses) {
            prop_assert_eq!(&ip["interface"], &json!(pod));
            prop_assert_eq!(&ip["address"], &json!(address.to_string()));
            if let Some(gateway) = ip.get("gateway") {
                let gateway: IpAddr = gateway.as_str().unwrap().parse().unwrap();
                prop_assert_eq!(gateway.is_ipv4(), address.addr().is_ipv4());
                prop_assert!(attachment.gateways.contains(&gateway));
            }
        }
        for (i, route) in routes[prev_routes.len()..].iter().enumerate() {
            let (dst, gw) = attachment.routes[i];
            prop_assert_eq!(route, &json!({"dst": dst.to_string(), "gw": gw.to_string()}));
        }

        if !SUPPORTED_VERSIONS.contains(&version.as_str()) {
            return Ok(());
        }
        let before_1_0 = version.starts_with("0.");
        for ip in ips.iter().filter(|ip| ip.is_object()) {
            match (before_1_0, family(ip)) {
                (true, Some(family)) => prop_assert_eq!(&ip["version"], &json!(family)),
                (true, None) => {}
                (false, _) => prop_assert!(ip.get("version").is_none(), "{}", ip),
            }
        }
        for ip in &ips[prev_ips.len()..] {
            prop_assert_eq!(ip.get("version").is_some(), before_1_0, "{}", ip);
        }
        let has_mtu = version == "1.1.0";
        for interface in interfaces.iter().filter(|i| i.is_object()) {
            if !has_mtu {
                prop_assert!(interface.get("mtu").is_none(), "{}", interface);
            }
        }
        for interface in &interfaces[pod - 1..] {
            let mtu = has_mtu.then(|| json!(attachment.mtu));
            prop_assert_eq!(interface.get("mtu"), mtu.as_ref());
        }
    }

    /// A prevResult the default network's plugin sent (or anyone else)
    /// never panics the chained primary network: the routes eth0 keeps are
    /// each via a gateway of their own family, and the merged result keeps
    /// prevResult's interfaces and IPs and drops its default routes.
    #[test]
    fn any_prev_result_is_read_safely_for_the_default_network(
        prev in prop_oneof![prev_result(), default_network_result()],
        subnets in vec(select(&["10.96.0.0/12", "10.244.0.0/16", "fd00:10::/64", "0.0.0.0/1"][..]), 0..4),
    ) {
        let subnets: Vec<IpNet> = subnets.iter().map(|s| s.parse().unwrap()).collect();
        if let Some(dn) = DefaultNetwork::from_prev(&prev, "ovn-udn1", &subnets) {
            prop_assert!(dn.ifname != "ovn-udn1");
            for route in &dn.routes {
                prop_assert_eq!(route.destination.addr().is_ipv4(), route.gateway.is_ipv4());
                prop_assert!(subnets.contains(&route.destination));
            }
            let merged = dn.rewrite_prev(&prev);
            prop_assert_eq!(array(Some(&merged), "interfaces"), array(Some(&prev), "interfaces"));
            prop_assert_eq!(array(Some(&merged), "ips"), array(Some(&prev), "ips"));
            let default = |r: &Json| {
                r.get("dst").and_then(Json::as_str).and_then(|d| d.parse::<IpNet>().ok())
                    .is_some_and(|d| d.prefix_len() == 0)
            };
            prop_assert!(!array(Some(&merged), "routes").iter().any(default));
        }
    }
}
