//! The egress topology of a primary network on one chassis (see
//! [`crate::topology::egress`] for the path), created by the first ADD that
//! needs it there, in one transaction planned from one snapshot, and kept
//! like every shared topology row. Its waits make it race-free: addresses
//! (a gateway router's join address, a network's link subnet) are handed
//! out against the rows as read, and every row created by name is created
//! only if still absent, so racing ADDs on many chassis re-read and re-plan.

use std::net::Ipv4Addr;

use conf::{Gateway, Network, PeerKind, Topology, peer_port_names};
use ipnet::{IpNet, Ipv4Net};
use ovsdb::{Client, Condition, Mutation, Operation, Row, Value};

use super::check_owner;
use super::port::ops::fixed_port_row;
use super::router_ports::{gateway_ports, router_port, switch_port};
use super::txn::{self, Step};
use crate::error::PluginError;
use crate::topology::egress::{
    LINK_RANGE, POLICY_PRIORITY, free_join_ip, free_link_subnet, ipv4_subnets, link_ips,
    policy_match, router_join_ip, unreachable_next_hop,
};
use crate::topology::{FixedPort, network_ids};
use crate::vocabulary::{NB_DB, column, ids, option, table};

/// `k8s.ovn.org/egress-router` values.
const DISTRIBUTED: &str = "distributed";
const GATEWAY: &str = "gateway";
const NODE: &str = "node";

/// What an ADD asks egress for.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    /// The primary network.
    pub network: &'a Network,
    /// This chassis.
    pub chassis: &'a str,
    /// This chassis' side of the physical network.
    pub gateway: &'a Gateway,
    /// The switch the pod plugs into here (layer2: the network's one).
    pub pod_switch: &'a str,
}

/// What the egress transaction reads.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// This chassis' gateway router of the network (`external_ids`).
    pub gateway_router: Option<Row>,
    /// The network's distributed router (`_uuid`, `external_ids`).
    pub router: Option<Row>,
    /// Every gateway router of the network (`name`, `external_ids`).
    pub gateway_routers: Vec<Row>,
    /// Every distributed router with egress (`external_ids`): their links.
    pub distributed_routers: Vec<Row>,
    /// The network's join switch (`_uuid`).
    pub join_switch: Option<Row>,
    /// This chassis' egress router (`_uuid`).
    pub egress_router: Option<Row>,
    /// The pod's switch (`_uuid`).
    pub pod_switch: Option<Row>,
}

/// Makes sure the network egresses through this chassis' gateway.
pub async fn ensure(nb: &Client, input: &Input<'_>) -> Result<(), PluginError> {
    let name = conf::gateway_router_name(&input.network.id, input.chassis);
    let what = format!("creating egress gateway router {name}");
    let committed = txn::optimistic(nb, &what, |_| async {
        let snapshot = read(nb, input).await?;
        plan(input, &snapshot)
    })
    .await?;
    if !committed.results.is_empty() {
        tracing::info!(step = "egress", router = %name, "egress gateway router created");
    }
    Ok(())
}

