//! The node config: where this node's databases are, shared by every network.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::{ConfError, NetConf};

/// Default location of the node config.
pub const DEFAULT_NODE_CONFIG_PATH: &str = "/etc/ovn-udn-cni/node.json";
/// Environment variable naming another node config file.
pub const NODE_CONFIG_ENV: &str = "OVN_UDN_CNI_NODE_CONFIG";

/// TLS material for `ssl:` remotes.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Tls {
    /// PEM private key.
    pub private_key: PathBuf,
    /// PEM certificate.
    pub certificate: PathBuf,
    /// PEM CA certificate.
    pub ca_cert: PathBuf,
}

/// This node's settings, after defaults and per-network overrides.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct NodeConfig {
    /// Comma-separated NB remotes.
    pub nb_address: String,
    /// The local Open_vSwitch database.
    pub ovs_address: String,
    /// The integration bridge.
    pub bridge: String,
    /// Chassis name; `None` reads `external_ids:system-id` from OVS.
    pub chassis: Option<String>,
    /// TLS for `ssl:` remotes.
    pub tls: Option<Tls>,
    /// Seconds to wait for `ovn-installed`.
    pub ready_timeout: u64,
    /// Log file.
    pub log_file: PathBuf,
    /// `error`, `warn`, `info`, `debug` or `trace`.
    pub log_level: String,
    /// Also log to stderr.
    pub log_stderr: bool,
}

impl Default for NodeConfig {
    fn default() -> Self {
        NodeConfig {
            nb_address: "unix:/var/run/ovn/ovnnb_db.sock".into(),
            ovs_address: "unix:/var/run/openvswitch/db.sock".into(),
            bridge: "br-int".into(),
            chassis: None,
            tls: None,
            ready_timeout: 30,
            log_file: "/var/log/ovn-udn-cni/ovn-udn-cni.log".into(),
            log_level: "info".into(),
            log_stderr: false,
        }
    }
}

impl NodeConfig {
    /// Loads the file named by `OVN_UDN_CNI_NODE_CONFIG`, else the default
    /// path; a missing default file means defaults, a missing named file is
    /// an error (a typo must not silently point at another node's databases).
    pub fn load() -> Result<NodeConfig, ConfError> {
        match std::env::var_os(NODE_CONFIG_ENV) {
            Some(path) => Self::load_file(Path::new(&path)),
            None if Path::new(DEFAULT_NODE_CONFIG_PATH).exists() => {
                Self::load_file(Path::new(DEFAULT_NODE_CONFIG_PATH))
            }
            None => Ok(NodeConfig::default()),
        }
    }

    /// Loads one file.
    pub fn load_file(path: &Path) -> Result<NodeConfig, ConfError> {
        let node_err = |reason: String| ConfError::Node {
            path: path.display().to_string(),
            reason,
        };
        let bytes = std::fs::read(path).map_err(|e| node_err(e.to_string()))?;
        serde_json::from_slice(&bytes).map_err(|e| node_err(e.to_string()))
    }

    /// Applies the network config's per-network overrides.
    pub fn with_overrides(mut self, conf: &NetConf) -> NodeConfig {
        if let Some(v) = &conf.nb_address {
            self.nb_address = v.clone();
        }
        if let Some(v) = &conf.ovs_address {
            self.ovs_address = v.clone();
        }
        if let Some(v) = &conf.bridge {
            self.bridge = v.clone();
        }
        if let Some(v) = conf.ready_timeout {
            self.ready_timeout = v;
        }
        self
    }

    /// [`NodeConfig::ready_timeout`] as a duration.
    pub fn ready_timeout(&self) -> Duration {
        Duration::from_secs(self.ready_timeout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_values_and_network_overrides_win_over_defaults() {
        let dir = std::env::temp_dir().join(format!("udn-node-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("node.json");
        std::fs::write(
            &file,
            r#"{"ovsAddress":"unix:/x/db.sock","chassis":"node9"}"#,
        )
        .expect("write");
        let node = NodeConfig::load_file(&file).expect("load");
        assert_eq!(node.ovs_address, "unix:/x/db.sock");
        assert_eq!(node.chassis.as_deref(), Some("node9"));
        assert_eq!(node.bridge, "br-int");
        let conf =
            NetConf::from_slice(br#"{"name":"n","bridge":"br-x","readyTimeout":3}"#).expect("conf");
        let node = node.with_overrides(&conf);
        assert_eq!((node.bridge.as_str(), node.ready_timeout), ("br-x", 3));
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn unknown_keys_and_missing_files_name_the_file() {
        let err = NodeConfig::load_file(Path::new("/nonexistent/node.json")).expect_err("missing");
        assert!(err.to_string().contains("/nonexistent/node.json"));
    }
}
