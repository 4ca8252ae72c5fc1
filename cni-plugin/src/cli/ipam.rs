//! `ovn-udn-cni ipam list|release`: the reservations IPAM claims hold in
//! the NB database, and the one way to free one.

use clap::Subcommand;
use serde::Serialize;

use super::error::CliError;
use super::{block_on, load_node, table};
use crate::cni::result::mac_text;
use crate::ovn::port::claim;
use crate::ovn::port::record::PortRecord;
use crate::request::connect_nb;
use crate::vocabulary::ids;

/// `ipam` and its options.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  ovn-udn-cni ipam list\n  ovn-udn-cni ipam list --network blue --json\n  \
ovn-udn-cni ipam release --network blue --claim vms/vm-a"
)]
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
        /// Print JSON (`claims`: a list) instead of a table.
        #[arg(long)]
        json: bool,
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
pub fn run(args: Args) -> Result<(), CliError> {
    let node = load_node(args.nb_address)?;
    if let IpamCommand::Release { claim, .. } = &args.command
        && !claim.contains('/')
    {
        return Err(CliError::Usage {
            option: "--claim",
            value: claim.clone(),
            reason: "expected NAMESPACE/CLAIM".into(),
        });
    }
    block_on(async {
        let nb = connect_nb(&node).await?;
        match args.command {
            IpamCommand::List { network, json } => {
                let ports = claim::list(&nb, network.as_deref()).await?;
                if json {
                    let claims: Vec<ClaimJson> = ports.iter().map(ClaimJson::from).collect();
                    let doc = serde_json::json!({ "claims": claims });
                    println!("{}", serde_json::to_string_pretty(&doc)?);
                } else {
                    print!("{}", render(&ports));
                }
            }
            IpamCommand::Release { network, claim } => {
                let Some(port) = claim::release(&nb, &network, &claim).await? else {
                    return Err(CliError::NoSuchClaim { network, claim });
                };
                println!("released {claim} on {network}: {}", addresses(&port));
            }
        }
        Ok(())
    })?
}

/// A claim as `ipam list --json` prints it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ClaimJson {
    network: Option<String>,
    claim: Option<String>,
    logical_port: String,
    mac: Option<String>,
    ips: Vec<String>,
    attachments: Vec<AttachmentJson>,
}

/// Where a claim is attached.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct AttachmentJson {
    chassis: String,
    container_id: String,
    interface: String,
}

impl From<&PortRecord> for ClaimJson {
    fn from(port: &PortRecord) -> ClaimJson {
        ClaimJson {
            network: port.network().map(str::to_owned),
            claim: port.claim().map(str::to_owned),
            logical_port: port.name.clone(),
            mac: port.mac.map(|m| mac_text(&m)),
            ips: port.ips.iter().map(ToString::to_string).collect(),
            attachments: port
                .attachments()
                .into_iter()
                .map(|a| AttachmentJson {
                    chassis: a.chassis,
                    container_id: a.sandbox,
                    interface: a.ifname,
                })
                .collect(),
        }
    }
}

/// One line per claim, aligned.
fn render(ports: &[PortRecord]) -> String {
    let rows: Vec<Vec<String>> = ports
        .iter()
        .map(|port| {
            let attached: Vec<String> = port
                .attachments()
                .iter()
                .map(|a| format!("{} ({})", a.chassis, short(&a.sandbox)))
                .collect();
            vec![
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
            ]
        })
        .collect();
    table::render(&["NETWORK", "CLAIM", "MAC", "IPS", "ATTACHED"], &rows)
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
        let text = render(std::slice::from_ref(&port));
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
        let json = serde_json::to_value(ClaimJson::from(&port)).expect("json");
        assert_eq!(json["claim"], "vms/vm-a");
        assert_eq!(json["ips"][0], "10.100.0.5");
        assert_eq!(json["attachments"][0]["chassis"], "node2");
        assert_eq!(json["attachments"][0]["containerId"], "0123456789abcdef");
    }
}
