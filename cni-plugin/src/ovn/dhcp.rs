//! DHCP for VM guests: OVN answers a guest's DHCP requests itself (from
//! the ovn-controller of the chassis it runs on) with the port's address,
//! from one `DHCP_Options` row per network and subnet.

use std::collections::BTreeMap;
use std::net::IpAddr;

use conf::{Network, Subnet};
use ovsdb::{Client, Condition, Operation, Row, Value};

use super::NB_DB;
use super::nb::{NETWORK_KEY, too_many_conflicts};
use super::retry::{MAX_ATTEMPTS, backoff};
use crate::cni::result::mac_text;
use crate::error::PluginError;
use crate::ipam::pool::gateway;

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
            "dhcpv4_options"
        } else {
            "dhcpv6_options"
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
    let context = || format!("DHCP options of {cidr}");
    let wanted: BTreeMap<String, String> = options.into_iter().collect();
    let which = vec![
        Condition::eq("cidr", Value::string(cidr)),
        Condition::includes(
            "external_ids",
            Value::string_map([(NETWORK_KEY, network.id.name.as_str())]),
        ),
    ];
    for attempt in 0..MAX_ATTEMPTS {
        let rows = nb
            .select(
                NB_DB,
                "DHCP_Options",
                which.clone(),
                Some(vec!["_uuid".into(), "options".into()]),
            )
            .await
            .map_err(|e| PluginError::ovsdb(context(), e))?;
        let ops = match rows.first() {
            Some(row) if row.map("options") == wanted => {
                return Ok(row.uuid().unwrap_or_default().to_owned());
            }
            Some(row) => vec![Operation::update(
                "DHCP_Options",
                vec![Condition::uuid(row.uuid().unwrap_or_default())],
                Row::new().with("options", Value::string_map(wanted.clone())),
            )],
            None => vec![
                Operation::wait_equal("DHCP_Options", which.clone(), vec!["cidr".into()], vec![]),
                Operation::insert_named(
                    "DHCP_Options",
                    Row::new()
                        .with("cidr", Value::string(cidr))
                        .with("options", Value::string_map(wanted.clone()))
                        .with(
                            "external_ids",
                            Value::string_map([(NETWORK_KEY, network.id.name.as_str())]),
                        ),
                    "dhcp",
                ),
            ],
        };
        match nb.transact(NB_DB, &ops).await {
            Ok(results) => {
                if let Some(row) = rows.first() {
                    return Ok(row.uuid().unwrap_or_default().to_owned());
                }
                if let Some(uuid) = results.last().and_then(|r| r.uuid.clone()) {
                    return Ok(uuid);
                }
            }
            Err(e) if e.is_conflict() => backoff(attempt).await,
            Err(e) => return Err(PluginError::ovsdb(context(), e)),
        }
    }
    Err(too_many_conflicts(context()))
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
