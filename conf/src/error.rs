//! Errors of configuration parsing and validation.

use thiserror::Error;

/// What is wrong with a network or node config; every message names the field.
#[derive(Debug, Error)]
pub enum ConfError {
    /// The network config is not valid JSON or has a key of the wrong type.
    #[error("failed to decode network config: {0}")]
    Decode(String),
    /// A required key is absent.
    #[error("invalid network config: `{0}` is required")]
    Missing(&'static str),
    /// A key has a value the plugin does not accept.
    #[error("invalid network config: `{field}`: {reason}")]
    Invalid {
        /// The config key.
        field: &'static str,
        /// Why the value is rejected.
        reason: String,
    },
    /// The node config file could not be read or parsed.
    #[error("node config {path}: {reason}")]
    Node {
        /// The file that was read.
        path: String,
        /// What went wrong.
        reason: String,
    },
}

impl ConfError {
    /// Shorthand for [`ConfError::Invalid`].
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        ConfError::Invalid {
            field,
            reason: reason.into(),
        }
    }
}
