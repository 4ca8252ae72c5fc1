//! `ovn-udn-cni attachments`: every pod interface the plugin attached, as
//! NB records it, with whether the chassis bound it (SB `Port_Binding`)
//! and, for this chassis' own, whether ovn-controller installed it (local
//! OVS `ovn-installed`).

use std::collections::BTreeMap;

use conf::NodeConfig;
use ovsdb::{Client, Operation};
use serde::Serialize;

use super::error::CliError;
use super::facts::tls;
use super::{block_on, load_node, table};
use crate::cni::result::mac_text;
use crate::ovn::ovs::is_installed;
use crate::ovn::port::record::{self, PortRecord};
use crate::request::{connect_nb, connect_ovs};
use crate::vocabulary::{OVS_DB, column, ids, iface, table as tables};

/// `attachments` and its options.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "BOUND is from the SB database (the chassis of the port's Port_Binding); \
OVN-INSTALLED is read from this chassis' OVS, so it is '-' for other chassis' attachments.\n\n\
Examples:\n  ovn-udn-cni attachments\n  ovn-udn-cni attachments --network blue --chassis node2\n  \
ovn-udn-cni attachments --json | jq '.attachments[] | select(.bound == false)'"
)]
pub struct Args {
    /// Only attachments of this network (its `name`).
    #[arg(long, value_name = "NAME")]
    network: Option<String>,
    /// Only attachments on this chassis.
    #[arg(long, value_name = "CHASSIS")]
    chassis: Option<String>,
    /// NB database remotes (default: the node config's `nbAddress`).
    #[arg(long, value_name = "REMOTES")]
    nb_address: Option<String>,
    /// Print JSON (`attachments`: a list) instead of a table.
    #[arg(long)]
    json: bool,
}

/// One pod interface on one chassis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    /// `namespace/name` of the pod, `namespace/claim` of a claim, or the
    /// container id for plain containers.
    pub pod: String,
    /// The pod's namespace, when known.
    pub namespace: Option<String>,
    /// The IPAM claim (`namespace/claim`) the port is reserved for.
    pub claim: Option<String>,
    /// The container (sandbox) id.
    pub container_id: String,
    /// The network.
    pub network: String,
    /// The NetworkAttachmentDefinition, when the runtime named one.
    pub nad: Option<String>,
    /// The logical switch port.
    pub logical_port: String,
    /// The interface name in the pod.
    pub interface: String,
    /// Addresses, with prefix length when NB records it.
    pub ips: Vec<String>,
    /// MAC address.
    pub mac: Option<String>,
    /// The chassis it is attached on.
    pub chassis: String,
    /// Whether SB binds the port to that chassis; `None`: SB not read.
    pub bound: Option<bool>,
    /// `ovn-installed` on this chassis' OVS interface; `None` for other
    /// chassis (or OVS not read).
    pub ovn_installed: Option<bool>,
}

/// What SB and the local OVS say, as far as they could be read.
#[derive(Debug, Clone, Default)]
struct Observed {
    /// This chassis' name.
    chassis: Option<String>,
    /// Logical port -> the chassis SB binds it on (`None`: unbound).
    bindings: Option<BTreeMap<String, Option<String>>>,
    /// Logical port -> `ovn-installed` of this chassis' interfaces.
    installed: Option<BTreeMap<String, bool>>,
}

/// Lists attachments, filtered.
pub fn run(args: Args) -> Result<(), CliError> {
    let node = load_node(args.nb_address.clone())?;
    let rows = block_on(async {
        let nb = connect_nb(&node).await?;
        let ports = record::pod_ports(&nb).await?;
        let observed = observe(&node).await;
        Ok::<_, CliError>(attachments(&ports, &observed))
    })??;
    let rows: Vec<Attachment> = rows
        .into_iter()
        .filter(|a| args.network.as_ref().is_none_or(|n| *n == a.network))
        .filter(|a| args.chassis.as_ref().is_none_or(|c| *c == a.chassis))
        .collect();
    if args.json {
        let doc = serde_json::json!({ "attachments": rows });
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        print!("{}", render(&rows));
    }
    Ok(())
}

