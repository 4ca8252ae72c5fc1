//! The OVS side: the port on the integration bridge that ovn-controller
//! binds to the logical port through `external_ids:iface-id`.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use ipnet::IpNet;

use ovsdb::{Client, Condition, Mutation, Operation, Row, Value};

use crate::error::PluginError;
use crate::vocabulary::{OVS_DB, column, ids, iface, table};

/// What the plugin needs to know about this node's OVS.
#[derive(Debug, Clone)]
pub struct NodeInfo {
    /// The chassis name (`requested-chassis`).
    pub chassis: String,
    /// Row uuid of the integration bridge.
    pub bridge_uuid: String,
    /// Userspace datapath: TX checksum offload must be off on pod ends.
    pub netdev: bool,
    /// Physical networks this chassis bridges (`ovn-bridge-mappings` keys).
    pub bridge_mappings: Vec<String>,
}

/// Reads the bridge and the chassis name in one round trip.
pub async fn read_node(
    ovs: &Client,
    bridge: &str,
    chassis: Option<&str>,
) -> Result<NodeInfo, PluginError> {
    let results = ovs
        .transact(
            OVS_DB,
            &[
                Operation::select(
                    table::OPEN_VSWITCH,
                    vec![],
                    Some(vec![column::EXTERNAL_IDS.into()]),
                ),
                Operation::select(
                    table::BRIDGE,
                    vec![Condition::eq(column::NAME, Value::string(bridge))],
                    Some(vec![column::UUID.into(), column::DATAPATH_TYPE.into()]),
                ),
            ],
        )
        .await
        .map_err(|e| PluginError::ovsdb("reading the local OVS database", e))?;
    let mut system_ids = results
        .first()
        .and_then(|r| r.rows.first())
        .map(|row| row.map(column::EXTERNAL_IDS))
        .unwrap_or_default();
    let system_id = system_ids.remove(iface::SYSTEM_ID);
    let bridge_mappings = system_ids
        .get(iface::BRIDGE_MAPPINGS)
        .map(|m| physical_networks(m))
        .unwrap_or_default();
    let bridge_row = results.get(1).and_then(|r| r.rows.first()).ok_or_else(|| {
        PluginError::NodeNotReady(format!("bridge {bridge} does not exist in the local OVS"))
    })?;
    let chassis = chassis
        .map(str::to_owned)
        .or(system_id)
        .ok_or_else(|| {
            PluginError::NodeNotReady(
                "no chassis name: set `chassis` in the node config or Open_vSwitch external_ids:system-id".into(),
            )
        })?;
    Ok(NodeInfo {
        chassis,
        bridge_uuid: bridge_row.uuid().unwrap_or_default().to_owned(),
        netdev: bridge_row.str(column::DATAPATH_TYPE) == Some("netdev"),
        bridge_mappings,
    })
}

/// `physnet:br-ex,other:br-other` -> the physical network names.
fn physical_networks(mappings: &str) -> Vec<String> {
    mappings
        .split(',')
        .filter_map(|m| m.split_once(':'))
        .map(|(physnet, _)| physnet.trim().to_owned())
        .collect()
}

/// Adds Port+Interface `name` to the bridge, marked transient so an OVS
/// restart drops it rather than resurrecting a port without a pod.
pub async fn add_port(
    ovs: &Client,
    node: &NodeInfo,
    name: &str,
    external_ids: Vec<(String, String)>,
) -> Result<(), PluginError> {
    let ops = [
        Operation::comment(format!("ovn-udn-cni: add port {name}")),
        Operation::insert_named(
            table::INTERFACE,
            Row::new()
                .with(column::NAME, Value::string(name))
                .with(column::EXTERNAL_IDS, Value::string_map(external_ids)),
            "iface",
        ),
        Operation::insert_named(
            table::PORT,
            Row::new()
                .with(column::NAME, Value::string(name))
                .with(column::INTERFACES, Value::named_uuid_set(["iface"]))
                .with(
                    column::OTHER_CONFIG,
                    Value::string_map([(iface::TRANSIENT, "true")]),
                ),
            "port",
        ),
        Operation::mutate(
            table::BRIDGE,
            vec![Condition::uuid(&node.bridge_uuid)],
            vec![Mutation::insert(
                column::PORTS,
                Value::named_uuid_set(["port"]),
            )],
        ),
    ];
    ovs.transact(OVS_DB, &ops)
        .await
        .map(drop)
        .map_err(|e| PluginError::ovsdb(format!("adding port {name} to the bridge"), e))
}

/// Removes port `name` from whatever bridge holds it (Port and Interface
/// rows go with it). `Ok(false)` when there was none.
pub async fn delete_port(ovs: &Client, name: &str) -> Result<bool, PluginError> {
    let context = || format!("deleting OVS port {name}");
    let rows = ovs
        .select(
            OVS_DB,
            table::PORT,
            vec![Condition::eq(column::NAME, Value::string(name))],
            Some(vec![column::UUID.into()]),
        )
        .await
        .map_err(|e| PluginError::ovsdb(context(), e))?;
    let Some(uuid) = rows.first().and_then(Row::uuid) else {
        return Ok(false);
    };
    let set = Value::uuid_set([uuid.to_owned()]);
    ovs.transact(
        OVS_DB,
        &[Operation::mutate(
            table::BRIDGE,
            vec![Condition::includes(column::PORTS, set.clone())],
            vec![Mutation::delete(column::PORTS, set)],
        )],
    )
    .await
    .map_err(|e| PluginError::ovsdb(context(), e))?;
    Ok(true)
}

