//! The rows that join a router to a switch: the router's port and the
//! switch's router-type port facing it. Layer3 node switches, layer2
//! egress and the egress topology are all built from these.

use std::net::IpAddr;

use ipnet::IpNet;
use ovsdb::{Operation, Row, Value};

use super::port::ops::fixed_port_row;
use crate::cni::result::mac_text;
use crate::ipam::pool::gateway;
use crate::topology::FixedPort;
use crate::vocabulary::{column, option, table};

/// Inserts a router port (named `uuid_name` in the transaction) owning
/// each `(address, prefix length)`, its MAC derived from the addresses.
pub fn router_port(
    uuid_name: &str,
    name: &str,
    addresses: &[(IpAddr, u8)],
    external_ids: &[(String, String)],
) -> Operation {
    let ips: Vec<IpAddr> = addresses.iter().map(|(ip, _)| *ip).collect();
    let mac = conf::mac_for_addresses(&ips)
        .map(|mac| mac_text(&mac))
        .unwrap_or_default();
    let networks = addresses
        .iter()
        .map(|(ip, prefix)| format!("{ip}/{prefix}"));
    Operation::insert_named(
        table::LOGICAL_ROUTER_PORT,
        Row::new()
            .with(column::NAME, Value::string(name))
            .with(column::MAC, Value::string(mac))
            .with(column::NETWORKS, Value::string_set(networks))
            .with(
                column::EXTERNAL_IDS,
                Value::string_map(external_ids.to_vec()),
            ),
        uuid_name,
    )
}

/// Inserts a switch's router-type port (named `uuid_name`) facing
/// `router_port`.
pub fn switch_port(
    uuid_name: &str,
    name: &str,
    router_port: &str,
    external_ids: &[(String, String)],
) -> Operation {
    let port = FixedPort {
        name: name.to_owned(),
        kind: "router".into(),
        addresses: vec!["router".into()],
        options: vec![(option::ROUTER_PORT.into(), router_port.to_owned())],
        tag_request: None,
        external_ids: external_ids.to_vec(),
    };
    Operation::insert_named(table::LOGICAL_SWITCH_PORT, fixed_port_row(&port), uuid_name)
}

/// A router's gateway on a pod switch: `rtos-<switch>` (named `rtos`)
/// owning the first host of each subnet, the pods' gateway, and
/// `stor-<switch>` (named `stor`) facing it.
pub fn gateway_ports(
    switch: &str,
    subnets: &[IpNet],
    external_ids: &[(String, String)],
) -> [Operation; 2] {
    let (rtos, stor) = conf::router_port_names(switch);
    let addresses: Vec<(IpAddr, u8)> = subnets
        .iter()
        .map(|s| (gateway(*s), s.prefix_len()))
        .collect();
    [
        router_port("rtos", &rtos, &addresses, external_ids),
        switch_port("stor", &stor, &rtos, external_ids),
    ]
}
