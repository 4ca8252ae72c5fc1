//! The node config: where this node's databases are, how long to wait for
//! ovn-controller, where to log. Only the node's administrator writes it;
//! network configs may not carry any of its keys ([`NODE_KEYS`]).

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::gateway::{Gateway, validate_default_network_subnets};
use crate::{ConfError, name_rules};

/// Default location of the node config.
pub const DEFAULT_NODE_CONFIG_PATH: &str = "/etc/ovn-udn-cni/node.json";
/// Environment variable naming another node config file.
pub const NODE_CONFIG_ENV: &str = "OVN_UDN_CNI_NODE_CONFIG";
/// Largest node config file read.
const MAX_NODE_CONFIG_BYTES: u64 = 1 << 20;

/// Every key of the node config: node settings, refused in network configs.
pub const NODE_KEYS: [&str; 13] = [
    "nbAddress",
    "ovsAddress",
    "bridge",
    "chassis",
    "tls",
    "readyTimeout",
    "logFile",
    "logLevel",
    "logStderr",
    "logMaxBytes",
    "logMaxFiles",
    "gateway",
    "defaultNetworkSubnets",
];

/// Range of `readyTimeout`, seconds.
const READY_TIMEOUT_RANGE: std::ops::RangeInclusive<u64> = 1..=600;
/// Range of `logMaxBytes`: a few lines at least, a GiB at most.
const LOG_MAX_BYTES_RANGE: std::ops::RangeInclusive<u64> = 4096..=(1 << 30);
/// Range of `logMaxFiles` (rotated files kept besides the live one).
const LOG_MAX_FILES_RANGE: std::ops::RangeInclusive<u32> = 1..=100;
/// Accepted `logLevel` values.
const LOG_LEVELS: [&str; 5] = ["error", "warn", "info", "debug", "trace"];

/// TLS material for `ssl:` remotes.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Tls {
    /// PEM private key.
    pub private_key: PathBuf,
    /// PEM certificate.
    pub certificate: PathBuf,
    /// PEM CA certificate.
    pub ca_cert: PathBuf,
}

/// This node's settings, after defaults.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
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
    /// Seconds to wait for `ovn-installed` (1-600).
    pub ready_timeout: u64,
    /// Log file (absolute path; never followed through a symlink).
    pub log_file: PathBuf,
    /// `error`, `warn`, `info`, `debug` or `trace`.
    pub log_level: String,
    /// Also log to stderr.
    pub log_stderr: bool,
    /// Size at which the log file is rotated.
    pub log_max_bytes: u64,
    /// Rotated log files kept (`<logFile>.1` ... `.N`).
    pub log_max_files: u32,
    /// Egress for primary networks; `None`: this chassis has none.
    pub gateway: Option<Gateway>,
    /// The default network's subnets (pod, service, node CIDRs) that stay
    /// routed through `eth0` when a primary UDN follows the default network.
    pub default_network_subnets: Vec<IpNet>,
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
            log_max_bytes: 10 << 20,
            log_max_files: 5,
            gateway: None,
            default_network_subnets: Vec::new(),
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

    /// Loads and validates one file: a regular file (a FIFO must not hang
    /// the plugin), at most 1 MiB, holding a JSON object.
    pub fn load_file(path: &Path) -> Result<NodeConfig, ConfError> {
        let node_err = |reason: String| ConfError::Node {
            path: path.display().to_string(),
            reason,
        };
        let bytes = read_regular_file(path, MAX_NODE_CONFIG_BYTES).map_err(node_err)?;
        Self::from_slice(&bytes).map_err(node_err)
    }

    /// Decodes and validates the file's bytes; the error names the key.
    fn from_slice(bytes: &[u8]) -> Result<NodeConfig, String> {
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
        if !value.is_object() {
            return Err("must be a JSON object".into());
        }
        let node: NodeConfig = serde_path_to_error::deserialize(&value)
            .map_err(|e| format!("`{}`: {}", e.path(), e.inner()))?;
        node.validate()?;
        Ok(node)
    }

    fn validate(&self) -> Result<(), String> {
        let key = |key: &str, why: String| format!("`{key}`: {why}");
        if !READY_TIMEOUT_RANGE.contains(&self.ready_timeout) {
            return Err(key(
                "readyTimeout",
                format!("{} is not in 1-600 seconds", self.ready_timeout),
            ));
        }
        name_rules::interface_name(&self.bridge)
            .map_err(|why| key("bridge", format!("{:?} {why}", self.bridge)))?;
        if let Some(chassis) = &self.chassis {
            name_rules::physical_network(chassis)
                .map_err(|why| key("chassis", format!("{chassis:?} {why}")))?;
        }
        if !self.log_file.is_absolute() {
            return Err(key("logFile", "must be an absolute path".into()));
        }
        if !LOG_LEVELS.contains(&self.log_level.as_str()) {
            return Err(key(
                "logLevel",
                format!(
                    "{:?} is not one of {}",
                    self.log_level,
                    LOG_LEVELS.join(", ")
                ),
            ));
        }
        if !LOG_MAX_BYTES_RANGE.contains(&self.log_max_bytes) {
            return Err(key(
                "logMaxBytes",
                format!(
                    "{} is not in 4096-{}",
                    self.log_max_bytes,
                    LOG_MAX_BYTES_RANGE.end()
                ),
            ));
        }
        if !LOG_MAX_FILES_RANGE.contains(&self.log_max_files) {
            return Err(key(
                "logMaxFiles",
                format!("{} is not in 1-100", self.log_max_files),
            ));
        }
        if let Some(gateway) = &self.gateway {
            gateway.validate()?;
        }
        validate_default_network_subnets(&self.default_network_subnets)
    }

    /// [`NodeConfig::ready_timeout`] as a duration.
    pub fn ready_timeout(&self) -> Duration {
        Duration::from_secs(self.ready_timeout)
    }
}

