//! A small, typed, async OVSDB client (RFC 7047 plus the `monitor_cond` /
//! `update2` extensions of ovsdb-server), written for tokio's current-thread
//! runtime: one connection per [`Client`], a spawned task that reads and
//! writes it, [`Operation`]s for transactions and [`Monitor`]s for watching
//! rows change. Remotes are spelled as ovn-nbctl takes them (`unix:`, `tcp:`,
//! `ssl:`, comma-separated for a cluster); `ssl:` ones need a [`TlsConfig`],
//! given to [`Client::connect_with`].
//!
//! The server is not trusted with the plugin's memory: a message larger
//! than [`MAX_MESSAGE_BYTES`] (or [`Client::set_max_message_size`]) closes
//! the connection with [`Error::MessageTooLarge`], and no input panics.
//!
//! ```no_run
//! use std::time::Duration;
//! use ovsdb::{Client, Condition, Mutation, Operation, Row, Value};
//!
//! # async fn example() -> Result<(), ovsdb::Error> {
//! let nb = Client::connect("unix:/var/run/ovn/ovnnb_db.sock").await?;
//! let switch = Condition::eq("name", Value::string("blue_ovn_layer2_switch"));
//! // Insert a port and attach it to the switch in one transaction.
//! nb.transact("OVN_Northbound", &[
//!     Operation::insert_named(
//!         "Logical_Switch_Port",
//!         Row::new().with("name", Value::string("blue_default_pod1")),
//!         "lsp",
//!     ),
//!     Operation::mutate(
//!         "Logical_Switch",
//!         vec![switch],
//!         vec![Mutation::insert("ports", Value::named_uuid_set(["lsp"]))],
//!     ),
//! ]).await?;
//!
//! // Wait, without polling, for ovn-controller to report the port installed.
//! let ovs = Client::connect("unix:/var/run/openvswitch/db.sock").await?;
//! let mut interfaces = ovs
//!     .monitor(
//!         "Open_vSwitch",
//!         "Interface",
//!         vec![Condition::includes(
//!             "external_ids",
//!             Value::string_map([("iface-id", "blue_default_pod1")]),
//!         )],
//!         vec!["external_ids".into()],
//!     )
//!     .await?;
//! interfaces
//!     .wait_until(Duration::from_secs(30), |rows| {
//!         rows.values().any(|r| {
//!             r.map("external_ids").get("ovn-installed").map(String::as_str) == Some("true")
//!         })
//!     })
//!     .await?;
//! # Ok(())
//! # }
//! ```

mod client;
mod connect;
mod connection;
mod deadline;
mod dial;
mod error;
mod framing;
#[cfg(test)]
mod hostile_input;
mod jitter;
mod monitor;
mod operation;
mod remote;
mod result;
mod tls;
mod traffic;
mod value;

pub use client::Client;
pub use error::Error;
pub use framing::MAX_MESSAGE_BYTES;
pub use jitter::Jitter;
pub use monitor::Monitor;
pub use operation::{Condition, Function, Mutation, Mutator, Operation};
pub use remote::Remote;
pub use result::OpResult;
pub use tls::TlsConfig;
pub use traffic::Traffic;
pub use value::{Atom, Row, Value};
