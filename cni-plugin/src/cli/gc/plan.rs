//! What the node collector removes on this chassis, decided from one
//! snapshot of the host's veths, the local OVS and the NB database: pure,
//! so every rule is unit-tested.

use std::collections::HashSet;
use std::fmt;

use crate::ovn::ovs::PluginInterface;
use crate::ovn::port::record::PortRecord;
use crate::vocabulary::ids::ATTACHED_AT;

/// What the collector saw. Taken in this order, veths first and the NB
/// last, so that whatever an ADD in flight made is seen with the logical
/// port it made first (ADD writes the port, then the veth, then the OVS
/// port).
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Host veth ends named like the plugin's (`udn` + 12 hex digits).
    pub veths: Vec<String>,
    /// OVS interfaces the plugin made.
    pub interfaces: Vec<PluginInterface>,
    /// Every pod port of the NB database.
    pub ports: Vec<PortRecord>,
}

/// One leaked piece of an attachment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Leak {
    /// A logical port attached here whose OVS port is gone: its attachment
    /// (the port itself, or its claim's attachment) and host veth go.
    LogicalPort {
        /// The logical port.
        lsp: String,
        /// The container it is attached to.
        sandbox: String,
        /// That attachment's host veth end, if it is still there.
        host_veth: String,
    },
    /// An OVS port whose logical port is gone or no longer this sandbox's:
    /// it and its host veth go.
    OvsPort {
        /// The OVS port (and host veth end).
        name: String,
        /// The logical port it was bound to.
        lsp: String,
        /// The container it was made for.
        sandbox: String,
    },
    /// A host veth end of the plugin's with neither.
    Veth {
        /// The link.
        name: String,
    },
}

impl fmt::Display for Leak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Leak::LogicalPort { lsp, sandbox, .. } => write!(
                f,
                "logical port {lsp} (sandbox {sandbox}): its OVS port is gone"
            ),
            Leak::OvsPort { name, lsp, sandbox } => write!(
                f,
                "OVS port {name} (sandbox {sandbox}): logical port {lsp} is gone or another sandbox's"
            ),
            Leak::Veth { name } => write!(f, "host veth {name}: no OVS port, no logical port"),
        }
    }
}

/// The leaks on `chassis` at `now` (unix seconds). A logical port that an
/// attachment joined less than `grace` seconds ago is left: its ADD may
/// still be on its way to the OVS port.
pub fn plan(snapshot: &Snapshot, chassis: &str, now: u64, grace: u64) -> Vec<Leak> {
    let mut leaks = Vec::new();
    let mut known_veths: HashSet<String> =
        snapshot.interfaces.iter().map(|i| i.name.clone()).collect();
    for port in &snapshot.ports {
        for attachment in port.attachments() {
            if attachment.chassis != chassis {
                continue;
            }
            let host_veth = conf::host_veth_name(&attachment.sandbox, &attachment.ifname);
            known_veths.insert(host_veth.clone());
            let plugged = snapshot
                .interfaces
                .iter()
                .any(|i| i.lsp == port.name && i.sandbox == attachment.sandbox);
            if !plugged && older_than(port, now, grace) {
                leaks.push(Leak::LogicalPort {
                    lsp: port.name.clone(),
                    sandbox: attachment.sandbox,
                    host_veth,
                });
            }
        }
    }
    for interface in &snapshot.interfaces {
        let bound = snapshot
            .ports
            .iter()
            .any(|p| p.name == interface.lsp && p.attached_to(&interface.sandbox));
        if !bound {
            leaks.push(Leak::OvsPort {
                name: interface.name.clone(),
                lsp: interface.lsp.clone(),
                sandbox: interface.sandbox.clone(),
            });
        }
    }
    leaks.extend(
        snapshot
            .veths
            .iter()
            .filter(|name| conf::is_host_veth_name(name) && !known_veths.contains(*name))
            .map(|name| Leak::Veth { name: name.clone() }),
    );
    leaks
}

