//! ovn-udn-cni: a CNI plugin that attaches containers, pods and KubeVirt VMs
//! to OVN User-Defined Networks by programming OVN directly.

mod cli;
mod cni;
mod commands;
mod error;
mod ipam;
mod log;
mod ovn;
mod request;
mod topology;

use std::io::{Read, Write};
use std::process::ExitCode;

use conf::{NetConf, Network, NodeConfig};
use serde_json::{Value, json};
use tracing::Instrument;

use crate::cni::args::AttachArgs;
use crate::cni::env::{CniEnv, Command};
use crate::cni::version::{self, LATEST, SUPPORTED_VERSIONS};
use crate::error::PluginError;
use crate::request::Request;

fn main() -> ExitCode {
    if std::env::var_os("CNI_COMMAND").is_none() {
        return cli::run();
    }
    // Logging starts before anything is validated, so a request rejected for
    // its environment or config leaves a line in the node's log too.
    let node = NodeConfig::load();
    if let Ok(node) = &node {
        log::init(node);
    }
    let env = match CniEnv::from_process() {
        Ok(Some(env)) => env,
        Ok(None) => return cli::run(),
        Err(err) => return rejected(err, LATEST),
    };
    let mut stdin = Vec::new();
    if let Err(source) = std::io::stdin().read_to_end(&mut stdin) {
        let context = "reading the network config from stdin".into();
        return rejected(PluginError::Io { context, source }, LATEST);
    }
    if env.command == Command::Version {
        return version_info(&stdin);
    }
    let conf = match NetConf::from_slice(&stdin) {
        Ok(conf) => conf,
        Err(err) => return rejected(err.into(), LATEST),
    };
    let cni_version = conf.cni_version.clone().unwrap_or_default();
    let reply_version = if SUPPORTED_VERSIONS.contains(&cni_version.as_str()) {
        cni_version.as_str()
    } else {
        LATEST
    };
    let req = match request(env, stdin, conf, cni_version.clone(), node) {
        Ok(req) => req,
        Err(err) => return rejected(err, reply_version),
    };
    let outcome = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|source| PluginError::Io { context: "starting the runtime".into(), source })
        .and_then(|runtime| {
            let span = tracing::info_span!("cni", command = req.env.command.as_str(),
                container = %req.env.container_id, network = %req.network.name, ifname = %req.env.ifname);
            runtime.block_on(dispatch(&req).instrument(span))
        });
    answer(outcome, reply_version)
}

/// A request refused before any work: logged, then answered.
fn rejected(err: PluginError, cni_version: &str) -> ExitCode {
    tracing::error!(step = "validate", code = err.code(), "rejected: {err}");
    answer(Err(err), cni_version)
}

/// Validates the inputs in the order libcni's skel does (version, then
/// config) and gathers them into one request.
fn request(
    env: CniEnv,
    stdin: Vec<u8>,
    conf: NetConf,
    cni_version: String,
    node: Result<NodeConfig, conf::ConfError>,
) -> Result<Request, PluginError> {
    version::require(&cni_version, env.command.as_str())?;
    let network = Network::from_conf(&conf)?;
    let node = node?.with_overrides(&conf);
    let for_add = env.command == Command::Add;
    let mut args = AttachArgs::parse(&env.args, &conf, &env.container_id, &env.ifname, for_add)?;
    args.resolve_claim(&network);
    Ok(Request {
        env,
        stdin,
        conf,
        cni_version,
        network,
        node,
        args,
    })
}

async fn dispatch(req: &Request) -> Result<Option<Value>, PluginError> {
    tracing::info!(step = "start", "invoked");
    let outcome = match req.env.command {
        Command::Add => commands::add(req).await.map(Some),
        Command::Del => commands::del(req).await.map(|()| None),
        Command::Check => commands::check(req).await.map(|()| None),
        Command::Gc => commands::gc(req).await.map(|()| None),
        Command::Status => commands::status(req).await.map(|()| None),
        Command::Version => Ok(None),
    };
    match &outcome {
        Ok(_) => tracing::info!(step = "done", "succeeded"),
        Err(err) => tracing::error!(step = "done", code = err.code(), "failed: {err}"),
    }
    outcome
}

/// VERSION: answers at the config's version when it names one we speak.
fn version_info(stdin: &[u8]) -> ExitCode {
    let asked: Option<String> = serde_json::from_slice::<Value>(stdin)
        .ok()
        .and_then(|v| v.get("cniVersion")?.as_str().map(str::to_owned))
        .filter(|v| SUPPORTED_VERSIONS.contains(&v.as_str()));
    print_json(&json!({
        "cniVersion": asked.as_deref().unwrap_or(LATEST),
        "supportedVersions": SUPPORTED_VERSIONS,
    }));
    ExitCode::SUCCESS
}

/// Prints the result or the error JSON: the one place outcomes become output.
fn answer(outcome: Result<Option<Value>, PluginError>, cni_version: &str) -> ExitCode {
    match outcome {
        Ok(Some(result)) => {
            print_json(&result);
            ExitCode::SUCCESS
        }
        Ok(None) => ExitCode::SUCCESS,
        Err(err) => {
            print_json(&err.to_json(cni_version));
            ExitCode::FAILURE
        }
    }
}

fn print_json(value: &Value) {
    let mut out = std::io::stdout().lock();
    let _ = serde_json::to_writer(&mut out, value);
    let _ = writeln!(out);
}
