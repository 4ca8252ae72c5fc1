//! The egress topology of primary networks against a real NB database:
//! racing ADDs on many chassis make one distributed router, one join
//! switch, one gateway router and one egress router per chassis, each with
//! addresses of its own; networks with the same subnets share a chassis'
//! egress router on links of their own; a layer3 network's cluster router
//! is reused; a second call writes nothing; a gateway router of another
//! network of the same OVN name is refused.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::rc::Rc;

use common::{
    Add, Nb, all_rows, external_ids, failure, layer2, network, options, race, rows_named,
};
use conf::{Gateway, Network};
use ipnet::Ipv4Net;
use ovn_udn_cni::error::PluginError;
use ovn_udn_cni::ovn::egress::{self, Input, Snapshot};
use ovn_udn_cni::ovn::ovs::NodeInfo;
use ovn_udn_cni::ovn::segment;
use ovn_udn_cni::ovn::txn::Step;
use ovn_udn_cni::vocabulary::{column, ids, option, table};
use ovsdb::{Client, Row, Value};

/// The egress physical network every test chassis maps.
const PHYSNET: &str = "physnet";
/// The distributed router's address on the default join subnet.
const JOIN_ROUTER: &str = "100.65.0.1";
/// The next hop of its default route, which nothing owns.
const UNREACHABLE: &str = "100.65.255.254";
/// Every table egress writes.
const TABLES: [&str; 7] = [
    table::LOGICAL_SWITCH,
    table::LOGICAL_SWITCH_PORT,
    table::LOGICAL_ROUTER,
    table::LOGICAL_ROUTER_PORT,
    table::LOGICAL_ROUTER_STATIC_ROUTE,
    table::LOGICAL_ROUTER_POLICY,
    table::NAT,
];

/// Chassis `node<i>`'s side of the physical network: 172.20.0.1<i>.
fn gateway(i: u8) -> Gateway {
    Gateway {
        physical_network_name: PHYSNET.into(),
        address: Ipv4Net::new(Ipv4Addr::new(172, 20, 0, 10 + i), 16).unwrap(),
        next_hop: Some(Ipv4Addr::new(172, 20, 0, 1)),
    }
}

/// Chassis `i`'s name.
fn chassis(i: u8) -> String {
    format!("node{i}")
}

/// A chassis whose OVS maps the gateway's physical network.
fn node(chassis: &str) -> NodeInfo {
    NodeInfo {
        chassis: chassis.to_owned(),
        bridge_uuid: String::new(),
        netdev: false,
        bridge_mappings: vec![PHYSNET.to_owned()],
    }
}

/// One `ensure` on a connection of its own, as an ADD on chassis
/// `node<i>`; its result and the requests it sent.
async fn ensure_on(
    server: Rc<Nb>,
    net: Rc<Network>,
    i: u8,
    pod_switch: String,
) -> (Result<(), PluginError>, u64) {
    let nb = server.connect().await;
    let before = nb.traffic().requests;
    let result = ensure(&nb, &net, i, &pod_switch).await;
    (result, nb.traffic().requests - before)
}

/// `egress::ensure` for `net` on chassis `node<i>`.
async fn ensure(nb: &Client, net: &Network, i: u8, pod_switch: &str) -> Result<(), PluginError> {
    let input = Input {
        network: net,
        chassis: &chassis(i),
        gateway: &gateway(i),
        pod_switch,
    };
    egress::ensure(nb, &input).await
}

/// Runs every job, fails on any error, and returns the requests sent.
async fn race_ensures(
    jobs: Vec<impl std::future::Future<Output = (Result<(), PluginError>, u64)> + 'static>,
) -> u64 {
    let mut requests = 0;
    for (n, (result, sent)) in race(jobs).await.into_iter().enumerate() {
        result.unwrap_or_else(|e| panic!("ensure {n} failed: {e}"));
        requests += sent;
    }
    requests
}

/// The one row of `table` named `name`; panics unless exactly one.
async fn one(nb: &Client, table: &str, name: &str) -> Row {
    let mut rows = rows_named(nb, table, name).await;
    assert_eq!(rows.len(), 1, "{table} rows named {name}: {rows:?}");
    rows.remove(0)
}

/// Every row of `table` by uuid.
async fn by_uuid(nb: &Client, table: &str) -> BTreeMap<String, Row> {
    all_rows(nb, table)
        .await
        .into_iter()
        .map(|row| (row.uuid().unwrap().to_owned(), row))
        .collect()
}

