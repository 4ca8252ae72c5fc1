//! Persistent IPs: a logical port named after an IPAM claim keeps its
//! addresses and MAC for the claim's whole life, across pods and chassis.
//! Its attachments are recorded per chassis (`k8s.ovn.org/attached.<chassis>`
//! = `<sandbox>/<ifname>`) and `requested-chassis` lists their chassis in
//! order: one while the VM runs, source then target while it migrates
//! (bound on both, activated on the target by the guest's RARP), none while
//! it is stopped. Only `ipam release` deletes the port.

use std::collections::BTreeMap;

use ovsdb::{Client, Condition, Operation, Row, Value};

use super::NB_DB;
use super::nb::{NETWORK_KEY, remove_port_ops};
use super::port_record::{Attachment, PortRecord, lsp_columns};
use crate::error::PluginError;

/// external_ids key of a claimed port: `namespace/claim`.
pub const CLAIM_KEY: &str = "k8s.ovn.org/ipam-claim";
/// external_ids key prefix of a claimed port's attachment on a chassis.
const ATTACHED_PREFIX: &str = "k8s.ovn.org/attached.";
/// Both ends of a live migration: at most this many attachments at once.
const MAX_ATTACHMENTS: usize = 2;

/// The external_ids recording `attachment` on a new claimed port.
pub fn attachment_id(attachment: &Attachment) -> (String, String) {
    (
        format!("{ATTACHED_PREFIX}{}", attachment.chassis),
        format!("{}/{}", attachment.sandbox, attachment.ifname),
    )
}

