//! ovn-udn-cni: a CNI plugin that attaches containers, pods and KubeVirt VMs
//! to OVN User-Defined Networks by programming OVN directly. The binary
//! reads the request, hands it to the library's verbs and prints the one
//! answer; without CNI_COMMAND it is a command-line tool for people.

use std::io::{Read, Write};
use std::process::ExitCode;

use conf::{NetConf, NodeConfig};
use serde_json::{Value, json};
use tracing::Instrument;

use ovn_udn_cni::cni::env::{CniEnv, Command};
use ovn_udn_cni::cni::version::{LATEST, SUPPORTED_VERSIONS};
use ovn_udn_cni::error::PluginError;
use ovn_udn_cni::request::{Request, Verb};
use ovn_udn_cni::{cli, commands, log};

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
    let stdin = match read_stdin() {
        Ok(stdin) => stdin,
        Err(err) => return rejected(err, LATEST),
    };
    // Decoded once: for the version of the answer, then for the request.
    let conf = NetConf::from_slice(&stdin);
    if env.command == Command::Version {
        return version_info(conf.ok().as_ref());
    }
    let reply_version = conf.as_ref().ok().and_then(asked_version).unwrap_or(LATEST);
    let node = match node {
        Ok(node) => node,
        Err(err) => return rejected(err.into(), reply_version),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(source) => {
            let context = "starting the runtime".into();
            return rejected(PluginError::Io { context, source }, reply_version);
        }
    };
    let request = conf
        .map_err(PluginError::from)
        .and_then(|conf| Request::new(&env, stdin, conf, node.clone()));
    let outcome = match request {
        Ok((req, verb)) => {
            let span = tracing::info_span!("cni", command = env.command.as_str(),
                container = %env.container_id, network = %req.id.name, ifname = %env.ifname);
            runtime.block_on(dispatch(&req, verb).instrument(span))
        }
        // Input that ADD refuses cannot have created anything in OVN: DEL
        // still removes what is local to the attachment and succeeds, so a
        // runtime is never stuck retrying the DEL of a refused ADD.
        Err(err) if env.command == Command::Del && err.is_input_error() => {
            tracing::warn!(
                step = "validate",
                code = err.code(),
                "DEL with input ADD refuses ({err}): removing the local veth and OVS port only"
            );
            let span = tracing::info_span!("cni", command = "DEL",
                container = %env.container_id, ifname = %env.ifname);
            runtime
                .block_on(commands::del_local(&env, &node).instrument(span))
                .map(|()| None)
        }
        Err(err) => return rejected(err, reply_version),
    };
    answer(outcome, reply_version)
}

/// Reads the network config from stdin, at most [`conf::MAX_CONFIG_BYTES`]
/// (and one more byte, for the decoder to see it is too long).
fn read_stdin() -> Result<Vec<u8>, PluginError> {
    let mut stdin = Vec::new();
    std::io::stdin()
        .take(conf::MAX_CONFIG_BYTES as u64 + 1)
        .read_to_end(&mut stdin)
        .map_err(|source| PluginError::Io {
            context: "reading the network config from stdin".into(),
            source,
        })?;
    Ok(stdin)
}

/// The config's `cniVersion`, when it is one this plugin speaks.
fn asked_version(conf: &NetConf) -> Option<&'static str> {
    let asked = conf.cni_version().ok()??;
    SUPPORTED_VERSIONS.iter().copied().find(|v| *v == asked)
}

/// A request refused before any work: logged, then answered.
fn rejected(err: PluginError, cni_version: &str) -> ExitCode {
    tracing::error!(step = "validate", code = err.code(), "rejected: {err}");
    answer(Err(err), cni_version)
}

async fn dispatch(req: &Request, verb: Verb) -> Result<Option<Value>, PluginError> {
    tracing::info!(step = "start", "invoked");
    let outcome = match verb {
        Verb::Add(network, addressing) => commands::add(req, &network, &addressing).await.map(Some),
        Verb::Check(network) => commands::check(req, &network).await.map(|()| None),
        Verb::Del => commands::del(req).await.map(|()| None),
        Verb::Gc => commands::gc(req).await.map(|()| None),
        Verb::Status => commands::status(req).await.map(|()| None),
    };
    let (nb, ovs) = req.traffic();
    match &outcome {
        Ok(_) => tracing::info!(
            step = "done",
            nb_read = nb.bytes_read,
            nb_written = nb.bytes_written,
            nb_requests = nb.requests,
            ovs_read = ovs.bytes_read,
            ovs_written = ovs.bytes_written,
            "succeeded"
        ),
        Err(err) => tracing::error!(
            step = "done",
            code = err.code(),
            nb_read = nb.bytes_read,
            nb_written = nb.bytes_written,
            "failed: {err}"
        ),
    }
    outcome
}

/// VERSION: answers at the config's version when it names one we speak.
fn version_info(conf: Option<&NetConf>) -> ExitCode {
    print_json(&json!({
        "cniVersion": conf.and_then(asked_version).unwrap_or(LATEST),
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