/// The rows `row`'s `column` refers to in `table`.
async fn referred(nb: &Client, row: &Row, column: &str, table: &str) -> Vec<Row> {
    let rows = by_uuid(nb, table).await;
    row.uuids(column)
        .iter()
        .map(|uuid| {
            rows.get(uuid)
                .unwrap_or_else(|| panic!("{column} {uuid} missing from {table}"))
                .clone()
        })
        .collect()
}

/// A row's name.
fn name(row: &Row) -> &str {
    row.str(column::NAME).unwrap()
}

/// The rows' names.
fn names(rows: &[Row]) -> BTreeSet<String> {
    rows.iter().map(|r| name(r).to_owned()).collect()
}

/// No two rows of the named tables share a name.
async fn assert_names_unique(nb: &Client) {
    for table in [
        table::LOGICAL_ROUTER,
        table::LOGICAL_SWITCH,
        table::LOGICAL_ROUTER_PORT,
        table::LOGICAL_SWITCH_PORT,
    ] {
        let rows = all_rows(nb, table).await;
        let mut seen = BTreeSet::new();
        for row in &rows {
            assert!(seen.insert(name(row)), "{table}: {} twice", name(row));
        }
    }
}

/// Routers tagged with this egress role.
async fn routers_tagged(nb: &Client, role: &str) -> Vec<Row> {
    all_rows(nb, table::LOGICAL_ROUTER)
        .await
        .into_iter()
        .filter(|r| external_ids(r).get(ids::EGRESS_ROUTER).map(String::as_str) == Some(role))
        .collect()
}

/// A distributed router's link subnet, checked to be a /30 of
/// 169.254.0.0/16.
fn link_of(router: &Row) -> Ipv4Net {
    let link: Ipv4Net = external_ids(router)[ids::LINK_SUBNET].parse().unwrap();
    let range: Ipv4Net = "169.254.0.0/16".parse().unwrap();
    assert!(
        link.prefix_len() == 30 && range.contains(&link),
        "link subnet {link}"
    );
    link
}

/// `(ip_prefix, nexthop)` of a router's static routes.
async fn routes(nb: &Client, router: &Row) -> BTreeSet<(String, String)> {
    referred(
        nb,
        router,
        column::STATIC_ROUTES,
        table::LOGICAL_ROUTER_STATIC_ROUTE,
    )
    .await
    .iter()
    .map(|r| {
        (
            r.str(column::IP_PREFIX).unwrap().to_owned(),
            r.str(column::NEXTHOP).unwrap().to_owned(),
        )
    })
    .collect()
}

/// `(type, logical_ip, external_ip)` of a router's NAT rules.
async fn nats(nb: &Client, router: &Row) -> Vec<(String, String, String)> {
    referred(nb, router, column::NAT, table::NAT)
        .await
        .iter()
        .map(|r| {
            (
                r.str(column::TYPE).unwrap().to_owned(),
                r.str(column::LOGICAL_IP).unwrap().to_owned(),
                r.str(column::EXTERNAL_IP).unwrap().to_owned(),
            )
        })
        .collect()
}

/// The gateway router of the network whose OVN prefix is `prefix` on
/// chassis `i`, checked to be bound there, and its join address, checked
/// to be its `rtoj-` port's.
async fn gateway_router(nb: &Client, prefix: &str, i: u8) -> (Row, Ipv4Addr) {
    let gr = one(nb, table::LOGICAL_ROUTER, &format!("{prefix}_GR_node{i}")).await;
    assert_eq!(
        options(&gr).get(option::CHASSIS),
        Some(&chassis(i)),
        "{gr:?}"
    );
    assert_eq!(external_ids(&gr)[ids::EGRESS_ROUTER], "gateway");
    let join_ip: Ipv4Addr = external_ids(&gr)[ids::JOIN_IP].parse().unwrap();
    let rtoj = one(
        nb,
        table::LOGICAL_ROUTER_PORT,
        &format!("rtoj-{prefix}_GR_node{i}"),
    )
    .await;
    assert!(
        gr.uuids(column::PORTS)
            .contains(&rtoj.uuid().unwrap().to_owned())
    );
    assert_eq!(rtoj.strings(column::NETWORKS), [format!("{join_ip}/16")]);
    (gr, join_ip)
}