/// Reads a regular file of at most `limit` bytes. Opened non-blocking so a
/// FIFO in its place fails the type check instead of blocking in `open`.
fn read_regular_file(path: &Path, limit: u64) -> Result<Vec<u8>, String> {
    let file = File::options()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| e.to_string())?;
    let meta = file.metadata().map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("is not a regular file".into());
    }
    if meta.len() > limit {
        return Err(format!("is {} bytes, more than {limit}", meta.len()));
    }
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    fn temp_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("udn-node-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        dir
    }

    #[test]
    fn file_values_win_over_defaults() {
        let dir = temp_dir("values");
        let file = dir.join("node.json");
        std::fs::write(
            &file,
            r#"{"ovsAddress":"unix:/x/db.sock","chassis":"node9","readyTimeout":3}"#,
        )
        .expect("write");
        let node = NodeConfig::load_file(&file).expect("load");
        assert_eq!(node.ovs_address, "unix:/x/db.sock");
        assert_eq!(node.chassis.as_deref(), Some("node9"));
        assert_eq!((node.bridge.as_str(), node.ready_timeout), ("br-int", 3));
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn bad_values_name_the_key() {
        for (json, needle) in [
            ("[]", "JSON object"),
            (r#"["unix:/x"]"#, "JSON object"),
            (r#"{"readyTimeout":18446744073709551615}"#, "`readyTimeout`"),
            (r#"{"readyTimeout":0}"#, "`readyTimeout`"),
            (r#"{"readyTimeout":"30"}"#, "`readyTimeout`"),
            (r#"{"bridge":"br/x"}"#, "`bridge`"),
            (r#"{"logFile":"relative.log"}"#, "`logFile`"),
            (r#"{"logLevel":"loud"}"#, "`logLevel`"),
            (r#"{"logMaxBytes":10}"#, "`logMaxBytes`"),
            (r#"{"logMaxFiles":0}"#, "`logMaxFiles`"),
            (r#"{"chassis":"a b"}"#, "`chassis`"),
            (r#"{"tls":{"privateKey":"/k"}}"#, "tls"),
            (r#"{"nbAdress":"unix:/x"}"#, "nbAdress"),
            (
                r#"{"gateway":{"address":"172.20.0.11/16"}}"#,
                "physicalNetworkName",
            ),
            (
                r#"{"gateway":{"physicalNetworkName":"p","address":"172.20.0.11"}}"#,
                "gateway.address",
            ),
            (
                r#"{"gateway":{"physicalNetworkName":"p","address":"172.20.0.0/16"}}"#,
                "`gateway.address`",
            ),
            (
                r#"{"gateway":{"physicalNetworkName":"p","address":"172.20.0.1/31"}}"#,
                "`gateway.address`",
            ),
            (
                r#"{"gateway":{"physicalNetworkName":"p","address":"fd20::11/64"}}"#,
                "gateway.address",
            ),
            (
                r#"{"gateway":{"physicalNetworkName":"p","address":"169.254.0.11/16"}}"#,
                "`gateway.address`",
            ),
            (
                r#"{"gateway":{"physicalNetworkName":"a,b","address":"172.20.0.11/16"}}"#,
                "`gateway.physicalNetworkName`",
            ),
            (
                r#"{"gateway":{"physicalNetworkName":"p","address":"172.20.0.11/16","nextHop":"10.0.0.1"}}"#,
                "`gateway.nextHop`",
            ),
            (
                r#"{"gateway":{"physicalNetworkName":"p","address":"172.20.0.11/16","nextHop":"172.20.0.11"}}"#,
                "`gateway.nextHop`",
            ),
            (
                r#"{"gateway":{"physicalNetworkName":"p","address":"172.20.0.11/16","via":"172.20.0.1"}}"#,
                "via",
            ),
            (
                r#"{"defaultNetworkSubnets":["10.128.0.0/14","0.0.0.0/0"]}"#,
                "`defaultNetworkSubnets[1]`",
            ),
            (
                r#"{"defaultNetworkSubnets":["10.128.0.1/14"]}"#,
                "`defaultNetworkSubnets[0]`",
            ),
            (
                r#"{"defaultNetworkSubnets":["127.0.0.0/8"]}"#,
                "`defaultNetworkSubnets[0]`",
            ),
            (
                r#"{"defaultNetworkSubnets":"10.128.0.0/14"}"#,
                "defaultNetworkSubnets",
            ),
        ] {
            let err = NodeConfig::from_slice(json.as_bytes()).expect_err(json);
            assert!(err.contains(needle), "{json}: {err}");
        }
    }

    #[test]
    fn gateway_and_default_subnets_are_read() {
        let node = NodeConfig::from_slice(
            br#"{"gateway":{"physicalNetworkName":"physnet","address":"172.20.0.11/16","nextHop":"172.20.0.1"},
                "defaultNetworkSubnets":["10.128.0.0/14","172.30.0.0/16"]}"#,
        )
        .expect("valid");
        let gateway = node.gateway.expect("gateway");
        assert_eq!(gateway.address.to_string(), "172.20.0.11/16");
        assert_eq!(gateway.next_hop, Some(Ipv4Addr::new(172, 20, 0, 1)));
        assert_eq!(node.default_network_subnets.len(), 2);
    }

    #[test]
    fn node_keys_are_exactly_the_config_keys() {
        let node = NodeConfig {
            gateway: Some(Gateway {
                physical_network_name: "physnet".into(),
                address: "172.20.0.11/16".parse().expect("cidr"),
                next_hop: None,
            }),
            ..NodeConfig::default()
        };
        let value = serde_json::to_value(node).expect("serialise");
        let mut keys: Vec<&str> = value
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        let mut expected = NODE_KEYS.to_vec();
        expected.sort_unstable();
        assert_eq!(keys, expected);
    }

    #[test]
    fn missing_files_and_fifos_name_the_file_without_hanging() {
        let err = NodeConfig::load_file(Path::new("/nonexistent/node.json")).expect_err("missing");
        assert!(err.to_string().contains("/nonexistent/node.json"));
        let dir = temp_dir("fifo");
        let fifo = dir.join("node.json");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo");
        assert!(status.success());
        let err = NodeConfig::load_file(&fifo).expect_err("fifo").to_string();
        assert!(err.contains("not a regular file"), "{err}");
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}
