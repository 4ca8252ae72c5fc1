//! Removing one attachment: shared by DEL, ADD's rollback and GC. Every step
//! is idempotent and runs even when an earlier one failed or its database
//! is unreachable, as netavark's teardown does; every error is returned.

use netns::Handle;
use ovsdb::Client;

use crate::error::PluginError;
use crate::ovn::{ovs, port};

/// What identifies an attachment's pieces: its host veth and OVS port,
/// its logical port, and the sandbox that must own the latter.
pub struct Parts<'a> {
    /// Host veth end and OVS port name: always one the plugin derived.
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
/// the binding without a main chassis in between. A database that could
/// not be reached (`None`) is skipped: the caller holds that error.
pub async fn teardown(
    nb: Option<&Client>,
    ovs: Option<&Client>,
    host: &Handle,
    att: &Parts<'_>,
) -> Vec<PluginError> {
    let lsp = match nb {
        Some(nb) => Some(port::delete_port(nb, att.lsp, att.sandbox).await),
        None => None,
    };
    let port = match ovs {
        Some(ovs) => Some(ovs::delete_port(ovs, att.host_ifname).await),
        None => None,
    };
    let link = remove_host_veth(host, att.host_ifname).await;
    tracing::info!(
        step = "teardown",
        host_ifname = att.host_ifname,
        lsp = att.lsp,
        port_removed = ?port,
        link_removed = ?link,
        lsp_removed = ?lsp,
        "torn down"
    );
    [lsp, port, Some(link)]
        .into_iter()
        .flatten()
        .filter_map(Result::err)
        .collect()
}

/// Deletes the host end `name` if it is a veth; a link of another kind
/// that took the name is never the plugin's to delete: left, with a warning.
async fn remove_host_veth(host: &Handle, name: &str) -> Result<bool, PluginError> {
    match host.delete_veth(name).await {
        Err(e @ netns::Error::NotAVeth { .. }) => {
            tracing::warn!(step = "teardown", "{e}");
            Ok(false)
        }
        other => other.map_err(PluginError::from),
    }
}
