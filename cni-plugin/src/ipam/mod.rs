//! Address management held in the NB database: the pool logic is pure
//! (`pool`), the LSP addresses are the record of what is taken. With an
//! `ipam` section, a CNI IPAM plugin hands out the addresses (`delegate`).

pub mod delegate;
pub mod pool;

pub use pool::Pool;
