//! Address blocks: IPAM held in the NB database without reading a whole
//! network. Every subnet is cut into blocks (/26 for IPv4, /120 for IPv6,
//! or the whole subnet when it is smaller), and every logical port is
//! tagged with the blocks its addresses lie in
//! (`k8s.ovn.org/ipam-block.<block>=true`). An ADD reads and guards only
//! the blocks it takes addresses from: a `wait` that the block's ports are
//! still as read makes two racing ADDs in one block conflict (one retries),
//! while ADDs in other blocks, or on other networks, never do.
//!
//! Like Calico's IPAM blocks, a chassis prefers the blocks its own pods are
//! in, then the first empty block, and borrows from others' blocks only when
//! none is empty. No block is owned: that is only where allocation looks
//! first, never what makes it correct, so nothing has to be claimed,
//! released or cleaned up.

use std::collections::HashSet;
use std::net::IpAddr;

use ipnet::IpNet;
use ovsdb::{Client, Condition, OpResult, Operation, Row, Value};

use super::port::record::{self, PortRecord};
use crate::error::PluginError;
use crate::ipam::Pool;
use crate::ipam::pool::exhausted;
use crate::vocabulary::{NB_DB, column, ids, table};

/// Block size of IPv4 subnets: 64 addresses, as Calico's default.
const BLOCK_PREFIX_V4: u8 = 26;
/// Block size of IPv6 subnets: 256 addresses.
const BLOCK_PREFIX_V6: u8 = 120;
/// Blocks probed per round trip when looking for an empty one.
const PROBE_BATCH: usize = 16;
/// Blocks probed at most for a dynamic address: a huge IPv6 subnet has an
/// empty block long before, a full IPv4 /16 has 1024.
const MAX_PROBED_BLOCKS: usize = 4096;

/// The block `addr` lies in, within the subnet of `pool` that holds it.
pub fn block_in(addr: IpAddr, pool: &Pool<'_>) -> IpNet {
    block_of(addr, pool.subnet_of(addr))
}

/// The block `addr` lies in: within `subnet` (the network's subnet holding
/// it; none on a network without subnets), cut at /26 or /120.
fn block_of(addr: IpAddr, subnet: Option<IpNet>) -> IpNet {
    let block = if addr.is_ipv4() {
        BLOCK_PREFIX_V4
    } else {
        BLOCK_PREFIX_V6
    };
    let prefix = subnet.map_or(block, |s| s.prefix_len().max(block));
    // `prefix` is a valid length for the family: it always fits.
    IpNet::new(addr, prefix).map_or(IpNet::from(addr), |net| net.trunc())
}

/// The external_ids key tagging a port with `block`.
pub fn block_key(block: IpNet) -> String {
    format!("{}{block}", ids::BLOCK_PREFIX)
}

/// One block of a network, and its ports as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockRead {
    /// The block.
    pub block: IpNet,
    /// The network's ports tagged with it.
    pub ports: Vec<PortRecord>,
}

impl BlockRead {
    /// The addresses its ports hold, but those of the port named `except`
    /// (one an ADD is replacing, whose addresses it may keep).
    pub fn used(&self, except: Option<&str>) -> HashSet<IpAddr> {
        self.ports
            .iter()
            .filter(|p| Some(p.name.as_str()) != except)
            .flat_map(|p| p.ips.iter().copied())
            .collect()
    }

    /// The `wait` that the block's ports (names and addresses) are still
    /// as read: the version check of this block's part of the IPAM record.
    pub fn wait(&self, network: &str) -> Operation {
        Operation::wait_equal(
            table::LOGICAL_SWITCH_PORT,
            vec![in_block(network, self.block)],
            vec![column::NAME.into(), column::ADDRESSES.into()],
            self.ports
                .iter()
                .map(|p| {
                    Row::new()
                        .with(column::NAME, Value::string(&p.name))
                        .with(column::ADDRESSES, Value::string_set(p.addresses.clone()))
                })
                .collect(),
        )
    }
}

/// The ports of `network` tagged with `block`.
fn in_block(network: &str, block: IpNet) -> Condition {
    let key = block_key(block);
    Condition::includes(
        column::EXTERNAL_IDS,
        Value::string_map([(ids::NETWORK, network), (key.as_str(), "true")]),
    )
}

/// The select of `block`'s ports, whose result [`block_read`] reads.
pub fn select_block(network: &str, block: IpNet) -> Operation {
    record::select(vec![in_block(network, block)])
}

/// The ports of `block` from the result of [`select_block`].
pub fn block_read(block: IpNet, result: &OpResult) -> BlockRead {
    BlockRead {
        block,
        ports: result
            .rows
            .iter()
            .filter_map(PortRecord::from_row)
            .collect(),
    }
}

/// Reads `blocks` of `network` in one round trip.
pub async fn read_blocks(
    nb: &Client,
    network: &str,
    blocks: &[IpNet],
) -> Result<Vec<BlockRead>, PluginError> {
    if blocks.is_empty() {
        return Ok(Vec::new());
    }
    let ops: Vec<Operation> = blocks.iter().map(|b| select_block(network, *b)).collect();
    let results = nb
        .transact(NB_DB, &ops)
        .await
        .map_err(|e| PluginError::ovsdb("reading address blocks", e))?;
    Ok(blocks
        .iter()
        .zip(&results)
        .map(|(block, result)| block_read(*block, result))
        .collect())
}

