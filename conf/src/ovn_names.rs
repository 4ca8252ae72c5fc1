//! OVN and host names, the same as ovn-kubernetes so its users and tools
//! recognise them.

use sha2::{Digest, Sha256};

use crate::{Network, NetworkId, Topology};

/// Who an attachment belongs to, which decides its logical port's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PodRef {
    /// A Kubernetes pod (K8S_POD_NAMESPACE / K8S_POD_NAME).
    Pod {
        /// Pod namespace.
        namespace: String,
        /// Pod name.
        name: String,
    },
    /// A persistent IPAM claim (KubeVirt VM): the port outlives the pod.
    Claim {
        /// Namespace of the claim.
        namespace: String,
        /// Claim name.
        claim: String,
    },
    /// A plain container (podman, `ctr`): container id and interface.
    Container {
        /// Container id.
        id: String,
        /// Interface name inside it.
        ifname: String,
    },
}

/// `x` with `-` and `/` replaced by `.`, then `_` appended.
pub fn prefix(x: &str) -> String {
    let mut out: String = x
        .chars()
        .map(|c| if c == '-' || c == '/' { '.' } else { c })
        .collect();
    out.push('_');
    out
}

/// The logical switch a pod of this network plugs into on `chassis`.
pub fn switch_name(network: &Network, chassis: &str) -> String {
    let base = prefix(&network.id.name);
    match network.topology {
        Topology::Layer2 => format!("{base}ovn_layer2_switch"),
        Topology::Layer3 => format!("{base}{chassis}"),
        Topology::Localnet => format!("{base}ovn_localnet_switch"),
    }
}

/// A layer3 network's cluster router, joining its per-chassis switches.
pub fn router_name(network: &Network) -> String {
    format!("{}ovn_cluster_router", prefix(&network.id.name))
}

/// The router port facing a layer3 switch (`rtos-<switch>`) and the
/// switch port facing the router (`stor-<switch>`).
pub fn router_port_names(switch: &str) -> (String, String) {
    (format!("rtos-{switch}"), format!("stor-{switch}"))
}

/// A primary network's gateway router on `chassis`, where its egress is
/// source-NATed (ovn-kubernetes' `GR_<node>`).
pub fn gateway_router_name(network: &NetworkId, chassis: &str) -> String {
    format!("{}GR_{chassis}", prefix(&network.name))
}

/// The switch joining a primary network's router to its gateway routers.
pub fn join_switch_name(network: &NetworkId) -> String {
    format!("{}join", prefix(&network.name))
}

/// The switch linking a network's gateway router on `chassis` to the
/// chassis' egress router (ovn-kubernetes' `ext_<node>`).
pub fn link_switch_name(network: &NetworkId, chassis: &str) -> String {
    format!("{}ext_{chassis}", prefix(&network.name))
}

/// The chassis' egress router, shared by every network: it owns the
/// chassis' address on the physical network. Its `-` keeps it apart from
/// every network's names (a prefix never holds one).
pub fn egress_router_name(chassis: &str) -> String {
    format!("ovn-udn-gw_{chassis}")
}

/// The chassis' external switch, with the localnet port to the physical
/// network its egress router sits on.
pub fn external_switch_name(chassis: &str) -> String {
    format!("ovn-udn-ext_{chassis}")
}

/// A router's port onto `switch` and the switch's port back, named by
/// their roles as ovn-kubernetes does (`rtoj-`/`jtor-` for join switches,
/// `rtoe-`/`etor-` for external ones): `(router port, switch port)`.
pub fn peer_port_names(kind: PeerKind, router: &str) -> (String, String) {
    let (to_switch, to_router) = match kind {
        PeerKind::Join => ("rtoj", "jtor"),
        PeerKind::External => ("rtoe", "etor"),
        PeerKind::Link => ("rtol", "ltor"),
    };
    (
        format!("{to_switch}-{router}"),
        format!("{to_router}-{router}"),
    )
}

/// What a router's port connects to, for [`peer_port_names`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerKind {
    /// A join switch.
    Join,
    /// An external switch, toward the physical network.
    External,
    /// A link switch, toward the egress router (seen from it, the link
    /// switch's network).
    Link,
}

/// A localnet network's port to the physical network.
pub fn localnet_port_name(network: &Network) -> String {
    format!("{}ovn_localnet_port", prefix(&network.id.name))
}

