//! DHCP for VM guests: OVN answers a guest's DHCP requests itself (from
//! the ovn-controller of the chassis it runs on) with the port's address,
//! from one `DHCP_Options` row per network and subnet.

use std::collections::BTreeMap;
use std::net::IpAddr;

use conf::{Network, Subnet};
use ovsdb::{Client, Condition, Operation, Row, Value};

use super::txn::{self, Step};
use crate::cni::result::mac_text;
use crate::error::PluginError;
use crate::ipam::pool::gateway;
use crate::vocabulary::{NB_DB, column, ids, table};

/// Lease time offered to guests, seconds: long, the address never changes.
const LEASE_TIME: &str = "3600";

/// The `DHCP_Options` of each of `subnets`, created or brought up to date:
/// `(LSP column, row uuid)` pairs for the claimed port.
pub async fn ensure(
    nb: &Client,
    network: &Network,
    subnets: &[Subnet],
) -> Result<Vec<(&'static str, String)>, PluginError> {
    let mut refs = Vec::new();
    for subnet in subnets {
        let cidr = subnet.cidr.to_string();
        let column = if subnet.cidr.addr().is_ipv4() {
            column::DHCPV4_OPTIONS
        } else {
            column::DHCPV6_OPTIONS
        };
        let options = options(network, subnet);
        refs.push((column, ensure_row(nb, network, &cidr, options).await?));
    }
    Ok(refs)
}

/// What OVN tells a guest on `subnet`: the gateway as server and router,
/// the network's MTU and name servers.
fn options(network: &Network, subnet: &Subnet) -> Vec<(String, String)> {
    let gw = gateway(subnet.cidr);
    let server_mac = conf::mac_for_addresses(&[gw])
        .map(|mac| mac_text(&mac))
        .unwrap_or_default();
    let mut options = if gw.is_ipv4() {
        vec![
            ("server_id".to_owned(), gw.to_string()),
            ("router".to_owned(), gw.to_string()),
            ("server_mac".to_owned(), server_mac),
            ("lease_time".to_owned(), LEASE_TIME.to_owned()),
            ("mtu".to_owned(), network.mtu.to_string()),
        ]
    } else {
        vec![("server_id".to_owned(), server_mac)]
    };
    let servers: Vec<String> = network
        .dns_servers
        .iter()
        .filter(|s| s.is_ipv4() == gw.is_ipv4())
        .map(IpAddr::to_string)
        .collect();
    if !servers.is_empty() {
        options.push((
            "dns_server".to_owned(),
            format!("{{{}}}", servers.join(", ")),
        ));
    }
    options
}

/// The row of (`network`, `cidr`), inserted if absent (only if still absent
/// when the transaction runs) and updated if its options are stale.
async fn ensure_row(
    nb: &Client,
    network: &Network,
    cidr: &str,
    options: Vec<(String, String)>,
) -> Result<String, PluginError> {
    let wanted: BTreeMap<String, String> = options.into_iter().collect();
    let which = vec![
        Condition::eq(column::CIDR, Value::string(cidr)),
        Condition::includes(
            column::EXTERNAL_IDS,
            Value::string_map([(ids::NETWORK, network.id.name.as_str())]),
        ),
    ];
    let what = format!("DHCP options of {cidr}");
    let committed = txn::optimistic(nb, &what, |_| async {
        let rows = nb
            .select(
                NB_DB,
                table::DHCP_OPTIONS,
                which.clone(),
                Some(vec![column::UUID.into(), column::OPTIONS.into()]),
            )
            .await
            .map_err(|e| PluginError::ovsdb(what.clone(), e))?;
        Ok(plan_row(network, cidr, &which, &wanted, rows.first()))
    })
    .await?;
    // A row written anew has its uuid in the insert's result, the last one.
    committed
        .outcome
        .or_else(|| committed.results.last().and_then(|r| r.uuid.clone()))
        .ok_or_else(|| PluginError::Busy(format!("{what}: the NB database gave no row uuid")))
}

/// The row's uuid as read (`Done` when its options are as wanted), or the
/// update or guarded insert that makes them so.
fn plan_row(
    network: &Network,
    cidr: &str,
    which: &[Condition],
    wanted: &BTreeMap<String, String>,
    row: Option<&Row>,
) -> Step<Option<String>> {
    match row {
        Some(row) if row.map(column::OPTIONS) == *wanted => {
            Step::Done(row.uuid().map(str::to_owned))
        }
        Some(row) => {
            let uuid = row.uuid().unwrap_or_default().to_owned();
            let update = Operation::update(
                table::DHCP_OPTIONS,
                vec![Condition::uuid(&uuid)],
                Row::new().with(column::OPTIONS, Value::string_map(wanted.clone())),
            );
            Step::Write(vec![update], Some(uuid))
        }
        None => Step::Write(
            vec![
                Operation::wait_equal(
                    table::DHCP_OPTIONS,
                    which.to_vec(),
                    vec![column::CIDR.into()],
                    vec![],
                ),
                Operation::insert_named(
                    table::DHCP_OPTIONS,
                    Row::new()
                        .with(column::CIDR, Value::string(cidr))
                        .with(column::OPTIONS, Value::string_map(wanted.clone()))
                        .with(
                            column::EXTERNAL_IDS,
                            Value::string_map([(ids::NETWORK, network.id.name.as_str())]),
                        ),
                    "dhcp",
                ),
            ],
            None,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use conf::NetConf;

    #[test]
    fn guests_get_gateway_mtu_and_name_servers_per_family() {
        let n = Network::from_conf(
            &NetConf::from_slice(
                br#"{"name":"vmnet","role":"primary","subnets":"10.100.0.0/24,fd00:100::/64",
                     "mtu":1300,"dns":{"nameservers":["10.100.0.53","fd00:100::53"]}}"#,
            )
            .expect("json"),
        )
        .expect("valid");
        let v4: BTreeMap<_, _> = options(&n, &n.subnets[0]).into_iter().collect();
        assert_eq!(v4["server_id"], "10.100.0.1");
        assert_eq!(v4["router"], "10.100.0.1");
        assert_eq!(v4["server_mac"], "0a:58:0a:64:00:01");
        assert_eq!(v4["mtu"], "1300");
        assert_eq!(v4["dns_server"], "{10.100.0.53}");
        let v6: BTreeMap<_, _> = options(&n, &n.subnets[1]).into_iter().collect();
        assert!(v6["server_id"].starts_with("0a:58:"));
        assert_eq!(v6["dns_server"], "{fd00:100::53}");
        assert!(!v6.contains_key("router"));
    }
}
