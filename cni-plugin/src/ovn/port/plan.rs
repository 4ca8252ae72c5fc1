//! Planning an attachment's logical port from a snapshot of the NB: pure,
//! so every case (a new port, a newer sandbox of the same pod taking its
//! port over, a VM joining its claim, static and dynamic addresses, every
//! clash) is unit-tested without a database.

use std::collections::HashSet;
use std::net::IpAddr;

use ipnet::IpNet;
use ovsdb::{Condition, Mutation, Operation, Row, Value};

use super::claim;
use super::ops::{fixed_port_row, remove_port_ops};
use super::record::{Attachment, PortRecord};
use super::{LogicalPort, PortRequest};
use crate::cni::result::mac_text;
use crate::error::PluginError;
use crate::ovn::address_blocks::{BlockRead, block_in, block_key};
use crate::ovn::check_owner;
use crate::ovn::txn::Step;
use crate::vocabulary::{column, ids, table};

/// What an ADD read before planning its port.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// The switch (`_uuid`, `external_ids`), if it exists.
    pub switch: Option<Row>,
    /// A port of the requested name, of whichever network.
    pub existing: Option<PortRecord>,
    /// For each subnet of the pool, the blocks to take a dynamic address
    /// from, best first.
    pub dynamic: Vec<(IpNet, Vec<BlockRead>)>,
    /// The blocks the requested static addresses lie in.
    pub statics: Vec<BlockRead>,
}

/// Whether the ADD takes new addresses (and so reads address blocks): not
/// when it joins its claim's port, nor when it takes over a port whose
/// addresses it keeps.
pub fn needs_addresses(req: &PortRequest<'_>, existing: Option<&PortRecord>) -> bool {
    match existing {
        None => true,
        Some(old) if old.claim().is_some() => false,
        Some(old) => !keeps_addresses(req, old),
    }
}

/// A replaced port keeps its addresses (and then its MAC) unless static
/// addresses are asked for.
fn keeps_addresses(req: &PortRequest<'_>, old: &PortRecord) -> bool {
    req.static_ips.is_empty() && (!old.ips.is_empty() || req.pool.subnets.is_empty())
}

/// The port to write and the operations that write it, valid only while
/// the snapshot holds. `choice` picks among the lowest free addresses of a
/// block (0: the lowest), so that retries after a lost race spread out.
pub fn create(
    req: &PortRequest<'_>,
    snap: &Snapshot,
    choice: usize,
) -> Result<Step<LogicalPort>, PluginError> {
    if let Some(switch) = &snap.switch {
        check_owner("logical switch", &req.switch.name, switch, req.network)?;
    }
    let Some(old) = &snap.existing else {
        return new_port(req, snap, None, choice);
    };
    if old.network() != Some(req.network) {
        return Err(PluginError::AlreadyAttached(format!(
            "logical switch port {} already exists for network {:?}",
            req.name,
            old.network().unwrap_or_default()
        )));
    }
    match (old.claim(), req.claim) {
        (Some(held), Some(claim)) if held == claim => join_claim(req, old, claim),
        (Some(held), _) => Err(PluginError::AlreadyAttached(format!(
            "logical switch port {} is reserved for IPAM claim {held}",
            req.name
        ))),
        (None, _) => {
            refuse_second_attachment(req, old)?;
            refuse_takeover_by_another(req, old)?;
            new_port(req, snap, Some(old), choice)
        }
    }
}

/// One pod attaches to a network once: a second interface of the same
/// sandbox would share the port (its name has no interface in it), its
/// address and its MAC, and either DEL would remove both.
fn refuse_second_attachment(req: &PortRequest<'_>, old: &PortRecord) -> Result<(), PluginError> {
    let old_ifname = old
        .external_ids
        .get(ids::POD_IF_NAME)
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
        && old.external_ids.get(ids::NAMESPACE).map(String::as_str) == req.pod_namespace
        && old.external_ids.get(ids::NAD).map(String::as_str) == req.nad;
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
) -> Result<Step<LogicalPort>, PluginError> {
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
    Ok(Step::Write(
        claim::set_attachments_ops(old, &attachments),
        port,
    ))
}