/// Chassis `i`'s egress router and its external switch with one localnet
/// port to the gateway's physical network.
async fn egress_router(nb: &Client, i: u8) -> Row {
    let er = one(nb, table::LOGICAL_ROUTER, &format!("ovn-udn-gw_node{i}")).await;
    assert_eq!(options(&er).get(option::CHASSIS), Some(&chassis(i)));
    assert_eq!(external_ids(&er)[ids::EGRESS_ROUTER], "node");
    let ext = one(nb, table::LOGICAL_SWITCH, &format!("ovn-udn-ext_node{i}")).await;
    let ports = referred(nb, &ext, column::PORTS, table::LOGICAL_SWITCH_PORT).await;
    let localnets: Vec<&Row> = ports
        .iter()
        .filter(|p| p.str(column::TYPE) == Some("localnet"))
        .collect();
    assert_eq!(localnets.len(), 1, "{ports:?}");
    assert_eq!(options(localnets[0])["network_name"], PHYSNET);
    let rtoe = one(
        nb,
        table::LOGICAL_ROUTER_PORT,
        &format!("rtoe-ovn-udn-gw_node{i}"),
    )
    .await;
    assert_eq!(
        rtoe.strings(column::NETWORKS),
        [gateway(i).address.to_string()]
    );
    assert!(
        er.uuids(column::PORTS)
            .contains(&rtoe.uuid().unwrap().to_owned())
    );
    er
}

/// Every row egress can write, to compare before and after.
async fn everything(nb: &Client) -> Vec<Vec<Row>> {
    let mut out = Vec::new();
    for table in TABLES {
        out.push(all_rows(nb, table).await);
    }
    out
}

#[tokio::test(flavor = "current_thread")]
async fn twelve_racing_ensures_on_three_chassis_make_one_egress_topology() {
    let server = Rc::new(Nb::start());
    let net = Rc::new(network(
        r#"{"name":"blue","role":"primary","subnets":"10.10.0.0/16"}"#,
    ));
    let seg = layer2(&net);
    let nb = server.connect().await;
    // The layer2 switch comes with the first port.
    Add::pod("blue_p0", "node0")
        .run(&nb, &net, &seg)
        .await
        .unwrap();
    let jobs = (0..12u8)
        .map(|n| ensure_on(server.clone(), net.clone(), n % 3, seg.switch.name.clone()))
        .collect();
    let requests = race_ensures(jobs).await;
    // Without a race each chassis' first ensure reads twice and writes
    // once, the nine others find the gateway router with one read.
    assert!(
        requests > 3 * 3 + 9,
        "the ensures never raced ({requests} requests)"
    );

    // One distributed router, with its link subnet.
    let dr = one(&nb, table::LOGICAL_ROUTER, "blue_ovn_cluster_router").await;
    assert_eq!(external_ids(&dr)[ids::EGRESS_ROUTER], "distributed");
    assert_eq!(external_ids(&dr)[ids::NETWORK], "blue");
    link_of(&dr);
    assert_eq!(routers_tagged(&nb, "distributed").await.len(), 1);
    // It owns the pods' gateway on their switch and joins the join switch.
    let dr_ports = referred(&nb, &dr, column::PORTS, table::LOGICAL_ROUTER_PORT).await;
    assert_eq!(
        names(&dr_ports),
        BTreeSet::from([
            "rtos-blue_ovn_layer2_switch".to_owned(),
            "rtoj-blue_ovn_cluster_router".to_owned()
        ])
    );
    let rtos = one(
        &nb,
        table::LOGICAL_ROUTER_PORT,
        "rtos-blue_ovn_layer2_switch",
    )
    .await;
    assert_eq!(rtos.strings(column::NETWORKS), ["10.10.0.1/16"]);
    let stor = common::lsp(&nb, "stor-blue_ovn_layer2_switch").await;
    assert_eq!(stor.str(column::TYPE), Some("router"));
    assert_eq!(options(&stor)["router-port"], "rtos-blue_ovn_layer2_switch");
    let pod_switch = common::switch(&nb, "blue_ovn_layer2_switch").await;
    assert!(
        pod_switch
            .uuids(column::PORTS)
            .contains(&stor.uuid().unwrap().to_owned())
    );
    assert_eq!(
        routes(&nb, &dr).await,
        BTreeSet::from([("0.0.0.0/0".to_owned(), UNREACHABLE.to_owned())])
    );

    // One join switch: the distributed router's port and three gateways'.
    let join = one(&nb, table::LOGICAL_SWITCH, "blue_join").await;
    assert_eq!(join.uuids(column::PORTS).len(), 4);

    // Per chassis: one gateway router with an address of its own, one
    // egress router; one reroute policy to that address.
    let policies = referred(&nb, &dr, column::POLICIES, table::LOGICAL_ROUTER_POLICY).await;
    assert_eq!(policies.len(), 3, "{policies:?}");
    assert_eq!(all_rows(&nb, table::LOGICAL_ROUTER_POLICY).await.len(), 3);
    let mut join_ips = BTreeSet::new();
    for i in 0..3 {
        let (_, join_ip) = gateway_router(&nb, "blue", i).await;
        assert!(
            !["100.65.0.0", JOIN_ROUTER, UNREACHABLE].contains(&join_ip.to_string().as_str()),
            "node{i} got {join_ip}"
        );
        assert!(join_ips.insert(join_ip), "{join_ip} handed out twice");
        let resident = format!("is_chassis_resident(\"rtoj-blue_GR_node{i}\")");
        let mine: Vec<&Row> = policies
            .iter()
            .filter(|p| p.str(column::MATCH).unwrap().contains(&resident))
            .collect();
        assert_eq!(mine.len(), 1, "node{i}: {policies:?}");
        assert_eq!(mine[0].str(column::ACTION), Some("reroute"));
        assert_eq!(mine[0].i64(column::PRIORITY), Some(100));
        assert_eq!(mine[0].strings(column::NEXTHOPS), [join_ip.to_string()]);
        let er = egress_router(&nb, i).await;
        assert_eq!(
            nats(&nb, &er).await,
            [(
                "snat".to_owned(),
                "169.254.0.0/16".to_owned(),
                gateway(i).address.addr().to_string()
            )]
        );
    }
    assert_eq!(routers_tagged(&nb, "gateway").await.len(), 3);
    assert_eq!(routers_tagged(&nb, "node").await.len(), 3);
    // Distributed, three gateway and three egress routers; the pod, join,
    // three link and three external switches.
    assert_eq!(all_rows(&nb, table::LOGICAL_ROUTER).await.len(), 7);
    assert_eq!(all_rows(&nb, table::LOGICAL_SWITCH).await.len(), 8);
    assert_names_unique(&nb).await;
}

