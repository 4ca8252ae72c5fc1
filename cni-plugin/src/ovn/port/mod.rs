//! An attachment's Logical_Switch_Port: read back (`record`), planned
//! (`plan`, pure), written through the transaction engine (here), with the
//! persistent-IP rules of claimed ports (`claim`) and the operations several
//! writers share (`ops`). The port's `addresses` are the IPAM record.

pub mod claim;
pub mod ops;
pub mod plan;
pub mod record;

use std::net::IpAddr;

use conf::{MacAddr, StaticIp};
use ipnet::IpNet;
use ovsdb::{Client, Condition, Operation, Row, Value};

use self::plan::Snapshot;
use self::record::{PortRecord, find_port};
use super::address_blocks::{self, BlockRead, block_in};
use super::txn::{self, jitter};
use crate::error::PluginError;
use crate::ipam::Pool;
use crate::topology::SwitchSpec;
use crate::vocabulary::{NB_DB, column, table};

/// Everything needed to create (or take over, or join) one logical port.
pub struct PortRequest<'a> {
    /// LSP name.
    pub name: &'a str,
    /// Network name (`k8s.ovn.org/network`).
    pub network: &'a str,
    /// The container id the port is for.
    pub sandbox: &'a str,
    /// The chassis it runs on.
    pub chassis: &'a str,
    /// The addresses of the network's pods on this chassis (from the local
    /// OVS): the blocks they lie in are where allocation looks first.
    pub local_addresses: &'a [IpAddr],
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogicalPort {
    /// Its MAC.
    pub mac: MacAddr,
    /// Its addresses, with the subnet prefix.
    pub addresses: Vec<IpNet>,
    /// This call created it (rather than joining a claimed port).
    pub created: bool,
}

/// Creates the port (and the switch on first use) with static or freshly
/// allocated addresses; replaces a port of an older sandbox of the same pod
/// (keeping its addresses unless others are requested); joins the port of
/// the attachment's IPAM claim.
pub async fn create_port(nb: &Client, req: &PortRequest<'_>) -> Result<LogicalPort, PluginError> {
    let what = format!("creating logical switch port {}", req.name);
    let committed = txn::optimistic(nb, &what, |attempt| async move {
        // Most ADDs make a new port: the first attempt does not look for
        // one of the name (a scan of every logical port in OVSDB 3.1); if
        // there is one, the insert breaks the name index and the retry
        // reads it (a newer sandbox of the pod, a VM joining its claim).
        let snapshot = read_snapshot(nb, req, attempt > 0).await?;
        // The first attempt takes the lowest free address; a retry after a
        // lost race one of the lowest few, so racing ADDs spread out.
        let choice = if attempt == 0 {
            0
        } else {
            (jitter() % u64::from(attempt.min(7) + 1)) as usize
        };
        plan::create(req, &snapshot, choice)
    })
    .await?;
    Ok(committed.outcome)
}

/// What an ADD reads: the switch, a port of the name (`with_existing`),
/// and, when it takes new addresses, the address blocks they may come from.
/// What it reads depends on the blocks, never on the size of the network.
async fn read_snapshot(
    nb: &Client,
    req: &PortRequest<'_>,
    with_existing: bool,
) -> Result<Snapshot, PluginError> {
    let dynamic = req.static_ips.is_empty() && !req.pool.subnets.is_empty();
    // This chassis' blocks (known from its own OVS) are read in the same
    // round trip: an ADD that finds room there needs no other read.
    let mine = if dynamic {
        address_blocks::blocks_of(req.local_addresses, &req.pool)
    } else {
        Vec::new()
    };
    let mut ops = vec![Operation::select(
        table::LOGICAL_SWITCH,
        vec![Condition::eq(column::NAME, Value::string(&req.switch.name))],
        Some(vec![column::UUID.into(), column::EXTERNAL_IDS.into()]),
    )];
    if with_existing {
        ops.push(record::select(vec![Condition::eq(
            column::NAME,
            Value::string(req.name),
        )]));
    }
    let blocks_from = ops.len();
    ops.extend(
        mine.iter()
            .map(|block| address_blocks::select_block(req.network, *block)),
    );
    let read = nb
        .transact(NB_DB, &ops)
        .await
        .map_err(|e| PluginError::ovsdb("reading the switch and port from the NB database", e))?;
    let first_row = |i: usize| -> Option<Row> { read.get(i)?.rows.first().cloned() };
    let mut snapshot = Snapshot {
        switch: first_row(0),
        existing: with_existing
            .then(|| first_row(1).as_ref().and_then(PortRecord::from_row))
            .flatten(),
        ..Snapshot::default()
    };
    if !plan::needs_addresses(req, snapshot.existing.as_ref()) {
        return Ok(snapshot);
    }
    if dynamic {
        let own: Vec<BlockRead> = mine
            .iter()
            .zip(read.iter().skip(blocks_from))
            .map(|(block, result)| address_blocks::block_read(*block, result))
            .collect();
        for subnet in req.pool.subnets {
            let candidates =
                address_blocks::candidates(nb, req.network, &req.pool, subnet.cidr, own.clone())
                    .await?;
            snapshot.dynamic.push((subnet.cidr, candidates));
        }
    } else {
        snapshot.statics = static_blocks(nb, req).await?;
    }
    Ok(snapshot)
}

/// The blocks the requested static addresses lie in, as read.
async fn static_blocks(nb: &Client, req: &PortRequest<'_>) -> Result<Vec<BlockRead>, PluginError> {
    let mut blocks: Vec<IpNet> = req
        .static_ips
        .iter()
        .map(|ip| block_in(ip.addr, &req.pool))
        .collect();
    blocks.sort();
    blocks.dedup();
    address_blocks::read_blocks(nb, req.network, &blocks).await
}

/// Deletes the port named `name` if `sandbox` still owns it, which frees its
/// addresses; a newer sandbox's port is never touched. A claimed port only
/// loses `sandbox`'s attachment: its addresses stay reserved for the claim.
/// `Ok(false)` when there was nothing of ours to delete.
pub async fn delete_port(nb: &Client, name: &str, sandbox: &str) -> Result<bool, PluginError> {
    let what = format!("deleting logical switch port {name}");
    let committed = txn::optimistic(nb, &what, |_| async {
        Ok(plan::delete(find_port(nb, name).await?, sandbox))
    })
    .await?;
    Ok(committed.outcome)
}
