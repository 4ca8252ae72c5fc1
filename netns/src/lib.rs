//! Network namespaces, veth pairs, addresses, routes, sysctls and offloads
//! over rtnetlink: the container side of an ovn-udn-cni attachment.
//!
//! Everything is meant for a current-thread tokio runtime. Entering a
//! namespace moves that one thread, so it happens only in short synchronous
//! scopes ([`NetnsGuard`]); netlink work goes through a [`Handle`] whose
//! socket was opened inside the target namespace and stays bound to it.

#![warn(missing_docs)]

mod address;
mod error;
mod handle;
mod link;
mod link_state;
mod namespace;
pub mod offload;
mod pod_interface;
mod route;
pub mod sysctl;

pub use error::Error;
pub use handle::Handle;
pub use link::VethSpec;
pub use link_state::{LinkState, inspect_link};
pub use namespace::{Netns, NetnsGuard};
pub use pod_interface::{
    CreatedVeth, PodInterface, VethPair, configure_pod_interface, create_pod_veth,
    setup_pod_interface,
};
pub use route::Route;
