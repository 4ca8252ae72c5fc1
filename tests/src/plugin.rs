//! Executing the plugin binary the way a container runtime does: inside the
//! chassis namespace, CNI_* variables in the environment, config on stdin.

use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::process;
use crate::sandbox::sandbox;

/// Longest a single plugin run may take (the plugin's own `readyTimeout` is 30 s).
pub const PLUGIN_TIMEOUT: Duration = Duration::from_secs(90);

/// One plugin execution, built up and then [`Call::run`].
#[derive(Debug, Clone)]
pub struct Call {
    /// Chassis whose namespace and node config the plugin runs with.
    pub node: usize,
    /// `(name, value)` CNI variables; `None` leaves a variable unset.
    pub env: Vec<(String, Option<String>)>,
    /// Bytes fed on stdin (normally the network config JSON).
    pub stdin: Vec<u8>,
    /// The executable to run instead of the sandbox's plugin binary.
    pub binary: Option<std::path::PathBuf>,
    /// Variables whose values are not UTF-8 (hostile input).
    pub os_env: Vec<(String, std::ffi::OsString)>,
}

impl Call {
    /// A call of `command` on chassis `node` with no other variable set yet.
    pub fn new(command: &str, node: usize) -> Call {
        let node_config = sandbox().node_config(node).display().to_string();
        Call {
            node,
            env: vec![
                ("CNI_COMMAND".into(), Some(command.into())),
                ("CNI_PATH".into(), Some("/opt/cni/bin".into())),
                ("OVN_UDN_CNI_NODE_CONFIG".into(), Some(node_config)),
            ],
            stdin: Vec::new(),
            binary: None,
            os_env: Vec::new(),
        }
    }

    /// Sets variable `name` to raw bytes (which need not be UTF-8).
    pub fn var_bytes(mut self, name: &str, value: &[u8]) -> Call {
        use std::os::unix::ffi::OsStringExt;
        self.env.retain(|(n, _)| n != name);
        self.os_env
            .push((name.into(), std::ffi::OsString::from_vec(value.to_vec())));
        self
    }

    /// Runs `path` (an installed copy or alias of the plugin) instead.
    pub fn binary(mut self, path: &std::path::Path) -> Call {
        self.binary = Some(path.to_owned());
        self
    }

    /// Sets (or with `None` unsets) variable `name`.
    pub fn var(mut self, name: &str, value: Option<&str>) -> Call {
        self.env.retain(|(n, _)| n != name);
        self.env.push((name.into(), value.map(str::to_owned)));
        self
    }

    /// Feeds `config` as the network config on stdin.
    pub fn config(mut self, config: &Value) -> Call {
        self.stdin = serde_json::to_vec(config).expect("config serialises");
        self
    }

    /// Feeds raw bytes on stdin (for malformed input).
    pub fn raw_stdin(mut self, bytes: &[u8]) -> Call {
        self.stdin = bytes.to_vec();
        self
    }

    /// Runs the binary inside the chassis namespace and returns its reply.
    pub fn run(&self) -> Reply {
        let sb = sandbox();
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &sb.node_netns(self.node)])
            .arg(self.binary.as_ref().unwrap_or(&sb.bin))
            .env_clear()
            .env(
                "PATH",
                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            );
        for (name, value) in &self.env {
            if let Some(value) = value {
                cmd.env(name, value);
            }
        }
        for (name, value) in &self.os_env {
            cmd.env(name, value);
        }
        let done = process::run(&mut cmd, &self.stdin, PLUGIN_TIMEOUT);
        let stdout = done.stdout_text();
        Reply {
            call: self.clone(),
            json: serde_json::from_str(&stdout).ok(),
            code: done.code,
            timed_out: done.timed_out,
            stdout,
            stderr: done.stderr,
        }
    }
}

/// Runs the binary as a command-line tool (no CNI_COMMAND), with chassis
/// 1's node config; `ovn-udn-cni <args>`.
pub fn cli(args: &[&str]) -> process::Finished {
    let sb = sandbox();
    let mut cmd = Command::new(&sb.bin);
    cmd.args(args)
        .env_remove("CNI_COMMAND")
        .env("OVN_UDN_CNI_NODE_CONFIG", sb.node_config(1));
    process::run(&mut cmd, &[], PLUGIN_TIMEOUT)
}

