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

    /// Name of the network's layer2 logical switch.
    pub fn switch_name(&self) -> String {
        format!("{}ovn_layer2_switch", ovn_prefix(&self.name))
    }

    /// Every LSP the network has in NB now.
    pub fn lsp_names(&self) -> std::collections::BTreeSet<String> {
        ovn::lsp_names_of_network(&self.name, &self.switch_name())
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        // Best effort: a leftover switch must not turn a passing test red.
        let Some(sb) = crate::sandbox::try_sandbox() else {
            return;
        };
        let _ = crate::process::attempt(
            "ovn-nbctl",
            &[
                &format!("--db={}", sb.nb_remote()),
                "--if-exists",
                "ls-del",
                &self.switch_name(),
            ],
        );
    }
}
