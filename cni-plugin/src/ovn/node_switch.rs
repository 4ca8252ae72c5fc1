//! A layer3 network's per-chassis switch, its node subnet and its place on
//! the cluster router, all created in one transaction the first time a pod
//! of the network lands on a chassis, and kept after the last one leaves so
//! the chassis' subnet stays stable.

use conf::Network;
use ipnet::IpNet;
use ovsdb::{Client, Condition, Mutation, Operation, Row, Value};

use super::check_owner;
use super::router_ports::gateway_ports;
use super::txn::{self, Step};
use crate::error::PluginError;
use crate::topology::{self, allocate_node_subnets, recorded_node_subnets};
use crate::vocabulary::{NB_DB, column, ids, table};

/// What the node-subnet transaction reads.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// The network's layer3 switches: name and node subnets.
    pub switches: Vec<(String, Vec<IpNet>)>,
    /// The cluster router, if it exists (`_uuid`, `external_ids`).
    pub router: Option<Row>,
    /// A switch of this chassis' name that is not the network's.
    pub foreign_switch: Option<Row>,
}

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
    let what = format!("creating layer3 switch {switch_name}");
    let committed = txn::optimistic(nb, &what, |_| async {
        let snapshot = read(nb, network, chassis).await?;
        plan(network, chassis, &snapshot)
    })
    .await?;
    if !committed.results.is_empty() {
        tracing::info!(step = "node-subnet", switch = %switch_name, subnets = ?committed.outcome,
            "layer3 node switch created");
    }
    Ok(committed.outcome)
}

/// The network's layer3 switches, its router, and the switch of this
/// chassis' name whoever owns it.
async fn read(nb: &Client, network: &Network, chassis: &str) -> Result<Snapshot, PluginError> {
    let by_name = |name: String| vec![Condition::eq(column::NAME, Value::string(name))];
    let read = nb
        .transact(
            NB_DB,
            &[
                Operation::select(
                    table::LOGICAL_SWITCH,
                    vec![layer3_switches(network)],
                    Some(vec![column::NAME.into(), column::OTHER_CONFIG.into()]),
                ),
                Operation::select(
                    table::LOGICAL_ROUTER,
                    by_name(conf::router_name(network)),
                    Some(vec![column::UUID.into(), column::EXTERNAL_IDS.into()]),
                ),
                Operation::select(
                    table::LOGICAL_SWITCH,
                    by_name(conf::switch_name(network, chassis)),
                    Some(vec![column::EXTERNAL_IDS.into()]),
                ),
            ],
        )
        .await
        .map_err(|e| PluginError::ovsdb("reading the network's layer3 switches", e))?;
    let switches = read.first().map_or(Vec::new(), |r| {
        r.rows
            .iter()
            .map(|row| {
                let name = row.str(column::NAME).unwrap_or_default().to_owned();
                let subnets = recorded_node_subnets(network, &row.map(column::OTHER_CONFIG));
                (name, subnets)
            })
            .collect()
    });
    let first = |i: usize| read.get(i).and_then(|r| r.rows.first()).cloned();
    Ok(Snapshot {
        switches,
        router: first(1),
        foreign_switch: first(2),
    })
}

/// The chassis' node subnets as recorded, or the write that allocates them.
pub fn plan(
    network: &Network,
    chassis: &str,
    snap: &Snapshot,
) -> Result<Step<Vec<IpNet>>, PluginError> {
    let switch_name = conf::switch_name(network, chassis);
    if let Some((_, subnets)) = snap.switches.iter().find(|(name, _)| *name == switch_name) {
        return Ok(Step::Done(subnets.clone()));
    }
    // Not ours, yet named like ours: another network's.
    if let Some(other) = &snap.foreign_switch {
        check_owner("logical switch", &switch_name, other, &network.id.name)?;
    }
    if let Some(router) = &snap.router {
        check_owner(
            "logical router",
            &conf::router_name(network),
            router,
            &network.id.name,
        )?;
    }
    let taken: Vec<IpNet> = snap.switches.iter().flat_map(|(_, s)| s.clone()).collect();
    let subnets = allocate_node_subnets(network, &taken)?;
    let names: Vec<&str> = snap
        .switches
        .iter()
        .map(|(name, _)| name.as_str())
        .collect();
    let router_uuid = snap.router.as_ref().and_then(|r| r.uuid());
    let ops = create_ops(network, chassis, &subnets, &names, router_uuid);
    Ok(Step::Write(ops, subnets))
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
            table::LOGICAL_SWITCH,
            vec![Condition::eq(column::NAME, Value::string(&name))],
            Some(vec![column::OTHER_CONFIG.into()]),
        )
        .await
        .map_err(|e| PluginError::ovsdb(format!("reading layer3 switch {name}"), e))?;
    Ok(rows
        .first()
        .map(|row| recorded_node_subnets(network, &row.map(column::OTHER_CONFIG)))
        .filter(|subnets| !subnets.is_empty()))
}