/// The blocks `addresses` lie in, within the subnets of `pool`, lowest
/// first: for the addresses of this chassis' pods, where it allocates first
/// (its pods' addresses stay close together).
pub fn blocks_of(addresses: &[IpAddr], pool: &Pool<'_>) -> Vec<IpNet> {
    let mut blocks: Vec<IpNet> = addresses
        .iter()
        .filter_map(|addr| Some(block_of(*addr, Some(pool.subnet_of(*addr)?))))
        .collect();
    blocks.sort();
    blocks.dedup();
    blocks
}

/// The blocks of `subnet` to take a dynamic address from, best first: this
/// chassis' blocks (`own`, already read) with room, else the first empty
/// block with a
/// usable address, else the first block of others with room. Empty blocks
/// are found by counting rows without reading them, so the search reads
/// little however full the network is; only borrowing, when no block is
/// empty any more, reads other chassis' blocks in full. None left: the
/// subnet is exhausted (code 102).
pub async fn candidates(
    nb: &Client,
    network: &str,
    pool: &Pool<'_>,
    subnet: IpNet,
    own: Vec<BlockRead>,
) -> Result<Vec<BlockRead>, PluginError> {
    let has_room = |read: &BlockRead| {
        !pool
            .free_in(subnet, read.block, &read.used(None), 1)
            .is_empty()
    };
    let own: Vec<BlockRead> = own
        .into_iter()
        .filter(|r| subnet.contains(&r.block))
        .collect();
    let mine: Vec<IpNet> = own.iter().map(|r| r.block).collect();
    if own.iter().any(has_room) {
        return Ok(own.into_iter().filter(has_room).collect());
    }
    let others: Vec<IpNet> = subnet_blocks(subnet)
        .filter(|b| !mine.contains(b))
        .take(MAX_PROBED_BLOCKS)
        .collect();
    for batch in others.chunks(PROBE_BATCH) {
        for (block, ports) in batch.iter().zip(count_ports(nb, network, batch).await?) {
            let empty = BlockRead {
                block: *block,
                ports: Vec::new(),
            };
            if ports == 0 && has_room(&empty) {
                return Ok(vec![empty]);
            }
        }
    }
    for batch in others.chunks(PROBE_BATCH) {
        if let Some(read) = read_blocks(nb, network, batch)
            .await?
            .into_iter()
            .find(has_room)
        {
            return Ok(vec![read]);
        }
    }
    Err(exhausted(subnet))
}

/// How many ports of `network` each of `blocks` holds, read without any
/// column of them.
async fn count_ports(
    nb: &Client,
    network: &str,
    blocks: &[IpNet],
) -> Result<Vec<usize>, PluginError> {
    let ops: Vec<Operation> = blocks
        .iter()
        .map(|block| {
            Operation::select(
                table::LOGICAL_SWITCH_PORT,
                vec![in_block(network, *block)],
                Some(Vec::new()),
            )
        })
        .collect();
    let results = nb
        .transact(NB_DB, &ops)
        .await
        .map_err(|e| PluginError::ovsdb("looking for an empty address block", e))?;
    Ok(results.iter().map(|r| r.rows.len()).collect())
}

/// The blocks of `subnet`, lowest first.
fn subnet_blocks(subnet: IpNet) -> Box<dyn Iterator<Item = IpNet>> {
    let prefix = block_of(subnet.addr(), Some(subnet)).prefix_len();
    match subnet.subnets(prefix) {
        Ok(blocks) => Box::new(blocks),
        Err(_) => Box::new(std::iter::once(subnet)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(text: &str) -> IpNet {
        text.parse().expect("net")
    }

    #[test]
    fn blocks_cut_subnets_at_26_or_120_and_never_cross_them() {
        let ip = |t: &str| t.parse::<IpAddr>().expect("ip");
        assert_eq!(
            block_of(ip("10.0.1.77"), Some(net("10.0.0.0/16"))),
            net("10.0.1.64/26")
        );
        assert_eq!(
            block_of(ip("10.0.0.5"), Some(net("10.0.0.0/29"))),
            net("10.0.0.0/29")
        );
        assert_eq!(
            block_of(ip("fd00::1:2"), Some(net("fd00::/64"))),
            net("fd00::1:0/120")
        );
        assert_eq!(block_of(ip("10.9.9.9"), None), net("10.9.9.0/26"));
        assert_eq!(
            block_key(net("10.0.1.64/26")),
            "k8s.ovn.org/ipam-block.10.0.1.64/26"
        );
        let blocks: Vec<IpNet> = subnet_blocks(net("10.0.0.0/24")).collect();
        assert_eq!(blocks.len(), 4);
        assert_eq!(blocks[3], net("10.0.0.192/26"));
        assert_eq!(subnet_blocks(net("10.0.0.0/30")).count(), 1);
    }
}