/// One select for the common case (the gateway router exists), the rest
/// only when something is to be created.
async fn read(nb: &Client, input: &Input<'_>) -> Result<Snapshot, PluginError> {
    let network = &input.network.id;
    let gr = conf::gateway_router_name(network, input.chassis);
    let rows = nb
        .select(
            NB_DB,
            table::LOGICAL_ROUTER,
            by_name(&gr),
            Some(vec![column::EXTERNAL_IDS.into()]),
        )
        .await
        .map_err(|e| PluginError::ovsdb(format!("reading gateway router {gr}"), e))?;
    if let Some(row) = rows.into_iter().next() {
        return Ok(Snapshot {
            gateway_router: Some(row),
            ..Snapshot::default()
        });
    }
    let select = |table: &str, conditions: Vec<Condition>, columns: &[&str]| {
        Operation::select(
            table,
            conditions,
            Some(columns.iter().map(|c| (*c).to_owned()).collect()),
        )
    };
    let uuid_ids = [column::UUID, column::EXTERNAL_IDS];
    let read = nb
        .transact(
            NB_DB,
            &[
                select(
                    table::LOGICAL_ROUTER,
                    by_name(&conf::router_name(input.network)),
                    &uuid_ids,
                ),
                select(
                    table::LOGICAL_ROUTER,
                    vec![gateway_routers(input.network)],
                    &[column::NAME, column::EXTERNAL_IDS],
                ),
                select(
                    table::LOGICAL_ROUTER,
                    vec![distributed_routers()],
                    &[column::EXTERNAL_IDS],
                ),
                select(
                    table::LOGICAL_SWITCH,
                    by_name(&conf::join_switch_name(network)),
                    &[column::UUID],
                ),
                select(
                    table::LOGICAL_ROUTER,
                    by_name(&conf::egress_router_name(input.chassis)),
                    &[column::UUID],
                ),
                select(
                    table::LOGICAL_SWITCH,
                    by_name(input.pod_switch),
                    &[column::UUID],
                ),
            ],
        )
        .await
        .map_err(|e| PluginError::ovsdb(format!("reading the egress topology of {gr}"), e))?;
    let rows = |i: usize| read.get(i).map(|r| r.rows.clone()).unwrap_or_default();
    let first = |i: usize| rows(i).into_iter().next();
    Ok(Snapshot {
        gateway_router: None,
        router: first(0),
        gateway_routers: rows(1),
        distributed_routers: rows(2),
        join_switch: first(3),
        egress_router: first(4),
        pod_switch: first(5),
    })
}

/// Nothing to do when the chassis' gateway router exists (it was created
/// with everything it needs); else the one write that creates it.
pub fn plan(input: &Input<'_>, snap: &Snapshot) -> Result<Step<()>, PluginError> {
    let network = input.network;
    let names = Names::new(input);
    if let Some(existing) = &snap.gateway_router {
        check_owner(
            "logical router",
            &names.gateway_router,
            existing,
            &network.id.name,
        )?;
        return Ok(Step::Done(()));
    }
    if let Some(router) = &snap.router {
        check_owner("logical router", &names.router, router, &network.id.name)?;
    }
    let pod_switch = snap
        .pod_switch
        .as_ref()
        .and_then(|row| row.uuid())
        .ok_or_else(|| {
            PluginError::NotAvailable(format!(
                "egress: switch {} is gone from the NB; retry",
                input.pod_switch
            ))
        })?;
    if network.topology == Topology::Layer3 && snap.router.is_none() {
        return Err(PluginError::NotAvailable(format!(
            "egress: router {} of layer3 network {} is gone from the NB; retry",
            names.router, network.id.name
        )));
    }
    let recorded_link = snap
        .router
        .as_ref()
        .and_then(|r| r.map(column::EXTERNAL_IDS).get(ids::LINK_SUBNET).cloned())
        .and_then(|text| text.parse::<Ipv4Net>().ok());
    let link = match recorded_link {
        Some(link) => link,
        None => {
            let taken: Vec<Ipv4Net> = snap
                .distributed_routers
                .iter()
                .filter_map(|r| {
                    r.map(column::EXTERNAL_IDS)
                        .get(ids::LINK_SUBNET)?
                        .parse()
                        .ok()
                })
                .collect();
            free_link_subnet(&taken).ok_or_else(|| {
                PluginError::AddressUnavailable(format!(
                    "egress: every /30 link subnet of {LINK_RANGE} is taken by another network"
                ))
            })?
        }
    };
    let join = network.join_subnet;
    let taken: Vec<Ipv4Addr> = snap
        .gateway_routers
        .iter()
        .filter_map(|r| r.map(column::EXTERNAL_IDS).get(ids::JOIN_IP)?.parse().ok())
        .collect();
    let join_ip = free_join_ip(join, &taken).ok_or_else(|| {
        PluginError::AddressUnavailable(format!(
            "joinSubnet: no address left in {join} for the gateway router of chassis {}",
            input.chassis
        ))
    })?;
    let writer = Writer {
        input,
        names,
        link,
        join_ip,
    };
    let mut ops = vec![Operation::comment(format!(
        "ovn-udn-cni: egress {}",
        writer.names.gateway_router
    ))];
    ops.extend(writer.waits(snap, recorded_link.is_none()));
    ops.extend(writer.gateway_router());
    ops.extend(writer.join_switch(snap.join_switch.as_ref().and_then(|r| r.uuid())));
    ops.extend(writer.router(snap, pod_switch, recorded_link.is_none()));
    ops.extend(writer.egress_router(snap.egress_router.as_ref().and_then(|r| r.uuid())));
    Ok(Step::Write(ops, ()))
}