/// Every layer3 switch of the network: the set the allocation depends on.
fn layer3_switches(network: &Network) -> Condition {
    Condition::includes(
        column::EXTERNAL_IDS,
        Value::string_map([
            (ids::NETWORK, network.id.name.as_str()),
            (ids::TOPOLOGY, "layer3"),
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
    let ids = topology::network_ids(network);
    let router_name = conf::router_name(network);

    let mut ops = vec![
        Operation::comment(format!("ovn-udn-cni: layer3 switch {}", switch.name)),
        Operation::wait_equal(
            table::LOGICAL_SWITCH,
            vec![layer3_switches(network)],
            vec![column::NAME.into()],
            switches_read
                .iter()
                .map(|name| Row::new().with(column::NAME, Value::string(*name)))
                .collect(),
        ),
    ];
    if router_uuid.is_none() {
        ops.push(Operation::wait_equal(
            table::LOGICAL_ROUTER,
            vec![Condition::eq(column::NAME, Value::string(&router_name))],
            vec![column::NAME.into()],
            vec![],
        ));
    }
    let [rtos, stor] = gateway_ports(&switch.name, subnets, &ids);
    ops.push(rtos);
    ops.push(match router_uuid {
        Some(uuid) => Operation::mutate(
            table::LOGICAL_ROUTER,
            vec![Condition::uuid(uuid)],
            vec![Mutation::insert(
                column::PORTS,
                Value::named_uuid_set(["rtos"]),
            )],
        ),
        None => Operation::insert(
            table::LOGICAL_ROUTER,
            Row::new()
                .with(column::NAME, Value::string(router_name))
                .with(column::PORTS, Value::named_uuid_set(["rtos"]))
                .with(column::EXTERNAL_IDS, Value::string_map(ids.clone())),
        ),
    });
    ops.push(stor);
    ops.push(Operation::insert(
        table::LOGICAL_SWITCH,
        Row::new()
            .with(column::NAME, Value::string(&switch.name))
            .with(column::PORTS, Value::named_uuid_set(["stor"]))
            .with(column::EXTERNAL_IDS, Value::string_map(switch.external_ids))
            .with(column::OTHER_CONFIG, Value::string_map(switch.other_config)),
    ));
    ops
}

#[cfg(test)]
mod tests {
    use super::*;
    use conf::NetConf;

    fn network() -> Network {
        let json = br#"{"name":"l3","topology":"layer3","subnets":"10.128.0.0/22"}"#;
        Network::from_conf(&NetConf::from_slice(json).expect("json")).expect("valid")
    }

    #[test]
    fn a_recorded_node_subnet_is_kept_and_a_new_one_skips_the_taken() {
        let n = network();
        let mine = vec![(
            "l3_node1".to_owned(),
            vec!["10.128.2.0/24".parse().expect("net")],
        )];
        let snap = Snapshot {
            switches: mine,
            ..Snapshot::default()
        };
        match plan(&n, "node1", &snap).expect("plan") {
            Step::Done(subnets) => assert_eq!(subnets[0].to_string(), "10.128.2.0/24"),
            other => panic!("{other:?}"),
        }
        match plan(&n, "node2", &snap).expect("plan") {
            Step::Write(ops, subnets) => {
                assert_eq!(subnets[0].to_string(), "10.128.0.0/24");
                assert!(ops.len() >= 6, "waits, router, ports, switch: {ops:?}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_router_or_switch_of_another_network_is_refused() {
        let n = network();
        let foreign = Row::new().with(
            column::EXTERNAL_IDS,
            Value::string_map([(ids::NETWORK, "l3.other")]),
        );
        let snap = Snapshot {
            router: Some(foreign.clone()),
            ..Snapshot::default()
        };
        let err = plan(&n, "node1", &snap).expect_err("router");
        assert_eq!(err.code(), 7);
        assert!(err.to_string().contains("l3.other"), "{err}");
        let snap = Snapshot {
            foreign_switch: Some(foreign),
            ..Snapshot::default()
        };
        assert_eq!(plan(&n, "node1", &snap).expect_err("switch").code(), 7);
    }
}
