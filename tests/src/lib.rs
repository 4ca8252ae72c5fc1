//! Harness for the end-to-end tests of `ovn-udn-cni` against the real OVN
//! sandbox of `scripts/ovn-sandbox`: run the binary like a runtime does, make
//! pod namespaces, send traffic, and read what OVN and OVS hold.
//!
//! Run with `scripts/test`, or: `cargo build -p ovn-udn-cni &&
//! scripts/ovn-sandbox up 3 && cargo test -p e2e`.

pub mod ctr;
pub mod faults;
pub mod leftovers;
pub mod libcni;
pub mod names;
pub mod net;
pub mod network;
pub mod node_config;
pub mod ovn;
pub mod physnet;
pub mod plugin;
pub mod pod;
pub mod podman;
pub mod process;
pub mod runtime;
pub mod sandbox;
pub mod stream;
pub mod temp;
pub mod vm;

pub use network::Network;
pub use plugin::{Call, Reply};
pub use pod::{Netns, Pod, PodSpec};
pub use sandbox::sandbox;
