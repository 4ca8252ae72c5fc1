//! The middle test tier: the real OVN write layer against a real
//! ovsdb-server loaded with the OVN Northbound schema. Each test starts its
//! own server (a child process in a fresh temp dir, killed, reaped and the
//! dir removed on drop, also when the test panics). A missing ovsdb-server,
//! ovsdb-tool or schema fails the test, naming the Debian packages: a tier
//! that skips itself would look like a pass.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::collections::BTreeMap;
use std::future::Future;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use conf::{NetConf, Network, StaticIp};
use ovn_udn_cni::error::PluginError;
use ovn_udn_cni::ovn::port::record::{Attachment, attached_at_now, attachment_id};
use ovn_udn_cni::ovn::port::{self, LogicalPort, PortRequest};
use ovn_udn_cni::topology::{self, Segment};
use ovn_udn_cni::vocabulary::{NB_DB, column, ids, option, table};
use ovsdb::{Client, Condition, Row, Value};
use tokio::task::LocalSet;

/// The OVN Northbound schema (Debian: ovn-common).
pub const NB_SCHEMA: &str = "/usr/share/ovn/ovn-nb.ovsschema";
/// What to install when the tools or the schema are missing.
const PACKAGES: &str = "install the Debian packages openvswitch-common (ovsdb-server, ovsdb-tool) \
                        and ovn-common (ovn-nb.ovsschema): apt-get install openvswitch-common ovn-common";

/// A temp dir removed on drop, also when the test panics.
pub struct TempDir(PathBuf);

