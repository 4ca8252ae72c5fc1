//! DEL: idempotent, and it cleans up all it can. The pod's netns is not
//! needed (deleting the host end removes the veth), so a missing netns or an
//! empty CNI_NETNS still frees the logical port and its addresses. With the
//! NB or OVS unreachable, what is local still goes and the answer is "try
//! again later" (11), so the runtime retries the rest. A delegated IPAM
//! plugin gets its DEL even when the OVN side failed, so its lease is never
//! kept by our error.

use conf::NodeConfig;
use netns::{Handle, Netns};

use super::teardown::{Parts, teardown};
use crate::cni::env::{CniEnv, Command};
use crate::error::PluginError;
use crate::ipam::delegate;
use crate::request::{Request, connect_ovs};

/// Runs DEL.
pub async fn del(req: &Request) -> Result<(), PluginError> {
    let host = Handle::new(&Netns::current()?)?;
    let (nb, ovs) = tokio::join!(req.connect_nb(), req.connect_ovs());
    let mut errors = Vec::new();
    let nb = nb.map_err(|e| errors.push(e)).ok();
    let ovs = ovs.map_err(|e| errors.push(e)).ok();
    let lsp = req.lsp_name();
    let host_ifname = req.host_ifname();
    let parts = Parts {
        host_ifname: &host_ifname,
        lsp: &lsp,
        sandbox: &req.env.container_id,
    };
    errors.extend(teardown(nb.as_ref(), ovs.as_ref(), &host, &parts).await);
    if let Some(plugin) = &req.ipam_plugin
        && let Err(e) = delegate::run_verb(req, plugin, Command::Del).await
    {
        errors.push(e);
    }
    PluginError::from_all(errors)
}

/// DEL of an attachment whose config or CNI_ARGS ADD would refuse: nothing
/// of it can exist in OVN, so only its host veth and OVS port (named after
/// container id and interface) are removed.
pub async fn del_local(env: &CniEnv, node: &NodeConfig) -> Result<(), PluginError> {
    let host = Handle::new(&Netns::current()?)?;
    let host_ifname = conf::host_veth_name(&env.container_id, &env.ifname);
    let mut errors = Vec::new();
    let ovs = connect_ovs(node).await.map_err(|e| errors.push(e)).ok();
    let parts = Parts {
        host_ifname: &host_ifname,
        lsp: "",
        sandbox: &env.container_id,
    };
    errors.extend(teardown(None, ovs.as_ref(), &host, &parts).await);
    PluginError::from_all(errors)
}
