//! Programming OVN: the logical port in the NB database (`nb`) and the OVS
//! port that ovn-controller binds to it (`ovs`).

pub mod nb;
pub mod ovs;
pub mod port_record;
mod retry;

/// The NB database name.
pub const NB_DB: &str = "OVN_Northbound";
/// The local OVS database name.
pub const OVS_DB: &str = "Open_vSwitch";
