//! The segment a pod plugs into on this chassis, with what must exist in
//! OVN before it can: the topology describes it as data
//! ([`crate::topology`]); this is where the writers are called.

use conf::{Gateway, Network};
use ovsdb::Client;

use super::node_switch;
use super::ovs::NodeInfo;
use crate::error::PluginError;
use crate::topology::{self, Segment, egress};

/// The segment for an ADD on `node`, creating what must exist before a pod
/// can plug in (a layer3 node switch with its subnet and router port) and
/// refusing a network this chassis cannot carry (also its egress through
/// `gateway`). What it creates stays, like every shared topology row.
pub async fn prepare(
    nb: &Client,
    network: &Network,
    node: &NodeInfo,
    gateway: Option<&Gateway>,
) -> Result<Segment, PluginError> {
    topology::check_chassis(network, &node.chassis, &node.bridge_mappings)?;
    if let Some(gateway) = gateway.filter(|_| egress::applies(network)) {
        egress::check_mapping(gateway, &node.chassis, &node.bridge_mappings)?;
    }
    let node_subnets = if topology::has_node_subnets(network) {
        node_switch::ensure(nb, network, &node.chassis).await?
    } else {
        Vec::new()
    };
    Ok(topology::segment(network, &node.chassis, &node_subnets))
}

/// The segment as ADD left it on `chassis`, for CHECK: nothing is created.
pub async fn existing(
    nb: &Client,
    network: &Network,
    chassis: &str,
) -> Result<Segment, PluginError> {
    if !topology::has_node_subnets(network) {
        return Ok(topology::segment(network, chassis, &[]));
    }
    match node_switch::node_subnets(nb, network, chassis).await? {
        Some(subnets) => Ok(topology::segment(network, chassis, &subnets)),
        None => Err(PluginError::CheckFailed(format!(
            "layer3 switch {} of chassis {chassis} has no node subnet",
            conf::switch_name(network, chassis)
        ))),
    }
}
