//! Logical switch ports as read back from the NB database: who is attached
//! to them, which addresses they hold (the IPAM record) and in which
//! address blocks those lie.

use std::collections::BTreeMap;
use std::net::IpAddr;

use conf::MacAddr;
use ovsdb::{Client, Condition, Row, Value};

use crate::error::PluginError;
use crate::vocabulary::{NB_DB, column, ids, option, table};

/// A logical port as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortRecord {
    /// Row uuid.
    pub uuid: String,
    /// LSP name.
    pub name: String,
    /// MAC from `addresses`.
    pub mac: Option<MacAddr>,
    /// IPs from `addresses` (no prefix).
    pub ips: Vec<IpAddr>,
    /// `addresses` as stored, for a `wait` that the record is unchanged.
    pub addresses: Vec<String>,
    /// external_ids.
    pub external_ids: BTreeMap<String, String>,
    /// options (`requested-chassis`, `activation-strategy` ...).
    pub options: BTreeMap<String, String>,
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

impl PortRecord {
    /// The record of a row read with [`columns`]; `None` without uuid or name.
    pub fn from_row(row: &Row) -> Option<PortRecord> {
        let addresses = row.strings(column::ADDRESSES);
        let (mac, ips) = parse_addresses(&addresses);
        Some(PortRecord {
            uuid: row.uuid()?.to_owned(),
            name: row.str(column::NAME)?.to_owned(),
            mac,
            ips,
            addresses,
            external_ids: row.map(column::EXTERNAL_IDS),
            options: row.map(column::OPTIONS),
        })
    }

    /// The `sandbox` (container id) that owns the port; a claimed port has
    /// none, its attachments are per chassis.
    pub fn sandbox(&self) -> Option<&str> {
        self.external_ids.get(ids::SANDBOX).map(String::as_str)
    }

    /// The IPAM claim (`namespace/claim`) the port is reserved for.
    pub fn claim(&self) -> Option<&str> {
        self.external_ids.get(ids::CLAIM).map(String::as_str)
    }

    /// The network the port belongs to.
    pub fn network(&self) -> Option<&str> {
        self.external_ids.get(ids::NETWORK).map(String::as_str)
    }

