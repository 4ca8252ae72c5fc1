//! Removing one attachment: shared by DEL, ADD's rollback and GC. Every step
//! is idempotent and runs even when an earlier one failed, as netavark's
//! teardown does; the first error is returned after all have been tried.

use netns::Handle;
use ovsdb::Client;

use crate::error::PluginError;
use crate::ovn::{nb, ovs};

/// What identifies an attachment's pieces.
pub struct Attachment<'a> {
    /// Host veth end and OVS port name.
    pub host_ifname: &'a str,
    /// Logical port name.
    pub lsp: &'a str,
    /// Container id that must own the logical port.
    pub sandbox: &'a str,
}

/// Removes the logical port (only while `sandbox` owns it), which frees its
/// addresses, then the OVS port and the veth (both ends). The logical side
/// goes first so that a migration source is unbound from the claim's port
/// (narrowed to the target) before its OVS port disappears, never leaving
/// the binding without a main chassis in between.
pub async fn teardown(
    nb: &Client,
    ovs: &Client,
    host: &Handle,
    att: &Attachment<'_>,
) -> Result<(), PluginError> {
    let lsp = nb::delete_port(nb, att.lsp, att.sandbox).await;
    let port = ovs::delete_port(ovs, att.host_ifname).await;
    let link = host
        .delete_link(att.host_ifname)
        .await
        .map_err(PluginError::from);
    tracing::info!(
        step = "teardown",
        host_ifname = att.host_ifname,
        lsp = att.lsp,
        port_removed = ?port,
        link_removed = ?link,
        lsp_removed = ?lsp,
        "torn down"
    );
    port.and(link).and(lsp).map(drop)
}
