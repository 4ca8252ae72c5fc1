//! Errors of configuration parsing and validation.

use thiserror::Error;

/// What is wrong with a network or node config; every message names the
/// key (or key path) at fault.
#[derive(Debug, Error)]
pub enum ConfError {
    /// The network config is not a JSON object, or a key has the wrong type.
    #[error("failed to decode network config: {}{reason}", at_path(path))]
    Decode {
        /// Key path (`runtimeConfig.ips[0]`), empty for the whole config.
        path: String,
        /// What the decoder found.
        reason: String,
    },
    /// A required key is absent.
    #[error("invalid network config: `{0}` is required")]
    Missing(&'static str),
    /// A key has a value the plugin does not accept.
    #[error("invalid network config: `{field}`: {reason}")]
    Invalid {
        /// The config key (or key path).
        field: String,
        /// Why the value is rejected.
        reason: String,
    },
    /// A node setting in a network config: only the node's administrator
    /// chooses what the node talks to, never whoever writes the config.
    #[error(
        "invalid network config: `{0}` is a node setting: set it in the node config \
         (/etc/ovn-udn-cni/node.json), not in a network config"
    )]
    NodeSetting(String),
    /// The node config file could not be read, parsed or validated.
    #[error("node config {path}: {reason}")]
    Node {
        /// The file that was read.
        path: String,
        /// What went wrong, naming the key when one is at fault.
        reason: String,
    },
    /// A node config key whose value turned out unusable when used (an
    /// OVSDB remote that cannot be parsed, unreadable TLS files).
    #[error("node config: `{key}`: {reason}")]
    NodeKey {
        /// The node config key.
        key: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

fn at_path(path: &str) -> String {
    if path.is_empty() {
        String::new()
    } else {
        format!("`{path}`: ")
    }
}

impl ConfError {
    /// Shorthand for [`ConfError::Invalid`].
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        ConfError::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// Shorthand for [`ConfError::Decode`].
    pub fn decode(path: impl Into<String>, reason: impl Into<String>) -> Self {
        ConfError::Decode {
            path: path.into(),
            reason: reason.into(),
        }
    }
}

/// Tenant text as it appears in a message or a log line: quoted, escaped,
/// and cut after 64 characters, so that a huge or multi-line value can
/// neither flood the answer and the log nor forge lines in them.
pub fn shown(text: &str) -> String {
    const MAX_CHARS: usize = 64;
    let mut chars = text.chars();
    let head: String = chars.by_ref().take(MAX_CHARS).collect();
    if chars.next().is_none() {
        format!("{head:?}")
    } else {
        format!("{head:?}... ({} bytes)", text.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_escapes_and_bounds_tenant_text() {
        assert_eq!(shown("a\nb"), r#""a\nb""#);
        let long = "x".repeat(1 << 20);
        let text = shown(&long);
        assert!(text.len() < 100, "{text}");
        assert!(text.ends_with("(1048576 bytes)"), "{text}");
    }

    #[test]
    fn decode_errors_name_the_path() {
        let err = ConfError::decode("runtimeConfig.ips", "expected a sequence");
        assert_eq!(
            err.to_string(),
            "failed to decode network config: `runtimeConfig.ips`: expected a sequence"
        );
    }
}