/// Whether the last attachment joined `port` at least `grace` seconds ago;
/// a port without the record (made by an older plugin) counts as old.
fn older_than(port: &PortRecord, now: u64, grace: u64) -> bool {
    port.external_ids
        .get(ATTACHED_AT)
        .and_then(|at| at.parse::<u64>().ok())
        .is_none_or(|at| now.saturating_sub(at) >= grace)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn port(name: &str, chassis: &str, sandbox: &str, attached_at: u64) -> PortRecord {
        PortRecord {
            uuid: format!("uuid-{name}"),
            name: name.into(),
            mac: None,
            ips: Vec::new(),
            addresses: Vec::new(),
            external_ids: BTreeMap::from([
                ("sandbox".to_owned(), sandbox.to_owned()),
                ("pod-if-name".to_owned(), "eth0".to_owned()),
                (ATTACHED_AT.to_owned(), attached_at.to_string()),
            ]),
            options: BTreeMap::from([("requested-chassis".to_owned(), chassis.to_owned())]),
        }
    }

    fn interface(lsp: &str, sandbox: &str) -> PluginInterface {
        PluginInterface {
            name: conf::host_veth_name(sandbox, "eth0"),
            lsp: lsp.into(),
            sandbox: sandbox.into(),
            ifname: "eth0".into(),
        }
    }

    #[test]
    fn a_healthy_chassis_has_no_leaks() {
        let snapshot = Snapshot {
            veths: vec![conf::host_veth_name("a", "eth0")],
            interfaces: vec![interface("lsp-a", "a")],
            ports: vec![
                port("lsp-a", "node1", "a", 0),
                port("lsp-b", "node2", "b", 0),
            ],
        };
        assert_eq!(plan(&snapshot, "node1", 1000, 60), Vec::new());
    }

    #[test]
    fn a_logical_port_without_ovs_port_is_collected_after_the_grace_period() {
        let snapshot = Snapshot {
            veths: vec![conf::host_veth_name("a", "eth0")],
            interfaces: vec![],
            ports: vec![port("lsp-a", "node1", "a", 1000)],
        };
        assert_eq!(plan(&snapshot, "node1", 1030, 60), Vec::new(), "in flight");
        let elsewhere = Snapshot {
            veths: vec![],
            ..snapshot.clone()
        };
        assert_eq!(plan(&elsewhere, "node2", 2000, 60), Vec::new(), "not here");
        assert_eq!(
            plan(&snapshot, "node1", 1060, 60),
            vec![Leak::LogicalPort {
                lsp: "lsp-a".into(),
                sandbox: "a".into(),
                host_veth: conf::host_veth_name("a", "eth0"),
            }]
        );
    }

    #[test]
    fn an_ovs_port_whose_logical_port_is_gone_or_taken_over_is_collected() {
        let snapshot = Snapshot {
            veths: vec![],
            interfaces: vec![interface("lsp-gone", "a"), interface("lsp-b", "old")],
            ports: vec![port("lsp-b", "node1", "new", 0)],
        };
        let leaks = plan(&snapshot, "node1", 0, 60);
        assert!(leaks.contains(&Leak::OvsPort {
            name: conf::host_veth_name("a", "eth0"),
            lsp: "lsp-gone".into(),
            sandbox: "a".into(),
        }));
        assert!(leaks.contains(&Leak::OvsPort {
            name: conf::host_veth_name("old", "eth0"),
            lsp: "lsp-b".into(),
            sandbox: "old".into(),
        }));
    }

    #[test]
    fn only_plugin_veths_with_neither_side_are_collected() {
        let in_flight = conf::host_veth_name("b", "eth0");
        let orphan = conf::host_veth_name("c", "eth0");
        let snapshot = Snapshot {
            veths: vec![
                in_flight,
                orphan.clone(),
                "eth0".into(),
                "udnnothex12345".into(),
            ],
            interfaces: vec![],
            ports: vec![port("lsp-b", "node1", "b", 1000)],
        };
        assert_eq!(
            plan(&snapshot, "node1", 1001, 60),
            vec![Leak::Veth { name: orphan }]
        );
    }
}
