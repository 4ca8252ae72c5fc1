//! Delegated IPAM (CNI spec, "Delegated plugins"): when the config has an
//! `ipam` section, its plugin is run with the same environment and config,
//! and the addresses it hands out go on the logical port as static ones.

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::Stdio;

use ipnet::IpNet;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::Command as Process;

use crate::cni::env::Command;
use crate::error::PluginError;
use crate::request::Request;

/// What the IPAM plugin handed out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Delegated {
    /// Addresses with their prefix.
    pub addresses: Vec<IpNet>,
    /// The gateway of each address that has one.
    pub gateways: Vec<IpAddr>,
    /// Routes with a next hop (a route without one goes via the gateway of
    /// its family).
    pub routes: Vec<(IpNet, IpAddr)>,
}

/// Most of a delegated plugin's answer that is read.
const MAX_ANSWER_BYTES: u64 = 1 << 20;

/// Runs the IPAM plugin's ADD.
pub async fn add(req: &Request, plugin: &str) -> Result<Delegated, PluginError> {
    let result = run(req, plugin, Command::Add).await?;
    Ok(parse_result(&result))
}

/// Runs the IPAM plugin's DEL, CHECK or GC, which print nothing on success.
pub async fn run_verb(req: &Request, plugin: &str, command: Command) -> Result<(), PluginError> {
    run(req, plugin, command).await.map(drop)
}

async fn run(req: &Request, plugin: &str, command: Command) -> Result<Value, PluginError> {
    let binary = find(plugin, &req.env.path)?;
    tracing::info!(
        step = "ipam",
        plugin,
        command = command.as_str(),
        "delegating"
    );
    let failed = |msg: String| PluginError::Delegate {
        plugin: plugin.to_owned(),
        code: 100,
        msg,
    };
    let mut child = Process::new(&binary)
        .env("CNI_COMMAND", command.as_str())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| failed(format!("cannot run {}: {e}", binary.display())))?;
    let talk = async {
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(&req.stdin)
                .await
                .map_err(|e| failed(format!("writing its config: {e}")))?;
        }
        let mut stdout = Vec::new();
        if let Some(out) = child.stdout.take() {
            out.take(MAX_ANSWER_BYTES)
                .read_to_end(&mut stdout)
                .await
                .map_err(|e| failed(format!("reading its answer: {e}")))?;
        }
        let status = child
            .wait()
            .await
            .map_err(|e| failed(format!("waiting for it: {e}")))?;
        Ok::<_, PluginError>((status, stdout))
    };
    // A plugin that hangs must not hang the ADD (or DEL) with it: it gets
    // as long as ovn-controller does (readyTimeout), then it is killed.
    let limit = req.node.ready_timeout();
    let (status, stdout) = tokio::time::timeout(limit, talk).await.map_err(|_| {
        PluginError::Busy(format!(
            "IPAM plugin {plugin}: no answer to {} within {}s (readyTimeout), killed",
            command.as_str(),
            limit.as_secs()
        ))
    })??;
    let reply: Value = if stdout.iter().all(u8::is_ascii_whitespace) {
        Value::Null
    } else {
        serde_json::from_slice(&stdout)
            .map_err(|e| failed(format!("unreadable answer to {}: {e}", command.as_str())))?
    };
    if status.success() {
        return Ok(reply);
    }
    Err(PluginError::Delegate {
        plugin: plugin.to_owned(),
        code: reply.get("code").and_then(Value::as_u64).unwrap_or(100),
        msg: reply.get("msg").and_then(Value::as_str).map_or_else(
            || format!("{} failed ({status})", command.as_str()),
            str::to_owned,
        ),
    })
}

/// The plugin's binary in one of CNI_PATH's directories.
fn find(plugin: &str, cni_path: &str) -> Result<PathBuf, PluginError> {
    cni_path
        .split(':')
        .filter(|dir| !dir.is_empty())
        .map(|dir| PathBuf::from(dir).join(plugin))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| {
            conf::ConfError::invalid(
                "ipam",
                format!("IPAM plugin {plugin:?} not found in CNI_PATH {cni_path:?}"),
            )
            .into()
        })
}

/// Addresses, gateways and routes of an IPAM result (any spec version).
fn parse_result(result: &Value) -> Delegated {
    let mut out = Delegated::default();
    for ip in result
        .get("ips")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(address) = ip
            .get("address")
            .and_then(Value::as_str)
            .and_then(|a| a.parse().ok())
        {
            out.addresses.push(address);
        }
        if let Some(gateway) = ip
            .get("gateway")
            .and_then(Value::as_str)
            .and_then(|g| g.parse().ok())
        {
            out.gateways.push(gateway);
        }
    }
    for route in result
        .get("routes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(dst) = route
            .get("dst")
            .and_then(Value::as_str)
            .and_then(|d| d.parse::<IpNet>().ok())
        else {
            continue;
        };
        let gw = route
            .get("gw")
            .and_then(Value::as_str)
            .and_then(|g| g.parse::<IpAddr>().ok())
            .or_else(|| {
                out.gateways
                    .iter()
                    .copied()
                    .find(|g| g.is_ipv4() == dst.addr().is_ipv4())
            });
        if let Some(gw) = gw {
            out.routes.push((dst, gw));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn results_of_any_version_are_read() {
        let result = json!({"cniVersion": "0.4.0",
            "ips": [{"version": "4", "address": "10.88.0.2/24", "gateway": "10.88.0.1"},
                    {"address": "fd00::2/64"}],
            "routes": [{"dst": "0.0.0.0/0"}, {"dst": "10.96.0.0/12", "gw": "10.88.0.254"},
                       {"dst": "::/0"}, {"dst": "bogus"}]});
        let d = parse_result(&result);
        assert_eq!(d.addresses.len(), 2);
        assert_eq!(d.gateways, vec!["10.88.0.1".parse::<IpAddr>().expect("ip")]);
        let routes: Vec<String> = d
            .routes
            .iter()
            .map(|(d, g)| format!("{d} via {g}"))
            .collect();
        assert_eq!(
            routes,
            ["0.0.0.0/0 via 10.88.0.1", "10.96.0.0/12 via 10.88.0.254"]
        );
    }

    #[test]
    fn plugins_are_found_in_cni_path_only() {
        let dir = std::env::temp_dir().join(format!("udn-delegate-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::write(dir.join("my-ipam"), "").expect("file");
        let path = format!("/nonexistent:{}", dir.display());
        assert_eq!(find("my-ipam", &path).expect("found"), dir.join("my-ipam"));
        let err = find("other-ipam", &path).expect_err("missing").to_string();
        assert!(err.contains("ipam") && err.contains("other-ipam"), "{err}");
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}
