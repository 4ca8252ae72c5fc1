//! The Logical_Switch_Port of an attachment and the switch it sits on. The
//! LSP `addresses` are the IPAM record: allocating is a transaction that
//! inserts the port only if the switch's port set is still the one read.

use std::collections::HashSet;
use std::net::IpAddr;

use conf::{MacAddr, StaticIp};
use ipnet::IpNet;
use ovsdb::{Client, Condition, Mutation, Operation, Row, Value};

use super::claim;
use super::port_record::{Attachment, PortRecord, find_port, lsp_columns};
use super::retry::{MAX_ATTEMPTS, backoff};
use super::{NB_DB, check_owner};
use crate::cni::result::mac_text;
use crate::error::PluginError;
use crate::ipam::Pool;
use crate::topology::{FixedPort, SwitchSpec};

/// external_ids key naming an LSP's network.
pub const NETWORK_KEY: &str = "k8s.ovn.org/network";

/// Everything needed to create (or take over) one logical port.
pub struct PortRequest<'a> {
    /// LSP name.
    pub name: &'a str,
    /// Network name (`k8s.ovn.org/network`).
    pub network: &'a str,
    /// The container id the port is for.
    pub sandbox: &'a str,
    /// The chassis it runs on.
    pub chassis: &'a str,
    /// The IPAM claim (`namespace/claim`) the port is reserved for.
    pub claim: Option<&'a str>,
    /// The Kubernetes pod's namespace; only a port of the same pod (same
    /// namespace and NAD, hence the same pod name) may be taken over.
    pub pod_namespace: Option<&'a str>,
    /// The NAD (`k8s.ovn.org/nad`) of the attachment.
    pub nad: Option<&'a str>,
    /// The interface in that container.
    pub ifname: &'a str,
    /// The switch, created if absent.
    pub switch: &'a SwitchSpec,
    /// Where addresses come from.
    pub pool: Pool<'a>,
    /// Static addresses requested by the runtime.
    pub static_ips: &'a [StaticIp],
    /// Static MAC requested by the runtime.
    pub static_mac: Option<MacAddr>,
    /// MAC for a port without addresses (no IPAM).
    pub random_mac: MacAddr,
    /// LSP external_ids (sandbox, pod-if-name, network ...).
    pub external_ids: Vec<(String, String)>,
    /// LSP options (requested-chassis, iface-id-ver).
    pub options: Vec<(String, String)>,
    /// `dhcpv4_options` / `dhcpv6_options` column and DHCP_Options uuid.
    pub dhcp: Vec<(&'static str, String)>,
}

/// A logical port as created.
#[derive(Debug, Clone)]
pub struct LogicalPort {
    /// Its MAC.
    pub mac: MacAddr,
    /// Its addresses, with the subnet prefix.
    pub addresses: Vec<IpNet>,
    /// This call created it (rather than joining a claimed port).
    pub created: bool,
}

