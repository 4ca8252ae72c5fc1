//! `ovn-udn-cni ipam list|release`: the reservations IPAM claims hold in
//! the NB database, and the one way to free one.

use anyhow::{Context, bail};
use clap::Subcommand;
use conf::NodeConfig;

use crate::cni::result::mac_text;
use crate::ovn::port::claim;
use crate::ovn::port::record::PortRecord;
use crate::request::connect_nb;
use crate::vocabulary::ids;

/// `ipam` and its options.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: IpamCommand,
    /// NB database remotes (default: the node config's `nbAddress`).
    #[arg(long, global = true, value_name = "REMOTES")]
    nb_address: Option<String>,
}

#[derive(Debug, Subcommand)]
enum IpamCommand {
    /// Show every claim: its network, addresses, MAC and where it is attached.
    List {
        /// Only this network's claims.
        #[arg(long, value_name = "NAME")]
        network: Option<String>,
    },
    /// Free a claim's addresses (only while no VM is attached to it).
    Release {
        /// The network the claim is on.
        #[arg(long, value_name = "NAME")]
        network: String,
        /// The claim, as NAMESPACE/CLAIM.
        #[arg(long, value_name = "NAMESPACE/CLAIM")]
        claim: String,
    },
}

/// Runs an `ipam` command against the NB database.
pub fn run(args: Args) -> anyhow::Result<()> {
    let mut node = NodeConfig::load().context("loading the node config")?;
    if let Some(remotes) = args.nb_address {
        node.nb_address = remotes;
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let nb = connect_nb(&node).await?;
        match args.command {
            IpamCommand::List { network } => {
                print!("{}", table(&claim::list(&nb, network.as_deref()).await?));
            }
            IpamCommand::Release { network, claim } => {
                if !claim.contains('/') {
                    bail!("--claim {claim:?}: expected NAMESPACE/CLAIM");
                }
                let Some(port) = claim::release(&nb, &network, &claim).await? else {
                    bail!("network {network} has no reservation for IPAM claim {claim}");
                };
                println!("released {claim} on {network}: {}", addresses(&port));
            }
        }
        Ok(())
    })
}

/// One line per claim, aligned.
fn table(ports: &[PortRecord]) -> String {
    let mut rows = vec![[
        "NETWORK".to_owned(),
        "CLAIM".to_owned(),
        "MAC".to_owned(),
        "IPS".to_owned(),
        "ATTACHED".to_owned(),
    ]];
    for port in ports {
        let attached: Vec<String> = port
            .attachments()
            .iter()
            .map(|a| format!("{} ({})", a.chassis, short(&a.sandbox)))
            .collect();
        rows.push([
            port.external_ids
                .get(ids::NETWORK)
                .cloned()
                .unwrap_or_default(),
            port.claim().unwrap_or_default().to_owned(),
            port.mac.map(|m| mac_text(&m)).unwrap_or_default(),
            addresses(port),
            if attached.is_empty() {
                "-".to_owned()
            } else {
                attached.join(", ")
            },
        ]);
    }
    let widths: Vec<usize> = (0..5)
        .map(|i| rows.iter().map(|r| r[i].len()).max().unwrap_or(0))
        .collect();
    rows.iter()
        .map(|row| {
            let cells: Vec<String> = row
                .iter()
                .zip(&widths)
                .map(|(cell, width)| format!("{cell:<width$}"))
                .collect();
            format!("{}\n", cells.join("  ").trim_end())
        })
        .collect()
}

fn addresses(port: &PortRecord) -> String {
    let ips: Vec<String> = port.ips.iter().map(ToString::to_string).collect();
    ips.join(",")
}

/// A container id as runtimes print it.
fn short(sandbox: &str) -> &str {
    sandbox.get(..12).unwrap_or(sandbox)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn the_table_shows_claim_addresses_and_attachments() {
        let port = PortRecord {
            uuid: "u".into(),
            name: "l2_vms_vm-a".into(),
            mac: "0a:58:0a:64:00:05".parse().ok(),
            ips: vec!["10.100.0.5".parse().expect("ip")],
            addresses: vec!["0a:58:0a:64:00:05 10.100.0.5".into()],
            external_ids: BTreeMap::from([
                ("k8s.ovn.org/network".to_owned(), "l2".to_owned()),
                (ids::CLAIM.to_owned(), "vms/vm-a".to_owned()),
                (
                    "k8s.ovn.org/attached.node2".to_owned(),
                    "0123456789abcdef/eth0".to_owned(),
                ),
            ]),
            options: BTreeMap::from([("requested-chassis".to_owned(), "node2".to_owned())]),
        };
        let text = table(&[port]);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("NETWORK"), "{text}");
        for part in [
            "l2",
            "vms/vm-a",
            "0a:58:0a:64:00:05",
            "10.100.0.5",
            "node2 (0123456789ab)",
        ] {
            assert!(lines[1].contains(part), "{part} in {text}");
        }
    }
}
