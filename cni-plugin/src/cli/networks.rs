//! `ovn-udn-cni networks`: the networks NB holds (their logical switches),
//! with their subnets, port counts and free addresses. What is free is the
//! IPAM pool's own rule (`ipam::Pool`): network address, IPv4 broadcast and
//! a gateway's first host address are never handed out, nor is an address
//! a port holds. `excludeSubnets` live only in the network config, so they
//! are counted as free here.

use std::collections::{BTreeMap, HashSet};
use std::net::IpAddr;

use conf::{StaticIp, Subnet};
use ipnet::IpNet;
use ovsdb::Client;
use serde::Serialize;

use super::error::CliError;
use super::{block_on, load_node, table};
use crate::error::PluginError;
use crate::ipam::Pool;
use crate::ovn::port::record::{self, PortRecord};
use crate::request::connect_nb;
use crate::vocabulary::{NB_DB, column, ids, subnet_config, table as tables};

/// OVN reads `ipv6_prefix` as a /64 when nothing says otherwise.
const DEFAULT_IPV6_PREFIX_LEN: u8 = 64;

/// `networks` and its options.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "FREE counts the addresses IPAM can still hand out in each subnet \
(excludeSubnets, known only to the network config, are counted as free).\n\n\
Examples:\n  ovn-udn-cni networks\n  ovn-udn-cni networks --network blue\n  \
ovn-udn-cni networks --json | jq '.networks[] | {name, ports, free: [.subnets[].free]}'"
)]
pub struct Args {
    /// Only this network.
    #[arg(long, value_name = "NAME")]
    network: Option<String>,
    /// NB database remotes (default: the node config's `nbAddress`).
    #[arg(long, value_name = "REMOTES")]
    nb_address: Option<String>,
    /// Print JSON (`networks`: a list) instead of a table.
    #[arg(long)]
    json: bool,
}

/// One network as NB holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkInfo {
    /// The network's `name`.
    pub name: String,
    /// `layer2`, `layer3` or `localnet`.
    pub topology: String,
    /// `primary` or `secondary`.
    pub role: String,
    /// Its logical switches (one per chassis on layer3).
    pub switches: Vec<String>,
    /// Pod ports (each attachment's logical port; a claim's counts once).
    pub ports: usize,
    /// Each subnet of each switch.
    pub subnets: Vec<SubnetUsage>,
}

/// One subnet's addresses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SubnetUsage {
    /// The subnet (a layer3 chassis' node subnet).
    pub subnet: String,
    /// The switch it belongs to.
    pub switch: String,
    /// Addresses held by ports.
    pub used: u64,
    /// Addresses IPAM can still hand out.
    pub free: u128,
}

/// A switch as read: name, external_ids, other_config.
type SwitchRow = (String, BTreeMap<String, String>, BTreeMap<String, String>);

/// Lists the networks.
pub fn run(args: Args) -> Result<(), CliError> {
    let node = load_node(args.nb_address.clone())?;
    let networks = block_on(async {
        let nb = connect_nb(&node).await?;
        let switches = switches(&nb).await?;
        let ports = record::pod_ports(&nb).await?;
        Ok::<_, CliError>(networks(&switches, &ports))
    })??;
    let networks: Vec<NetworkInfo> = networks
        .into_iter()
        .filter(|n| args.network.as_ref().is_none_or(|name| *name == n.name))
        .collect();
    if args.json {
        let doc = serde_json::json!({ "networks": networks });
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        print!("{}", render(&networks));
    }
    Ok(())
}

/// Every logical switch (those of no network are left out by [`networks`]).
async fn switches(nb: &Client) -> Result<Vec<SwitchRow>, PluginError> {
    let rows = nb
        .select(
            NB_DB,
            tables::LOGICAL_SWITCH,
            vec![],
            Some(vec![
                column::NAME.into(),
                column::EXTERNAL_IDS.into(),
                column::OTHER_CONFIG.into(),
            ]),
        )
        .await
        .map_err(|e| PluginError::ovsdb("listing logical switches", e))?;
    Ok(rows
        .iter()
        .map(|row| {
            (
                row.str(column::NAME).unwrap_or_default().to_owned(),
                row.map(column::EXTERNAL_IDS),
                row.map(column::OTHER_CONFIG),
            )
        })
        .collect())
}

