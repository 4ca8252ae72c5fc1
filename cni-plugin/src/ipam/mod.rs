//! Address management held in the NB database: the pool logic is pure
//! (`pool`), the LSP addresses are the record of what is taken.

pub mod pool;

pub use pool::Pool;
