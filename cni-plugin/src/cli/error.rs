//! The command-line tool's errors: what `exit` prints after `ovn-udn-cni:`.

use thiserror::Error;

use crate::error::PluginError;

/// Everything a command of the tool can fail with; the message names the
/// file, option, network or claim at fault.
#[derive(Debug, Error)]
pub enum CliError {
    /// The node config cannot be read or is invalid.
    #[error(transparent)]
    Conf(#[from] conf::ConfError),
    /// A database could not be reached or read.
    #[error(transparent)]
    Plugin(#[from] PluginError),
    /// An option's value is malformed.
    #[error("{option} {value:?}: {reason}")]
    Usage {
        /// The option, as typed (`--claim`).
        option: &'static str,
        /// The value given.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// `ipam release` named a claim the network does not hold.
    #[error("network {network} has no reservation for IPAM claim {claim}")]
    NoSuchClaim {
        /// The network.
        network: String,
        /// The claim (`namespace/claim`).
        claim: String,
    },
    /// `status` or `doctor` found the node unhealthy (the report is printed).
    #[error("{failed} of {total} checks failed")]
    Unhealthy {
        /// Checks in state `fail`.
        failed: usize,
        /// All checks.
        total: usize,
    },
    /// The async runtime could not start.
    #[error("starting the runtime: {0}")]
    Runtime(std::io::Error),
    /// A `--json` answer could not be written.
    #[error("writing JSON: {0}")]
    Json(#[from] serde_json::Error),
}
