//! The identifiers DESIGN.md promises on every attachment, as plain data:
//! the logical port's external_ids and options and the OVS interface's
//! external_ids, named as ovn-kubernetes names them so its tools work.

use conf::{MacAddr, Topology};
use ipnet::IpNet;

use super::port::record::{Attachment, attached_at_now, attachment_id};
use crate::cni::result::mac_text;
use crate::request::Request;
use crate::vocabulary::{ids, iface, option};

/// `(key, value)` pairs of an OVSDB map column.
pub type Pairs = Vec<(String, String)>;

fn pairs<const N: usize>(fixed: [(&str, &str); N], optional: &[(&str, Option<&str>)]) -> Pairs {
    fixed
        .iter()
        .map(|(k, v)| (*k, *v))
        .chain(optional.iter().filter_map(|(k, v)| Some((*k, (*v)?))))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// The logical switch port's external_ids. A claimed port outlives its
/// pods: instead of one owner it records the attachment on `chassis`.
pub fn lsp_external_ids(req: &Request, topology: Topology, chassis: &str) -> Pairs {
    let mut external_ids = pairs(
        [
            (ids::POD, "true"),
            (ids::NETWORK, &req.id.name),
            (ids::TOPOLOGY, topology.as_str()),
        ],
        &[
            (ids::NAMESPACE, req.args.namespace.as_deref()),
            (ids::NAD, req.id.nad.as_deref()),
        ],
    );
    external_ids.push(attached_at_now());
    match req.claim() {
        Some(claim) => {
            external_ids.push((ids::CLAIM.into(), claim));
            external_ids.push(attachment_id(&Attachment {
                chassis: chassis.to_owned(),
                sandbox: req.env.container_id.clone(),
                ifname: req.env.ifname.clone(),
            }));
        }
        None => {
            external_ids.push((ids::SANDBOX.into(), req.env.container_id.clone()));
            external_ids.push((ids::POD_IF_NAME.into(), req.env.ifname.clone()));
        }
    }
    external_ids
}

/// The logical switch port's options: bound on this chassis only, and to
/// this pod incarnation when its UID is known (not for a claim, which
/// several pods share during a migration).
pub fn lsp_options(req: &Request, chassis: &str) -> Pairs {
    pairs(
        [(option::REQUESTED_CHASSIS, chassis)],
        &[(option::IFACE_ID_VER, pod_uid(req))],
    )
}

fn pod_uid(req: &Request) -> Option<&str> {
    req.args
        .pod_uid
        .as_deref()
        .filter(|_| req.claim().is_none())
}

/// The OVS interface's external_ids; `iface-id` is what ovn-controller
/// binds the logical port `lsp` by.
pub fn interface_external_ids(
    req: &Request,
    lsp: &str,
    mac: &MacAddr,
    addresses: &[IpNet],
) -> Pairs {
    let mac = mac_text(mac);
    let ips: Vec<String> = addresses.iter().map(ToString::to_string).collect();
    let ips = ips.join(",");
    pairs(
        [
            (iface::IFACE_ID, lsp),
            (iface::ATTACHED_MAC, &mac),
            (iface::IP_ADDRESSES, &ips),
            (ids::SANDBOX, &req.env.container_id),
            (ids::POD_IF_NAME, &req.env.ifname),
            (ids::NETWORK, &req.id.name),
        ],
        &[
            (option::IFACE_ID_VER, pod_uid(req)),
            (ids::NAD, req.id.nad.as_deref()),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cni::env::CniEnv;
    use crate::request::Verb;
    use conf::{NetConf, NodeConfig};
    use std::collections::BTreeMap;

    fn request(cni_args: &str, json: &str) -> Request {
        let vars = [
            ("CNI_COMMAND", "ADD"),
            ("CNI_CONTAINERID", "c0ffee"),
            ("CNI_NETNS", "/var/run/netns/p"),
            ("CNI_IFNAME", "ovn-udn1"),
            ("CNI_PATH", "/opt/cni/bin"),
        ];
        let env = CniEnv::from_lookup(|k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        })
        .expect("env")
        .expect("cni");
        let env = CniEnv {
            args: cni_args.to_owned(),
            ..env
        };
        let json = format!(r#"{{"cniVersion":"1.1.0",{}"#, &json[1..]);
        let (req, verb) = Request::new(
            &env,
            json.clone().into_bytes(),
            NetConf::from_slice(json.as_bytes()).expect("json"),
            NodeConfig::default(),
        )
        .expect("request");
        assert!(matches!(verb, Verb::Add(..)));
        req
    }

    fn map(pairs: Pairs) -> BTreeMap<String, String> {
        pairs.into_iter().collect()
    }

    #[test]
    fn a_kubernetes_pod_carries_every_contract_key() {
        let req = request(
            "K8S_POD_NAMESPACE=blue;K8S_POD_NAME=a;K8S_POD_UID=u1",
            r#"{"name":"blue","topology":"layer2","netAttachDefName":"blue/blue"}"#,
        );
        let lsp = map(lsp_external_ids(&req, Topology::Layer2, "node1"));
        for (k, v) in [
            ("pod", "true"),
            ("k8s.ovn.org/network", "blue"),
            ("k8s.ovn.org/nad", "blue/blue"),
            ("k8s.ovn.org/topology", "layer2"),
            ("sandbox", "c0ffee"),
            ("pod-if-name", "ovn-udn1"),
            ("namespace", "blue"),
        ] {
            assert_eq!(
                lsp.get(k).map(String::as_str),
                Some(v),
                "LSP external_ids {k}"
            );
        }
        let options = map(lsp_options(&req, "node1"));
        assert_eq!(
            options.get("requested-chassis").map(String::as_str),
            Some("node1")
        );
        assert_eq!(options.get("iface-id-ver").map(String::as_str), Some("u1"));
        let mac = MacAddr::new(0x0a, 0x58, 10, 0, 0, 5);
        let ips = [
            "10.0.0.5/24".parse().expect("net"),
            "fd00::5/64".parse().expect("net"),
        ];
        let iface = map(interface_external_ids(&req, "blue.blue_blue_a", &mac, &ips));
        for (k, v) in [
            ("iface-id", "blue.blue_blue_a"),
            ("iface-id-ver", "u1"),
            ("attached_mac", "0a:58:0a:00:00:05"),
            ("ip_addresses", "10.0.0.5/24,fd00::5/64"),
            ("sandbox", "c0ffee"),
            ("pod-if-name", "ovn-udn1"),
            ("k8s.ovn.org/network", "blue"),
            ("k8s.ovn.org/nad", "blue/blue"),
        ] {
            assert_eq!(
                iface.get(k).map(String::as_str),
                Some(v),
                "interface external_ids {k}"
            );
        }
    }

    #[test]
    fn a_claimed_port_records_its_attachment_and_no_pod_uid() {
        let req = request(
            "K8S_POD_NAMESPACE=vms;K8S_POD_NAME=launcher;K8S_POD_UID=u1;IPAM_CLAIM=vm-a.net",
            r#"{"name":"l2","allowPersistentIPs":true,"subnets":"10.0.0.0/24"}"#,
        );
        assert_eq!(req.lsp_name(), "l2_vms_vm-a.net");
        let lsp = map(lsp_external_ids(&req, Topology::Layer2, "node1"));
        assert_eq!(
            lsp.get("k8s.ovn.org/ipam-claim").map(String::as_str),
            Some("vms/vm-a.net")
        );
        assert_eq!(
            lsp.get("k8s.ovn.org/attached.node1").map(String::as_str),
            Some("c0ffee/ovn-udn1")
        );
        assert!(!lsp.contains_key("sandbox"));
        assert!(!map(lsp_options(&req, "node1")).contains_key("iface-id-ver"));
        let mac = MacAddr::new(0x0a, 0x58, 10, 0, 0, 5);
        assert!(!map(interface_external_ids(&req, "x", &mac, &[])).contains_key("iface-id-ver"));

        // Without allowPersistentIPs the claim is ignored: a pod port.
        let req = request(
            "K8S_POD_NAMESPACE=vms;K8S_POD_NAME=launcher;IPAM_CLAIM=vm-a.net",
            r#"{"name":"l2","subnets":"10.0.0.0/24"}"#,
        );
        assert_eq!(req.lsp_name(), "l2_vms_launcher");
        assert!(req.claim().is_none());
    }

    #[test]
    fn a_plain_container_has_no_kubernetes_keys() {
        let req = request("", r#"{"name":"n"}"#);
        let lsp = map(lsp_external_ids(&req, Topology::Layer2, "node1"));
        assert!(!lsp.contains_key("namespace") && !lsp.contains_key("k8s.ovn.org/nad"));
        assert!(!map(lsp_options(&req, "node1")).contains_key("iface-id-ver"));
    }
}
