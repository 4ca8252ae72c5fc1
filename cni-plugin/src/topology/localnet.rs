//! localnet: a switch with a port onto a physical network, bridged on each
//! chassis by `ovn-bridge-mappings`, optionally on an access VLAN. The
//! physical network's own router is the pods' business: no gateway here.

use conf::Network;

use super::{FixedPort, Segment, SwitchSpec, network_ids, subnet_config};
use crate::error::PluginError;

/// The localnet switch, created with its localnet port.
pub fn segment(network: &Network) -> Segment {
    let localnet_port = FixedPort {
        name: conf::localnet_port_name(network),
        kind: "localnet".into(),
        addresses: vec!["unknown".into()],
        options: vec![("network_name".into(), network.physical_network_name.clone())],
        tag_request: network.vlan_id,
        external_ids: network_ids(network),
    };
    Segment {
        switch: SwitchSpec {
            name: conf::switch_name(network, ""),
            external_ids: network_ids(network),
            other_config: subnet_config(network.subnets.iter().map(|s| s.cidr)),
            ports: vec![localnet_port],
        },
        subnets: network.subnets.clone(),
        excludes: network.exclude_subnets.clone(),
        has_gateway: false,
        routed: Vec::new(),
    }
}

/// A chassis without a bridge for the physical network would bind the pod
/// to a switch that goes nowhere: refuse before creating anything.
pub fn check_mapping(
    network: &Network,
    chassis: &str,
    bridge_mappings: &[String],
) -> Result<(), PluginError> {
    super::require_mapping(
        format_args!("localnet network {}", network.id.name),
        &network.physical_network_name,
        chassis,
        bridge_mappings,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use conf::NetConf;

    fn network(json: &str) -> Network {
        Network::from_conf(&NetConf::from_slice(json.as_bytes()).expect("json")).expect("valid")
    }

    fn mappings(names: &[&str]) -> Vec<String> {
        names.iter().map(|m| (*m).to_owned()).collect()
    }

    #[test]
    fn localnet_port_carries_physical_network_and_vlan() {
        let n = network(
            r#"{"name":"tenant-a","topology":"localnet","physicalNetworkName":"physnet",
                "vlanID":100,"subnets":"172.21.0.0/16"}"#,
        );
        let seg = segment(&n);
        assert_eq!(seg.switch.name, "tenant.a_ovn_localnet_switch");
        let port = &seg.switch.ports[0];
        assert_eq!(port.name, "tenant.a_ovn_localnet_port");
        assert_eq!(port.kind, "localnet");
        assert_eq!(port.addresses, vec!["unknown".to_owned()]);
        assert_eq!(
            port.options,
            vec![("network_name".to_owned(), "physnet".to_owned())]
        );
        assert_eq!(port.tag_request, Some(100));
        assert!(!seg.pool().reserve_gateway);
        assert!(
            seg.gateways(&["172.21.0.5/16".parse().expect("net")])
                .is_empty()
        );
    }

    #[test]
    fn missing_bridge_mapping_names_network_chassis_and_physnet() {
        let n = network(r#"{"name":"tenant-a","topology":"localnet"}"#);
        assert!(check_mapping(&n, "node1", &mappings(&["tenant-a"])).is_ok());
        let err = check_mapping(&n, "node1", &mappings(&["physnet"]))
            .expect_err("unmapped")
            .to_string();
        for part in ["tenant-a", "node1", "physnet", "ovn-bridge-mappings"] {
            assert!(err.contains(part), "{err}");
        }
    }
}
