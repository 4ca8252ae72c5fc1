//! ovn-udn-cni as a library: the CNI protocol (`cni`), one request's
//! validated inputs (`request`), the verbs (`commands`), what differs
//! between topologies as plain data (`topology`), address pools (`ipam`),
//! the OVN and OVS writers (`ovn`), the command-line tool (`cli`) and
//! logging (`log`); the names of the OVN contract are in `vocabulary`. The `ovn-udn-cni` binary is a thin `main` over it.

pub mod cli;
pub mod cni;
pub mod commands;
pub mod error;
pub mod ipam;
pub mod log;
pub mod ovn;
pub mod request;
pub mod topology;
pub mod vocabulary;

#[cfg(test)]
mod hostile_input;
