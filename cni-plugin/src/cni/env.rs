//! The CNI_* environment, validated the way libcni's skel does.

use std::path::PathBuf;

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
    /// Reads the process environment.
    pub fn from_process() -> Result<Option<CniEnv>, PluginError> {
        Self::from_lookup(|key| std::env::var(key).ok())
    }

    /// Validates the variables `lookup` returns; `None` when CNI_COMMAND is
    /// unset (the binary is then a command-line tool for people).
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<CniEnv>, PluginError> {
        let Some(command) = lookup("CNI_COMMAND") else {
            return Ok(None);
        };
        let command = Command::parse(&command)?;
        let get = |key: &str| lookup(key).filter(|v| !v.is_empty());
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
            args: lookup("CNI_ARGS").unwrap_or_default(),
            path,
        }))
    }
}

/// `^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$`, as libcni.
fn validate_container_id(id: &str) -> Result<(), PluginError> {
    let mut chars = id.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    if !first_ok || !chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c)) {
        return Err(PluginError::Environment(format!(
            "CNI_CONTAINERID {id:?} has invalid characters (allowed: letters, digits, '_', '.', '-', starting with a letter or digit)"
        )));
    }
    Ok(())
}

/// Linux interface name rules, as libcni's ValidateInterfaceName.
fn validate_ifname(name: &str) -> Result<(), PluginError> {
    let reason = if name.len() > 15 {
        Some("is longer than 15 characters")
    } else if name == "." || name == ".." {
        Some("is not a valid name")
    } else if name
        .chars()
        .any(|c| c == '/' || c == ':' || c.is_whitespace())
    {
        Some("contains '/', ':' or whitespace")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(PluginError::Environment(format!(
            "CNI_IFNAME {name:?} {reason}"
        ))),
        None => Ok(()),
    }
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
        for (key, value) in [
            ("CNI_CONTAINERID", "-abc"),
            ("CNI_CONTAINERID", "a/b"),
            ("CNI_IFNAME", "a-very-long-ifname"),
            ("CNI_IFNAME", "eth/0"),
            ("CNI_IFNAME", ".."),
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