/// Creates the port (and the switch on first use) with freshly allocated or
/// static addresses. An existing port of that name belonging to another
/// sandbox (a newer sandbox of the same pod) is replaced, keeping its
/// addresses unless others are requested.
pub async fn create_port(nb: &Client, req: &PortRequest<'_>) -> Result<LogicalPort, PluginError> {
    let context = || format!("creating logical switch port {}", req.name);
    for attempt in 0..MAX_ATTEMPTS {
        let read = nb
            .transact(
                NB_DB,
                &[
                    Operation::select(
                        "Logical_Switch",
                        vec![Condition::eq("name", Value::string(&req.switch.name))],
                        Some(vec!["_uuid".into(), "ports".into(), "external_ids".into()]),
                    ),
                    Operation::select(
                        "Logical_Switch_Port",
                        vec![Condition::includes(
                            "external_ids",
                            Value::string_map([(NETWORK_KEY, req.network)]),
                        )],
                        lsp_columns(),
                    ),
                ],
            )
            .await
            .map_err(|e| {
                PluginError::ovsdb("reading the network's ports from the NB database", e)
            })?;
        let switch = read.first().and_then(|r| r.rows.first()).cloned();
        if let Some(switch) = &switch {
            check_owner("logical switch", &req.switch.name, switch, req.network)?;
        }
        let ports: Vec<PortRecord> = read
            .get(1)
            .map(|r| r.rows.iter().filter_map(PortRecord::from_row).collect())
            .unwrap_or_default();
        let existing = ports.iter().find(|p| p.name == req.name);
        let (port, ops) = match (existing, req.claim) {
            (Some(old), Some(claim)) if old.claim() == Some(claim) => join_claim(req, old, claim)?,
            (Some(old), _) if old.claim().is_some() => {
                return Err(PluginError::AlreadyAttached(format!(
                    "logical switch port {} is reserved for IPAM claim {}",
                    req.name,
                    old.claim().unwrap_or_default()
                )));
            }
            _ => {
                if let Some(old) = existing {
                    refuse_second_attachment(req, old)?;
                    refuse_takeover_by_another(req, old)?;
                }
                let used: HashSet<IpAddr> = ports
                    .iter()
                    .filter(|p| p.name != req.name)
                    .flat_map(|p| p.ips.iter().copied())
                    .collect();
                let port = plan_port(req, existing, &used)?;
                let ops = write_ops(req, switch.as_ref(), existing, &port);
                (port, ops)
            }
        };
        match nb.transact(NB_DB, &ops).await {
            Ok(_) => return Ok(port),
            Err(e) if e.is_conflict() => {
                tracing::debug!(
                    step = "allocate",
                    attempt,
                    "NB changed under us, retrying: {e}"
                );
            }
            // A port of that name that our read did not see: another
            // network's (a clash to report) or one created since (a race).
            Err(e) if e.is_constraint_violation() => {
                if let Some(other) = find_port(nb, req.name).await? {
                    let network = other
                        .external_ids
                        .get(NETWORK_KEY)
                        .map_or("", String::as_str);
                    if network != req.network {
                        return Err(PluginError::AlreadyAttached(format!(
                            "logical switch port {} already exists for network {network:?}",
                            req.name
                        )));
                    }
                }
            }
            Err(e) => return Err(PluginError::ovsdb(context(), e)),
        }
        backoff(attempt).await;
    }
    Err(too_many_conflicts(context()))
}

/// One pod attaches to a network once: a second interface of the same
/// sandbox would share the port (its name has no interface in it), its
/// address and its MAC, and either DEL would remove both.
fn refuse_second_attachment(req: &PortRequest<'_>, old: &PortRecord) -> Result<(), PluginError> {
    let old_ifname = old
        .external_ids
        .get("pod-if-name")
        .map_or("", String::as_str);
    if old.sandbox() == Some(req.sandbox) && old_ifname != req.ifname {
        return Err(PluginError::AlreadyAttached(format!(
            "network {} is already attached to this sandbox as {old_ifname}",
            req.network
        )));
    }
    Ok(())
}

/// A port of another sandbox is replaced only for a newer sandbox of the
/// same Kubernetes pod: same namespace and NAD (with the port's name, that
/// is the same pod name). A plain container's port is its container's
/// alone: a container whose id merely starts the same never takes it.
fn refuse_takeover_by_another(req: &PortRequest<'_>, old: &PortRecord) -> Result<(), PluginError> {
    if old.sandbox() == Some(req.sandbox) {
        return Ok(());
    }
    let same_pod = req.pod_namespace.is_some()
        && old.external_ids.get("namespace").map(String::as_str) == req.pod_namespace
        && old.external_ids.get(super::NAD_KEY).map(String::as_str) == req.nad;
    if same_pod {
        return Ok(());
    }
    Err(PluginError::AlreadyAttached(format!(
        "logical switch port {} belongs to sandbox {} of another pod or container",
        req.name,
        old.sandbox().unwrap_or("-")
    )))
}

/// A claimed port's addresses and MAC, with this attachment added: the
/// claim's, whatever this ADD asks for.
fn join_claim(
    req: &PortRequest<'_>,
    old: &PortRecord,
    claim: &str,
) -> Result<(LogicalPort, Vec<Operation>), PluginError> {
    let me = Attachment {
        chassis: req.chassis.to_owned(),
        sandbox: req.sandbox.to_owned(),
        ifname: req.ifname.to_owned(),
    };
    let attachments = claim::joined(claim, &old.attachments(), me)?;
    let port = LogicalPort {
        mac: old.mac.unwrap_or(req.random_mac),
        addresses: kept_addresses(req, old)?,
        created: false,
    };
    Ok((port, claim::set_attachments_ops(old, &attachments)))
}