/// Reads the local OVS (chassis name, `ovn-remote`, interfaces) and the SB
/// bindings; what cannot be read is left unknown, with a note on stderr.
async fn observe(node: &NodeConfig) -> Observed {
    let mut observed = Observed::default();
    let ovs = match connect_ovs(node).await {
        Ok(ovs) => ovs,
        Err(e) => {
            eprintln!("ovn-udn-cni: {e}: BOUND and OVN-INSTALLED unknown");
            return observed;
        }
    };
    let read = ovs
        .transact(
            OVS_DB,
            &[
                Operation::select(
                    tables::OPEN_VSWITCH,
                    vec![],
                    Some(vec![column::EXTERNAL_IDS.into()]),
                ),
                Operation::select(
                    tables::INTERFACE,
                    vec![],
                    Some(vec![column::EXTERNAL_IDS.into()]),
                ),
            ],
        )
        .await;
    let results = match read {
        Ok(results) => results,
        Err(e) => {
            eprintln!("ovn-udn-cni: reading the local OVS database: {e}");
            return observed;
        }
    };
    let system = results
        .first()
        .and_then(|r| r.rows.first())
        .map(|row| row.map(column::EXTERNAL_IDS))
        .unwrap_or_default();
    observed.chassis = node
        .chassis
        .clone()
        .or_else(|| system.get(iface::SYSTEM_ID).cloned());
    observed.installed = results.get(1).map(|r| {
        r.rows
            .iter()
            .filter_map(|row| {
                let lsp = row.map(column::EXTERNAL_IDS).remove(iface::IFACE_ID)?;
                Some((lsp, is_installed(row)))
            })
            .collect()
    });
    match system.get("ovn-remote") {
        Some(remote) => match sb_bindings(node, remote).await {
            Ok(bindings) => observed.bindings = Some(bindings),
            Err(e) => eprintln!("ovn-udn-cni: SB database {remote}: {e}: BOUND unknown"),
        },
        None => eprintln!("ovn-udn-cni: no ovn-remote in the local OVS: BOUND unknown"),
    }
    observed
}

/// Every Port_Binding's logical port and the name of the chassis it is
/// bound on.
async fn sb_bindings(
    node: &NodeConfig,
    remote: &str,
) -> Result<BTreeMap<String, Option<String>>, ovsdb::Error> {
    let sb = Client::connect_with(remote, tls(node).as_ref()).await?;
    let results = sb
        .transact(
            "OVN_Southbound",
            &[
                Operation::select(
                    "Chassis",
                    vec![],
                    Some(vec![column::UUID.into(), column::NAME.into()]),
                ),
                Operation::select(
                    "Port_Binding",
                    vec![],
                    Some(vec!["logical_port".into(), "chassis".into()]),
                ),
            ],
        )
        .await?;
    let names: BTreeMap<String, String> = results
        .first()
        .map(|r| {
            r.rows
                .iter()
                .filter_map(|row| Some((row.uuid()?.to_owned(), row.str(column::NAME)?.to_owned())))
                .collect()
        })
        .unwrap_or_default();
    Ok(results
        .get(1)
        .map(|r| {
            r.rows
                .iter()
                .filter_map(|row| {
                    let port = row.str("logical_port")?.to_owned();
                    let chassis = row
                        .uuids("chassis")
                        .first()
                        .and_then(|u| names.get(u))
                        .cloned();
                    Some((port, chassis))
                })
                .collect()
        })
        .unwrap_or_default())
}

/// One row per attachment of each port (a claimed port migrating has two).
fn attachments(ports: &[PortRecord], observed: &Observed) -> Vec<Attachment> {
    let mut rows: Vec<Attachment> = ports
        .iter()
        .flat_map(|port| {
            port.attachments().into_iter().map(move |a| {
                let bound = observed
                    .bindings
                    .as_ref()
                    .map(|b| b.get(&port.name).cloned().flatten().as_ref() == Some(&a.chassis));
                let ovn_installed = observed
                    .installed
                    .as_ref()
                    .filter(|_| observed.chassis.as_ref() == Some(&a.chassis))
                    .map(|i| i.get(&port.name).copied().unwrap_or(false));
                Attachment {
                    pod: pod_name(port, &a.sandbox),
                    namespace: port.external_ids.get(ids::NAMESPACE).cloned(),
                    claim: port.claim().map(str::to_owned),
                    container_id: a.sandbox.clone(),
                    network: port.network().unwrap_or_default().to_owned(),
                    nad: port.external_ids.get(ids::NAD).cloned(),
                    logical_port: port.name.clone(),
                    interface: a.ifname,
                    ips: addresses(port),
                    mac: port.mac.map(|m| mac_text(&m)),
                    chassis: a.chassis,
                    bound,
                    ovn_installed,
                }
            })
        })
        .collect();
    rows.sort_by(|a, b| {
        (&a.network, &a.pod, &a.interface).cmp(&(&b.network, &b.pod, &b.interface))
    });
    rows
}

