//! What `status` and `doctor` read about this node, gathered once: the node
//! config, each NB member, the local OVS, the chassis' SB registration,
//! ovn-controller and the localnet networks' physical networks. Only reads;
//! what is wrong with them is for `checks` to say.

use std::path::{Path, PathBuf};
use std::time::Duration;

use conf::NodeConfig;
use ovsdb::{Client, Condition, Operation, Value};
use serde::Serialize;

use crate::request::connect_ovs;
use crate::vocabulary::{NB_DB, OVS_DB, column, ids, iface, option, table};

/// The SB database name.
const SB_DB: &str = "OVN_Southbound";
/// The database every ovsdb-server has, describing the others.
const SERVER_DB: &str = "_Server";
/// Open_vSwitch external_ids: the SB remote ovn-controller connects to.
const OVN_REMOTE: &str = "ovn-remote";
/// Open_vSwitch external_ids: the datapath type ovn-controller wants for
/// the integration bridge.
const OVN_BRIDGE_DATAPATH_TYPE: &str = "ovn-bridge-datapath-type";
/// How long the ovn-controller control socket may take to answer.
const CONTROLLER_TIMEOUT: Duration = Duration::from_secs(5);
/// Where ovn-controller keeps its pid file and control socket when the
/// node config's OVS socket directory has none (packaged OVN's rundirs).
const OVN_RUNDIRS: [&str; 2] = ["/var/run/ovn", "/run/ovn"];

/// Everything read, as `status --json` prints it under `facts`.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Facts {
    /// This binary's version.
    pub plugin_version: String,
    /// The node config.
    pub node_config: ConfigFacts,
    /// The chassis name the plugin uses: the node config's `chassis`, else
    /// OVS `system-id`.
    pub chassis: Option<String>,
    /// The NB database.
    pub nb: NbFacts,
    /// The local Open_vSwitch database.
    pub ovs: OvsFacts,
    /// The SB database, as the chassis' `ovn-remote` names it.
    pub sb: SbFacts,
    /// The ovn-controller of this chassis.
    pub ovn_controller: ControllerFacts,
    /// The node config's `gateway`, if any.
    pub gateway: Option<GatewayFacts>,
    /// The localnet networks in NB and whether this chassis bridges their
    /// physical network.
    pub networks: Vec<NetworkMapping>,
}

/// The node config file.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigFacts {
    /// The file read; `None`: no file, built-in defaults.
    pub path: Option<String>,
    /// Why it could not be used.
    pub error: Option<String>,
    /// `bridge`.
    pub bridge: String,
    /// `chassis`, if set.
    pub chassis: Option<String>,
}

/// The NB database and each of its `nbAddress` members.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NbFacts {
    /// `nbAddress` (after `--nb-address`).
    pub address: String,
    /// Each member, in `nbAddress` order.
    pub members: Vec<Member>,
    /// The member the plugin uses: the first that answers and is not cut
    /// off from its cluster.
    pub answered_by: Option<String>,
}

/// One server of `nbAddress`, as its `_Server` database describes itself.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Member {
    /// The remote.
    pub remote: String,
    /// Whether it accepted a connection and answered.
    pub reachable: bool,
    /// Why not.
    pub error: Option<String>,
    /// `standalone`, `clustered` or `relay`.
    pub model: Option<String>,
    /// Whether it is the cluster leader (always for standalone).
    pub leader: Option<bool>,
    /// Whether it is connected to its cluster (always for standalone).
    pub connected: Option<bool>,
    /// The NB schema version it serves.
    pub schema_version: Option<String>,
}

impl Member {
    /// Whether the plugin can use it: it answers and has its cluster.
    pub fn usable(&self) -> bool {
        self.reachable && self.connected != Some(false)
    }
}

