//! The CNI result of an ADD, rendered at the config's spec version.

use std::net::IpAddr;

use conf::MacAddr;
use ipnet::IpNet;
use serde_json::{Value, json};

use super::version;

/// What ADD built, in the terms of a CNI result.
#[derive(Debug, Clone)]
pub struct AddResult {
    /// Host end of the veth.
    pub host_ifname: String,
    /// Its MAC.
    pub host_mac: MacAddr,
    /// Container end (CNI_IFNAME).
    pub pod_ifname: String,
    /// Its MAC.
    pub pod_mac: MacAddr,
    /// The container's netns path.
    pub sandbox: String,
    /// Interface MTU.
    pub mtu: u32,
    /// Addresses with the subnet's prefix.
    pub addresses: Vec<IpNet>,
    /// Gateway of each address's family, when the network has one.
    pub gateways: Vec<IpAddr>,
    /// Routes via a gateway.
    pub routes: Vec<(IpNet, IpAddr)>,
}

/// Lower-case colon form, as OVN and `ip link` print MACs.
pub fn mac_text(mac: &MacAddr) -> String {
    mac.to_string().to_ascii_lowercase()
}

impl AddResult {
    /// The result JSON at `cni_version`, appended to `prev` (a chained
    /// plugin's result) when there is one.
    pub fn render(&self, prev: Option<&Value>, cni_version: &str) -> Value {
        let field = |key: &str| {
            prev.and_then(|p| p.get(key))
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        };
        let mut interfaces = field("interfaces");
        let mut ips = field("ips");
        let mut routes = field("routes");
        let host_index = interfaces.len();
        interfaces.push(json!({
            "name": self.host_ifname,
            "mac": mac_text(&self.host_mac),
            "mtu": self.mtu,
        }));
        interfaces.push(json!({
            "name": self.pod_ifname,
            "mac": mac_text(&self.pod_mac),
            "mtu": self.mtu,
            "sandbox": self.sandbox,
        }));
        for address in &self.addresses {
            let gateway = self
                .gateways
                .iter()
                .find(|g| g.is_ipv4() == address.addr().is_ipv4());
            let mut ip = json!({"address": address.to_string(), "interface": host_index + 1});
            if let Some(gateway) = gateway {
                ip["gateway"] = json!(gateway.to_string());
            }
            ips.push(ip);
        }
        routes.extend(
            self.routes
                .iter()
                .map(|(dst, gw)| json!({"dst": dst.to_string(), "gw": gw.to_string()})),
        );
        for ip in &mut ips {
            set_ip_version(ip, cni_version);
        }
        if !version::has_interface_mtu(cni_version) {
            for interface in &mut interfaces {
                if let Some(object) = interface.as_object_mut() {
                    object.remove("mtu");
                }
            }
        }
        let dns = prev
            .and_then(|p| p.get("dns"))
            .cloned()
            .unwrap_or_else(|| json!({}));
        json!({
            "cniVersion": cni_version,
            "interfaces": interfaces,
            "ips": ips,
            "routes": routes,
            "dns": dns,
        })
    }
}

/// Adds (before 1.0.0) or removes (1.0.0 on) `ips[].version`.
fn set_ip_version(ip: &mut Value, cni_version: &str) {
    let Some(object) = ip.as_object_mut() else {
        return;
    };
    if !version::has_ip_version_field(cni_version) {
        object.remove("version");
        return;
    }
    let family = object
        .get("address")
        .and_then(Value::as_str)
        .and_then(|a| a.parse::<IpNet>().ok())
        .map(|a| if a.addr().is_ipv4() { "4" } else { "6" });
    if let Some(family) = family {
        object.insert("version".into(), json!(family));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attachment() -> AddResult {
        AddResult {
            host_ifname: "udn0123456789ab".into(),
            host_mac: MacAddr::new(2, 0, 0, 0, 0, 1),
            pod_ifname: "ovn-udn1".into(),
            pod_mac: MacAddr::new(0x0a, 0x58, 192, 168, 0, 3),
            sandbox: "/var/run/netns/p".into(),
            mtu: 1400,
            addresses: vec![
                "192.168.0.3/16".parse().expect("net"),
                "fd00::3/64".parse().expect("net"),
            ],
            gateways: vec!["192.168.0.1".parse().expect("ip")],
            routes: vec![(
                "0.0.0.0/0".parse().expect("net"),
                "192.168.0.1".parse().expect("ip"),
            )],
        }
    }

    #[test]
    fn renders_1_1_0_with_mtu_and_no_ip_version() {
        let r = attachment().render(None, "1.1.0");
        assert_eq!(r["interfaces"][1]["mac"], "0a:58:c0:a8:00:03");
        assert_eq!(r["interfaces"][1]["mtu"], 1400);
        assert_eq!(r["interfaces"][0]["mtu"], 1400, "host end");
        assert_eq!(r["ips"][0]["gateway"], "192.168.0.1");
        assert_eq!(r["ips"][0]["interface"], 1);
        assert!(r["ips"][1].get("gateway").is_none());
        assert!(r["ips"][0].get("version").is_none());
        assert_eq!(r["routes"][0]["dst"], "0.0.0.0/0");
    }

    #[test]
    fn renders_0_3_1_with_ip_versions_and_no_mtu() {
        let r = attachment().render(None, "0.3.1");
        assert_eq!(r["ips"][0]["version"], "4");
        assert_eq!(r["ips"][1]["version"], "6");
        assert!(r["interfaces"][1].get("mtu").is_none());
    }

    #[test]
    fn appends_to_a_previous_result() {
        let prev = json!({"cniVersion":"1.0.0","interfaces":[{"name":"eth0"}],
            "ips":[{"address":"10.1.0.2/24","interface":0}],"dns":{"nameservers":["10.1.0.10"]}});
        let r = attachment().render(Some(&prev), "1.0.0");
        assert_eq!(r["interfaces"].as_array().expect("array").len(), 3);
        assert_eq!(r["ips"][1]["interface"], 2);
        assert_eq!(r["dns"]["nameservers"][0], "10.1.0.10");
    }
}
