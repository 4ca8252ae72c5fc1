//! The CNI_* environment, validated the way libcni's skel does.

use std::path::PathBuf;

use conf::shown;

use crate::error::PluginError;

/// The verb a runtime asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Attach the container.
    Add,
    /// Detach it (idempotent).
    Del,
    /// Verify what ADD built.
    Check,
    /// Remove attachments the runtime no longer knows.
    Gc,
    /// Can the plugin serve ADDs?
    Status,
    /// Which spec versions the plugin speaks.
    Version,
}

impl Command {
    /// The CNI_COMMAND spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Command::Add => "ADD",
            Command::Del => "DEL",
            Command::Check => "CHECK",
            Command::Gc => "GC",
            Command::Status => "STATUS",
            Command::Version => "VERSION",
        }
    }

    fn parse(text: &str) -> Result<Command, PluginError> {
        Ok(match text {
            "ADD" => Command::Add,
            "DEL" => Command::Del,
            "CHECK" => Command::Check,
            "GC" => Command::Gc,
            "STATUS" => Command::Status,
            "VERSION" => Command::Version,
            other => {
                return Err(PluginError::Environment(format!(
                    "unknown CNI_COMMAND {other:?}"
                )));
            }
        })
    }

    /// Whether the verb acts on one container (and so needs its id and ifname).
    fn per_container(self) -> bool {
        matches!(self, Command::Add | Command::Del | Command::Check)
    }
}

/// The validated CNI_* variables.
#[derive(Debug, Clone)]
pub struct CniEnv {
    /// CNI_COMMAND.
    pub command: Command,
    /// CNI_CONTAINERID (empty for GC/STATUS).
    pub container_id: String,
    /// CNI_NETNS; `None` when unset or empty (allowed on DEL).
    pub netns: Option<PathBuf>,
    /// CNI_IFNAME (empty for GC/STATUS).
    pub ifname: String,
    /// CNI_ARGS, unparsed.
    pub args: String,
    /// CNI_PATH: where delegated plugins are looked up.
    pub path: String,
}

impl CniEnv {
    /// Reads the process environment. A variable that is not UTF-8 is an
    /// error naming it, never silently dropped.
    pub fn from_process() -> Result<Option<CniEnv>, PluginError> {
        let mut bad = None;
        let env = Self::from_lookup(|key| match std::env::var(key) {
            Ok(value) => Some(value),
            Err(std::env::VarError::NotPresent) => None,
            Err(std::env::VarError::NotUnicode(_)) => {
                bad.get_or_insert(key.to_owned());
                None
            }
        });
        match bad {
            Some(key) => Err(PluginError::Environment(format!(
                "{key} is not valid UTF-8"
            ))),
            None => env,
        }
    }

    /// Validates the variables `lookup` returns; `None` when CNI_COMMAND is
    /// unset (the binary is then a command-line tool for people).
    pub fn from_lookup(
        mut lookup: impl FnMut(&str) -> Option<String>,
    ) -> Result<Option<CniEnv>, PluginError> {
        let Some(command) = lookup("CNI_COMMAND") else {
            return Ok(None);
        };
        let command = Command::parse(&command)?;
        let mut get = |key: &str| lookup(key).filter(|v| !v.is_empty());
        let mut missing = Vec::new();
        let mut require = |key: &'static str, needed: bool| {
            let value = get(key);
            if needed && value.is_none() {
                missing.push(key);
            }
            value.unwrap_or_default()
        };
        let per_container = command.per_container();
        let container_id = require("CNI_CONTAINERID", per_container);
        let netns = require(
            "CNI_NETNS",
            matches!(command, Command::Add | Command::Check),
        );
        let ifname = require("CNI_IFNAME", per_container);
        let path = require("CNI_PATH", command != Command::Version);
        if !missing.is_empty() {
            return Err(PluginError::Environment(format!(
                "required environment variables missing: {}",
                missing.join(", ")
            )));
        }
        if per_container {
            validate_container_id(&container_id)?;
            validate_ifname(&ifname)?;
        }
        Ok(Some(CniEnv {
            command,
            container_id,
            netns: (!netns.is_empty()).then(|| PathBuf::from(netns)),
            ifname,
            args: get("CNI_ARGS").unwrap_or_default(),
            path,
        }))
    }
}

/// `^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$`, as libcni, and bounded.
fn validate_container_id(id: &str) -> Result<(), PluginError> {
    conf::name_rules::container_id(id)
        .map_err(|why| PluginError::Environment(format!("CNI_CONTAINERID {} {why}", shown(id))))
}

/// An interface name the kernel takes literally (no `%` template, no
/// `all`/`default`, printable ASCII, 1-15 bytes).
fn validate_ifname(name: &str) -> Result<(), PluginError> {
    conf::name_rules::interface_name(name)
        .map_err(|why| PluginError::Environment(format!("CNI_IFNAME {} {why}", shown(name))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> Result<Option<CniEnv>, PluginError> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        CniEnv::from_lookup(|key| vars.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()))
    }

    const ADD: [(&str, &str); 5] = [
        ("CNI_COMMAND", "ADD"),
        ("CNI_CONTAINERID", "abc123"),
        ("CNI_NETNS", "/var/run/netns/x"),
        ("CNI_IFNAME", "ovn-udn1"),
        ("CNI_PATH", "/opt/cni/bin"),
    ];

    #[test]
    fn no_command_means_command_line_use() {
        assert!(env(&[]).expect("ok").is_none());
    }

    #[test]
    fn complete_add_env_is_accepted() {
        let e = env(&ADD).expect("ok").expect("cni");
        assert_eq!((e.command, e.ifname.as_str()), (Command::Add, "ovn-udn1"));
    }

    #[test]
    fn missing_variables_are_named() {
        let err = env(&ADD[..2]).expect_err("missing");
        assert_eq!(err.code(), 4);
        let msg = err.to_string();
        assert!(
            msg.contains("CNI_NETNS") && msg.contains("CNI_IFNAME") && msg.contains("CNI_PATH"),
            "{msg}"
        );
    }

    #[test]
    fn del_allows_an_empty_netns() {
        let mut vars = ADD.to_vec();
        vars[0] = ("CNI_COMMAND", "DEL");
        vars[2] = ("CNI_NETNS", "");
        assert!(env(&vars).expect("ok").expect("cni").netns.is_none());
    }

    #[test]
    fn bad_ids_and_ifnames_are_rejected() {
        let long_id = "a".repeat(129);
        for (key, value) in [
            ("CNI_CONTAINERID", "-abc"),
            ("CNI_CONTAINERID", "a/b"),
            ("CNI_IFNAME", "a-very-long-ifname"),
            ("CNI_IFNAME", "eth/0"),
            ("CNI_IFNAME", ".."),
            ("CNI_IFNAME", "eth%d"),
            ("CNI_IFNAME", "all"),
            ("CNI_IFNAME", "default"),
            ("CNI_IFNAME", "a\u{7}b"),
            ("CNI_CONTAINERID", &long_id),
            ("CNI_COMMAND", "FROB"),
        ] {
            let mut vars = ADD.to_vec();
            let slot = vars.iter_mut().find(|(k, _)| *k == key).expect("key");
            slot.1 = value;
            let err = env(&vars).expect_err(value);
            assert_eq!(err.code(), 4, "{value}");
            assert!(
                err.to_string().contains(key.trim_start_matches("CNI_")) || key == "CNI_COMMAND"
            );
        }
    }
}