#[tokio::test(flavor = "current_thread")]
async fn two_networks_of_the_same_subnets_share_a_chassis_egress_router_on_links_of_their_own() {
    let server = Rc::new(Nb::start());
    let nb = server.connect().await;
    let mut nets = Vec::new();
    for name in ["gray", "blue", "green"] {
        let net = network(&format!(
            r#"{{"name":"{name}","role":"primary","subnets":"192.168.0.0/16"}}"#
        ));
        Add::pod(&format!("{name}_p0"), "node1")
            .run(&nb, &net, &layer2(&net))
            .await
            .unwrap();
        nets.push(Rc::new(net));
    }
    // A first network makes the chassis' egress router, so that the two
    // racing ones only add to it: nothing but their link subnets' wait
    // keeps them from taking the same one.
    ensure(&nb, &nets[0], 1, &layer2(&nets[0]).switch.name)
        .await
        .unwrap();
    let jobs = (0..6)
        .map(|n| {
            let net = nets[1 + n % 2].clone();
            let switch = layer2(&net).switch.name;
            ensure_on(server.clone(), net, 1, switch)
        })
        .collect();
    let requests = race_ensures(jobs).await;
    assert!(
        requests > 2 * 3 + 4,
        "the ensures never raced ({requests} requests)"
    );

    let er = egress_router(&nb, 1).await;
    let er_ports = referred(&nb, &er, column::PORTS, table::LOGICAL_ROUTER_PORT).await;
    let rtol: BTreeSet<String> = names(&er_ports)
        .into_iter()
        .filter(|n| n.starts_with("rtol-"))
        .collect();
    assert_eq!(
        rtol,
        BTreeSet::from([
            "rtol-gray_ext_node1".to_owned(),
            "rtol-blue_ext_node1".to_owned(),
            "rtol-green_ext_node1".to_owned()
        ])
    );
    assert_eq!(er_ports.len(), 4, "{er_ports:?}");
    assert_eq!(
        nats(&nb, &er).await,
        [(
            "snat".to_owned(),
            "169.254.0.0/16".to_owned(),
            "172.20.0.11".to_owned()
        )]
    );
    assert_eq!(
        routes(&nb, &er).await,
        BTreeSet::from([("0.0.0.0/0".to_owned(), "172.20.0.1".to_owned())])
    );

    let mut links = BTreeSet::new();
    for name in ["gray", "blue", "green"] {
        let dr = one(
            &nb,
            table::LOGICAL_ROUTER,
            &format!("{name}_ovn_cluster_router"),
        )
        .await;
        let link = link_of(&dr);
        assert!(links.insert(link), "{link} given to two networks");
        let hosts: Vec<Ipv4Addr> = link.hosts().collect();
        let (egress_side, gateway_side) = (hosts[0], hosts[1]);
        // The egress router's end of the link is .1, the gateway router's .2.
        let rtol = one(
            &nb,
            table::LOGICAL_ROUTER_PORT,
            &format!("rtol-{name}_ext_node1"),
        )
        .await;
        assert_eq!(
            rtol.strings(column::NETWORKS),
            [format!("{egress_side}/30")]
        );
        let (gr, _) = gateway_router(&nb, name, 1).await;
        let rtoe = one(
            &nb,
            table::LOGICAL_ROUTER_PORT,
            &format!("rtoe-{name}_GR_node1"),
        )
        .await;
        assert_eq!(
            rtoe.strings(column::NETWORKS),
            [format!("{gateway_side}/30")]
        );
        assert_eq!(
            nats(&nb, &gr).await,
            [(
                "snat".to_owned(),
                "192.168.0.0/16".to_owned(),
                gateway_side.to_string()
            )],
            "{name}"
        );
        assert_eq!(
            routes(&nb, &gr).await,
            BTreeSet::from([
                ("0.0.0.0/0".to_owned(), egress_side.to_string()),
                ("192.168.0.0/16".to_owned(), JOIN_ROUTER.to_owned()),
            ]),
            "{name}"
        );
        let link_switch = one(&nb, table::LOGICAL_SWITCH, &format!("{name}_ext_node1")).await;
        assert_eq!(link_switch.uuids(column::PORTS).len(), 2);
    }
    assert_eq!(links.len(), 3);
    assert_eq!(routers_tagged(&nb, "node").await.len(), 1);
    assert_eq!(
        rows_named(&nb, table::LOGICAL_SWITCH, "ovn-udn-ext_node1")
            .await
            .len(),
        1
    );
    assert_names_unique(&nb).await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_layer3_network_egresses_through_its_cluster_router() {
    let server = Rc::new(Nb::start());
    let nb = server.connect().await;
    let net = Rc::new(network(
        r#"{"name":"red","topology":"layer3","role":"primary","subnets":"10.30.0.0/16"}"#,
    ));
    let mut switches = Vec::new();
    for i in 1..=2u8 {
        let seg = segment::prepare(&nb, &net, &node(&chassis(i)), Some(&gateway(i)))
            .await
            .unwrap();
        switches.push(seg.switch.name);
    }
    assert_eq!(switches, ["red_node1", "red_node2"]);
    let cluster_router = one(&nb, table::LOGICAL_ROUTER, "red_ovn_cluster_router").await;
    assert!(!external_ids(&cluster_router).contains_key(ids::EGRESS_ROUTER));

    let jobs = (0..4u8)
        .map(|n| {
            let i = 1 + n % 2;
            ensure_on(
                server.clone(),
                net.clone(),
                i,
                switches[usize::from(i - 1)].clone(),
            )
        })
        .collect();
    race_ensures(jobs).await;

    // The same router, now with the egress tags, join port and default route.
    let dr = one(&nb, table::LOGICAL_ROUTER, "red_ovn_cluster_router").await;
    assert_eq!(dr.uuid(), cluster_router.uuid());
    assert_eq!(external_ids(&dr)[ids::EGRESS_ROUTER], "distributed");
    link_of(&dr);
    assert_eq!(routers_tagged(&nb, "distributed").await.len(), 1);
    let dr_ports = referred(&nb, &dr, column::PORTS, table::LOGICAL_ROUTER_PORT).await;
    assert_eq!(
        names(&dr_ports),
        BTreeSet::from([
            "rtos-red_node1".to_owned(),
            "rtos-red_node2".to_owned(),
            "rtoj-red_ovn_cluster_router".to_owned()
        ])
    );
    assert!(
        routes(&nb, &dr)
            .await
            .contains(&("0.0.0.0/0".to_owned(), UNREACHABLE.to_owned()))
    );
    let join = one(&nb, table::LOGICAL_SWITCH, "red_join").await;
    assert_eq!(join.uuids(column::PORTS).len(), 3);
    let policies = referred(&nb, &dr, column::POLICIES, table::LOGICAL_ROUTER_POLICY).await;
    assert_eq!(policies.len(), 2, "{policies:?}");
    for i in 1..=2u8 {
        let (_, join_ip) = gateway_router(&nb, "red", i).await;
        let wanted = format!("inport == \"rtos-red_node{i}\" && ip4.dst != {{10.30.0.0/16}}");
        let mine: Vec<&Row> = policies
            .iter()
            .filter(|p| p.str(column::MATCH) == Some(wanted.as_str()))
            .collect();
        assert_eq!(mine.len(), 1, "node{i}: {policies:?}");
        assert_eq!(mine[0].strings(column::NEXTHOPS), [join_ip.to_string()]);
        egress_router(&nb, i).await;
    }
    // The cluster router, two gateway and two egress routers.
    assert_eq!(all_rows(&nb, table::LOGICAL_ROUTER).await.len(), 5);
    assert_names_unique(&nb).await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_second_ensure_writes_nothing() {
    let server = Nb::start();
    let nb = server.connect().await;
    let blue = network(r#"{"name":"blue","role":"primary","subnets":"10.10.0.0/16"}"#);
    let red =
        network(r#"{"name":"red","topology":"layer3","role":"primary","subnets":"10.30.0.0/16"}"#);
    let blue_switch = layer2(&blue).switch.name;
    Add::pod("blue_p0", "node1")
        .run(&nb, &blue, &layer2(&blue))
        .await
        .unwrap();
    let red_switch = segment::prepare(&nb, &red, &node("node1"), Some(&gateway(1)))
        .await
        .unwrap()
        .switch
        .name;
    ensure(&nb, &blue, 1, &blue_switch).await.unwrap();
    ensure(&nb, &red, 1, &red_switch).await.unwrap();
    let before = everything(&nb).await;
    assert!(
        before.iter().all(|rows| !rows.is_empty()),
        "egress wrote every table: {before:?}"
    );

    for (net, switch) in [(&blue, &blue_switch), (&red, &red_switch)] {
        let again = server.connect().await;
        ensure(&again, net, 1, switch).await.unwrap();
        // One read of the gateway router, no write.
        assert_eq!(again.traffic().requests, 1, "{}", net.id.name);
    }
    assert_eq!(everything(&nb).await, before);
}

#[test]
fn a_gateway_router_of_another_network_is_refused_with_code_7() {
    // '-' and '.' both become '.' in OVN names.
    let net = network(r#"{"name":"own-a","role":"primary","subnets":"10.11.0.0/24"}"#);
    let gw = gateway(1);
    let input = Input {
        network: &net,
        chassis: "node1",
        gateway: &gw,
        pod_switch: "own.a_ovn_layer2_switch",
    };
    let owned_by = |owner: &str| {
        Row::new()
            .with(
                column::UUID,
                Value::uuid("0b5e1a6e-0000-4000-8000-000000000001"),
            )
            .with(
                column::EXTERNAL_IDS,
                Value::string_map([(ids::NETWORK, owner)]),
            )
    };
    let theirs = Snapshot {
        gateway_router: Some(owned_by("own.a")),
        ..Snapshot::default()
    };
    let (code, msg) = failure(egress::plan(&input, &theirs));
    assert_eq!(code, 7, "{msg}");
    assert!(msg.contains("own.a_GR_node1"), "{msg}");
    assert!(
        msg.contains("\"own-a\"") && msg.contains("\"own.a\""),
        "{msg}"
    );

    // No gateway router here yet, but the distributed router's name is
    // taken.
    let theirs = Snapshot {
        router: Some(owned_by("own.a")),
        pod_switch: Some(owned_by("own-a")),
        ..Snapshot::default()
    };
    let (code, msg) = failure(egress::plan(&input, &theirs));
    assert_eq!(code, 7, "{msg}");
    assert!(msg.contains("own.a_ovn_cluster_router"), "{msg}");
    assert!(
        msg.contains("\"own-a\"") && msg.contains("\"own.a\""),
        "{msg}"
    );

    // Its own gateway router: nothing to do.
    let ours = Snapshot {
        gateway_router: Some(owned_by("own-a")),
        ..Snapshot::default()
    };
    assert!(matches!(egress::plan(&input, &ours), Ok(Step::Done(()))));
}