/// A new port, or one replacing `old`: kept, static or allocated addresses.
fn new_port(
    req: &PortRequest<'_>,
    snap: &Snapshot,
    old: Option<&PortRecord>,
    choice: usize,
) -> Result<Step<LogicalPort>, PluginError> {
    let kept = old.filter(|old| keeps_addresses(req, old));
    let (addresses, guarded) = match kept {
        Some(old) => (kept_addresses(req, old)?, Vec::new()),
        None => allocate(req, snap, choice)?,
    };
    let ips: Vec<IpAddr> = addresses.iter().map(IpNet::addr).collect();
    let mac = req
        .static_mac
        .or(kept.and_then(|old| old.mac))
        .or_else(|| conf::mac_for_addresses(&ips))
        .unwrap_or(req.random_mac);
    let port = LogicalPort {
        mac,
        addresses,
        created: true,
    };
    let ops = write_ops(req, snap.switch.as_ref(), old, &port, &guarded);
    Ok(Step::Write(ops, port))
}

/// Static or dynamic addresses, and the blocks they were taken from (whose
/// contents the write must find unchanged). A port being replaced does not
/// count as using its addresses.
fn allocate<'s>(
    req: &PortRequest<'_>,
    snap: &'s Snapshot,
    choice: usize,
) -> Result<(Vec<IpNet>, Vec<&'s BlockRead>), PluginError> {
    let used_in = |read: &BlockRead| read.used(Some(req.name));
    if !req.static_ips.is_empty() {
        let used: HashSet<IpAddr> = snap.statics.iter().flat_map(used_in).collect();
        let addresses = req.pool.claim_statics(&used, req.static_ips)?;
        return Ok((addresses, snap.statics.iter().collect()));
    }
    let mut addresses = Vec::new();
    let mut guarded = Vec::new();
    for (subnet, candidates) in &snap.dynamic {
        let picked = candidates.iter().find_map(|read| {
            let free = req
                .pool
                .free_in(*subnet, read.block, &used_in(read), choice + 1);
            let address = free.get(choice).or(free.last()).copied()?;
            Some((address, read))
        });
        let (address, read) = picked.ok_or_else(|| crate::ipam::pool::exhausted(*subnet))?;
        addresses.push(address);
        guarded.push(read);
    }
    Ok((addresses, guarded))
}

/// `old`'s addresses with their prefix lengths: as recorded on the port,
/// else the prefix of the subnet each is in (ports of older plugins).
fn kept_addresses(req: &PortRequest<'_>, old: &PortRecord) -> Result<Vec<IpNet>, PluginError> {
    let recorded: Vec<IpNet> = old
        .external_ids
        .get(ids::IP_ADDRESSES)
        .map(|list| list.split(',').filter_map(|a| a.parse().ok()).collect())
        .unwrap_or_default();
    old.ips
        .iter()
        .map(|ip| {
            if let Some(net) = recorded.iter().find(|net| net.addr() == *ip) {
                return Ok(*net);
            }
            let prefix = req
                .pool
                .subnet_of(*ip)
                .map_or(if ip.is_ipv4() { 32 } else { 128 }, |s| s.prefix_len());
            IpNet::new(*ip, prefix).map_err(|e| PluginError::AddressUnavailable(e.to_string()))
        })
        .collect()
}

/// The blocks `addresses` lie in, as external_ids tags.
fn block_tags(req: &PortRequest<'_>, addresses: &[IpNet]) -> Vec<(String, String)> {
    addresses
        .iter()
        .map(|a| (block_key(block_in(a.addr(), &req.pool)), "true".to_owned()))
        .collect()
}