/// The local OVS.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OvsFacts {
    /// `ovsAddress`.
    pub address: String,
    /// Whether it answered.
    pub reachable: bool,
    /// Why not.
    pub error: Option<String>,
    /// `ovs_version` (set by ovs-ctl; `None` when not recorded).
    pub ovs_version: Option<String>,
    /// `db_version`: the Open_vSwitch schema version.
    pub schema_version: Option<String>,
    /// `external_ids:system-id`.
    pub system_id: Option<String>,
    /// `external_ids:ovn-remote`.
    pub ovn_remote: Option<String>,
    /// `external_ids:ovn-bridge-mappings`, as set.
    pub bridge_mappings: Option<String>,
    /// `external_ids:ovn-bridge-datapath-type`.
    pub wanted_datapath_type: Option<String>,
    /// Whether the integration bridge exists.
    pub bridge_present: bool,
    /// Its `datapath_type` (`system` when empty).
    pub datapath_type: Option<String>,
}

impl OvsFacts {
    /// The physical networks of `ovn-bridge-mappings`.
    pub fn physical_networks(&self) -> Vec<String> {
        self.bridge_mappings
            .as_deref()
            .unwrap_or_default()
            .split(',')
            .filter_map(|m| m.split_once(':'))
            .map(|(physnet, _)| physnet.trim().to_owned())
            .filter(|p| !p.is_empty())
            .collect()
    }
}

/// The chassis' SB registration.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SbFacts {
    /// The SB remote (`ovn-remote`); `None` when OVS has none.
    pub address: Option<String>,
    /// Whether it answered.
    pub reachable: bool,
    /// Why not.
    pub error: Option<String>,
    /// The SB schema version.
    pub schema_version: Option<String>,
    /// Whether a Chassis row has this chassis' name.
    pub chassis_registered: bool,
    /// That row's `hostname`.
    pub hostname: Option<String>,
    /// `SB_Global.nb_cfg`: the NB configuration sequence northd passed on.
    pub nb_cfg: Option<i64>,
    /// `Chassis_Private.nb_cfg`: the sequence this chassis has applied.
    pub chassis_nb_cfg: Option<i64>,
}

/// ovn-controller, found by its pid file and asked through its control
/// socket.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ControllerFacts {
    /// The directories searched for `ovn-controller.pid`.
    pub searched: Vec<String>,
    /// The pid file's pid.
    pub pid: Option<u32>,
    /// Whether its control socket answered.
    pub running: bool,
    /// Its version (first line of its `version` answer).
    pub version: Option<String>,
    /// Why it is not taken as running.
    pub error: Option<String>,
}

/// The node config's `gateway`.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GatewayFacts {
    /// `gateway.physicalNetworkName`.
    pub physical_network_name: String,
    /// `gateway.address`.
    pub address: String,
}

/// A localnet network and this chassis.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct NetworkMapping {
    /// The network (`k8s.ovn.org/network`).
    pub network: String,
    /// Its localnet port's `network_name`.
    pub physical_network: String,
}

/// Options of `status` and `doctor` that change where facts are read.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Sources {
    /// NB database remotes (default: the node config's `nbAddress`).
    #[arg(long, value_name = "REMOTES")]
    pub nb_address: Option<String>,
    /// Directory of ovn-controller's pid file and control socket (default:
    /// the directory of a `unix:` ovsAddress, then /var/run/ovn, /run/ovn).
    #[arg(long, value_name = "DIR")]
    pub ovn_rundir: Option<PathBuf>,
}

/// The node config file `NodeConfig::load` reads, if any.
fn node_config_path() -> Option<PathBuf> {
    match std::env::var_os(conf::NODE_CONFIG_ENV) {
        Some(path) => Some(PathBuf::from(path)),
        None => Some(PathBuf::from(conf::DEFAULT_NODE_CONFIG_PATH)).filter(|p| p.exists()),
    }
}

/// Reads everything; a part that cannot be read is recorded with why, and
/// what depends on it is left out.
pub async fn gather(sources: &Sources) -> Facts {
    let mut facts = Facts {
        plugin_version: env!("CARGO_PKG_VERSION").to_owned(),
        ..Facts::default()
    };
    facts.node_config.path = node_config_path().map(|p| p.display().to_string());
    let mut node = match NodeConfig::load() {
        Ok(node) => node,
        Err(e) => {
            facts.node_config.error = Some(e.to_string());
            return facts;
        }
    };
    if let Some(remotes) = &sources.nb_address {
        node.nb_address.clone_from(remotes);
    }
    facts.node_config.bridge.clone_from(&node.bridge);
    facts.node_config.chassis.clone_from(&node.chassis);
    facts.gateway = node.gateway.as_ref().map(|g| GatewayFacts {
        physical_network_name: g.physical_network_name.clone(),
        address: g.address.to_string(),
    });
    let ((nb, nb_client), ovs) = tokio::join!(nb_facts(&node), ovs_facts(&node));
    facts.nb = nb;
    facts.ovs = ovs;
    facts.chassis = node.chassis.clone().or(facts.ovs.system_id.clone());
    facts.ovn_controller = controller_facts(&node, sources.ovn_rundir.as_deref()).await;
    if let Some(remote) = facts.ovs.ovn_remote.clone() {
        facts.sb = sb_facts(&node, &remote, facts.chassis.as_deref()).await;
    }
    if let Some(nb) = nb_client {
        facts.networks = localnet_networks(&nb).await.unwrap_or_default();
    }
    facts
}

