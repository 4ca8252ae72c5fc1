//! One invocation's inputs, gathered once from the environment, stdin and the
//! node config, validated into typed values before any database or
//! namespace is touched, and passed to the verbs by reference.

use std::sync::OnceLock;

use conf::{ConfError, NetConf, Network, NetworkId, NodeConfig};
use ovsdb::Client;
use serde_json::Value;

use crate::cni::args::{AttachArgs, CniArgs, StaticAddressing};
use crate::cni::env::{CniEnv, Command};
use crate::cni::version;
use crate::error::PluginError;

/// Everything every verb needs.
pub struct Request {
    /// The CNI_* variables.
    pub env: CniEnv,
    /// The network config as received, for delegated plugins.
    pub stdin: Vec<u8>,
    /// The parsed network config.
    pub conf: NetConf,
    /// The spec version results are printed at.
    pub cni_version: String,
    /// What names the network's OVN objects.
    pub id: NetworkId,
    /// The node config.
    pub node: NodeConfig,
    /// Who the attachment belongs to.
    pub args: AttachArgs,
    /// The delegated IPAM plugin (`ipam.type`), if any.
    pub ipam_plugin: Option<String>,
    /// The NB connection, once made (for its traffic in the last log line).
    nb: OnceLock<Client>,
    /// The OVS connection, once made.
    ovs: OnceLock<Client>,
}

/// The verb with what only it reads, validated.
pub enum Verb {
    /// ADD: the whole network and the static addressing asked for.
    Add(Network, StaticAddressing),
    /// CHECK: the whole network.
    Check(Network),
    /// DEL: only what names the attachment.
    Del,
    /// GC: only what names the network.
    Gc,
    /// STATUS.
    Status,
}

impl Request {
    /// Validates the inputs in the order libcni's skel does (version, then
    /// config), each verb reading only the keys it needs.
    pub fn new(
        env: &CniEnv,
        stdin: Vec<u8>,
        conf: NetConf,
        node: NodeConfig,
    ) -> Result<(Request, Verb), PluginError> {
        let cni_version = conf.cni_version()?.unwrap_or_default();
        version::require(&cni_version, env.command.as_str())?;
        let cni_args = CniArgs::parse(&env.args)?;
        let (id, ipam_plugin, verb) = match env.command {
            Command::Add | Command::Check => {
                let network = Network::from_conf(&conf)?;
                let verb = if env.command == Command::Add {
                    let addressing = StaticAddressing::parse(&cni_args, &conf)?;
                    Verb::Add(network.clone(), addressing)
                } else {
                    Verb::Check(network.clone())
                };
                (network.id, network.ipam_plugin, verb)
            }
            Command::Del | Command::Gc => {
                let id = NetworkId::from_conf(&conf)?;
                let verb = if env.command == Command::Del {
                    Verb::Del
                } else {
                    Verb::Gc
                };
                (id, conf::ipam_plugin(&conf)?, verb)
            }
            Command::Status | Command::Version => {
                (NetworkId::from_conf(&conf)?, None, Verb::Status)
            }
        };
        let mut args = AttachArgs::parse(&cni_args, &conf, &env.container_id, &env.ifname)?;
        args.resolve_claim(&id);
        let req = Request {
            env: env.clone(),
            stdin,
            conf,
            cni_version,
            id,
            node,
            args,
            ipam_plugin,
            nb: OnceLock::new(),
            ovs: OnceLock::new(),
        };
        Ok((req, verb))
    }

    /// The logical port's name.
    pub fn lsp_name(&self) -> String {
        conf::lsp_name(&self.id, &self.args.pod)
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
        self.conf.raw("prevResult")
    }

    /// Connects to the NB database (once per request).
    pub async fn connect_nb(&self) -> Result<Client, PluginError> {
        if let Some(nb) = self.nb.get() {
            return Ok(nb.clone());
        }
        let nb = connect_nb(&self.node).await?;
        Ok(self.nb.get_or_init(|| nb).clone())
    }

    /// Connects to the local OVS database (once per request).
    pub async fn connect_ovs(&self) -> Result<Client, PluginError> {
        if let Some(ovs) = self.ovs.get() {
            return Ok(ovs.clone());
        }
        let ovs = connect_ovs(&self.node).await?;
        Ok(self.ovs.get_or_init(|| ovs).clone())
    }

    /// What the request exchanged with the NB and OVS databases, for the
    /// log: a benchmark reads NB bytes per ADD from it.
    pub fn traffic(&self) -> (ovsdb::Traffic, ovsdb::Traffic) {
        let of = |client: &OnceLock<Client>| client.get().map(Client::traffic).unwrap_or_default();
        (of(&self.nb), of(&self.ovs))
    }
}

/// Connects to the NB database the node config names.
pub async fn connect_nb(node: &NodeConfig) -> Result<Client, PluginError> {
    connect(node, "NB database", "nbAddress", &node.nb_address).await
}

/// Connects to the local OVS database the node config names.
pub async fn connect_ovs(node: &NodeConfig) -> Result<Client, PluginError> {
    connect(node, "OVS database", "ovsAddress", &node.ovs_address).await
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
            ovsdb::Error::InvalidRemote(_) | ovsdb::Error::TlsRequired(_) => ConfError::NodeKey {
                key: field,
                reason: source.to_string(),
            }
            .into(),
            ovsdb::Error::TlsFile { .. } => ConfError::NodeKey {
                key: "tls",
                reason: source.to_string(),
            }
            .into(),
            source => PluginError::Unreachable {
                what: format!("{what} ({remotes})"),
                source,
            },
        })
}
