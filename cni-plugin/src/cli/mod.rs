//! The binary as a command-line tool for people (no CNI_COMMAND set).

mod gc;
mod ipam;
mod validate;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::cni::version::SUPPORTED_VERSIONS;

/// ovn-udn-cni: attach containers, pods and VMs to OVN User-Defined Networks.
///
/// Runtimes execute this binary with CNI_COMMAND set and a network config on
/// stdin; without CNI_COMMAND it answers these commands.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the plugin version and the CNI spec versions it speaks.
    Version,
    /// Persistent IP reservations of VMs (IPAM claims).
    Ipam(ipam::Args),
    /// Remove this chassis' leaked attachments that no runtime will clean up.
    Gc(gc::Args),
    /// Check network configs, conflists and NetworkAttachmentDefinitions offline, as ADD would.
    Validate(validate::Args),
}

/// The exit status of a command, its error on stderr.
fn exit(outcome: anyhow::Result<()>) -> ExitCode {
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("ovn-udn-cni: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Parses the command line and runs the command.
pub fn run() -> ExitCode {
    match Cli::parse().command {
        Command::Version => {
            println!("ovn-udn-cni {}", env!("CARGO_PKG_VERSION"));
            println!("CNI spec versions: {}", SUPPORTED_VERSIONS.join(", "));
            ExitCode::SUCCESS
        }
        Command::Ipam(args) => exit(ipam::run(args)),
        Command::Gc(args) => exit(gc::run(args)),
        Command::Validate(args) => validate::run(args),
    }
}
