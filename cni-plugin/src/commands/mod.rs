//! The CNI verbs, one file each.

mod add;
mod check;
mod del;
mod gc;
mod status;
mod teardown;

pub use add::add;
pub use check::check;
pub use del::del;
pub use gc::gc;
pub use status::status;

use netns::Netns;

use crate::error::PluginError;

/// Opens the container's netns; a missing one is "container unknown".
fn open_pod_netns(path: &std::path::Path) -> Result<Netns, PluginError> {
    Netns::open(path).map_err(|e| match e {
        netns::Error::NetnsNotFound(_) | netns::Error::NotANetns(_) => {
            PluginError::ContainerUnknown(path.display().to_string())
        }
        e => e.into(),
    })
}
