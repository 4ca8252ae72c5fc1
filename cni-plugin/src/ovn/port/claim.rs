//! Persistent IPs: a logical port named after an IPAM claim keeps its
//! addresses and MAC for the claim's whole life, across pods and chassis.
//! Its attachments are recorded per chassis (`k8s.ovn.org/attached.<chassis>`
//! = `<sandbox>/<ifname>`) and `requested-chassis` lists their chassis in
//! order: one while the VM runs, source then target while it migrates
//! (bound on both, activated on the target by the guest's RARP), none while
//! it is stopped. Only `ipam release` deletes the port.

use std::collections::BTreeMap;

use ovsdb::{Client, Condition, Operation, Row, Value};

use super::ops::remove_port_ops;
use super::record::{self, Attachment, PortRecord, attached_at_now, attachment_id};
use crate::error::PluginError;
use crate::ovn::txn::{self, Step};
use crate::vocabulary::{column, ids, option, table};

/// Both ends of a live migration: at most this many attachments at once.
const MAX_ATTACHMENTS: usize = 2;

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

/// The port's external_ids and options with exactly `attachments`: bound on
/// each one's chassis, and while there are two (a migration), activated on
/// the target only when the guest announces itself with a RARP.
fn with_attachments(
    port: &PortRecord,
    attachments: &[Attachment],
) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let mut external_ids = port.external_ids.clone();
    external_ids.retain(|key, _| !key.starts_with(ids::ATTACHED_PREFIX));
    external_ids.extend(attachments.iter().map(attachment_id));
    external_ids.extend([attached_at_now()]);
    let mut options = port.options.clone();
    options.remove(option::REQUESTED_CHASSIS);
    options.remove(option::ACTIVATION_STRATEGY);
    if !attachments.is_empty() {
        let chassis: Vec<&str> = attachments.iter().map(|a| a.chassis.as_str()).collect();
        options.insert(option::REQUESTED_CHASSIS.into(), chassis.join(","));
    }
    if attachments.len() > 1 {
        // Must stay: measured without it, every connection to a migrating
        // VM was reset. Until its bridge is built, the target launcher's
        // interface holds the VM's IP and MAC and answers the duplicated
        // segments with RSTs; `rarp` keeps the port blocked there until the
        // guest announces itself. So the plugin must not send a RARP itself
        // either (BENCHMARKS.md, "Live migration gap").
        options.insert(option::ACTIVATION_STRATEGY.into(), "rarp".into());
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
            table::LOGICAL_SWITCH_PORT,
            vec![Condition::uuid(&port.uuid)],
            vec![column::EXTERNAL_IDS.into(), column::OPTIONS.into()],
            vec![
                Row::new()
                    .with(
                        column::EXTERNAL_IDS,
                        Value::string_map(port.external_ids.clone()),
                    )
                    .with(column::OPTIONS, Value::string_map(port.options.clone())),
            ],
        ),
        Operation::update(
            table::LOGICAL_SWITCH_PORT,
            vec![Condition::uuid(&port.uuid)],
            Row::new()
                .with(column::EXTERNAL_IDS, Value::string_map(external_ids))
                .with(column::OPTIONS, Value::string_map(options)),
        ),
    ]
}

/// Every claimed port, of one network or of all, by name.
pub async fn list(nb: &Client, network: Option<&str>) -> Result<Vec<PortRecord>, PluginError> {
    let conditions = network
        .map(|n| Condition::includes(column::EXTERNAL_IDS, Value::string_map([(ids::NETWORK, n)])))
        .into_iter()
        .collect();
    let mut ports: Vec<PortRecord> = record::read(nb, conditions, || "listing IPAM claims".into())
        .await?
        .into_iter()
        .filter(|p| p.claim().is_some())
        .collect();
    ports.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(ports)
}

/// The claimed port of `claim` on `network`.
async fn find(nb: &Client, network: &str, claim: &str) -> Result<Option<PortRecord>, PluginError> {
    let which = Value::string_map([(ids::NETWORK, network), (ids::CLAIM, claim)]);
    let context = || format!("reading IPAM claim {claim}");
    let ports = record::read(
        nb,
        vec![Condition::includes(column::EXTERNAL_IDS, which)],
        context,
    );
    Ok(ports.await?.into_iter().next())
}

/// Deletes the port of `claim` on `network`, freeing its addresses; refused
/// while anything is attached to it. `Ok(None)`: there was no reservation.
pub async fn release(
    nb: &Client,
    network: &str,
    claim: &str,
) -> Result<Option<PortRecord>, PluginError> {
    let what = format!("releasing IPAM claim {claim}");
    let committed = txn::optimistic(nb, &what, |_| async {
        let Some(port) = find(nb, network, claim).await? else {
            return Ok(Step::Done(None));
        };
        plan_release(claim, port)
    })
    .await?;
    Ok(committed.outcome)
}

/// Releasing a claim's port as read: only while nothing is attached.
fn plan_release(claim: &str, port: PortRecord) -> Result<Step<Option<PortRecord>>, PluginError> {
    let attached = port.attachments();
    if !attached.is_empty() {
        let chassis: Vec<&str> = attached.iter().map(|a| a.chassis.as_str()).collect();
        return Err(PluginError::AlreadyAttached(format!(
            "IPAM claim {claim} is still attached on {}: stop its VM first",
            chassis.join(", ")
        )));
    }
    let mut ops = vec![Operation::comment(format!("ovn-udn-cni: release {claim}"))];
    ops.extend(remove_port_ops(&port));
    Ok(Step::Write(ops, Some(port)))
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
            addresses: Vec::new(),
            external_ids: BTreeMap::from([(ids::CLAIM.to_owned(), "ns/vm".to_owned())]),
            options: BTreeMap::from([(option::IFACE_ID_VER.to_owned(), "x".to_owned())]),
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
        assert_eq!(source.options[option::REQUESTED_CHASSIS], "node1");
        assert!(!source.options.contains_key(option::ACTIVATION_STRATEGY));
        let both = joined("ns/vm", &source.attachments(), at("node2", "b")).expect("target");
        let migrating = port(&both);
        assert_eq!(migrating.options[option::REQUESTED_CHASSIS], "node1,node2");
        assert_eq!(migrating.options[option::ACTIVATION_STRATEGY], "rarp");
        assert_eq!(migrating.attachments(), both);
        assert_eq!(
            migrating.options[option::IFACE_ID_VER],
            "x",
            "other options kept"
        );

        // The source leaves: the target alone, activated for good.
        let target: Vec<_> = both.into_iter().filter(|a| a.sandbox != "a").collect();
        let done = port(&target);
        assert_eq!(done.options[option::REQUESTED_CHASSIS], "node2");
        assert!(!done.options.contains_key(option::ACTIVATION_STRATEGY));
        // The last one leaves: reserved, bound nowhere.
        let stopped = port(&[]);
        assert!(!stopped.options.contains_key(option::REQUESTED_CHASSIS));
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

    #[test]
    fn a_claim_is_released_only_while_nothing_is_attached() {
        let err = plan_release("ns/vm", port(&[at("node1", "a")])).expect_err("attached");
        assert!(err.to_string().contains("node1"), "{err}");
        match plan_release("ns/vm", port(&[])).expect("stopped") {
            Step::Write(ops, Some(released)) => {
                assert_eq!(released.name, "vm");
                assert_eq!(ops.len(), 4, "comment, wait, unlink, delete");
            }
            other => panic!("unexpected plan {other:?}"),
        }
    }
}
