//! The node config file: written by the node's administrator, not a
//! tenant, but read by a root process on every call, so a broken file must
//! still give an error naming the file and the key, never a panic.

use std::path::{Path, PathBuf};

use conf::{ConfError, NODE_KEYS, NodeConfig, name_rules};
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Map, Value as Json};

use super::config;
use super::strategies::{json, text};

/// A file of this test's own, removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn new(tag: &str) -> TempFile {
        let dir = std::env::temp_dir().join(format!("conf-hostile-node-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempFile(dir.join(format!("{tag}.json")))
    }

    fn load(&self, bytes: &[u8]) -> Result<NodeConfig, ConfError> {
        std::fs::write(&self.0, bytes).unwrap();
        NodeConfig::load_file(&self.0)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// What every loaded node config promises.
fn check_node(node: &NodeConfig) {
    assert!((1..=600).contains(&node.ready_timeout), "{node:?}");
    name_rules::interface_name(&node.bridge).expect("bridge");
    if let Some(chassis) = &node.chassis {
        name_rules::physical_network(chassis).expect("chassis");
    }
    assert!(node.log_file.is_absolute(), "{node:?}");
    assert!(
        ["error", "warn", "info", "debug", "trace"].contains(&node.log_level.as_str()),
        "{node:?}"
    );
    assert!((4096..=1 << 30).contains(&node.log_max_bytes), "{node:?}");
    assert!((1..=100).contains(&node.log_max_files), "{node:?}");
}

/// The error names the file; the reason is returned.
fn reason(err: ConfError, file: &Path) -> String {
    match err {
        ConfError::Node { path, reason } => {
            assert_eq!(path, file.display().to_string());
            reason
        }
        other => panic!("not a node config error: {other:?}"),
    }
}

/// The defaults as a JSON object.
fn defaults() -> Map<String, Json> {
    match serde_json::to_value(NodeConfig::default()).unwrap() {
        Json::Object(object) => object,
        _ => unreachable!("a struct serialises as an object"),
    }
}

proptest! {
    #![proptest_config(config!(128, "node"))]

    /// Any JSON in the file loads into a config that keeps every
    /// invariant, or fails naming the file.
    #[test]
    fn any_node_file_loads_or_names_the_file(value in json()) {
        let file = TempFile::new("any");
        match file.load(&serde_json::to_vec(&value).unwrap()) {
            Ok(node) => check_node(&node),
            Err(err) => {
                let _ = reason(err, &file.0);
            }
        }
    }

    /// One key of the defaults replaced by anything: the config keeps its
    /// invariants, or the reason names that key.
    #[test]
    fn one_bad_node_key_is_named(
        key in prop_oneof![select(&NODE_KEYS[..]).prop_map(String::from), text()],
        value in prop_oneof![json(), text().prop_map(Json::from)],
    ) {
        let mut object = defaults();
        object.insert(key.clone(), value);
        let file = TempFile::new("key");
        match file.load(&serde_json::to_vec(&object).unwrap()) {
            Ok(node) => check_node(&node),
            Err(err) => {
                let reason = reason(err, &file.0);
                let named = reason.contains(&format!("`{key}`"))
                    || reason.contains(&format!("`{key}."))
                    || reason.contains(&format!("`{key}["));
                prop_assert!(named, "{}: {}", key, reason);
            }
        }
    }
}