/// The Logical_Switch_Port name of an attachment.
pub fn lsp_name(network: &NetworkId, pod: &PodRef) -> String {
    match pod {
        PodRef::Pod { namespace, name } => {
            format!(
                "{}{namespace}_{name}",
                prefix(network.nad.as_deref().unwrap_or(&network.name))
            )
        }
        PodRef::Claim { namespace, claim } => {
            format!(
                "{}{namespace}_{claim}",
                prefix(network.nad.as_deref().unwrap_or(&network.name))
            )
        }
        PodRef::Container { id, ifname } => {
            let short: String = id.chars().take(12).collect();
            format!("{}{short}_{ifname}", prefix(&network.name))
        }
    }
}

/// Prefix of every host veth end the plugin creates.
const HOST_VETH_PREFIX: &str = "udn";

/// The host end of the veth: deterministic from container id and interface,
/// 15 characters (IFNAMSIZ - 1), so DEL finds it without any saved state and
/// two attachments never share it.
pub fn host_veth_name(container_id: &str, ifname: &str) -> String {
    let digest = Sha256::digest(format!("{container_id}/{ifname}").as_bytes());
    let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    format!("{HOST_VETH_PREFIX}{hex}")
}

/// Whether `name` has the shape of [`host_veth_name`]: `udn` and 12
/// lowercase hex digits. Only such links are ever candidates for deletion.
pub fn is_host_veth_name(name: &str) -> bool {
    name.strip_prefix(HOST_VETH_PREFIX).is_some_and(|hex| {
        hex.len() == 12
            && hex
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NetConf;

    fn network(json: &str) -> Network {
        Network::from_conf(&NetConf::from_slice(json.as_bytes()).expect("json")).expect("valid")
    }

    #[test]
    fn names_match_ovn_kubernetes() {
        let n = network(r#"{"name":"tenant-blue","netAttachDefName":"blue/tenant-blue"}"#);
        assert_eq!(prefix("blue/tenant-blue"), "blue.tenant.blue_");
        assert_eq!(switch_name(&n, "node1"), "tenant.blue_ovn_layer2_switch");
        let pod = PodRef::Pod {
            namespace: "blue".into(),
            name: "pod-a".into(),
        };
        assert_eq!(lsp_name(&n.id, &pod), "blue.tenant.blue_blue_pod-a");
        let vm = PodRef::Claim {
            namespace: "blue".into(),
            claim: "vm-a.ovn-udn1".into(),
        };
        assert_eq!(lsp_name(&n.id, &vm), "blue.tenant.blue_blue_vm-a.ovn-udn1");
    }

    #[test]
    fn plain_containers_use_id_and_ifname() {
        let n = network(r#"{"name":"net-a","topology":"layer3","subnets":"10.0.0.0/16"}"#);
        let c = PodRef::Container {
            id: "0123456789abcdef".into(),
            ifname: "eth0".into(),
        };
        assert_eq!(lsp_name(&n.id, &c), "net.a_0123456789ab_eth0");
        assert_eq!(switch_name(&n, "node7"), "net.a_node7");
        assert_eq!(router_name(&n), "net.a_ovn_cluster_router");
        assert_eq!(
            router_port_names("net.a_node7"),
            ("rtos-net.a_node7".into(), "stor-net.a_node7".into())
        );
    }

    #[test]
    fn localnet_names() {
        let n = network(r#"{"name":"phys-net","topology":"localnet"}"#);
        assert_eq!(switch_name(&n, "node1"), "phys.net_ovn_localnet_switch");
        assert_eq!(localnet_port_name(&n), "phys.net_ovn_localnet_port");
    }

    #[test]
    fn host_veth_names_are_short_stable_and_distinct() {
        let a = host_veth_name("test-container-1", "eth0");
        assert_eq!(a.len(), 15);
        assert_eq!(a, host_veth_name("test-container-1", "eth0"));
        assert_ne!(a, host_veth_name("test-container-2", "eth0"));
        assert_ne!(a, host_veth_name("test-container-1", "net1"));
        assert!(is_host_veth_name(&a));
        for other in [
            "eth0",
            "udn0123",
            "udn0123456789AB",
            "victim0",
            "udn0123456789abc",
        ] {
            assert!(!is_host_veth_name(other), "{other}");
        }
    }
}