/// Addresses and MAC of the port to write: a replaced port keeps its
/// addresses (and then its MAC) unless static addresses are requested.
fn plan_port(
    req: &PortRequest<'_>,
    existing: Option<&PortRecord>,
    used: &HashSet<IpAddr>,
) -> Result<LogicalPort, PluginError> {
    let kept = existing.filter(|old| {
        req.static_ips.is_empty() && (!old.ips.is_empty() || req.pool.subnets.is_empty())
    });
    let addresses = match kept {
        Some(old) => kept_addresses(req, old)?,
        None => req.pool.allocate(used, req.static_ips)?,
    };
    let ips: Vec<IpAddr> = addresses.iter().map(IpNet::addr).collect();
    let mac = req
        .static_mac
        .or(kept.and_then(|old| old.mac))
        .or_else(|| conf::mac_for_addresses(&ips))
        .unwrap_or(req.random_mac);
    Ok(LogicalPort {
        mac,
        addresses,
        created: true,
    })
}

/// `old`'s addresses with the prefix length of the subnet each is in.
fn kept_addresses(req: &PortRequest<'_>, old: &PortRecord) -> Result<Vec<IpNet>, PluginError> {
    old.ips
        .iter()
        .map(|ip| {
            let prefix = req
                .pool
                .subnets
                .iter()
                .find(|s| s.cidr.contains(ip))
                .map_or(if ip.is_ipv4() { 32 } else { 128 }, |s| s.cidr.prefix_len());
            IpNet::new(*ip, prefix).map_err(|e| PluginError::AddressUnavailable(e.to_string()))
        })
        .collect()
}

/// The write transaction. Its `wait` on the switch's port set is the IPAM
/// record's version check: any port added, removed or replaced since the
/// read fails it, and the allocation is redone. Replacing a port (delete and
/// insert) rather than updating it keeps that true for a takeover too.
fn write_ops(
    req: &PortRequest<'_>,
    switch: Option<&Row>,
    existing: Option<&PortRecord>,
    port: &LogicalPort,
) -> Vec<Operation> {
    let mut entry = mac_text(&port.mac);
    for address in &port.addresses {
        entry.push(' ');
        entry.push_str(&address.addr().to_string());
    }
    let mut lsp_row = Row::new()
        .with("name", Value::string(req.name))
        .with("addresses", Value::string_set([entry.clone()]))
        .with("port_security", Value::string_set([entry]))
        .with("external_ids", Value::string_map(req.external_ids.clone()))
        .with("options", Value::string_map(req.options.clone()));
    for (column, uuid) in &req.dhcp {
        lsp_row = lsp_row.with(column, Value::uuid_set([uuid.clone()]));
    }
    // Every wait comes first: operations run in order, and the port set
    // must be checked as it was read, before the old port leaves it.
    let mut ops = vec![Operation::comment(format!(
        "ovn-udn-cni: attach {}",
        req.name
    ))];
    let switch_uuid = switch.map(|row| row.uuid().unwrap_or_default().to_owned());
    match (switch, &switch_uuid) {
        (Some(switch), Some(uuid)) => ops.push(Operation::wait_equal(
            "Logical_Switch",
            vec![Condition::uuid(uuid)],
            vec!["ports".into()],
            vec![Row::new().with("ports", Value::uuid_set(switch.uuids("ports")))],
        )),
        // Create the switch only if nobody did since we read: racing ADDs
        // on other nodes retry and find it.
        _ => ops.push(Operation::wait_equal(
            "Logical_Switch",
            vec![Condition::eq("name", Value::string(&req.switch.name))],
            vec!["name".into()],
            vec![],
        )),
    }
    if let Some(old) = existing {
        ops.extend(remove_port_ops(old));
    }
    ops.push(Operation::insert_named(
        "Logical_Switch_Port",
        lsp_row,
        "lsp",
    ));
    // A new switch comes with the topology's own ports (a localnet port).
    let mut port_names = vec!["lsp".to_owned()];
    if switch_uuid.is_none() {
        for (i, fixed) in req.switch.ports.iter().enumerate() {
            let name = format!("fixed{i}");
            ops.push(Operation::insert_named(
                "Logical_Switch_Port",
                fixed_port_row(fixed),
                &name,
            ));
            port_names.push(name);
        }
    }
    ops.push(match switch_uuid {
        Some(uuid) => Operation::mutate(
            "Logical_Switch",
            vec![Condition::uuid(&uuid)],
            vec![Mutation::insert("ports", Value::named_uuid_set(["lsp"]))],
        ),
        None => Operation::insert(
            "Logical_Switch",
            Row::new()
                .with("name", Value::string(&req.switch.name))
                .with("ports", Value::named_uuid_set(port_names))
                .with(
                    "external_ids",
                    Value::string_map(req.switch.external_ids.clone()),
                )
                .with(
                    "other_config",
                    Value::string_map(req.switch.other_config.clone()),
                ),
        ),
    });
    ops
}