/// The names of everything egress creates for one network on one chassis.
#[derive(Debug, Clone)]
struct Names {
    router: String,
    gateway_router: String,
    join_switch: String,
    link_switch: String,
    egress_router: String,
    external_switch: String,
}

impl Names {
    fn new(input: &Input<'_>) -> Names {
        let network = &input.network.id;
        Names {
            router: conf::router_name(input.network),
            gateway_router: conf::gateway_router_name(network, input.chassis),
            join_switch: conf::join_switch_name(network),
            link_switch: conf::link_switch_name(network, input.chassis),
            egress_router: conf::egress_router_name(input.chassis),
            external_switch: conf::external_switch_name(input.chassis),
        }
    }
}

/// Builds the write once the addresses are chosen.
struct Writer<'a> {
    input: &'a Input<'a>,
    names: Names,
    link: Ipv4Net,
    join_ip: Ipv4Addr,
}

impl Writer<'_> {
    /// The snapshot's facts the write depends on.
    fn waits(&self, snap: &Snapshot, allocates_link: bool) -> Vec<Operation> {
        let absent = |table: &str, name: &str| {
            Operation::wait_equal(table, by_name(name), vec![column::NAME.into()], vec![])
        };
        let as_read = |condition: Condition, column: &str, rows: &[Row]| {
            Operation::wait_equal(
                table::LOGICAL_ROUTER,
                vec![condition],
                vec![column.into()],
                rows.iter()
                    .map(|r| {
                        Row::new()
                            .with(column, r.get(column).cloned().unwrap_or(Value::empty_set()))
                    })
                    .collect(),
            )
        };
        let mut ops = vec![
            absent(table::LOGICAL_ROUTER, &self.names.gateway_router),
            // Join addresses are handed out against the network's gateway
            // routers as read.
            as_read(
                gateway_routers(self.input.network),
                column::NAME,
                &snap.gateway_routers,
            ),
        ];
        match &snap.router {
            None => ops.push(absent(table::LOGICAL_ROUTER, &self.names.router)),
            Some(router) if allocates_link => ops.push(as_read(
                Condition::uuid(router.uuid().unwrap_or_default()),
                column::EXTERNAL_IDS,
                std::slice::from_ref(router),
            )),
            Some(_) => {}
        }
        if allocates_link {
            // Link subnets are handed out against every network's as read.
            ops.push(as_read(
                distributed_routers(),
                column::EXTERNAL_IDS,
                &snap.distributed_routers,
            ));
        }
        if snap.join_switch.is_none() {
            ops.push(absent(table::LOGICAL_SWITCH, &self.names.join_switch));
        }
        if snap.egress_router.is_none() {
            ops.push(absent(table::LOGICAL_ROUTER, &self.names.egress_router));
            ops.push(absent(table::LOGICAL_SWITCH, &self.names.external_switch));
        }
        ops.push(absent(table::LOGICAL_SWITCH, &self.names.link_switch));
        ops
    }

    /// The chassis' gateway router: on the join switch and the link, SNAT
    /// of the network's subnets to its link address, the default route to
    /// the egress router and the way back to the pods via the distributed
    /// router.
    fn gateway_router(&self) -> Vec<Operation> {
        let input = self.input;
        let network = input.network;
        let join = network.join_subnet;
        let (egress_ip, gateway_ip) = link_ips(self.link);
        let gr = &self.names.gateway_router;
        let (rtoj, jtor) = peer_port_names(PeerKind::Join, gr);
        let (rtoe, etor) = peer_port_names(PeerKind::External, gr);
        let net_ids = network_ids(network);
        let mut ops = vec![
            router_port(
                "gr_rtoj",
                &rtoj,
                &[(self.join_ip.into(), join.prefix_len())],
                &net_ids,
            ),
            router_port(
                "gr_rtoe",
                &rtoe,
                &[(gateway_ip.into(), self.link.prefix_len())],
                &net_ids,
            ),
            switch_port("gr_jtor", &jtor, &rtoj, &net_ids),
            switch_port("gr_etor", &etor, &rtoe, &net_ids),
            route("gr_default", Ipv4Net::default(), egress_ip),
        ];
        let subnets = ipv4_subnets(network);
        let mut routes = vec!["gr_default".to_owned()];
        let mut nats = Vec::new();
        for (i, subnet) in subnets.iter().enumerate() {
            let back = format!("gr_back{i}");
            ops.push(route(&back, *subnet, router_join_ip(join)));
            routes.push(back);
            let nat = format!("gr_snat{i}");
            ops.push(snat(&nat, IpNet::V4(*subnet), gateway_ip));
            nats.push(nat);
        }
        let mut gr_ids = net_ids.clone();
        gr_ids.push((ids::EGRESS_ROUTER.into(), GATEWAY.into()));
        gr_ids.push((ids::JOIN_IP.into(), self.join_ip.to_string()));
        ops.push(Operation::insert(
            table::LOGICAL_ROUTER,
            Row::new()
                .with(column::NAME, Value::string(gr))
                .with(column::PORTS, Value::named_uuid_set(["gr_rtoj", "gr_rtoe"]))
                .with(column::STATIC_ROUTES, Value::named_uuid_set(routes))
                .with(column::NAT, Value::named_uuid_set(nats))
                .with(
                    column::OPTIONS,
                    Value::string_map([(option::CHASSIS, input.chassis)]),
                )
                .with(column::EXTERNAL_IDS, Value::string_map(gr_ids)),
        ));
        // The link to the egress router: its own switch.
        let (rtol, ltor) = peer_port_names(PeerKind::Link, &self.names.link_switch);
        ops.push(router_port(
            "egress_rtol",
            &rtol,
            &[(egress_ip.into(), self.link.prefix_len())],
            &net_ids,
        ));
        ops.push(switch_port("link_ltor", &ltor, &rtol, &net_ids));
        ops.push(Operation::insert(
            table::LOGICAL_SWITCH,
            Row::new()
                .with(column::NAME, Value::string(&self.names.link_switch))
                .with(
                    column::PORTS,
                    Value::named_uuid_set(["gr_etor", "link_ltor"]),
                )
                .with(
                    column::EXTERNAL_IDS,
                    Value::string_map(egress_switch_ids(&net_ids, "link")),
                ),
        ));
        ops
    }

    /// The join switch, created with the network's first gateway router,
    /// or the new gateway router's port added to it.
    fn join_switch(&self, existing: Option<&str>) -> Vec<Operation> {
        match existing {
            Some(uuid) => vec![Operation::mutate(
                table::LOGICAL_SWITCH,
                vec![Condition::uuid(uuid)],
                vec![Mutation::insert(
                    column::PORTS,
                    Value::named_uuid_set(["gr_jtor"]),
                )],
            )],
            None => {
                let net_ids = network_ids(self.input.network);
                let join = self.input.network.join_subnet;
                let (rtoj, jtor) = peer_port_names(PeerKind::Join, &self.names.router);
                vec![
                    router_port(
                        "dr_rtoj",
                        &rtoj,
                        &[(router_join_ip(join).into(), join.prefix_len())],
                        &net_ids,
                    ),
                    switch_port("dr_jtor", &jtor, &rtoj, &net_ids),
                    Operation::insert(
                        table::LOGICAL_SWITCH,
                        Row::new()
                            .with(column::NAME, Value::string(&self.names.join_switch))
                            .with(column::PORTS, Value::named_uuid_set(["dr_jtor", "gr_jtor"]))
                            .with(
                                column::EXTERNAL_IDS,
                                Value::string_map(egress_switch_ids(&net_ids, "join")),
                            ),
                    ),
                ]
            }
        }
    }

    /// The distributed router: created on a layer2 network's first egress
    /// (owning the pods' gateway address), given its join port, default
    /// route and link subnet with the join switch, and the policy sending
    /// this chassis' traffic to its gateway router.
    fn router(&self, snap: &Snapshot, pod_switch: &str, allocates_link: bool) -> Vec<Operation> {
        let input = self.input;
        let network = input.network;
        let net_ids = network_ids(network);
        let (gr_rtoj, _) = peer_port_names(PeerKind::Join, &self.names.gateway_router);
        let mut ops = vec![Operation::insert_named(
            table::LOGICAL_ROUTER_POLICY,
            Row::new()
                .with(column::PRIORITY, Value::integer(POLICY_PRIORITY))
                .with(
                    column::MATCH,
                    Value::string(policy_match(network, input.pod_switch, &gr_rtoj)),
                )
                .with(column::ACTION, Value::string("reroute"))
                .with(
                    column::NEXTHOPS,
                    Value::string_set([self.join_ip.to_string()]),
                )
                .with(column::EXTERNAL_IDS, Value::string_map(net_ids.clone())),
            "dr_policy",
        )];
        let mut ports = Vec::new();
        let mut routes = Vec::new();
        let creates_join = snap.join_switch.is_none();
        if creates_join {
            ports.push("dr_rtoj");
            let join = network.join_subnet;
            ops.push(route(
                "dr_default",
                Ipv4Net::default(),
                unreachable_next_hop(join),
            ));
            routes.push("dr_default");
        }
        let link = (ids::LINK_SUBNET.to_owned(), self.link.to_string());
        let role = (ids::EGRESS_ROUTER.to_owned(), DISTRIBUTED.to_owned());
        match snap.router.as_ref().and_then(|r| r.uuid()) {
            Some(uuid) => {
                let mut mutations = vec![Mutation::insert(
                    column::POLICIES,
                    Value::named_uuid_set(["dr_policy"]),
                )];
                if !ports.is_empty() {
                    mutations.push(Mutation::insert(
                        column::PORTS,
                        Value::named_uuid_set(ports),
                    ));
                    mutations.push(Mutation::insert(
                        column::STATIC_ROUTES,
                        Value::named_uuid_set(routes),
                    ));
                }
                if allocates_link {
                    mutations.push(Mutation::insert(
                        column::EXTERNAL_IDS,
                        Value::string_map([link, role]),
                    ));
                }
                ops.push(Operation::mutate(
                    table::LOGICAL_ROUTER,
                    vec![Condition::uuid(uuid)],
                    mutations,
                ));
            }
            None => {
                // Layer2: the router owns the pods' gateway address on their
                // switch, the same everywhere.
                let subnets: Vec<IpNet> = network.subnets.iter().map(|s| s.cidr).collect();
                ops.extend(gateway_ports(input.pod_switch, &subnets, &net_ids));
                ops.push(Operation::mutate(
                    table::LOGICAL_SWITCH,
                    vec![Condition::uuid(pod_switch)],
                    vec![Mutation::insert(
                        column::PORTS,
                        Value::named_uuid_set(["stor"]),
                    )],
                ));
                ports.push("rtos");
                let mut dr_ids = net_ids;
                dr_ids.extend([link, role]);
                ops.push(Operation::insert(
                    table::LOGICAL_ROUTER,
                    Row::new()
                        .with(column::NAME, Value::string(&self.names.router))
                        .with(column::PORTS, Value::named_uuid_set(ports))
                        .with(column::STATIC_ROUTES, Value::named_uuid_set(routes))
                        .with(column::POLICIES, Value::named_uuid_set(["dr_policy"]))
                        .with(column::EXTERNAL_IDS, Value::string_map(dr_ids)),
                ));
            }
        }
        ops
    }

    /// The chassis' egress router, created with the first network's
    /// gateway there: the chassis address on the physical network (through
    /// its external switch's localnet port), SNAT of every link to it, the
    /// default route via `nextHop`; or the new link's port added to it.
    fn egress_router(&self, existing: Option<&str>) -> Vec<Operation> {
        if let Some(uuid) = existing {
            return vec![Operation::mutate(
                table::LOGICAL_ROUTER,
                vec![Condition::uuid(uuid)],
                vec![Mutation::insert(
                    column::PORTS,
                    Value::named_uuid_set(["egress_rtol"]),
                )],
            )];
        }
        let gw = self.input.gateway;
        let node_ids = vec![(ids::EGRESS_ROUTER.to_owned(), NODE.to_owned())];
        let (rtoe, etor) = peer_port_names(PeerKind::External, &self.names.egress_router);
        let localnet = FixedPort {
            name: format!("{}_localnet", self.names.external_switch),
            kind: "localnet".into(),
            addresses: vec!["unknown".into()],
            options: vec![(
                option::NETWORK_NAME.into(),
                gw.physical_network_name.clone(),
            )],
            tag_request: None,
            external_ids: node_ids.clone(),
        };
        let mut ops = vec![
            router_port(
                "egress_rtoe",
                &rtoe,
                &[(gw.address.addr().into(), gw.address.prefix_len())],
                &node_ids,
            ),
            switch_port("egress_etor", &etor, &rtoe, &node_ids),
            Operation::insert_named(
                table::LOGICAL_SWITCH_PORT,
                fixed_port_row(&localnet),
                "ext_localnet",
            ),
            Operation::insert(
                table::LOGICAL_SWITCH,
                Row::new()
                    .with(column::NAME, Value::string(&self.names.external_switch))
                    .with(
                        column::PORTS,
                        Value::named_uuid_set(["egress_etor", "ext_localnet"]),
                    )
                    .with(column::EXTERNAL_IDS, Value::string_map(node_ids.clone())),
            ),
            snat("egress_snat", IpNet::V4(LINK_RANGE), gw.address.addr()),
        ];
        let mut routes = Vec::new();
        if let Some(hop) = gw.next_hop {
            ops.push(route("egress_default", Ipv4Net::default(), hop));
            routes.push("egress_default");
        }
        ops.push(Operation::insert(
            table::LOGICAL_ROUTER,
            Row::new()
                .with(column::NAME, Value::string(&self.names.egress_router))
                .with(
                    column::PORTS,
                    Value::named_uuid_set(["egress_rtoe", "egress_rtol"]),
                )
                .with(column::NAT, Value::named_uuid_set(["egress_snat"]))
                .with(column::STATIC_ROUTES, Value::named_uuid_set(routes))
                .with(
                    column::OPTIONS,
                    Value::string_map([(option::CHASSIS, self.input.chassis)]),
                )
                .with(column::EXTERNAL_IDS, Value::string_map(node_ids)),
        ));
        ops
    }
}