/// Who the port is for: a claim, a Kubernetes pod (its name is the LSP
/// name after the network's prefix and `<namespace>_`, as `conf::lsp_name`
/// builds it), else the container.
fn pod_name(port: &PortRecord, sandbox: &str) -> String {
    if let Some(claim) = port.claim() {
        return claim.to_owned();
    }
    let owner = port
        .external_ids
        .get(ids::NAD)
        .or_else(|| port.external_ids.get(ids::NETWORK));
    let name = match (owner, port.external_ids.get(ids::NAMESPACE)) {
        (Some(owner), Some(namespace)) => port
            .name
            .strip_prefix(&conf::prefix(owner))
            .and_then(|rest| rest.strip_prefix(&format!("{namespace}_")))
            .map(|name| format!("{namespace}/{name}")),
        _ => None,
    };
    name.unwrap_or_else(|| sandbox.to_owned())
}

/// The port's addresses with their prefix (`k8s.ovn.org/ip-addresses`),
/// else as `addresses` has them.
fn addresses(port: &PortRecord) -> Vec<String> {
    match port.external_ids.get(ids::IP_ADDRESSES) {
        Some(list) => list.split(',').map(str::to_owned).collect(),
        None => port.ips.iter().map(ToString::to_string).collect(),
    }
}

fn render(rows: &[Attachment]) -> String {
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|a| {
            vec![
                a.pod.clone(),
                a.network.clone(),
                a.interface.clone(),
                table::list(&a.ips),
                a.mac.clone().unwrap_or_else(|| "-".into()),
                a.chassis.clone(),
                table::yes_no(a.bound),
                table::yes_no(a.ovn_installed),
            ]
        })
        .collect();
    table::render(
        &[
            "POD",
            "NETWORK",
            "INTERFACE",
            "IPS",
            "MAC",
            "CHASSIS",
            "BOUND",
            "OVN-INSTALLED",
        ],
        &cells,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocabulary::option;

    fn port(name: &str, ids: &[(&str, &str)], chassis: &str) -> PortRecord {
        PortRecord {
            uuid: "u".into(),
            name: name.into(),
            mac: "0a:58:0a:64:00:05".parse().ok(),
            ips: vec!["10.100.0.5".parse().expect("ip")],
            addresses: Vec::new(),
            external_ids: ids
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            options: BTreeMap::from([(option::REQUESTED_CHASSIS.to_owned(), chassis.to_owned())]),
        }
    }

    #[test]
    fn pods_are_named_bound_and_installed_from_what_was_read() {
        let pod = port(
            "e2e.blue_web_nginx-1",
            &[
                (ids::NETWORK, "blue"),
                (ids::NAD, "e2e/blue"),
                (ids::NAMESPACE, "web"),
                (ids::SANDBOX, "c0ffee"),
                (ids::POD_IF_NAME, "ovn-udn1"),
                (ids::IP_ADDRESSES, "10.100.0.5/24"),
            ],
            "node1",
        );
        let remote = port(
            "blue_c0ffee_eth1",
            &[
                (ids::NETWORK, "blue"),
                (ids::SANDBOX, "c0ffee"),
                (ids::POD_IF_NAME, "eth1"),
            ],
            "node2",
        );
        let observed = Observed {
            chassis: Some("node1".into()),
            bindings: Some(BTreeMap::from([
                (pod.name.clone(), Some("node1".to_owned())),
                (remote.name.clone(), None),
            ])),
            installed: Some(BTreeMap::from([(pod.name.clone(), true)])),
        };
        let rows = attachments(&[pod, remote], &observed);
        assert_eq!(rows.len(), 2);
        let local = rows.iter().find(|r| r.chassis == "node1").expect("local");
        assert_eq!(local.pod, "web/nginx-1");
        assert_eq!(local.ips, ["10.100.0.5/24"]);
        assert_eq!((local.bound, local.ovn_installed), (Some(true), Some(true)));
        let other = rows.iter().find(|r| r.chassis == "node2").expect("remote");
        assert_eq!(other.pod, "c0ffee");
        assert_eq!((other.bound, other.ovn_installed), (Some(false), None));

        let text = render(&rows);
        assert!(text.lines().next().is_some_and(|h| h.starts_with("POD")));
        assert!(text.contains("web/nginx-1"), "{text}");
    }

    #[test]
    fn without_sb_or_ovs_bound_and_installed_are_unknown() {
        let pod = port(
            "blue_c0ffee_eth1",
            &[
                (ids::NETWORK, "blue"),
                (ids::SANDBOX, "c0ffee"),
                (ids::POD_IF_NAME, "eth1"),
            ],
            "node1",
        );
        let rows = attachments(&[pod], &Observed::default());
        assert_eq!((rows[0].bound, rows[0].ovn_installed), (None, None));
        let text = render(&rows);
        let cells: Vec<&str> = text
            .lines()
            .nth(1)
            .unwrap_or_default()
            .split_whitespace()
            .collect();
        assert_eq!(cells[cells.len() - 2..], ["-", "-"], "{text}");
    }
}