/// The node config's `tls` as the OVSDB client takes it, for the remotes
/// the tool dials itself (each NB member, the SB).
pub(super) fn tls(node: &NodeConfig) -> Option<ovsdb::TlsConfig> {
    node.tls.as_ref().map(|t| ovsdb::TlsConfig {
        private_key: t.private_key.clone(),
        certificate: t.certificate.clone(),
        ca_cert: t.ca_cert.clone(),
    })
}

/// Each member on its own connection, then the one the plugin would use,
/// kept open for the network reads.
async fn nb_facts(node: &NodeConfig) -> (NbFacts, Option<Client>) {
    let mut facts = NbFacts {
        address: node.nb_address.clone(),
        ..NbFacts::default()
    };
    let remotes: Vec<String> = match ovsdb::Remote::parse_list(&node.nb_address) {
        Ok(list) => list.iter().map(ToString::to_string).collect(),
        Err(e) => {
            facts.members.push(Member {
                remote: node.nb_address.clone(),
                error: Some(format!("`nbAddress`: {e}")),
                ..Member::default()
            });
            return (facts, None);
        }
    };
    let tls = tls(node);
    let mut chosen = None;
    for remote in remotes {
        let (member, client) = member(&remote, tls.as_ref()).await;
        if chosen.is_none() && member.usable() {
            facts.answered_by = Some(remote);
            chosen = client;
        }
        facts.members.push(member);
    }
    (facts, chosen)
}

async fn member(remote: &str, tls: Option<&ovsdb::TlsConfig>) -> (Member, Option<Client>) {
    let mut member = Member {
        remote: remote.to_owned(),
        ..Member::default()
    };
    let client = match Client::connect_with(remote, tls).await {
        Ok(client) => client,
        Err(e) => {
            member.error = Some(e.to_string());
            return (member, None);
        }
    };
    match server_row(&client, NB_DB).await {
        Ok(row) => {
            member.reachable = true;
            member.model = row.model;
            member.leader = row.leader;
            member.connected = row.connected;
            member.schema_version = row.schema_version;
            (member, Some(client))
        }
        Err(e) => {
            member.error = Some(e.to_string());
            (member, None)
        }
    }
}

/// A database as its server's `_Server.Database` row describes it.
#[derive(Debug, Default)]
struct ServerRow {
    model: Option<String>,
    leader: Option<bool>,
    connected: Option<bool>,
    schema_version: Option<String>,
}

/// Reads `db`'s `_Server.Database` row (leader, connected, model, and the
/// schema's version); a server without `_Server` (OVS before 2.9) answers
/// with the schema alone.
async fn server_row(client: &Client, db: &str) -> Result<ServerRow, ovsdb::Error> {
    let columns = ["model", "leader", "connected", "schema"]
        .map(String::from)
        .to_vec();
    let rows = match client
        .select(
            SERVER_DB,
            "Database",
            vec![Condition::eq(column::NAME, Value::string(db))],
            Some(columns),
        )
        .await
    {
        Ok(rows) => rows,
        Err(ovsdb::Error::Rpc(_)) => {
            let schema = client.get_schema(db).await?;
            return Ok(ServerRow {
                schema_version: schema["version"].as_str().map(str::to_owned),
                ..ServerRow::default()
            });
        }
        Err(e) => return Err(e),
    };
    let Some(row) = rows.first() else {
        return Err(ovsdb::Error::Protocol(format!("the server holds no {db}")));
    };
    let schema_version = row
        .str("schema")
        .and_then(|text| serde_json::from_str::<serde_json::Value>(text).ok())
        .and_then(|schema| schema["version"].as_str().map(str::to_owned));
    Ok(ServerRow {
        model: row.str("model").map(str::to_owned),
        leader: row.bool("leader"),
        connected: row.bool("connected"),
        schema_version,
    })
}