/// The write: the blocks' contents as read, then the port (replacing `old`
/// as read), linked into the switch (created with its own ports if absent,
/// and only if still absent). Every wait comes first: operations run in
/// order, and the blocks must be checked as they were read, before `old`
/// leaves them.
fn write_ops(
    req: &PortRequest<'_>,
    switch: Option<&Row>,
    old: Option<&PortRecord>,
    port: &LogicalPort,
    guarded: &[&BlockRead],
) -> Vec<Operation> {
    let mut entry = mac_text(&port.mac);
    for address in &port.addresses {
        entry.push(' ');
        entry.push_str(&address.addr().to_string());
    }
    let mut external_ids = req.external_ids.clone();
    external_ids.extend(block_tags(req, &port.addresses));
    if !port.addresses.is_empty() {
        let cidrs: Vec<String> = port.addresses.iter().map(ToString::to_string).collect();
        external_ids.push((ids::IP_ADDRESSES.to_owned(), cidrs.join(",")));
    }
    let mut lsp_row = Row::new()
        .with(column::NAME, Value::string(req.name))
        .with(column::ADDRESSES, Value::string_set([entry.clone()]))
        .with(column::PORT_SECURITY, Value::string_set([entry]))
        .with(column::EXTERNAL_IDS, Value::string_map(external_ids))
        .with(column::OPTIONS, Value::string_map(req.options.clone()));
    for (dhcp_column, uuid) in &req.dhcp {
        lsp_row = lsp_row.with(dhcp_column, Value::uuid_set([uuid.clone()]));
    }
    let mut ops = vec![Operation::comment(format!(
        "ovn-udn-cni: attach {}",
        req.name
    ))];
    ops.extend(guarded.iter().map(|read| read.wait(req.network)));
    let switch_uuid = switch.and_then(|row| row.uuid().map(str::to_owned));
    if switch_uuid.is_none() {
        // Create the switch only if nobody did since we read: racing ADDs
        // on other nodes retry and find it.
        ops.push(Operation::wait_equal(
            table::LOGICAL_SWITCH,
            vec![Condition::eq(column::NAME, Value::string(&req.switch.name))],
            vec![column::NAME.into()],
            vec![],
        ));
    }
    if let Some(old) = old {
        ops.extend(remove_port_ops(old));
    }
    ops.push(Operation::insert_named(
        table::LOGICAL_SWITCH_PORT,
        lsp_row,
        "lsp",
    ));
    match switch_uuid {
        Some(uuid) => ops.push(Operation::mutate(
            table::LOGICAL_SWITCH,
            vec![Condition::uuid(&uuid)],
            vec![Mutation::insert(
                column::PORTS,
                Value::named_uuid_set(["lsp"]),
            )],
        )),
        None => {
            // A new switch comes with the topology's own ports (a localnet port).
            let mut port_names = vec!["lsp".to_owned()];
            for (i, fixed) in req.switch.ports.iter().enumerate() {
                let name = format!("fixed{i}");
                ops.push(Operation::insert_named(
                    table::LOGICAL_SWITCH_PORT,
                    fixed_port_row(fixed),
                    &name,
                ));
                port_names.push(name);
            }
            ops.push(Operation::insert(
                table::LOGICAL_SWITCH,
                Row::new()
                    .with(column::NAME, Value::string(&req.switch.name))
                    .with(column::PORTS, Value::named_uuid_set(port_names))
                    .with(
                        column::EXTERNAL_IDS,
                        Value::string_map(req.switch.external_ids.clone()),
                    )
                    .with(
                        column::OTHER_CONFIG,
                        Value::string_map(req.switch.other_config.clone()),
                    ),
            ));
        }
    }
    ops
}

/// DEL of the port named `name` as read (`port`): only while `sandbox` is
/// attached; a claimed port only loses that attachment (its addresses stay
/// reserved for the claim). The outcome: whether anything of `sandbox`'s
/// was removed.
pub fn delete(port: Option<PortRecord>, sandbox: &str) -> Step<bool> {
    let Some(port) = port else {
        return Step::Done(false);
    };
    if !port.attached_to(sandbox) {
        tracing::info!(step = "delete-lsp", port = %port.name, attachments = ?port.attachments(),
            "not attached to this sandbox, kept");
        return Step::Done(false);
    }
    if port.claim().is_some() {
        let rest: Vec<Attachment> = port
            .attachments()
            .into_iter()
            .filter(|a| a.sandbox != sandbox)
            .collect();
        return Step::Write(claim::set_attachments_ops(&port, &rest), true);
    }
    let mut ops = vec![Operation::comment(format!(
        "ovn-udn-cni: detach {}",
        port.name
    ))];
    ops.extend(remove_port_ops(&port));
    Step::Write(ops, true)
}
