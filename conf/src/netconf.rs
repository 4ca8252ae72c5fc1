//! The network config as it arrives on stdin: a JSON object whose keys are
//! decoded one at a time, when a verb needs them. DEL and GC read only what
//! names an attachment, so a key only ADD uses can never keep a runtime from
//! cleaning up; every decode error names the key path at fault.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::{ConfError, NODE_KEYS};

/// Largest network config accepted: a NetworkAttachmentDefinition is a
/// Kubernetes object (at most ~1.5 MB), plus the runtime's additions.
pub const MAX_CONFIG_BYTES: usize = 4 << 20;

/// The network config: ovn-kubernetes' keys plus the CNI spec's own
/// (`runtimeConfig`, `args`, `prevResult`, GC's attachments). Unknown keys
/// are tolerated, as the spec asks.
#[derive(Debug, Clone, Default)]
pub struct NetConf {
    object: Map<String, Value>,
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
    /// Decodes the config from stdin bytes: a JSON object of bounded size.
    pub fn from_slice(bytes: &[u8]) -> Result<NetConf, ConfError> {
        if bytes.len() > MAX_CONFIG_BYTES {
            return Err(ConfError::decode(
                "",
                format!(
                    "{} bytes on stdin, more than the limit of {MAX_CONFIG_BYTES}",
                    bytes.len()
                ),
            ));
        }
        match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(object)) => Ok(NetConf { object }),
            Ok(other) => Err(ConfError::decode(
                "",
                format!("the config must be a JSON object, not {}", kind(&other)),
            )),
            Err(e) => Err(ConfError::decode("", e.to_string())),
        }
    }

    /// The value at `path` (`["args", "cni", "ips"]`) decoded as `T`;
    /// `None` when absent or null. A wrong type anywhere on the way is a
    /// decode error naming the full path (`args.cni.ips[1]`).
    pub fn get_at<T: DeserializeOwned>(&self, path: &[&str]) -> Result<Option<T>, ConfError> {
        let Some((first, rest)) = path.split_first() else {
            return Ok(None);
        };
        let mut value = self.object.get(*first);
        let mut walked = (*first).to_owned();
        for key in rest {
            value = match value {
                None | Some(Value::Null) => None,
                Some(Value::Object(object)) => object.get(*key),
                Some(other) => {
                    return Err(ConfError::decode(
                        walked,
                        format!("expected an object, found {}", kind(other)),
                    ));
                }
            };
            walked = format!("{walked}.{key}");
        }
        match value {
            None | Some(Value::Null) => Ok(None),
            Some(value) => serde_path_to_error::deserialize(value)
                .map(Some)
                .map_err(|e| {
                    let inner = e.path().to_string();
                    let full = match inner.as_str() {
                        "." => walked.clone(),
                        p if p.starts_with('[') => format!("{walked}{p}"),
                        p => format!("{walked}.{p}"),
                    };
                    ConfError::decode(full, bounded(&e.into_inner().to_string()))
                }),
        }
    }

    /// Top-level key `key` decoded as `T`; see [`NetConf::get_at`].
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, ConfError> {
        self.get_at(&[key])
    }

    /// Whether top-level key `key` is present (and not null).
    pub fn has(&self, key: &str) -> bool {
        self.object.get(key).is_some_and(|v| !v.is_null())
    }

    /// The raw value of a top-level key (`prevResult`, `ipam`).
    pub fn raw(&self, key: &str) -> Option<&Value> {
        self.object.get(key).filter(|v| !v.is_null())
    }

    /// `cniVersion`, the spec version of the config and of the answer.
    pub fn cni_version(&self) -> Result<Option<String>, ConfError> {
        self.get("cniVersion")
    }

    /// Refuses a node setting (`nbAddress`, `bridge`, `readyTimeout` ...):
    /// the config comes from whoever may write a NetworkAttachmentDefinition,
    /// who must never choose what the node talks to.
    pub fn refuse_node_settings(&self) -> Result<(), ConfError> {
        match NODE_KEYS.iter().find(|key| self.object.contains_key(**key)) {
            Some(key) => Err(ConfError::NodeSetting((*key).to_owned())),
            None => Ok(()),
        }
    }
}

/// A decoder's message, which quotes the offending value whole (`invalid
/// type: string "..."`), cut to a length fit for an answer and a log line.
fn bounded(reason: &str) -> String {
    const MAX_BYTES: usize = 256;
    if reason.len() <= MAX_BYTES {
        return reason.to_owned();
    }
    let mut end = MAX_BYTES;
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}... ({} bytes)", &reason[..end], reason.len())
}

/// What a JSON value is, for messages.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf(json: &str) -> NetConf {
        NetConf::from_slice(json.as_bytes()).expect("object")
    }

    #[test]
    fn only_objects_are_configs() {
        for (text, needle) in [
            ("[]", "an array"),
            (r#"["unix:/x"]"#, "an array"),
            ("5", "a number"),
            ("{", "EOF"),
        ] {
            let err = NetConf::from_slice(text.as_bytes()).expect_err(text);
            assert!(matches!(err, ConfError::Decode { .. }));
            assert!(err.to_string().contains(needle), "{text}: {err}");
        }
        let huge = vec![b' '; MAX_CONFIG_BYTES + 1];
        assert!(NetConf::from_slice(&huge).is_err());
    }

    #[test]
    fn decode_errors_name_the_key_path() {
        let c = conf(
            r#"{"mtu":"big","runtimeConfig":{"ips":["10.0.0.1",7]},"args":{"cni":5},"dns":{"nameservers":5}}"#,
        );
        let err = c.get::<u32>("mtu").expect_err("mtu").to_string();
        assert!(
            err.contains("`mtu`") && err.contains("invalid type"),
            "{err}"
        );
        let err = c
            .get::<RuntimeConfig>("runtimeConfig")
            .expect_err("ips")
            .to_string();
        assert!(err.contains("`runtimeConfig.ips[1]`"), "{err}");
        let err = c
            .get_at::<String>(&["args", "cni", "mac"])
            .expect_err("args.cni")
            .to_string();
        assert!(
            err.contains("`args.cni`") && err.contains("a number"),
            "{err}"
        );
        let err = c
            .get_at::<Vec<String>>(&["dns", "nameservers"])
            .expect_err("dns")
            .to_string();
        assert!(err.contains("`dns.nameservers`"), "{err}");
    }

    #[test]
    fn absent_and_null_keys_are_none() {
        let c = conf(r#"{"name":"n","subnets":null,"args":{"cni":{}}}"#);
        assert_eq!(c.get::<String>("subnets").expect("null"), None);
        assert_eq!(c.get::<String>("nope").expect("absent"), None);
        assert_eq!(
            c.get_at::<String>(&["args", "cni", "mac"]).expect("absent"),
            None
        );
        assert!(c.has("name") && !c.has("subnets"));
    }

    #[test]
    fn node_settings_are_refused_by_name() {
        for key in NODE_KEYS {
            let c = conf(&format!(r#"{{"name":"n","{key}":1}}"#));
            let err = c.refuse_node_settings().expect_err(key).to_string();
            assert!(err.contains(key) && err.contains("node setting"), "{err}");
        }
        assert!(conf(r#"{"name":"n"}"#).refuse_node_settings().is_ok());
    }
}