/// The local OVS.
async fn ovs_facts(node: &NodeConfig) -> OvsFacts {
    let mut facts = OvsFacts {
        address: node.ovs_address.clone(),
        ..OvsFacts::default()
    };
    let client = match connect_ovs(node).await {
        Ok(client) => client,
        Err(e) => {
            facts.error = Some(e.to_string());
            return facts;
        }
    };
    let read = client
        .transact(
            OVS_DB,
            &[
                Operation::select(
                    table::OPEN_VSWITCH,
                    vec![],
                    Some(
                        ["ovs_version", "db_version", column::EXTERNAL_IDS]
                            .map(String::from)
                            .to_vec(),
                    ),
                ),
                Operation::select(
                    table::BRIDGE,
                    vec![Condition::eq(column::NAME, Value::string(&node.bridge))],
                    Some(vec![column::DATAPATH_TYPE.into()]),
                ),
            ],
        )
        .await;
    let results = match read {
        Ok(results) => results,
        Err(e) => {
            facts.error = Some(format!("reading the local OVS database: {e}"));
            return facts;
        }
    };
    facts.reachable = true;
    if let Some(row) = results.first().and_then(|r| r.rows.first()) {
        let text = |c: &str| row.strings(c).into_iter().next().filter(|s| !s.is_empty());
        facts.ovs_version = text("ovs_version");
        facts.schema_version = text("db_version");
        let mut external_ids = row.map(column::EXTERNAL_IDS);
        facts.system_id = external_ids.remove(iface::SYSTEM_ID);
        facts.ovn_remote = external_ids.remove(OVN_REMOTE);
        facts.bridge_mappings = external_ids.remove(iface::BRIDGE_MAPPINGS);
        facts.wanted_datapath_type = external_ids.remove(OVN_BRIDGE_DATAPATH_TYPE);
    }
    // `db_version` is set by ovs-ctl only; the server always knows.
    if facts.schema_version.is_none() {
        facts.schema_version = server_row(&client, OVS_DB)
            .await
            .ok()
            .and_then(|row| row.schema_version);
    }
    if let Some(bridge) = results.get(1).and_then(|r| r.rows.first()) {
        facts.bridge_present = true;
        facts.datapath_type = Some(
            bridge
                .str(column::DATAPATH_TYPE)
                .filter(|t| !t.is_empty())
                .unwrap_or("system")
                .to_owned(),
        );
    }
    facts
}

/// The chassis' rows in the SB database at `remote`.
async fn sb_facts(node: &NodeConfig, remote: &str, chassis: Option<&str>) -> SbFacts {
    let mut facts = SbFacts {
        address: Some(remote.to_owned()),
        ..SbFacts::default()
    };
    let read = async {
        let client = Client::connect_with(remote, tls(node).as_ref()).await?;
        let server = server_row(&client, SB_DB).await?;
        let by_name = || {
            vec![Condition::eq(
                column::NAME,
                Value::string(chassis.unwrap_or_default()),
            )]
        };
        let results = client
            .transact(
                SB_DB,
                &[
                    Operation::select("Chassis", by_name(), Some(vec!["hostname".into()])),
                    Operation::select("Chassis_Private", by_name(), Some(vec!["nb_cfg".into()])),
                    Operation::select("SB_Global", vec![], Some(vec!["nb_cfg".into()])),
                ],
            )
            .await?;
        Ok::<_, ovsdb::Error>((server, results))
    };
    match read.await {
        Ok((server, results)) => {
            facts.reachable = true;
            facts.schema_version = server.schema_version;
            let first = |i: usize| results.get(i).and_then(|r| r.rows.first());
            if let Some(row) = first(0) {
                facts.chassis_registered = chassis.is_some();
                facts.hostname = row.str("hostname").map(str::to_owned);
            }
            facts.chassis_nb_cfg = first(1).and_then(|r| r.i64("nb_cfg"));
            facts.nb_cfg = first(2).and_then(|r| r.i64("nb_cfg"));
        }
        Err(e) => facts.error = Some(e.to_string()),
    }
    facts
}