    /// Every attachment of the port, in `requested-chassis` order: a pod
    /// port's one owner, or a claimed port's per-chassis records.
    pub fn attachments(&self) -> Vec<Attachment> {
        if self.claim().is_some() {
            return self.claim_attachments();
        }
        let chassis = self.options.get(option::REQUESTED_CHASSIS);
        let ifname = self.external_ids.get(ids::POD_IF_NAME);
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

    /// A claimed port's `k8s.ovn.org/attached.<chassis>` records.
    fn claim_attachments(&self) -> Vec<Attachment> {
        let order: Vec<&str> = self
            .options
            .get(option::REQUESTED_CHASSIS)
            .map(|list| list.split(',').map(str::trim).collect())
            .unwrap_or_default();
        let mut attachments: Vec<Attachment> = self
            .external_ids
            .iter()
            .filter_map(|(key, value)| {
                let chassis = key.strip_prefix(ids::ATTACHED_PREFIX)?;
                let (sandbox, ifname) = value.split_once('/')?;
                Some(Attachment {
                    chassis: chassis.to_owned(),
                    sandbox: sandbox.to_owned(),
                    ifname: ifname.to_owned(),
                })
            })
            .collect();
        attachments.sort_by_key(|a| {
            order
                .iter()
                .position(|c| *c == a.chassis)
                .unwrap_or(usize::MAX)
        });
        attachments
    }
}

/// The external_ids recording `attachment` on a claimed port, as
/// [`PortRecord::attachments`] reads it back.
pub fn attachment_id(attachment: &Attachment) -> (String, String) {
    (
        format!("{}{}", ids::ATTACHED_PREFIX, attachment.chassis),
        format!("{}/{}", attachment.sandbox, attachment.ifname),
    )
}

/// The current time as `k8s.ovn.org/attached-at` records it whenever an
/// attachment joins a port: the node collector leaves younger ports alone,
/// as their ADD may still be on its way to plugging the OVS port.
pub fn attached_at_now() -> (String, String) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    (ids::ATTACHED_AT.to_owned(), now.to_string())
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

/// The columns a [`PortRecord`] is read from.
pub fn columns() -> Option<Vec<String>> {
    Some(
        [
            column::UUID,
            column::NAME,
            column::ADDRESSES,
            column::EXTERNAL_IDS,
            column::OPTIONS,
        ]
        .map(String::from)
        .to_vec(),
    )
}

/// The select of the ports matching every one of `conditions`.
pub fn select(conditions: Vec<Condition>) -> ovsdb::Operation {
    ovsdb::Operation::select(table::LOGICAL_SWITCH_PORT, conditions, columns())
}

/// Reads the ports matching every one of `conditions`.
pub async fn read(
    nb: &Client,
    conditions: Vec<Condition>,
    context: impl Fn() -> String,
) -> Result<Vec<PortRecord>, PluginError> {
    let rows = nb
        .select(NB_DB, table::LOGICAL_SWITCH_PORT, conditions, columns())
        .await
        .map_err(|e| PluginError::ovsdb(context(), e))?;
    Ok(rows.iter().filter_map(PortRecord::from_row).collect())
}

/// Reads one port by name.
pub async fn find_port(nb: &Client, name: &str) -> Result<Option<PortRecord>, PluginError> {
    let by_name = vec![Condition::eq(column::NAME, Value::string(name))];
    let context = || format!("reading logical switch port {name}");
    Ok(read(nb, by_name, context).await?.into_iter().next())
}

/// The ports of a network (of this config's NAD, when it names one).
pub async fn network_ports(
    nb: &Client,
    network: &conf::NetworkId,
) -> Result<Vec<PortRecord>, PluginError> {
    let condition = Condition::includes(column::EXTERNAL_IDS, crate::ovn::attachment_ids(network));
    let context = || format!("listing ports of network {}", network.name);
    read(nb, vec![condition], context).await
}

/// Every pod port in the NB database (`external_ids:pod=true`), of every
/// network: what the node collector compares this chassis' OVS ports with.
pub async fn pod_ports(nb: &Client) -> Result<Vec<PortRecord>, PluginError> {
    let pod = Condition::includes(
        column::EXTERNAL_IDS,
        Value::string_map([(ids::POD, "true")]),
    );
    read(nb, vec![pod], || "listing pod ports".to_owned()).await
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

    #[test]
    fn a_pod_port_has_one_attachment_a_claimed_port_one_per_chassis() {
        let pod = PortRecord {
            uuid: "u".into(),
            name: "p".into(),
            mac: None,
            ips: Vec::new(),
            addresses: Vec::new(),
            external_ids: BTreeMap::from([
                (ids::SANDBOX.to_owned(), "c1".to_owned()),
                (ids::POD_IF_NAME.to_owned(), "eth0".to_owned()),
            ]),
            options: BTreeMap::from([(option::REQUESTED_CHASSIS.to_owned(), "node1".to_owned())]),
        };
        assert_eq!(pod.attachments().len(), 1);
        assert!(pod.attached_to("c1") && !pod.attached_to("c2"));
        let claimed = PortRecord {
            external_ids: BTreeMap::from([
                (ids::CLAIM.to_owned(), "ns/vm".to_owned()),
                (
                    format!("{}node2", ids::ATTACHED_PREFIX),
                    "b/eth0".to_owned(),
                ),
                (
                    format!("{}node1", ids::ATTACHED_PREFIX),
                    "a/eth0".to_owned(),
                ),
            ]),
            options: BTreeMap::from([(
                option::REQUESTED_CHASSIS.to_owned(),
                "node1,node2".to_owned(),
            )]),
            ..pod
        };
        let chassis: Vec<String> = claimed
            .attachments()
            .into_iter()
            .map(|a| a.chassis)
            .collect();
        assert_eq!(chassis, ["node1", "node2"], "in requested-chassis order");
    }
}
