//! A layer3 network's per-chassis switch, its node subnet and its place on
//! the cluster router, all created in one transaction the first time a pod
//! of the network lands on a chassis, and kept after the last one leaves so
//! the chassis' subnet stays stable.

use std::net::IpAddr;

use conf::Network;
use ipnet::IpNet;
use ovsdb::{Client, Condition, Mutation, Operation, Row, Value};

use super::nb::{NETWORK_KEY, fixed_port_row, too_many_conflicts};
use super::retry::{MAX_ATTEMPTS, backoff};
use super::{NB_DB, check_owner};
use crate::cni::result::mac_text;
use crate::error::PluginError;
use crate::ipam::pool::gateway;
use crate::topology::{self, FixedPort, allocate_node_subnets, recorded_node_subnets};

/// The node subnets of `chassis`, allocating them (and creating the switch,
/// the router and their ports) if this is the network's first pod there.
/// The write `wait`s on the network's set of switches as read, so two
/// chassis racing for a subnet cannot both get it: the loser re-reads.
pub async fn ensure(
    nb: &Client,
    network: &Network,
    chassis: &str,
) -> Result<Vec<IpNet>, PluginError> {
    let switch_name = conf::switch_name(network, chassis);
    let router_name = conf::router_name(network);
    let context = || format!("creating layer3 switch {switch_name}");
    for attempt in 0..MAX_ATTEMPTS {
        let read = nb
            .transact(
                NB_DB,
                &[
                    Operation::select(
                        "Logical_Switch",
                        vec![layer3_switches(network)],
                        Some(vec!["name".into(), "other_config".into()]),
                    ),
                    Operation::select(
                        "Logical_Router",
                        vec![Condition::eq("name", Value::string(&router_name))],
                        Some(vec!["_uuid".into(), "external_ids".into()]),
                    ),
                    Operation::select(
                        "Logical_Switch",
                        vec![Condition::eq("name", Value::string(&switch_name))],
                        Some(vec!["external_ids".into()]),
                    ),
                ],
            )
            .await
            .map_err(|e| PluginError::ovsdb(context(), e))?;
        let switches: Vec<(String, Vec<IpNet>)> = read
            .first()
            .map(|r| {
                r.rows
                    .iter()
                    .map(|row| {
                        let name = row.str("name").unwrap_or_default().to_owned();
                        (
                            name,
                            recorded_node_subnets(network, &row.map("other_config")),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        if let Some((_, subnets)) = switches.iter().find(|(name, _)| *name == switch_name) {
            return Ok(subnets.clone());
        }
        // Not ours, yet named like ours: another network's.
        if let Some(other) = read.get(2).and_then(|r| r.rows.first()) {
            check_owner("logical switch", &switch_name, other, &network.id.name)?;
        }
        let router = read.get(1).and_then(|r| r.rows.first());
        if let Some(router) = router {
            check_owner("logical router", &router_name, router, &network.id.name)?;
        }
        let taken: Vec<IpNet> = switches.iter().flat_map(|(_, s)| s.clone()).collect();
        let subnets = allocate_node_subnets(network, &taken)?;
        let router_uuid = router.and_then(|row| row.uuid().map(str::to_owned));
        let names: Vec<&str> = switches.iter().map(|(name, _)| name.as_str()).collect();
        let ops = create_ops(network, chassis, &subnets, &names, router_uuid.as_deref());
        match nb.transact(NB_DB, &ops).await {
            Ok(_) => {
                tracing::info!(step = "node-subnet", switch = %switch_name, subnets = ?subnets,
                    "layer3 node switch created");
                return Ok(subnets);
            }
            Err(e) if e.is_conflict() => {
                tracing::debug!(
                    step = "node-subnet",
                    attempt,
                    "NB changed under us, retrying: {e}"
                );
                backoff(attempt).await;
            }
            Err(e) => return Err(PluginError::ovsdb(context(), e)),
        }
    }
    Err(too_many_conflicts(context()))
}

/// The node subnets recorded for `chassis`, if its switch exists.
pub async fn node_subnets(
    nb: &Client,
    network: &Network,
    chassis: &str,
) -> Result<Option<Vec<IpNet>>, PluginError> {
    let name = conf::switch_name(network, chassis);
    let rows = nb
        .select(
            NB_DB,
            "Logical_Switch",
            vec![Condition::eq("name", Value::string(&name))],
            Some(vec!["other_config".into()]),
        )
        .await
        .map_err(|e| PluginError::ovsdb(format!("reading layer3 switch {name}"), e))?;
    Ok(rows
        .first()
        .map(|row| recorded_node_subnets(network, &row.map("other_config")))
        .filter(|subnets| !subnets.is_empty()))
}

/// Every layer3 switch of the network: the set the allocation depends on.
fn layer3_switches(network: &Network) -> Condition {
    Condition::includes(
        "external_ids",
        Value::string_map([
            (NETWORK_KEY, network.id.name.as_str()),
            ("k8s.ovn.org/topology", "layer3"),
        ]),
    )
}

/// Switch, router port, switch port to the router and, for the network's
/// first chassis, the router, after the waits that make it race-free.
fn create_ops(
    network: &Network,
    chassis: &str,
    subnets: &[IpNet],
    switches_read: &[&str],
    router_uuid: Option<&str>,
) -> Vec<Operation> {
    let segment = topology::layer3_segment(network, chassis, subnets);
    let switch = segment.switch;
    let (rtos, stor) = conf::router_port_names(&switch.name);
    let gateways: Vec<IpAddr> = subnets.iter().map(|s| gateway(*s)).collect();
    let networks: Vec<String> = subnets
        .iter()
        .zip(&gateways)
        .map(|(s, gw)| format!("{gw}/{}", s.prefix_len()))
        .collect();
    let router_mac = conf::mac_for_addresses(&gateways)
        .map(|mac| mac_text(&mac))
        .unwrap_or_default();
    let ids = topology::network_ids(network);

    let mut ops = vec![
        Operation::comment(format!("ovn-udn-cni: layer3 switch {}", switch.name)),
        Operation::wait_equal(
            "Logical_Switch",
            vec![layer3_switches(network)],
            vec!["name".into()],
            switches_read
                .iter()
                .map(|name| Row::new().with("name", Value::string(*name)))
                .collect(),
        ),
    ];
    if router_uuid.is_none() {
        ops.push(Operation::wait_equal(
            "Logical_Router",
            vec![Condition::eq(
                "name",
                Value::string(conf::router_name(network)),
            )],
            vec!["name".into()],
            vec![],
        ));
    }
    ops.push(Operation::insert_named(
        "Logical_Router_Port",
        Row::new()
            .with("name", Value::string(&rtos))
            .with("mac", Value::string(router_mac))
            .with("networks", Value::string_set(networks))
            .with("external_ids", Value::string_map(ids.clone())),
        "rtos",
    ));
    ops.push(match router_uuid {
        Some(uuid) => Operation::mutate(
            "Logical_Router",
            vec![Condition::uuid(uuid)],
            vec![Mutation::insert("ports", Value::named_uuid_set(["rtos"]))],
        ),
        None => Operation::insert(
            "Logical_Router",
            Row::new()
                .with("name", Value::string(conf::router_name(network)))
                .with("ports", Value::named_uuid_set(["rtos"]))
                .with("external_ids", Value::string_map(ids.clone())),
        ),
    });
    let stor_port = FixedPort {
        name: stor,
        kind: "router".into(),
        addresses: vec!["router".into()],
        options: vec![("router-port".into(), rtos)],
        tag_request: None,
        external_ids: ids,
    };
    ops.push(Operation::insert_named(
        "Logical_Switch_Port",
        fixed_port_row(&stor_port),
        "stor",
    ));
    ops.push(Operation::insert(
        "Logical_Switch",
        Row::new()
            .with("name", Value::string(&switch.name))
            .with("ports", Value::named_uuid_set(["stor"]))
            .with("external_ids", Value::string_map(switch.external_ids))
            .with("other_config", Value::string_map(switch.other_config)),
    ));
    ops
}
