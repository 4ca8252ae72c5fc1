//! The binary as a command-line tool for people (no CNI_COMMAND set).
//! `status` and `doctor` render one list of checks (`checks`) evaluated
//! from what `facts` reads; every listing prints a table (`table`) or,
//! with `--json`, a document whose schema docs/cli.md keeps stable.

mod attachments;
mod checks;
mod doctor;
mod error;
mod facts;
mod gc;
mod ipam;
mod networks;
mod status;
mod table;
mod validate;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use conf::NodeConfig;

use crate::cni::version::SUPPORTED_VERSIONS;
pub use error::CliError;

/// ovn-udn-cni: attach containers, pods and VMs to OVN User-Defined Networks.
///
/// Runtimes execute this binary with CNI_COMMAND set and a network config on
/// stdin; without CNI_COMMAND it answers these commands.
#[derive(Debug, Parser)]
#[command(
    version,
    about,
    after_help = "The node config is read from $OVN_UDN_CNI_NODE_CONFIG, else \
/etc/ovn-udn-cni/node.json.\n\nExamples:\n  ovn-udn-cni status\n  ovn-udn-cni doctor\n  \
ovn-udn-cni attachments --network blue\n  ovn-udn-cni networks --json\n  \
ovn-udn-cni validate deploy/networks/*.yaml"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the plugin version and the CNI spec versions it speaks.
    Version,
    /// Check this node: NB, SB registration, OVS, bridge, ovn-controller,
    /// egress, versions. Exits 0 only when healthy.
    Status(status::Args),
    /// The checks of `status` that did not pass, each with the command that
    /// fixes it.
    Doctor(doctor::Args),
    /// Pod interfaces attached by the plugin: addresses, chassis, bound,
    /// ovn-installed.
    Attachments(attachments::Args),
    /// Networks in the NB database: topology, role, subnets, ports, free
    /// addresses.
    Networks(networks::Args),
    /// Persistent IP reservations of VMs (IPAM claims).
    Ipam(ipam::Args),
    /// Remove this chassis' leaked attachments that no runtime will clean up.
    Gc(gc::Args),
    /// Check network configs, conflists and NetworkAttachmentDefinitions offline, as ADD would.
    Validate(validate::Args),
}

/// The exit status of a command, its error on stderr.
fn exit<E: Into<anyhow::Error>>(outcome: Result<(), E>) -> ExitCode {
    match outcome.map_err(Into::into) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("ovn-udn-cni: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs `work` on a current-thread runtime, as the CNI verbs do.
fn block_on<T>(work: impl std::future::Future<Output = T>) -> Result<T, CliError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(CliError::Runtime)?;
    Ok(runtime.block_on(work))
}

/// The node config, with `--nb-address` in place of `nbAddress` if given.
fn load_node(nb_address: Option<String>) -> Result<NodeConfig, CliError> {
    let mut node = NodeConfig::load()?;
    if let Some(remotes) = nb_address {
        node.nb_address = remotes;
    }
    Ok(node)
}

/// Parses the command line and runs the command.
pub fn run() -> ExitCode {
    match Cli::parse().command {
        Command::Version => {
            println!("ovn-udn-cni {}", env!("CARGO_PKG_VERSION"));
            println!("CNI spec versions: {}", SUPPORTED_VERSIONS.join(", "));
            ExitCode::SUCCESS
        }
        Command::Status(args) => exit(status::run(args)),
        Command::Doctor(args) => exit(doctor::run(args)),
        Command::Attachments(args) => exit(attachments::run(args)),
        Command::Networks(args) => exit(networks::run(args)),
        Command::Ipam(args) => exit(ipam::run(args)),
        Command::Gc(args) => exit(gc::run(args)),
        Command::Validate(args) => validate::run(args),
    }
}