/// Runs the binary as a command-line tool inside chassis `node`'s
/// namespace with `node_config` (as the node collector runs on a node).
pub fn cli_on(node: usize, node_config: &str, args: &[&str]) -> process::Finished {
    let sb = sandbox();
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", &sb.node_netns(node)])
        .arg(&sb.bin)
        .args(args)
        .env_remove("CNI_COMMAND")
        .env("OVN_UDN_CNI_NODE_CONFIG", node_config);
    process::run(&mut cmd, &[], PLUGIN_TIMEOUT)
}

/// What the plugin answered.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The call that produced it (for failure messages).
    pub call: Call,
    /// Exit code (`None`: killed by a signal or by our timeout).
    pub code: Option<i32>,
    /// True when it ran longer than [`PLUGIN_TIMEOUT`].
    pub timed_out: bool,
    /// Raw stdout.
    pub stdout: String,
    /// Raw stderr.
    pub stderr: String,
    /// stdout parsed as JSON, when it is JSON.
    pub json: Option<Value>,
}

impl Reply {
    /// True when the plugin exited 0.
    pub fn ok(&self) -> bool {
        self.code == Some(0) && !self.timed_out
    }

    /// Panics unless the plugin exited 0; returns the parsed stdout (`Null` when empty).
    pub fn expect_ok(&self, what: &str) -> Value {
        assert!(self.ok(), "{what}: plugin failed: {}", self.describe());
        if self.stdout.trim().is_empty() {
            return Value::Null;
        }
        self.json
            .clone()
            .unwrap_or_else(|| panic!("{what}: stdout is not JSON: {}", self.describe()))
    }

    /// Panics unless the plugin failed with CNI error `code` in a well-formed
    /// error object; returns its `msg`.
    pub fn expect_error(&self, code: u64, what: &str) -> String {
        assert!(
            !self.ok() && !self.timed_out,
            "{what}: expected error code {code}, plugin succeeded or hung: {}",
            self.describe()
        );
        let json = self
            .json
            .as_ref()
            .unwrap_or_else(|| panic!("{what}: error stdout is not JSON: {}", self.describe()));
        assert_eq!(
            json["code"].as_u64(),
            Some(code),
            "{what}: wrong error code: {}",
            self.describe()
        );
        assert!(
            json["cniVersion"].is_string(),
            "{what}: error lacks cniVersion: {}",
            self.describe()
        );
        let msg = json["msg"].as_str().unwrap_or_default().to_owned();
        assert!(
            !msg.is_empty(),
            "{what}: error has no msg: {}",
            self.describe()
        );
        msg
    }

    /// Panics unless the plugin failed with CNI error `code` whose `msg` or
    /// `details` contains one of `needles` (case-insensitive).
    pub fn expect_error_naming(&self, code: u64, needles: &[&str], what: &str) {
        self.expect_error(code, what);
        self.assert_names(needles, what);
    }

    /// Panics unless the plugin failed with a well-formed CNI error (any code)
    /// whose `msg` or `details` contains one of `needles`, case-insensitively.
    pub fn expect_failure_naming(&self, needles: &[&str], what: &str) {
        assert!(
            !self.ok() && !self.timed_out,
            "{what}: expected a failure, plugin succeeded or hung: {}",
            self.describe()
        );
        let json = self
            .json
            .as_ref()
            .unwrap_or_else(|| panic!("{what}: error stdout is not JSON: {}", self.describe()));
        assert!(
            json["code"].as_u64().is_some(),
            "{what}: error lacks a numeric code: {}",
            self.describe()
        );
        self.assert_names(needles, what);
    }

    /// Panics unless the error's `msg` or `details` contains one of `needles`
    /// (case-insensitive).
    pub fn assert_names(&self, needles: &[&str], what: &str) {
        let json = self.json.clone().unwrap_or_default();
        let text = format!(
            "{} {}",
            json["msg"].as_str().unwrap_or_default(),
            json["details"].as_str().unwrap_or_default()
        )
        .to_lowercase();
        assert!(
            needles.iter().any(|n| text.contains(&n.to_lowercase())),
            "{what}: error message names none of {needles:?}: {}",
            self.describe()
        );
    }

    /// Everything about the run, for assertion messages.
    pub fn describe(&self) -> String {
        let vars: Vec<String> = self
            .call
            .env
            .iter()
            .filter_map(|(n, v)| v.as_ref().map(|v| format!("{n}={v}")))
            .collect();
        format!(
            "exit {:?}{}\n  env: {}\n  stdin: {}\n  stdout: {}\n  stderr: {}",
            self.code,
            if self.timed_out { " (timed out)" } else { "" },
            vars.join(" "),
            String::from_utf8_lossy(&self.call.stdin),
            self.stdout.trim(),
            self.stderr.trim()
        )
    }
}
