//! One invocation's inputs, gathered once from the environment, stdin and the
//! node config, and passed to the verbs by reference.

use conf::{NetConf, Network, NodeConfig};
use ovsdb::Client;
use serde_json::Value;

use crate::cni::args::AttachArgs;
use crate::cni::env::CniEnv;
use crate::error::PluginError;

/// Everything a verb needs.
pub struct Request {
    /// The CNI_* variables.
    pub env: CniEnv,
    /// The network config as received, for delegated plugins.
    pub stdin: Vec<u8>,
    /// The parsed network config.
    pub conf: NetConf,
    /// The spec version results are printed at.
    pub cni_version: String,
    /// The validated network.
    pub network: Network,
    /// The node config with this network's overrides.
    pub node: NodeConfig,
    /// Per-attachment arguments.
    pub args: AttachArgs,
}

impl Request {
    /// The logical port's name.
    pub fn lsp_name(&self) -> String {
        conf::lsp_name(&self.network, &self.args.pod)
    }

    /// The host end of the veth (also the OVS port name).
    pub fn host_ifname(&self) -> String {
        conf::host_veth_name(&self.env.container_id, &self.env.ifname)
    }

    /// The previous plugin's result, when chained.
    pub fn prev_result(&self) -> Option<&Value> {
        self.conf.prev_result.as_ref()
    }

    /// Connects to the NB database.
    pub async fn connect_nb(&self) -> Result<Client, PluginError> {
        connect("NB database", &self.node.nb_address).await
    }

    /// Connects to the local OVS database.
    pub async fn connect_ovs(&self) -> Result<Client, PluginError> {
        connect("OVS database", &self.node.ovs_address).await
    }
}

async fn connect(what: &str, remotes: &str) -> Result<Client, PluginError> {
    Client::connect(remotes)
        .await
        .map_err(|source| PluginError::Unreachable {
            what: format!("{what} ({remotes})"),
            source,
        })
}
