//! Node configs of a test's own: chassis N's sandbox config with some keys
//! changed, in a file removed on drop. The only way a test may point the
//! plugin at other databases or timeouts, as for a real administrator.

use std::path::PathBuf;

use serde_json::Value;

use crate::names;
use crate::sandbox::sandbox;

/// A node config file; deleted on drop.
#[derive(Debug)]
pub struct NodeConfigFile {
    path: PathBuf,
    /// What the file holds.
    pub json: Value,
}

impl NodeConfigFile {
    /// Chassis `node`'s sandbox node config with `changes` (`key`, value;
    /// `Null` removes the key) applied.
    pub fn for_node(node: usize, changes: &[(&str, Value)]) -> NodeConfigFile {
        let text = std::fs::read_to_string(sandbox().node_config(node)).expect("node config");
        let mut json: Value = serde_json::from_str(&text).expect("node config is JSON");
        let object = json.as_object_mut().expect("node config is an object");
        for (key, value) in changes {
            if value.is_null() {
                object.remove(*key);
            } else {
                object.insert((*key).to_owned(), value.clone());
            }
        }
        NodeConfigFile::raw(json.to_string().as_bytes(), json)
    }

    /// A file holding exactly `bytes` (for malformed node configs).
    pub fn raw(bytes: &[u8], json: Value) -> NodeConfigFile {
        let path = std::env::temp_dir().join(format!("{}-node.json", names::unique("node")));
        std::fs::write(&path, bytes).expect("write node config");
        NodeConfigFile { path, json }
    }

    /// The file, as `OVN_UDN_CNI_NODE_CONFIG` names it.
    pub fn path(&self) -> String {
        self.path.display().to_string()
    }
}

impl Drop for NodeConfigFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The log file chassis `node`'s sandbox node config names.
pub fn log_file(node: usize) -> PathBuf {
    let text = std::fs::read_to_string(sandbox().node_config(node)).expect("node config");
    let json: Value = serde_json::from_str(&text).expect("node config is JSON");
    PathBuf::from(json["logFile"].as_str().expect("the sandbox sets logFile"))
}