/// Removes `old` if its external_ids (its owner) are still as read.
pub(super) fn remove_port_ops(old: &PortRecord) -> [Operation; 3] {
    let old_set = Value::uuid_set([old.uuid.clone()]);
    [
        Operation::wait_equal(
            "Logical_Switch_Port",
            vec![Condition::uuid(&old.uuid)],
            vec!["external_ids".into()],
            vec![Row::new().with("external_ids", Value::string_map(old.external_ids.clone()))],
        ),
        Operation::mutate(
            "Logical_Switch",
            vec![Condition::includes("ports", old_set.clone())],
            vec![Mutation::delete("ports", old_set)],
        ),
        Operation::delete("Logical_Switch_Port", vec![Condition::uuid(&old.uuid)]),
    ]
}

/// Deletes the port named `name` if `sandbox` still owns it, which frees its
/// addresses; a newer sandbox's port is never touched. A claimed port only
/// loses `sandbox`'s attachment: its addresses stay reserved for the claim.
/// `Ok(false)` when there was nothing of ours to delete.
pub async fn delete_port(nb: &Client, name: &str, sandbox: &str) -> Result<bool, PluginError> {
    for attempt in 0..MAX_ATTEMPTS {
        let Some(port) = find_port(nb, name).await? else {
            return Ok(false);
        };
        if !port.attached_to(sandbox) {
            tracing::info!(step = "delete-lsp", port = name, attachments = ?port.attachments(), "not attached to this sandbox, kept");
            return Ok(false);
        }
        let ops = if port.claim().is_some() {
            let rest: Vec<Attachment> = port
                .attachments()
                .into_iter()
                .filter(|a| a.sandbox != sandbox)
                .collect();
            claim::set_attachments_ops(&port, &rest)
        } else {
            let mut ops = vec![Operation::comment(format!("ovn-udn-cni: detach {name}"))];
            ops.extend(remove_port_ops(&port));
            ops
        };
        match nb.transact(NB_DB, &ops).await {
            Ok(_) => return Ok(true),
            Err(e) if e.is_conflict() => backoff(attempt).await,
            Err(e) => {
                return Err(PluginError::ovsdb(
                    format!("deleting logical switch port {name}"),
                    e,
                ));
            }
        }
    }
    Err(too_many_conflicts(format!(
        "deleting logical switch port {name}"
    )))
}

/// The row of a port that belongs to the topology, not to a pod.
pub fn fixed_port_row(port: &FixedPort) -> Row {
    let mut row = Row::new()
        .with("name", Value::string(&port.name))
        .with("type", Value::string(&port.kind))
        .with("addresses", Value::string_set(port.addresses.clone()))
        .with("options", Value::string_map(port.options.clone()))
        .with("external_ids", Value::string_map(port.external_ids.clone()));
    if let Some(tag) = port.tag_request {
        row = row.with("tag_request", Value::integer(i64::from(tag)));
    }
    row
}

/// Every attempt lost a race: the NB database is too busy right now, and
/// the runtime should try again later.
pub fn too_many_conflicts(context: String) -> PluginError {
    PluginError::Busy(format!(
        "{context}: NB database busy, {MAX_ATTEMPTS} transactions lost a race"
    ))
}