/// The networks of `switches`, with their ports' usage.
fn networks(switches: &[SwitchRow], ports: &[PortRecord]) -> Vec<NetworkInfo> {
    let mut by_name: BTreeMap<&str, Vec<&SwitchRow>> = BTreeMap::new();
    for switch in switches {
        // Egress' join and link switches carry no pods.
        if switch.1.contains_key(ids::EGRESS_SWITCH) {
            continue;
        }
        if let Some(network) = switch.1.get(ids::NETWORK) {
            by_name.entry(network).or_default().push(switch);
        }
    }
    by_name
        .into_iter()
        .map(|(name, switches)| {
            let ports: Vec<&PortRecord> =
                ports.iter().filter(|p| p.network() == Some(name)).collect();
            let first = &switches[0].1;
            let get = |key: &str| first.get(key).cloned().unwrap_or_default();
            let (topology, role) = (get(ids::TOPOLOGY), get(ids::ROLE));
            // The pool's gateway rule, as `topology` sets it per topology:
            // every layer3 switch routes, a layer2 one only when primary.
            let reserve_gateway =
                topology == "layer3" || (topology == "layer2" && role == "primary");
            let used: HashSet<IpAddr> = ports.iter().flat_map(|p| p.ips.iter().copied()).collect();
            let v6_len = ipv6_prefix_len(&ports);
            let mut subnets = Vec::new();
            for (switch, _, other_config) in &switches {
                for cidr in switch_subnets(other_config, v6_len) {
                    subnets.push(usage(switch, cidr, &used, reserve_gateway));
                }
            }
            let mut names: Vec<String> = switches.iter().map(|s| s.0.clone()).collect();
            names.sort();
            NetworkInfo {
                name: name.to_owned(),
                topology,
                role,
                switches: names,
                ports: ports.len(),
                subnets,
            }
        })
        .collect()
}

/// The IPv6 prefix length the network's ports record
/// (`k8s.ovn.org/ip-addresses`), else OVN's default.
fn ipv6_prefix_len(ports: &[&PortRecord]) -> u8 {
    ports
        .iter()
        .filter_map(|p| p.external_ids.get(ids::IP_ADDRESSES))
        .flat_map(|list| list.split(','))
        .filter_map(|cidr| cidr.parse::<IpNet>().ok())
        .find(|net| net.addr().is_ipv6())
        .map_or(DEFAULT_IPV6_PREFIX_LEN, |net| net.prefix_len())
}

/// A switch's subnets from `other_config` (`subnet`, `ipv6_prefix`).
fn switch_subnets(other_config: &BTreeMap<String, String>, v6_len: u8) -> Vec<IpNet> {
    let v4 = other_config
        .get(subnet_config::SUBNET)
        .and_then(|s| s.parse::<IpNet>().ok());
    let v6 = other_config
        .get(subnet_config::IPV6_PREFIX)
        .and_then(|p| IpNet::new(p.parse().ok()?, v6_len).ok());
    v4.into_iter().chain(v6).collect()
}

/// Used and free addresses of `cidr`: its size less the addresses the pool
/// refuses (reserved) and those ports hold.
fn usage(switch: &str, cidr: IpNet, used: &HashSet<IpAddr>, reserve_gateway: bool) -> SubnetUsage {
    let subnets = [Subnet {
        cidr,
        host_prefix: None,
    }];
    let pool = Pool {
        subnets: &subnets,
        excludes: &[],
        reserve_gateway,
    };
    let held: HashSet<IpAddr> = used.iter().copied().filter(|a| cidr.contains(a)).collect();
    // Only these few can be reserved: the network address, the last one
    // (IPv4 broadcast) and the first host (a gateway).
    let candidates = [
        cidr.network(),
        cidr.broadcast(),
        crate::ipam::pool::gateway(cidr),
    ];
    let reserved: HashSet<IpAddr> = candidates
        .into_iter()
        .filter(|addr| !held.contains(addr))
        .filter(|addr| {
            pool.check_static(&StaticIp {
                addr: *addr,
                prefix: None,
            })
            .is_err()
        })
        .collect();
    let host_bits = u32::from(cidr.max_prefix_len() - cidr.prefix_len());
    let size = 1u128.checked_shl(host_bits).unwrap_or(u128::MAX);
    SubnetUsage {
        subnet: cidr.to_string(),
        switch: switch.to_owned(),
        used: held.len() as u64,
        free: size.saturating_sub((held.len() + reserved.len()) as u128),
    }
}

