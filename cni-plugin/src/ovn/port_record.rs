//! Logical switch ports as read back from the NB database: who owns them
//! and which addresses they hold (the IPAM record).

use std::collections::BTreeMap;
use std::net::IpAddr;

use conf::MacAddr;
use ovsdb::{Client, Condition, Row, Value};

use super::NB_DB;
use crate::error::PluginError;

/// A logical port as read back.
#[derive(Debug, Clone)]
pub struct PortRecord {
    /// Row uuid.
    pub uuid: String,
    /// LSP name.
    pub name: String,
    /// MAC from `addresses`.
    pub mac: Option<MacAddr>,
    /// IPs from `addresses` (no prefix).
    pub ips: Vec<IpAddr>,
    /// external_ids.
    pub external_ids: BTreeMap<String, String>,
}

impl PortRecord {
    pub(super) fn from_row(row: &Row) -> Option<PortRecord> {
        let (mac, ips) = parse_addresses(&row.strings("addresses"));
        Some(PortRecord {
            uuid: row.uuid()?.to_owned(),
            name: row.str("name")?.to_owned(),
            mac,
            ips,
            external_ids: row.map("external_ids"),
        })
    }

    /// The `sandbox` (container id) that owns the port.
    pub fn sandbox(&self) -> Option<&str> {
        self.external_ids.get("sandbox").map(String::as_str)
    }
}

/// `"0a:58:c0:a8:00:03 192.168.0.3 fd00::3"` entries -> MAC and IPs.
fn parse_addresses(entries: &[String]) -> (Option<MacAddr>, Vec<IpAddr>) {
    let mut mac = None;
    let mut ips = Vec::new();
    for entry in entries {
        let mut words = entry.split_whitespace();
        if let Some(parsed) = words.next().and_then(|w| w.parse::<MacAddr>().ok()) {
            mac.get_or_insert(parsed);
        }
        ips.extend(words.filter_map(|w| w.split('/').next()?.parse::<IpAddr>().ok()));
    }
    (mac, ips)
}

pub(super) fn lsp_columns() -> Option<Vec<String>> {
    Some(
        ["_uuid", "name", "addresses", "external_ids"]
            .map(String::from)
            .to_vec(),
    )
}

/// Reads one port by name.
pub async fn find_port(nb: &Client, name: &str) -> Result<Option<PortRecord>, PluginError> {
    let rows = nb
        .select(
            NB_DB,
            "Logical_Switch_Port",
            vec![Condition::eq("name", Value::string(name))],
            lsp_columns(),
        )
        .await
        .map_err(|e| PluginError::ovsdb(format!("reading logical switch port {name}"), e))?;
    Ok(rows.first().and_then(PortRecord::from_row))
}

/// The ports of a network bound to `chassis` (GC).
pub async fn ports_on_chassis(
    nb: &Client,
    network: &conf::Network,
    chassis: &str,
) -> Result<Vec<PortRecord>, PluginError> {
    let rows = nb
        .select(
            NB_DB,
            "Logical_Switch_Port",
            vec![
                Condition::includes("external_ids", super::attachment_ids(network)),
                Condition::includes(
                    "options",
                    Value::string_map([("requested-chassis", chassis)]),
                ),
            ],
            lsp_columns(),
        )
        .await
        .map_err(|e| PluginError::ovsdb(format!("listing ports of network {}", network.name), e))?;
    Ok(rows.iter().filter_map(PortRecord::from_row).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cni::result::mac_text;

    #[test]
    fn addresses_parse_mac_and_ips() {
        let (mac, ips) = parse_addresses(&["0a:58:c0:a8:00:03 192.168.0.3 fd00::3".into()]);
        assert_eq!(
            mac.map(|m| mac_text(&m)).as_deref(),
            Some("0a:58:c0:a8:00:03")
        );
        assert_eq!(ips.len(), 2);
        let (mac, ips) = parse_addresses(&["router".into(), "unknown".into()]);
        assert!(mac.is_none() && ips.is_empty());
    }
}
