//! The CNI verbs, one file each.

mod add;
mod check;
mod default_network;
mod del;
mod gc;
mod status;
mod teardown;

pub use add::add;
pub use check::check;
pub use del::{del, del_local};
pub use gc::gc;
pub use status::status;
pub use teardown::{Parts, teardown};

use std::path::Path;

use netns::Netns;

use crate::error::PluginError;

/// Opens the container's netns: a network namespace (a missing path, a
/// FIFO, a socket or a mount namespace is "container unknown"), and never
/// the plugin's own or the node's (pid 1's), which a pod must not be given.
fn open_pod_netns(path: &Path) -> Result<Netns, PluginError> {
    let unknown = |reason: &str| PluginError::ContainerUnknown {
        netns: path.display().to_string(),
        reason: reason.to_owned(),
    };
    let pod = Netns::open(path).map_err(|e| match e {
        netns::Error::NetnsNotFound(_) => unknown("no such network namespace"),
        netns::Error::NotANetns(_) => unknown("not a network namespace"),
        netns::Error::OpenNetns { source, .. } => unknown(&format!("cannot be opened: {source}")),
        e => e.into(),
    })?;
    let own = Netns::current()?;
    let node = Netns::open(Path::new(NODE_NETNS)).ok();
    for (host, what) in [
        (Some(&own), "the plugin's own"),
        (node.as_ref(), "the node's"),
    ] {
        if let Some(host) = host
            && pod.same_namespace(host)
        {
            return Err(PluginError::Environment(format!(
                "CNI_NETNS {} is {what} network namespace, not a pod's",
                path.display()
            )));
        }
    }
    Ok(pod)
}

/// The node's network namespace: that of pid 1.
const NODE_NETNS: &str = "/proc/1/ns/net";