fn render(networks: &[NetworkInfo]) -> String {
    let rows: Vec<Vec<String>> = networks
        .iter()
        .map(|n| {
            let subnets: Vec<String> = n.subnets.iter().map(|s| s.subnet.clone()).collect();
            let free: Vec<String> = n.subnets.iter().map(|s| s.free.to_string()).collect();
            vec![
                n.name.clone(),
                n.topology.clone(),
                n.role.clone(),
                table::list(&subnets),
                n.switches.len().to_string(),
                n.ports.to_string(),
                table::list(&free),
            ]
        })
        .collect();
    table::render(
        &[
            "NETWORK", "TOPOLOGY", "ROLE", "SUBNETS", "SWITCHES", "PORTS", "FREE",
        ],
        &rows,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn switch(name: &str, ids: &[(&str, &str)], config: &[(&str, &str)]) -> SwitchRow {
        (name.to_owned(), map(ids), map(config))
    }

    fn pod(network: &str, ips: &[&str], ip_addresses: Option<&str>) -> PortRecord {
        let mut external_ids = map(&[(ids::NETWORK, network)]);
        if let Some(list) = ip_addresses {
            external_ids.insert(ids::IP_ADDRESSES.to_owned(), list.to_owned());
        }
        PortRecord {
            uuid: "u".into(),
            name: "p".into(),
            mac: None,
            ips: ips.iter().map(|ip| ip.parse().expect("ip")).collect(),
            addresses: Vec::new(),
            external_ids,
            options: BTreeMap::new(),
        }
    }

    #[test]
    fn free_addresses_follow_the_pool_rules_per_topology() {
        let switches = [
            switch(
                "blue_ovn_layer2_switch",
                &[
                    (ids::NETWORK, "blue"),
                    (ids::TOPOLOGY, "layer2"),
                    (ids::ROLE, "primary"),
                ],
                &[("subnet", "10.0.0.0/24"), ("ipv6_prefix", "fd00::")],
            ),
            switch(
                "red_node1",
                &[
                    (ids::NETWORK, "red"),
                    (ids::TOPOLOGY, "layer3"),
                    (ids::ROLE, "secondary"),
                ],
                &[("subnet", "10.1.1.0/24")],
            ),
            switch(
                "red_node2",
                &[
                    (ids::NETWORK, "red"),
                    (ids::TOPOLOGY, "layer3"),
                    (ids::ROLE, "secondary"),
                ],
                &[("subnet", "10.1.2.0/24")],
            ),
            switch(
                "green_ovn_localnet_switch",
                &[
                    (ids::NETWORK, "green"),
                    (ids::TOPOLOGY, "localnet"),
                    (ids::ROLE, "secondary"),
                ],
                &[("subnet", "10.2.0.0/30")],
            ),
            switch("not-ours", &[], &[("subnet", "10.9.0.0/24")]),
            switch(
                "blue_join",
                &[(ids::NETWORK, "blue"), (ids::EGRESS_SWITCH, "join")],
                &[],
            ),
        ];
        let ports = [
            pod(
                "blue",
                &["10.0.0.2", "fd00::2"],
                Some("10.0.0.2/24,fd00::2/120"),
            ),
            pod("red", &["10.1.2.2"], None),
            pod("green", &["10.2.0.1"], None),
        ];
        let nets = networks(&switches, &ports);
        let names: Vec<&str> = nets.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["blue", "green", "red"]);
        let blue = &nets[0];
        assert_eq!((blue.ports, blue.subnets.len()), (1, 2));
        assert_eq!(
            blue.switches,
            ["blue_ovn_layer2_switch"],
            "no egress switch"
        );
        // 256 less network, broadcast, gateway and one pod.
        assert_eq!(blue.subnets[0].free, 252);
        // fd00::/120 as the port records it: 256 less ::0, ::1 (gateway), ::2.
        assert_eq!(blue.subnets[1].subnet, "fd00::/120");
        assert_eq!(blue.subnets[1].free, 253);
        let green = &nets[1];
        // A /30 without gateway: 4 less network, broadcast and one pod.
        assert_eq!(green.subnets[0].free, 1);
        let red = &nets[2];
        assert_eq!(red.switches, ["red_node1", "red_node2"]);
        assert_eq!(red.subnets[0].free, 253);
        assert_eq!(red.subnets[1].free, 252);

        let text = render(&nets);
        assert!(text.starts_with("NETWORK"), "{text}");
        assert!(text.contains("10.0.0.0/24,fd00::/120"), "{text}");
    }
}