/// Waits, without polling, until ovn-controller reports the port installed.
pub async fn wait_installed(
    ovs: &Client,
    name: &str,
    timeout: Duration,
) -> Result<(), PluginError> {
    let mut monitor = ovs
        .monitor(
            OVS_DB,
            table::INTERFACE,
            vec![Condition::eq(column::NAME, Value::string(name))],
            vec![column::NAME.into(), column::EXTERNAL_IDS.into()],
        )
        .await
        .map_err(|e| PluginError::ovsdb(format!("monitoring interface {name}"), e))?;
    monitor
        .wait_until(timeout, |rows| rows.values().any(is_installed))
        .await
        .map_err(|e| match e {
            ovsdb::Error::Timeout(_) => PluginError::NotInstalled {
                port: name.to_owned(),
                seconds: timeout.as_secs(),
            },
            e => PluginError::ovsdb(format!("waiting for interface {name}"), e),
        })
}

/// `external_ids:ovn-installed=true`, set by ovn-controller once the flows
/// for the port are in place.
pub fn is_installed(row: &Row) -> bool {
    row.map(column::EXTERNAL_IDS)
        .get(iface::OVN_INSTALLED)
        .map(String::as_str)
        == Some("true")
}

/// The interfaces of this node's OVS that the plugin made, of `network`
/// (of its NAD, when the config names one) or of every network: named as
/// the plugin names an attachment's host end (from its `sandbox` and
/// `pod-if-name`) and bound to a logical port (`iface-id`). A row that
/// merely carries the plugin's ids is never taken for one of its own.
pub async fn plugin_interfaces(
    ovs: &Client,
    network: Option<&conf::NetworkId>,
) -> Result<Vec<PluginInterface>, PluginError> {
    let conditions = network
        .map(|n| Condition::includes(column::EXTERNAL_IDS, super::attachment_ids(n)))
        .into_iter()
        .collect();
    let rows = ovs
        .select(
            OVS_DB,
            table::INTERFACE,
            conditions,
            Some(vec![column::NAME.into(), column::EXTERNAL_IDS.into()]),
        )
        .await
        .map_err(|e| PluginError::ovsdb("listing OVS interfaces", e))?;
    Ok(rows
        .iter()
        .filter_map(|row| {
            let name = row.str(column::NAME)?.to_owned();
            let mut ids = row.map(column::EXTERNAL_IDS);
            let interface = PluginInterface {
                lsp: ids.remove(iface::IFACE_ID)?,
                sandbox: ids.remove(ids::SANDBOX)?,
                ifname: ids.remove(ids::POD_IF_NAME)?,
                name,
            };
            if interface.name != conf::host_veth_name(&interface.sandbox, &interface.ifname) {
                tracing::warn!(port = %interface.name,
                    "OVS port with the plugin's ids but not named by the plugin: left alone");
                return None;
            }
            Some(interface)
        })
        .collect())
}

/// An OVS interface the plugin made for an attachment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginInterface {
    /// Its name (the host veth end).
    pub name: String,
    /// The logical port it is bound to (`iface-id`).
    pub lsp: String,
    /// The container id it was made for.
    pub sandbox: String,
    /// The interface name in that container.
    pub ifname: String,
}

/// The addresses of `network`'s pods on this chassis, from the interfaces
/// the plugin plugged (`ip_addresses`): where the chassis allocates first.
/// The local OVS is small, so this costs little however big the network.
pub async fn network_addresses(ovs: &Client, network: &str) -> Result<Vec<IpAddr>, PluginError> {
    let rows = ovs
        .select(
            OVS_DB,
            table::INTERFACE,
            vec![Condition::includes(
                column::EXTERNAL_IDS,
                Value::string_map([(ids::NETWORK, network)]),
            )],
            Some(vec![column::EXTERNAL_IDS.into()]),
        )
        .await
        .map_err(|e| PluginError::ovsdb(format!("listing interfaces of network {network}"), e))?;
    Ok(rows
        .iter()
        .filter_map(|row| row.map(column::EXTERNAL_IDS).remove(iface::IP_ADDRESSES))
        .flat_map(|list| {
            list.split(',')
                .filter_map(|cidr| cidr.parse::<IpNet>().ok())
                .map(|net| net.addr())
                .collect::<Vec<_>>()
        })
        .collect())
}

/// One interface's external_ids, when it exists.
pub async fn interface_ids(
    ovs: &Client,
    name: &str,
) -> Result<Option<BTreeMap<String, String>>, PluginError> {
    let rows = ovs
        .select(
            OVS_DB,
            table::INTERFACE,
            vec![Condition::eq(column::NAME, Value::string(name))],
            Some(vec![column::EXTERNAL_IDS.into()]),
        )
        .await
        .map_err(|e| PluginError::ovsdb(format!("reading interface {name}"), e))?;
    Ok(rows.first().map(|row| row.map(column::EXTERNAL_IDS)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bridge_mappings_name_physical_networks() {
        assert_eq!(
            physical_networks("physnet:br-ex, tenant:br-t"),
            vec!["physnet".to_owned(), "tenant".to_owned()]
        );
        assert!(physical_networks("").is_empty());
    }
}
