//! DEL: idempotent. The pod's netns is not needed (deleting the host end
//! removes the veth), so a missing netns or an empty CNI_NETNS still frees
//! the logical port and its addresses. A delegated IPAM plugin gets its DEL
//! even when the OVN side failed, so its lease is never kept by our error.

use netns::{Handle, Netns};

use super::teardown::{Attachment, teardown};
use crate::cni::env::Command;
use crate::error::PluginError;
use crate::ipam::delegate;
use crate::request::Request;

/// Runs DEL.
pub async fn del(req: &Request) -> Result<(), PluginError> {
    let host = Handle::new(&Netns::current()?)?;
    let (nb, ovs) = tokio::try_join!(req.connect_nb(), req.connect_ovs())?;
    let lsp = req.lsp_name();
    let host_ifname = req.host_ifname();
    let ours = teardown(
        &nb,
        &ovs,
        &host,
        &Attachment {
            host_ifname: &host_ifname,
            lsp: &lsp,
            sandbox: &req.env.container_id,
        },
    )
    .await;
    let ipam = match delegate::plugin_type(req)? {
        Some(plugin) => delegate::run_verb(req, plugin, Command::Del),
        None => Ok(()),
    };
    ours.and(ipam)
}