/// A claimed port's attachments, in `requested-chassis` order.
pub(super) fn claim_attachments(port: &PortRecord) -> Vec<Attachment> {
    let order = port
        .options
        .get("requested-chassis")
        .map(|list| list.split(',').map(str::trim).collect::<Vec<_>>())
        .unwrap_or_default();
    let mut attachments: Vec<Attachment> = port
        .external_ids
        .iter()
        .filter_map(|(key, value)| {
            let chassis = key.strip_prefix(ATTACHED_PREFIX)?;
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

/// The attachments once `new` joins: the same list for a repeated ADD, one
/// more for a migration target; a second attachment on one chassis, or a
/// third chassis, is refused.
pub fn joined(
    claim: &str,
    current: &[Attachment],
    new: Attachment,
) -> Result<Vec<Attachment>, PluginError> {
    let mut list: Vec<Attachment> = current
        .iter()
        .filter(|a| a.sandbox != new.sandbox)
        .cloned()
        .collect();
    if let Some(other) = list.iter().find(|a| a.chassis == new.chassis) {
        return Err(PluginError::AlreadyAttached(format!(
            "IPAM claim {claim} is already attached on chassis {} (sandbox {}): \
             one claim has one attachment per chassis",
            other.chassis, other.sandbox
        )));
    }
    if list.len() >= MAX_ATTACHMENTS {
        let chassis: Vec<&str> = list.iter().map(|a| a.chassis.as_str()).collect();
        return Err(PluginError::AlreadyAttached(format!(
            "IPAM claim {claim} is migrating between {}: chassis {} cannot join",
            chassis.join(" and "),
            new.chassis
        )));
    }
    list.push(new);
    Ok(list)
}

/// The port's external_ids and options recording `attachments`: bound on
/// each one's chassis, and while there are two (a migration), activated on
/// the target only when the guest announces itself with a RARP.
fn with_attachments(
    port: &PortRecord,
    attachments: &[Attachment],
) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let mut external_ids = port.external_ids.clone();
    external_ids.retain(|key, _| !key.starts_with(ATTACHED_PREFIX));
    external_ids.extend(attachments.iter().map(attachment_id));
    external_ids.extend([super::ids::attached_at_now()]);
    let mut options = port.options.clone();
    options.remove("requested-chassis");
    options.remove("activation-strategy");
    if !attachments.is_empty() {
        let chassis: Vec<&str> = attachments.iter().map(|a| a.chassis.as_str()).collect();
        options.insert("requested-chassis".into(), chassis.join(","));
    }
    if attachments.len() > 1 {
        options.insert("activation-strategy".into(), "rarp".into());
    }
    (external_ids, options)
}

/// Rewrites the attachments of `port` if nobody changed them since it was
/// read (the `wait` makes concurrent ADDs and DELs of one claim retry).
pub fn set_attachments_ops(port: &PortRecord, attachments: &[Attachment]) -> Vec<Operation> {
    let (external_ids, options) = with_attachments(port, attachments);
    vec![
        Operation::comment(format!("ovn-udn-cni: attachments of {}", port.name)),
        Operation::wait_equal(
            "Logical_Switch_Port",
            vec![Condition::uuid(&port.uuid)],
            vec!["external_ids".into(), "options".into()],
            vec![
                Row::new()
                    .with("external_ids", Value::string_map(port.external_ids.clone()))
                    .with("options", Value::string_map(port.options.clone())),
            ],
        ),
        Operation::update(
            "Logical_Switch_Port",
            vec![Condition::uuid(&port.uuid)],
            Row::new()
                .with("external_ids", Value::string_map(external_ids))
                .with("options", Value::string_map(options)),
        ),
    ]
}

/// Every claimed port, of one network or of all.
pub async fn list(nb: &Client, network: Option<&str>) -> Result<Vec<PortRecord>, PluginError> {
    let rows = nb
        .select(
            NB_DB,
            "Logical_Switch_Port",
            network
                .map(|n| Condition::includes("external_ids", Value::string_map([(NETWORK_KEY, n)])))
                .into_iter()
                .collect(),
            lsp_columns(),
        )
        .await
        .map_err(|e| PluginError::ovsdb("listing IPAM claims", e))?;
    let mut ports: Vec<PortRecord> = rows
        .iter()
        .filter_map(PortRecord::from_row)
        .filter(|p| p.claim().is_some())
        .collect();
    ports.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(ports)
}

/// Deletes the port of `claim` on `network`, freeing its addresses; refused
/// while anything is attached to it. `Ok(None)`: there was no reservation.
pub async fn release(
    nb: &Client,
    network: &str,
    claim: &str,
) -> Result<Option<PortRecord>, PluginError> {
    let Some(port) = list(nb, Some(network))
        .await?
        .into_iter()
        .find(|p| p.claim() == Some(claim))
    else {
        return Ok(None);
    };
    let attached = port.attachments();
    if !attached.is_empty() {
        let chassis: Vec<&str> = attached.iter().map(|a| a.chassis.as_str()).collect();
        return Err(PluginError::AlreadyAttached(format!(
            "IPAM claim {claim} is still attached on {}: stop its VM first",
            chassis.join(", ")
        )));
    }
    let mut ops = vec![Operation::comment(format!("ovn-udn-cni: release {claim}"))];
    // Released only as read: unattached.
    ops.extend(remove_port_ops(&port));
    nb.transact(NB_DB, &ops)
        .await
        .map_err(|e| PluginError::ovsdb(format!("releasing IPAM claim {claim}"), e))?;
    Ok(Some(port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(chassis: &str, sandbox: &str) -> Attachment {
        Attachment {
            chassis: chassis.into(),
            sandbox: sandbox.into(),
            ifname: "eth0".into(),
        }
    }

    fn port(attachments: &[Attachment]) -> PortRecord {
        let blank = PortRecord {
            uuid: "u".into(),
            name: "vm".into(),
            mac: None,
            ips: Vec::new(),
            external_ids: BTreeMap::from([(CLAIM_KEY.to_owned(), "ns/vm".to_owned())]),
            options: BTreeMap::from([("iface-id-ver".to_owned(), "x".to_owned())]),
        };
        let (external_ids, options) = with_attachments(&blank, attachments);
        PortRecord {
            external_ids,
            options,
            ..blank
        }
    }

    #[test]
    fn a_migration_binds_source_then_target_with_rarp_activation() {
        let source = port(&[at("node1", "a")]);
        assert_eq!(source.options["requested-chassis"], "node1");
        assert!(!source.options.contains_key("activation-strategy"));
        let both = joined("ns/vm", &source.attachments(), at("node2", "b")).expect("target");
        let migrating = port(&both);
        assert_eq!(migrating.options["requested-chassis"], "node1,node2");
        assert_eq!(migrating.options["activation-strategy"], "rarp");
        assert_eq!(migrating.attachments(), both);
        assert_eq!(migrating.options["iface-id-ver"], "x", "other options kept");

        // The source leaves: the target alone, activated for good.
        let target: Vec<_> = both.into_iter().filter(|a| a.sandbox != "a").collect();
        let done = port(&target);
        assert_eq!(done.options["requested-chassis"], "node2");
        assert!(!done.options.contains_key("activation-strategy"));
        // The last one leaves: reserved, bound nowhere.
        let stopped = port(&[]);
        assert!(!stopped.options.contains_key("requested-chassis"));
        assert!(stopped.attachments().is_empty());
        assert_eq!(stopped.claim(), Some("ns/vm"));
    }

    #[test]
    fn a_repeated_add_keeps_the_list_and_clashes_are_refused() {
        let one = [at("node1", "a")];
        assert_eq!(joined("ns/vm", &one, at("node1", "a")).expect("again"), one);
        let err = joined("ns/vm", &one, at("node1", "b")).expect_err("same chassis");
        assert!(err.to_string().contains("node1"), "{err}");
        let two = [at("node1", "a"), at("node2", "b")];
        let err = joined("ns/vm", &two, at("node3", "c")).expect_err("third chassis");
        let text = err.to_string();
        assert!(
            text.contains("node3") && text.contains("node1 and node2"),
            "{text}"
        );
        assert_eq!(err.code(), 101);
    }
}