impl TempDir {
    /// A fresh, empty dir unique to this process and call.
    pub fn new(tag: &str) -> TempDir {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "udn-nb-{tag}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running ovsdb-server serving an empty OVN_Northbound database.
pub struct Nb {
    child: Child,
    // Dropped after Drop::drop has killed the server.
    dir: TempDir,
    /// `unix:<socket>` remote.
    pub remote: String,
}

impl Nb {
    /// Starts ovsdb-server on a fresh NB database; panics (the test fails)
    /// if it cannot.
    pub fn start() -> Nb {
        assert!(
            Path::new(NB_SCHEMA).is_file(),
            "the OVN NB schema {NB_SCHEMA} is missing: {PACKAGES}"
        );
        let dir = TempDir::new("nb");
        let db = dir.path().join("nb.db");
        let out = Command::new("ovsdb-tool")
            .arg("create")
            .arg(&db)
            .arg(NB_SCHEMA)
            .output()
            .unwrap_or_else(|e| panic!("cannot run ovsdb-tool ({e}): {PACKAGES}"));
        assert!(
            out.status.success(),
            "ovsdb-tool create failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let sock = dir.path().join("nb.sock");
        let child = Command::new("ovsdb-server")
            .arg(&db)
            .arg(format!("--remote=punix:{}", sock.display()))
            .arg(format!("--unixctl={}", dir.path().join("ctl").display()))
            .arg(format!("--pidfile={}", dir.path().join("pid").display()))
            .arg(format!("--log-file={}", dir.path().join("log").display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start ovsdb-server ({e}): {PACKAGES}"));
        let mut nb = Nb {
            child,
            dir,
            remote: format!("unix:{}", sock.display()),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !sock.exists() {
            if let Some(status) = nb.child.try_wait().unwrap() {
                panic!("ovsdb-server exited with {status}: {}", nb.log());
            }
            assert!(
                Instant::now() < deadline,
                "ovsdb-server socket never appeared"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        nb
    }

    /// A new connection of its own (its own [`Client::traffic`]).
    pub async fn connect(&self) -> Client {
        Client::connect(&self.remote)
            .await
            .unwrap_or_else(|e| panic!("connecting to {}: {e}\n{}", self.remote, self.log()))
    }

    /// The server's log, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }
}

impl Drop for Nb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A network from its JSON config.
pub fn network(json: &str) -> Network {
    let conf = NetConf::from_slice(json.as_bytes()).unwrap();
    Network::from_conf(&conf).unwrap_or_else(|e| panic!("invalid test network {json}: {e}"))
}

/// The segment of a layer2 or localnet network (layer3 needs NB: see
/// `ovn::segment::prepare`).
pub fn layer2(network: &Network) -> Segment {
    topology::segment(network, "", &[])
}

/// `10.1.0.5`, or `10.1.0.5/24`, as a static address.
pub fn static_ip(text: &str) -> StaticIp {
    StaticIp::parse(text).unwrap()
}

/// One ADD's attachment, as the plugin fills a [`PortRequest`]: a pod
/// (or a plain container without namespace), or an IPAM claim's VM.
#[derive(Debug, Clone)]
pub struct Add {
    /// LSP name.
    pub name: String,
    /// Container id.
    pub sandbox: String,
    /// Chassis (`requested-chassis`).
    pub chassis: String,
    /// Pod namespace; `None` for a plain container.
    pub namespace: Option<String>,
    /// NAD `namespace/name`.
    pub nad: Option<String>,
    /// Interface in the container.
    pub ifname: String,
    /// IPAM claim `namespace/claim`.
    pub claim: Option<String>,
    /// Static addresses.
    pub static_ips: Vec<StaticIp>,
    /// DHCP_Options references.
    pub dhcp: Vec<(&'static str, String)>,
}

impl Add {
    /// Pod `ns/<name>` on `chassis`, sandbox `sb-<name>`, `eth0`.
    pub fn pod(name: &str, chassis: &str) -> Add {
        Add {
            name: name.to_owned(),
            sandbox: format!("sb-{name}"),
            chassis: chassis.to_owned(),
            namespace: Some("ns".to_owned()),
            nad: Some("ns/nad".to_owned()),
            ifname: "eth0".to_owned(),
            claim: None,
            static_ips: Vec::new(),
            dhcp: Vec::new(),
        }
    }

    /// This attachment with another sandbox.
    pub fn sandbox(mut self, sandbox: &str) -> Add {
        sandbox.clone_into(&mut self.sandbox);
        self
    }

    /// This attachment with static addresses.
    pub fn statics(mut self, ips: &[&str]) -> Add {
        self.static_ips = ips.iter().map(|ip| static_ip(ip)).collect();
        self
    }

    /// The port's external_ids as `ovn::ids::lsp_external_ids` fills them.
    pub fn external_ids(&self, network: &Network) -> Vec<(String, String)> {
        let mut pairs: Vec<(String, String)> = vec![
            (ids::POD.into(), "true".into()),
            (ids::NETWORK.into(), network.id.name.clone()),
            (ids::TOPOLOGY.into(), network.topology.as_str().into()),
        ];
        if let Some(ns) = &self.namespace {
            pairs.push((ids::NAMESPACE.into(), ns.clone()));
        }
        if let Some(nad) = &self.nad {
            pairs.push((ids::NAD.into(), nad.clone()));
        }
        pairs.push(attached_at_now());
        match &self.claim {
            Some(claim) => {
                pairs.push((ids::CLAIM.into(), claim.clone()));
                pairs.push(attachment_id(&Attachment {
                    chassis: self.chassis.clone(),
                    sandbox: self.sandbox.clone(),
                    ifname: self.ifname.clone(),
                }));
            }
            None => {
                pairs.push((ids::SANDBOX.into(), self.sandbox.clone()));
                pairs.push((ids::POD_IF_NAME.into(), self.ifname.clone()));
            }
        }
        pairs
    }

    /// `create_port` of this attachment on `segment` of `network`.
    pub async fn run(
        &self,
        nb: &Client,
        network: &Network,
        segment: &Segment,
    ) -> Result<LogicalPort, PluginError> {
        let local_addresses = chassis_addresses(nb, &network.id.name, &self.chassis).await;
        let request = PortRequest {
            name: &self.name,
            network: &network.id.name,
            sandbox: &self.sandbox,
            chassis: &self.chassis,
            local_addresses: &local_addresses,
            claim: self.claim.as_deref(),
            pod_namespace: self.namespace.as_deref(),
            nad: self.nad.as_deref(),
            ifname: &self.ifname,
            switch: &segment.switch,
            pool: segment.pool(),
            static_ips: &self.static_ips,
            static_mac: None,
            random_mac: conf::random_local_mac([7, 7, 7, 7, 7, 7]),
            external_ids: self.external_ids(network),
            options: vec![(option::REQUESTED_CHASSIS.into(), self.chassis.clone())],
            dhcp: self.dhcp.clone(),
        };
        port::create_port(nb, &request).await
    }
}

/// What the chassis' OVS would tell the plugin: the addresses of the
/// network's ports bound there (no OVS in this tier, so read from the NB).
async fn chassis_addresses(nb: &Client, network: &str, chassis: &str) -> Vec<IpAddr> {
    let rows = nb
        .select(
            NB_DB,
            table::LOGICAL_SWITCH_PORT,
            vec![
                Condition::includes(
                    column::EXTERNAL_IDS,
                    Value::string_map([(ids::NETWORK, network)]),
                ),
                Condition::includes(
                    column::OPTIONS,
                    Value::string_map([(option::REQUESTED_CHASSIS, chassis)]),
                ),
            ],
            Some(vec![column::ADDRESSES.into()]),
        )
        .await
        .expect("read the chassis' ports");
    rows.iter()
        .flat_map(|row| row.strings(column::ADDRESSES))
        .flat_map(|entry| {
            entry
                .split_whitespace()
                .skip(1)
                .filter_map(|word| word.parse::<IpAddr>().ok())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The first address of a port, without prefix, as text.
pub fn ip(port: &LogicalPort) -> String {
    port.addresses[0].addr().to_string()
}

/// Rows of `table` whose `name` is `name`.
pub async fn rows_named(nb: &Client, table: &str, name: &str) -> Vec<Row> {
    nb.select(
        NB_DB,
        table,
        vec![Condition::eq(column::NAME, Value::string(name))],
        None,
    )
    .await
    .unwrap()
}

/// The one Logical_Switch_Port named `name`; panics unless exactly one.
pub async fn lsp(nb: &Client, name: &str) -> Row {
    let mut rows = rows_named(nb, table::LOGICAL_SWITCH_PORT, name).await;
    assert_eq!(rows.len(), 1, "ports named {name}: {rows:?}");
    rows.remove(0)
}

/// Every row of `table`.
pub async fn all_rows(nb: &Client, table: &str) -> Vec<Row> {
    nb.select(NB_DB, table, vec![], None).await.unwrap()
}

/// The one Logical_Switch named `name`; panics unless exactly one.
pub async fn switch(nb: &Client, name: &str) -> Row {
    let mut rows = rows_named(nb, table::LOGICAL_SWITCH, name).await;
    assert_eq!(rows.len(), 1, "switches named {name}: {rows:?}");
    rows.remove(0)
}

/// A row's external_ids.
pub fn external_ids(row: &Row) -> BTreeMap<String, String> {
    row.map(column::EXTERNAL_IDS)
}

/// A row's options.
pub fn options(row: &Row) -> BTreeMap<String, String> {
    row.map(column::OPTIONS)
}

/// The CNI code and message of a failed call.
pub fn failure<T: std::fmt::Debug>(result: Result<T, PluginError>) -> (u64, String) {
    let err = result.expect_err("expected a failure");
    (err.code(), err.to_string())
}

/// Runs `jobs` as tasks all at once and returns their outputs in order.
/// A `LocalSet`, as the plugin runs on a current-thread runtime: the
/// futures of `create_port` are not `Send`.
pub async fn race<T: 'static>(jobs: Vec<impl Future<Output = T> + 'static>) -> Vec<T> {
    LocalSet::new()
        .run_until(async {
            let tasks: Vec<_> = jobs.into_iter().map(tokio::task::spawn_local).collect();
            let mut outputs = Vec::new();
            for task in tasks {
                outputs.push(task.await.unwrap());
            }
            outputs
        })
        .await
}
