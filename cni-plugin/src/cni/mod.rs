//! The CNI protocol: environment, arguments, versions and results.

pub mod args;
pub mod env;
pub mod result;
pub mod version;
