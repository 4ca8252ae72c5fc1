//! A test network: its CNI config and, on drop, removal of what OVN keeps for it.

use serde_json::{Value, json};

use crate::names;
use crate::ovn;

/// One User-Defined Network owned by a test. Dropping it deletes its logical
/// switch from NB, so repeated runs leave nothing behind. Declare it before
/// the pods that use it: locals drop in reverse order, pods first.
#[derive(Debug)]
pub struct Network {
    /// Network `name` (unique per test and run).
    pub name: String,
    /// The network config fed to the plugin (without per-call keys).
    pub conf: Value,
}

/// `x` with `-` and `/` replaced by `.`, then `_` appended (ovn-kubernetes' prefix).
pub fn ovn_prefix(x: &str) -> String {
    format!("{}_", x.replace(['-', '/'], "."))
}

impl Network {
    /// A primary layer2 network on `subnets`, cniVersion 1.1.0, with a
    /// `netAttachDefName` of `e2e/<name>`; `tag` becomes part of the name.
    pub fn layer2(tag: &str, subnets: &str) -> Network {
        let name = names::unique(tag);
        let conf = json!({
            "cniVersion": "1.1.0",
            "name": name,
            "type": "ovn-udn-cni",
            "topology": "layer2",
            "role": "primary",
            "subnets": subnets,
            "netAttachDefName": format!("e2e/{name}"),
        });
        Network { name, conf }
    }

    /// A secondary layer3 network on `subnets` (`CIDR[/hostPrefix]`,
    /// comma-separated); `tag` becomes part of the name.
    pub fn layer3(tag: &str, subnets: &str) -> Network {
        Network::layer2(tag, subnets)
            .with("topology", json!("layer3"))
            .with("role", json!("secondary"))
    }

    /// A localnet network onto the sandbox's physical network `physnet`,
    /// with `subnets` (empty: no IPAM); `tag` becomes part of the name.
    pub fn localnet(tag: &str, physnet: &str, subnets: &str) -> Network {
        let net = Network::layer2(tag, subnets)
            .with("topology", json!("localnet"))
            .with("role", json!("secondary"))
            .with("physicalNetworkName", json!(physnet));
        if subnets.is_empty() {
            net.with("subnets", Value::Null)
        } else {
            net
        }
    }

    /// Sets top-level config key `key` (or removes it with `Value::Null`).
    pub fn with(mut self, key: &str, value: Value) -> Network {
        let obj = self.conf.as_object_mut().expect("config is an object");
        if value.is_null() {
            obj.remove(key);
        } else {
            obj.insert(key.into(), value);
        }
        self
    }

    /// The config at spec version `version`.
    pub fn config_at(&self, version: &str) -> Value {
        let mut conf = self.conf.clone();
        conf["cniVersion"] = json!(version);
        conf
    }

    /// The configured `cniVersion`.
    pub fn version(&self) -> &str {
        self.conf["cniVersion"].as_str().unwrap_or("1.1.0")
    }

    /// `netAttachDefName`, if set.
    pub fn nad(&self) -> Option<&str> {
        self.conf["netAttachDefName"].as_str()
    }

    /// The `topology` of the config.
    pub fn topology(&self) -> &str {
        self.conf["topology"].as_str().unwrap_or("layer2")
    }

    /// Name of the logical switch pods on chassis `node<node>` plug into.
    pub fn switch_on(&self, node: usize) -> String {
        let prefix = ovn_prefix(&self.name);
        match self.topology() {
            "layer3" => format!("{prefix}node{node}"),
            "localnet" => format!("{prefix}ovn_localnet_switch"),
            _ => format!("{prefix}ovn_layer2_switch"),
        }
    }

    /// Name of the network's one switch (layer2, localnet).
    pub fn switch_name(&self) -> String {
        self.switch_on(1)
    }

    /// Name of a layer3 network's cluster router.
    pub fn router_name(&self) -> String {
        format!("{}ovn_cluster_router", ovn_prefix(&self.name))
    }

    /// Every switch of the network in NB (tagged with it), and its one
    /// switch's name even if untagged or not created yet.
    fn switch_names(&self) -> Vec<String> {
        ovn::switches_of_network(&self.name)
            .iter()
            .filter_map(|ls| ovn::column_str(ls, "name").map(str::to_owned))
            .chain([self.switch_name()])
            .collect()
    }

    /// Every pod LSP the network has in NB now (router and localnet ports,
    /// which belong to the topology, are not counted).
    pub fn lsp_names(&self) -> std::collections::BTreeSet<String> {
        ovn::lsp_names_of_network(&self.name, &self.switch_names())
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        // Best effort: a leftover switch must not turn a passing test red.
        let Some(sb) = crate::sandbox::try_sandbox() else {
            return;
        };
        let db = format!("--db={}", sb.nb_remote());
        let nbctl =
            |args: &[&str]| crate::process::attempt("ovn-nbctl", &[&[db.as_str()], args].concat());
        let tagged = |table: &str| {
            let tag = format!("external_ids:k8s.ovn.org/network={}", self.name);
            nbctl(&["--bare", "--columns=name", "find", table, &tag])
                .stdout_text()
                .split_whitespace()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        // Its ports on the chassis' shared egress routers first: a later
        // network may get the same link subnet.
        for port in tagged("Logical_Router_Port") {
            nbctl(&["--if-exists", "lrp-del", &port]);
        }
        for router in tagged("Logical_Router") {
            nbctl(&["--if-exists", "lr-del", &router]);
        }
        for switch in &self.switch_names() {
            nbctl(&["--if-exists", "ls-del", switch]);
        }
        nbctl(&["--if-exists", "lr-del", &self.router_name()]);
    }
}