/// A network's external_ids, and what the switch is for in egress.
fn egress_switch_ids(net_ids: &[(String, String)], part: &str) -> Vec<(String, String)> {
    let mut ids = net_ids.to_vec();
    ids.push((ids::EGRESS_SWITCH.into(), part.into()));
    ids
}

/// A static route.
fn route(uuid_name: &str, destination: Ipv4Net, next_hop: Ipv4Addr) -> Operation {
    Operation::insert_named(
        table::LOGICAL_ROUTER_STATIC_ROUTE,
        Row::new()
            .with(column::IP_PREFIX, Value::string(destination.to_string()))
            .with(column::NEXTHOP, Value::string(next_hop.to_string())),
        uuid_name,
    )
}

/// Source NAT of `inside` to `outside`.
fn snat(uuid_name: &str, inside: IpNet, outside: Ipv4Addr) -> Operation {
    Operation::insert_named(
        table::NAT,
        Row::new()
            .with(column::TYPE, Value::string("snat"))
            .with(column::LOGICAL_IP, Value::string(inside.to_string()))
            .with(column::EXTERNAL_IP, Value::string(outside.to_string())),
        uuid_name,
    )
}

fn by_name(name: &str) -> Vec<Condition> {
    vec![Condition::eq(column::NAME, Value::string(name))]
}

/// The network's gateway routers: the set join addresses depend on.
fn gateway_routers(network: &Network) -> Condition {
    Condition::includes(
        column::EXTERNAL_IDS,
        Value::string_map([
            (ids::NETWORK, network.id.name.as_str()),
            (ids::EGRESS_ROUTER, GATEWAY),
        ]),
    )
}

/// Every network's distributed router with egress: the set link subnets
/// depend on.
fn distributed_routers() -> Condition {
    Condition::includes(
        column::EXTERNAL_IDS,
        Value::string_map([(ids::EGRESS_ROUTER, DISTRIBUTED)]),
    )
}