/// Where ovn-controller's pid file may be: `--ovn-rundir`, else the
/// directory of a `unix:` `ovsAddress` (OVS and OVN sharing a run
/// directory, as in the sandbox), then the packaged OVN run directories.
fn rundirs(node: &NodeConfig, rundir: Option<&Path>) -> Vec<PathBuf> {
    if let Some(dir) = rundir {
        return vec![dir.to_owned()];
    }
    let ovs_dir = node
        .ovs_address
        .strip_prefix("unix:")
        .and_then(|socket| Path::new(socket).parent())
        .map(Path::to_owned);
    let mut dirs: Vec<PathBuf> = ovs_dir.into_iter().collect();
    for dir in OVN_RUNDIRS.map(PathBuf::from) {
        if !dirs.contains(&dir) {
            dirs.push(dir);
        }
    }
    dirs
}

/// ovn-controller is running when its pid file names a process whose
/// control socket (`ovn-controller.<pid>.ctl`, next to the pid file)
/// answers `version`. Both are files, so this works from any network
/// namespace, and the pid is only a file name, so also when ovn-controller
/// runs in a container's pid namespace; a hung main loop does not answer.
async fn controller_facts(node: &NodeConfig, rundir: Option<&Path>) -> ControllerFacts {
    let dirs = rundirs(node, rundir);
    let mut facts = ControllerFacts {
        searched: dirs.iter().map(|d| d.display().to_string()).collect(),
        ..ControllerFacts::default()
    };
    let Some((dir, text)) = dirs.iter().find_map(|dir| {
        let text = std::fs::read_to_string(dir.join("ovn-controller.pid")).ok()?;
        Some((dir, text))
    }) else {
        facts.error = Some(format!(
            "no ovn-controller.pid in {}",
            facts.searched.join(", ")
        ));
        return facts;
    };
    let Ok(pid) = text.trim().parse::<u32>() else {
        facts.error = Some(format!(
            "{} does not hold a pid",
            dir.join("ovn-controller.pid").display()
        ));
        return facts;
    };
    facts.pid = Some(pid);
    let socket = dir.join(format!("ovn-controller.{pid}.ctl"));
    let ask = async {
        let client = Client::connect(&format!("unix:{}", socket.display())).await?;
        client.set_request_timeout(CONTROLLER_TIMEOUT);
        client.request("version", serde_json::json!([])).await
    };
    match tokio::time::timeout(CONTROLLER_TIMEOUT, ask).await {
        Ok(Ok(answer)) => {
            facts.running = true;
            facts.version = answer
                .as_str()
                .and_then(|text| text.lines().next())
                .map(str::to_owned);
        }
        Ok(Err(e)) => {
            facts.error = Some(format!(
                "pid {pid}'s control socket {} does not answer: {e}",
                socket.display()
            ))
        }
        Err(_) => {
            facts.error = Some(format!(
                "pid {pid}'s control socket {} gave no answer within {CONTROLLER_TIMEOUT:?}",
                socket.display()
            ))
        }
    }
    facts
}

/// The plugin's localnet networks: their localnet ports' physical network.
async fn localnet_networks(nb: &Client) -> Result<Vec<NetworkMapping>, ovsdb::Error> {
    let rows = nb
        .select(
            NB_DB,
            table::LOGICAL_SWITCH_PORT,
            vec![Condition::eq(column::TYPE, Value::string("localnet"))],
            Some(vec![column::OPTIONS.into(), column::EXTERNAL_IDS.into()]),
        )
        .await?;
    let mut networks: Vec<NetworkMapping> = rows
        .iter()
        .filter_map(|row| {
            Some(NetworkMapping {
                network: row.map(column::EXTERNAL_IDS).remove(ids::NETWORK)?,
                physical_network: row.map(column::OPTIONS).remove(option::NETWORK_NAME)?,
            })
        })
        .collect();
    networks.sort_by(|a, b| a.network.cmp(&b.network));
    networks.dedup();
    Ok(networks)
}
