//! The network config as it arrives on stdin: ovn-kubernetes' keys plus the
//! CNI spec's own (`runtimeConfig`, `args`, `prevResult`, GC's attachments).

use serde::Deserialize;
use serde_json::Value;

use crate::ConfError;

/// The raw network config. Unknown keys are kept in `other` and tolerated, as
/// the spec asks; typed keys with a wrong type are a decode error.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetConf {
    /// Spec version of this config and of the result to print.
    pub cni_version: Option<String>,
    /// Network name.
    pub name: Option<String>,
    /// Plugin type (`ovn-udn-cni` or `ovn-k8s-cni-overlay`).
    #[serde(rename = "type")]
    pub plugin_type: Option<String>,
    /// `layer2`, `layer3` or `localnet`.
    pub topology: Option<String>,
    /// `primary` or `secondary`.
    pub role: Option<String>,
    /// Comma-separated CIDRs.
    pub subnets: Option<String>,
    /// Comma-separated CIDRs never allocated.
    pub exclude_subnets: Option<String>,
    /// Interface MTU.
    pub mtu: Option<u32>,
    /// `<namespace>/<name>` of the NetworkAttachmentDefinition.
    pub net_attach_def_name: Option<String>,
    /// localnet access VLAN.
    #[serde(rename = "vlanID")]
    pub vlan_id: Option<u16>,
    /// localnet: key in `ovn-bridge-mappings`.
    pub physical_network_name: Option<String>,
    /// Attachments with an IPAM claim keep IP and MAC.
    #[serde(rename = "allowPersistentIPs")]
    pub allow_persistent_ips: Option<bool>,
    /// Per-network override of the node's NB remotes.
    pub nb_address: Option<String>,
    /// Per-network override of the node's OVSDB remote.
    pub ovs_address: Option<String>,
    /// Per-network override of the integration bridge.
    pub bridge: Option<String>,
    /// Per-network override of the `ovn-installed` wait, seconds.
    pub ready_timeout: Option<u64>,
    /// A delegated IPAM plugin's config.
    pub ipam: Option<Value>,
    /// DNS settings (spec §"Network Configuration"): the name servers are
    /// handed to DHCP guests.
    pub dns: Option<Dns>,
    /// Capability arguments from the runtime.
    pub runtime_config: Option<RuntimeConfig>,
    /// Conventional `args` (spec "args" convention).
    pub args: Option<Value>,
    /// The previous plugin's result (chaining, CHECK).
    pub prev_result: Option<Value>,
    /// GC: the attachments the runtime still knows.
    #[serde(rename = "cni.dev/valid-attachments")]
    pub valid_attachments: Option<Vec<ValidAttachment>>,
    /// Everything else, tolerated.
    #[serde(flatten)]
    pub other: serde_json::Map<String, Value>,
}

/// `runtimeConfig` keys of the capabilities this plugin supports.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RuntimeConfig {
    /// Capability `ips`: static addresses, with or without prefix length.
    #[serde(default)]
    pub ips: Vec<String>,
    /// Capability `mac`: a static MAC.
    pub mac: Option<String>,
}

/// The spec's `dns` section; only the name servers matter here.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Dns {
    /// Name server addresses.
    #[serde(default)]
    pub nameservers: Vec<String>,
}

/// One entry of `cni.dev/valid-attachments` (GC).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ValidAttachment {
    /// The container (sandbox) id.
    #[serde(rename = "containerID")]
    pub container_id: String,
    /// The interface name inside it.
    pub ifname: String,
}

impl NetConf {
    /// Decodes the config from stdin bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<NetConf, ConfError> {
        serde_json::from_slice(bytes).map_err(|e| ConfError::Decode(e.to_string()))
    }

    /// A string from `args.cni.<key>`, when present.
    pub fn args_cni_str(&self, key: &str) -> Option<&str> {
        self.args.as_ref()?.get("cni")?.get(key)?.as_str()
    }

    /// A list of strings from `args.cni.<key>`, empty when absent.
    pub fn args_cni_list(&self, key: &str) -> Vec<String> {
        self.args
            .as_ref()
            .and_then(|a| a.get("cni"))
            .and_then(|c| c.get(key))
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }
}
