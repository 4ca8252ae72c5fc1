//! Logical switch ports as read back from the NB database: who owns them
//! and which addresses they hold (the IPAM record).

use std::collections::BTreeMap;
use std::net::IpAddr;

use conf::MacAddr;
use ovsdb::{Client, Condition, Row, Value};

use super::NB_DB;
use super::claim::{CLAIM_KEY, claim_attachments};
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
    /// options (`requested-chassis`, `activation-strategy` ...).
    pub options: BTreeMap<String, String>,
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
            options: row.map("options"),
        })
    }

    /// The `sandbox` (container id) that owns the port; a claimed port has
    /// none, its attachments are per chassis.
    pub fn sandbox(&self) -> Option<&str> {
        self.external_ids.get("sandbox").map(String::as_str)
    }

    /// The IPAM claim (`namespace/claim`) the port is reserved for.
    pub fn claim(&self) -> Option<&str> {
        self.external_ids.get(CLAIM_KEY).map(String::as_str)
    }

    /// Every attachment of the port, in `requested-chassis` order.
    pub fn attachments(&self) -> Vec<Attachment> {
        if self.claim().is_some() {
            return claim_attachments(self);
        }
        let chassis = self.options.get("requested-chassis");
        let ifname = self.external_ids.get("pod-if-name");
        match (chassis, self.sandbox(), ifname) {
            (Some(chassis), Some(sandbox), Some(ifname)) => vec![Attachment {
                chassis: chassis.clone(),
                sandbox: sandbox.to_owned(),
                ifname: ifname.clone(),
            }],
            _ => Vec::new(),
        }
    }

    /// Whether `sandbox` is attached to the port (on any chassis).
    pub fn attached_to(&self, sandbox: &str) -> bool {
        self.attachments().iter().any(|a| a.sandbox == sandbox)
    }
}

/// One pod interface bound to a logical port on one chassis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// Where it runs.
    pub chassis: String,
    /// Its container id.
    pub sandbox: String,
    /// Its interface name in the container.
    pub ifname: String,
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
        ["_uuid", "name", "addresses", "external_ids", "options"]
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

/// The ports of a network (of this config's NAD, when it names one).
pub async fn network_ports(
    nb: &Client,
    network: &conf::NetworkId,
) -> Result<Vec<PortRecord>, PluginError> {
    let context = || format!("listing ports of network {}", network.name);
    select_ports(nb, super::attachment_ids(network), context).await
}

/// Every pod port in the NB database (`external_ids:pod=true`), of every
/// network: what the node collector compares this chassis' OVS ports with.
pub async fn pod_ports(nb: &Client) -> Result<Vec<PortRecord>, PluginError> {
    let pod = Value::string_map([("pod", "true")]);
    select_ports(nb, pod, || "listing pod ports".to_owned()).await
}

/// The ports whose external_ids include `ids`.
async fn select_ports(
    nb: &Client,
    ids: Value,
    context: impl Fn() -> String,
) -> Result<Vec<PortRecord>, PluginError> {
    let rows = nb
        .select(
            NB_DB,
            "Logical_Switch_Port",
            vec![Condition::includes("external_ids", ids)],
            lsp_columns(),
        )
        .await
        .map_err(|e| PluginError::ovsdb(context(), e))?;
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
