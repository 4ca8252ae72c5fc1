//! The plugin's errors and the one place that maps them to CNI error codes.

use serde_json::json;
use thiserror::Error;

/// Everything a verb can fail with. The message is what the runtime (and the
/// person reading `kubectl describe pod`) sees, so it names the field or the
/// resource at fault.
#[derive(Debug, Error)]
pub enum PluginError {
    /// The network or node config is invalid.
    #[error(transparent)]
    Conf(#[from] conf::ConfError),
    /// The config's cniVersion is unsupported or too old for the verb.
    #[error("{0}")]
    IncompatibleVersion(String),
    /// A CNI_* environment variable is missing or malformed.
    #[error("{0}")]
    Environment(String),
    /// The container's network namespace does not exist or is no network
    /// namespace.
    #[error("CNI_NETNS {netns}: {reason}")]
    ContainerUnknown {
        /// The path given.
        netns: String,
        /// What is wrong with it.
        reason: String,
    },
    /// CNI_IFNAME is already present in the container.
    #[error("interface {ifname} already exists in {netns}")]
    InterfaceExists {
        /// The interface name.
        ifname: String,
        /// The namespace path.
        netns: String,
    },
    /// A requested address is taken, outside the subnets, or the pool is empty.
    #[error("{0}")]
    AddressUnavailable(String),
    /// A database could not be reached: the runtime should retry later.
    #[error("{what} is unreachable: {source}")]
    Unreachable {
        /// Which database (with its remotes).
        what: String,
        /// Why.
        source: ovsdb::Error,
    },
    /// Every attempt of a transaction lost a race: try again later.
    #[error("{0}")]
    Busy(String),
    /// The attachment clashes with an existing one.
    #[error("{0}")]
    AlreadyAttached(String),
    /// A database operation failed.
    #[error("{context}: {source}")]
    Ovsdb {
        /// What the plugin was doing.
        context: String,
        /// The OVSDB error.
        source: ovsdb::Error,
    },
    /// The node is not set up the way the plugin needs (no bridge, no chassis).
    #[error("{0}")]
    NodeNotReady(String),
    /// A netlink or namespace operation failed.
    #[error(transparent)]
    Netns(#[from] netns::Error),
    /// ovn-controller did not install the port in time.
    #[error("ovn-controller did not report ovn-installed on port {port} within {seconds}s")]
    NotInstalled {
        /// The OVS port.
        port: String,
        /// The timeout.
        seconds: u64,
    },
    /// CHECK found a difference between what ADD built and what is there.
    #[error("CHECK failed: {0}")]
    CheckFailed(String),
    /// STATUS: the plugin cannot serve ADDs now.
    #[error("{0}")]
    NotAvailable(String),
    /// The delegated IPAM plugin failed; its code is passed on.
    #[error("IPAM plugin {plugin}: {msg}")]
    Delegate {
        /// `ipam.type`.
        plugin: String,
        /// The plugin's CNI error code, exactly as it gave it.
        code: u64,
        /// The plugin's message.
        msg: String,
    },
    /// Teardown went on after failures: every one of them, in order.
    #[error("{}", join(.0))]
    Several(Vec<PluginError>),
    /// Reading stdin or another local I/O failed.
    #[error("{context}: {source}")]
    Io {
        /// What the plugin was doing.
        context: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

fn join(errors: &[PluginError]) -> String {
    let texts: Vec<String> = errors.iter().map(ToString::to_string).collect();
    texts.join("; ")
}

impl PluginError {
    /// Several teardown failures as one error; `Ok` without any.
    pub fn from_all(mut errors: Vec<PluginError>) -> Result<(), PluginError> {
        match errors.len() {
            0 => Ok(()),
            1 => Err(errors.remove(0)),
            _ => Err(PluginError::Several(errors)),
        }
    }

    /// The CNI error code (SPEC.md "Error" section; 100+ are ours). Of
    /// several errors, "try again later" wins, so a runtime retries a DEL
    /// that could not reach a database.
    pub fn code(&self) -> u64 {
        match self {
            PluginError::Several(errors) => errors
                .iter()
                .map(PluginError::code)
                .find(|code| *code == 11)
                .or_else(|| errors.first().map(PluginError::code))
                .unwrap_or(999),
            PluginError::IncompatibleVersion(_) => 1,
            PluginError::ContainerUnknown { .. } => 3,
            PluginError::Environment(_) => 4,
            PluginError::Io { .. } => 5,
            PluginError::Conf(conf::ConfError::Decode { .. }) => 6,
            PluginError::Conf(_) => 7,
            PluginError::Unreachable { .. }
            | PluginError::NodeNotReady(_)
            | PluginError::Busy(_) => 11,
            PluginError::NotAvailable(_) => 50,
            PluginError::Netns(netns::Error::LinkExists(_))
            | PluginError::InterfaceExists { .. }
            | PluginError::AlreadyAttached(_) => 101,
            PluginError::AddressUnavailable(_) => 102,
            PluginError::Ovsdb { .. } => 103,
            PluginError::NotInstalled { .. } => 104,
            PluginError::CheckFailed(_) => 105,
            PluginError::Netns(_) => 106,
            PluginError::Delegate { code, .. } => *code,
        }
    }

    /// Whether the error is about the request's own input (config, CNI_ARGS,
    /// version) rather than about the node or the databases.
    pub fn is_input_error(&self) -> bool {
        matches!(
            self,
            PluginError::Conf(_)
                | PluginError::Environment(_)
                | PluginError::IncompatibleVersion(_)
        )
    }

    /// The error as the CNI error JSON printed on stdout.
    pub fn to_json(&self, cni_version: &str) -> serde_json::Value {
        json!({
            "cniVersion": cni_version,
            "code": self.code(),
            "msg": self.to_string(),
            "details": "",
        })
    }

    /// Wraps an OVSDB error with what the plugin was doing, telling an
    /// unreachable database (retry later) from a failed operation.
    pub fn ovsdb(context: impl Into<String>, source: ovsdb::Error) -> PluginError {
        match source {
            ovsdb::Error::Connect { .. }
            | ovsdb::Error::Disconnected
            | ovsdb::Error::ConnectionLost { .. }
            | ovsdb::Error::Io(_)
            | ovsdb::Error::Timeout(_) => PluginError::Unreachable {
                what: context.into(),
                source,
            },
            source => PluginError::Ovsdb {
                context: context.into(),
                source,
            },
        }
    }
}
