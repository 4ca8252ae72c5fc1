//! The CNI protocol: environment, arguments, versions and results.

pub mod args;
pub mod default_network;
pub mod env;
pub mod result;
pub mod version;
