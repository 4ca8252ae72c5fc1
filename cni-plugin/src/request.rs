//! One invocation's inputs, gathered once from the environment, stdin and the
//! node config, and passed to the verbs by reference.

use conf::{ConfError, NetConf, Network, NodeConfig};
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

    /// The IPAM claim (`namespace/claim`) that owns this attachment, if
    /// the network honours claims.
    pub fn claim(&self) -> Option<String> {
        match &self.args.pod {
            conf::PodRef::Claim { namespace, claim } => Some(format!("{namespace}/{claim}")),
            _ => None,
        }
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
        connect_nb(&self.node).await
    }

    /// Connects to the local OVS database.
    pub async fn connect_ovs(&self) -> Result<Client, PluginError> {
        connect(
            &self.node,
            "OVS database",
            "ovsAddress",
            &self.node.ovs_address,
        )
        .await
    }
}

/// Connects to the NB database the node config names.
pub async fn connect_nb(node: &NodeConfig) -> Result<Client, PluginError> {
    connect(node, "NB database", "nbAddress", &node.nb_address).await
}

/// A remote that can never work is a config error (7); one that does not
/// answer now is worth retrying (11).
async fn connect(
    node: &NodeConfig,
    what: &str,
    field: &'static str,
    remotes: &str,
) -> Result<Client, PluginError> {
    let tls = node.tls.as_ref().map(|t| ovsdb::TlsConfig {
        private_key: t.private_key.clone(),
        certificate: t.certificate.clone(),
        ca_cert: t.ca_cert.clone(),
    });
    Client::connect_with(remotes, tls.as_ref())
        .await
        .map_err(|source| match source {
            ovsdb::Error::InvalidRemote(_) | ovsdb::Error::TlsRequired(_) => {
                ConfError::invalid(field, source.to_string()).into()
            }
            ovsdb::Error::TlsFile { .. } => ConfError::invalid("tls", source.to_string()).into(),
            source => PluginError::Unreachable {
                what: format!("{what} ({remotes})"),
                source,
            },
        })
}
