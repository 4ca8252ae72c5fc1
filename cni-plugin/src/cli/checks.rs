//! The one list of node checks, evaluated from the [`Facts`] read: `status`
//! prints every check, `doctor` the failed ones with the command that fixes
//! each. Pure: what the node holds comes in, verdicts come out.

use serde::Serialize;

use super::error::CliError;
use super::facts::{Facts, Member};

/// A check's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// As it should be.
    Ok,
    /// Worth knowing, neither good nor bad (versions, no egress).
    Info,
    /// Works, but something may go wrong (a member down of several; a
    /// network this chassis cannot carry).
    Warn,
    /// The node cannot serve attachments as it should: `status` fails.
    Fail,
}

impl State {
    /// The word the human renderings print.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Ok => "ok",
            State::Info => "info",
            State::Warn => "warn",
            State::Fail => "fail",
        }
    }
}

/// One check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Check {
    /// Stable identifier of the kind of check (`ovnController`, `nbMember` ...).
    pub id: &'static str,
    /// What was checked (`bridge br-int`, `NB member tcp:10.0.0.1:6641`).
    pub subject: String,
    /// The verdict.
    pub state: State,
    /// What was found.
    pub detail: String,
    /// The command or change that fixes it, when not `ok`/`info`.
    pub fix: Option<String>,
}

fn check(id: &'static str, subject: impl Into<String>, state: State, detail: String) -> Check {
    Check {
        id,
        subject: subject.into(),
        state,
        detail,
        fix: None,
    }
}

impl Check {
    fn fix(mut self, fix: impl Into<String>) -> Check {
        self.fix = Some(fix.into());
        self
    }
}

/// Whether no check failed.
pub fn healthy(checks: &[Check]) -> bool {
    !checks.iter().any(|c| c.state == State::Fail)
}

/// How many checks failed.
pub fn failed(checks: &[Check]) -> usize {
    checks.iter().filter(|c| c.state == State::Fail).count()
}

/// The exit of `status` and `doctor`: success only when no check failed.
pub fn verdict(checks: &[Check]) -> Result<(), CliError> {
    match failed(checks) {
        0 => Ok(()),
        failed => Err(CliError::Unhealthy {
            failed,
            total: checks.len(),
        }),
    }
}

/// The checks, in the order a node is brought up: config, NB, OVS, chassis,
/// SB, ovn-controller, networks, versions. A check whose input could not be
/// read (OVS down: no bridge to look at) is left out; the failure that
/// hides it is in the list.
pub fn evaluate(facts: &Facts) -> Vec<Check> {
    let config = facts
        .node_config
        .path
        .clone()
        .unwrap_or_else(|| format!("{} (absent: defaults)", conf::DEFAULT_NODE_CONFIG_PATH));
    if let Some(error) = &facts.node_config.error {
        return vec![
            check("nodeConfig", "node config", State::Fail, error.clone()).fix(format!(
                "correct {config} as the message says (or point {} at the right file), then run \
                 `ovn-udn-cni doctor` again",
                conf::NODE_CONFIG_ENV
            )),
        ];
    }
    let mut checks = vec![check(
        "nodeConfig",
        "node config",
        State::Ok,
        config.clone(),
    )];
    checks.extend(nb_checks(facts, &config));
    checks.extend(ovs_checks(facts, &config));
    checks.push(controller_check(facts));
    checks.extend(network_checks(facts));
    checks.push(versions(facts));
    checks
}

fn nb_checks(facts: &Facts, config: &str) -> Vec<Check> {
    let nb = &facts.nb;
    let any_usable = nb.members.iter().any(Member::usable);
    let mut checks: Vec<Check> = nb
        .members
        .iter()
        .map(|m| member_check(m, any_usable))
        .collect();
    checks.push(match &nb.answered_by {
        Some(remote) => check(
            "nbDatabase",
            "NB database",
            State::Ok,
            format!("answered by {remote}"),
        ),
        None => check(
            "nbDatabase",
            "NB database",
            State::Fail,
            format!("no member of nbAddress {} can serve", nb.address),
        )
        .fix(format!(
            "start the NB database (`ovn-ctl start_nb_ovsdb`) or correct `nbAddress` in {config} \
             (or pass --nb-address); test with `ovn-nbctl --db={} show`",
            nb.address
        )),
    });
    checks
}

fn member_check(m: &Member, any_usable: bool) -> Check {
    let subject = format!("NB member {}", m.remote);
    // One member down of several is the cluster's redundancy at work.
    let down = if any_usable { State::Warn } else { State::Fail };
    if !m.reachable {
        let error = m.error.clone().unwrap_or_default();
        return check("nbMember", subject, down, format!("unreachable: {error}")).fix(format!(
            "start the NB ovsdb-server at {} or let this node reach it (firewall, address); \
             test with `ovsdb-client list-dbs {}`",
            m.remote, m.remote
        ));
    }
    let model = m.model.as_deref().unwrap_or("standalone");
    let role = match (model, m.leader) {
        ("clustered", Some(true)) => ", leader",
        ("clustered", _) => ", follower",
        _ => "",
    };
    if m.connected == Some(false) {
        return check(
            "nbMember",
            subject,
            down,
            format!("{model}{role}, cut off from its cluster"),
        )
        .fix(format!(
            "on the member's host, see `ovn-appctl -t /var/run/ovn/ovnnb_db.ctl cluster/status \
             OVN_Northbound`; restart it so it rejoins, or take {} out of nbAddress",
            m.remote
        ));
    }
    let connected = if model == "clustered" {
        ", connected"
    } else {
        ""
    };
    check(
        "nbMember",
        subject,
        State::Ok,
        format!("reachable, {model}{role}{connected}"),
    )
}

fn ovs_checks(facts: &Facts, config: &str) -> Vec<Check> {
    let ovs = &facts.ovs;
    if !ovs.reachable {
        return vec![
            check(
                "ovsDatabase",
                "local OVS",
                State::Fail,
                ovs.error.clone().unwrap_or_default(),
            )
            .fix(format!(
                "start Open vSwitch (`systemctl start openvswitch-switch` or \
                 `/usr/share/openvswitch/scripts/ovs-ctl start`), or correct `ovsAddress` \
                 ({}) in {config}",
                ovs.address
            )),
        ];
    }
    let bridge = &facts.node_config.bridge;
    let mut checks = vec![check(
        "ovsDatabase",
        "local OVS",
        State::Ok,
        format!("{} answers", ovs.address),
    )];
    checks.push(if ovs.bridge_present {
        check(
            "bridge",
            format!("bridge {bridge}"),
            State::Ok,
            format!(
                "present, datapath type {}",
                ovs.datapath_type.as_deref().unwrap_or("system")
            ),
        )
    } else {
        let datapath = ovs
            .wanted_datapath_type
            .as_deref()
            .map(|t| format!(" datapath_type={t}"))
            .unwrap_or_default();
        check(
            "bridge",
            format!("bridge {bridge}"),
            State::Fail,
            format!("missing: the integration bridge {bridge} does not exist in the local OVS"),
        )
        .fix(format!(
            "ovs-vsctl add-br {bridge} -- set Bridge {bridge} fail_mode=secure \
             other_config:disable-in-band=true{datapath}   (or set `bridge` in {config} to the \
             integration bridge ovn-controller uses)"
        ))
    });
    checks.push(chassis_check(facts, config));
    let mappings = ovs.physical_networks();
    checks.push(check(
        "bridgeMappings",
        "ovn-bridge-mappings",
        State::Info,
        ovs.bridge_mappings
            .clone()
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| "(none)".into()),
    ));
    checks.push(match &facts.gateway {
        None => check(
            "gateway",
            "gateway",
            State::Info,
            "no egress (no `gateway` in the node config)".into(),
        ),
        Some(g) if mappings.contains(&g.physical_network_name) => check(
            "gateway",
            "gateway",
            State::Ok,
            format!(
                "egress via {} on physical network {} (mapped)",
                g.address, g.physical_network_name
            ),
        ),
        Some(g) => check(
            "gateway",
            "gateway",
            State::Fail,
            format!(
                "`gateway.physicalNetworkName` {} is not in ovn-bridge-mappings",
                g.physical_network_name
            ),
        )
        .fix(mapping_fix(facts, &g.physical_network_name)),
    });
    checks.extend(sb_checks(facts));
    checks
}

fn chassis_check(facts: &Facts, config: &str) -> Check {
    let system_id = facts.ovs.system_id.as_deref();
    match (facts.node_config.chassis.as_deref(), system_id) {
        (None, None) => check(
            "chassisName",
            "chassis name",
            State::Fail,
            "no system-id in Open_vSwitch external_ids and no `chassis` in the node config".into(),
        )
        .fix("ovs-vsctl set Open_vSwitch . external_ids:system-id=$(hostname)"),
        (Some(configured), Some(id)) if configured != id => check(
            "chassisName",
            "chassis name",
            State::Fail,
            format!(
                "node config `chassis` is {configured} but ovn-controller registers system-id \
                 {id}: ports requested on {configured} are never bound here"
            ),
        )
        .fix(format!("set `chassis` to {id} in {config}, or remove it")),
        (Some(name), _) | (None, Some(name)) => check(
            "chassisName",
            "chassis name",
            State::Ok,
            match system_id {
                Some(_) => format!("{name} (system-id)"),
                None => format!("{name} (node config `chassis`)"),
            },
        ),
    }
}

fn mapping_fix(facts: &Facts, physnet: &str) -> String {
    let existing = facts
        .ovs
        .bridge_mappings
        .as_deref()
        .filter(|m| !m.is_empty())
        .map(|m| format!("{m},"))
        .unwrap_or_default();
    format!(
        "ovs-vsctl set Open_vSwitch . external_ids:ovn-bridge-mappings={existing}{physnet}:br-ex   \
         (br-ex: the OVS bridge with this node's port on {physnet})"
    )
}

fn sb_checks(facts: &Facts) -> Vec<Check> {
    let sb = &facts.sb;
    let Some(address) = &sb.address else {
        return vec![
            check(
                "sbChassis",
                "SB chassis",
                State::Fail,
                "no ovn-remote in Open_vSwitch external_ids: ovn-controller has no SB to join"
                    .into(),
            )
            .fix("ovs-vsctl set Open_vSwitch . external_ids:ovn-remote=tcp:<SB address>:6642"),
        ];
    };
    let chassis = facts.chassis.as_deref().unwrap_or("(unnamed)");
    if !sb.reachable {
        return vec![
            check(
                "sbChassis",
                format!("SB chassis {chassis}"),
                State::Fail,
                format!(
                    "SB {address} unreachable: {}",
                    sb.error.as_deref().unwrap_or_default()
                ),
            )
            .fix(format!(
                "start the SB database or correct external_ids:ovn-remote; test with \
                 `ovn-sbctl --db={address} show`"
            )),
        ];
    }
    if !sb.chassis_registered {
        return vec![
            check(
                "sbChassis",
                format!("SB chassis {chassis}"),
                State::Fail,
                format!("no Chassis row named {chassis} in SB {address}: not registered"),
            )
            .fix(controller_fix()),
        ];
    }
    let applied = match (sb.chassis_nb_cfg, sb.nb_cfg) {
        (Some(mine), Some(all)) => format!(", nb_cfg {mine} of {all}"),
        _ => String::new(),
    };
    vec![check(
        "sbChassis",
        format!("SB chassis {chassis}"),
        State::Ok,
        format!(
            "registered in {address} (hostname {}){applied}",
            sb.hostname.as_deref().unwrap_or("-")
        ),
    )]
}

fn controller_fix() -> String {
    "start ovn-controller: `systemctl start ovn-controller` (or \
     `/usr/share/ovn/scripts/ovn-ctl start_controller`); its log says why it stopped"
        .into()
}

fn controller_check(facts: &Facts) -> Check {
    let c = &facts.ovn_controller;
    if c.running {
        return check(
            "ovnController",
            "ovn-controller",
            State::Ok,
            format!(
                "running (pid {}, {})",
                c.pid.unwrap_or_default(),
                c.version.as_deref().unwrap_or("version unknown")
            ),
        );
    }
    check(
        "ovnController",
        "ovn-controller",
        State::Fail,
        format!("not running: {}", c.error.as_deref().unwrap_or_default()),
    )
    .fix(format!(
        "{}; if it runs with another run directory, pass --ovn-rundir DIR",
        controller_fix()
    ))
}

fn network_checks(facts: &Facts) -> Vec<Check> {
    if !facts.ovs.reachable {
        return Vec::new();
    }
    let mapped = facts.ovs.physical_networks();
    facts
        .networks
        .iter()
        .map(|n| {
            let subject = format!("network {}", n.network);
            if mapped.contains(&n.physical_network) {
                check(
                    "networkMapping",
                    subject,
                    State::Ok,
                    format!("physical network {} mapped", n.physical_network),
                )
            } else {
                check(
                    "networkMapping",
                    subject,
                    State::Warn,
                    format!(
                        "localnet on physical network {}, which ovn-bridge-mappings does not map \
                         here: its pods cannot attach on this chassis",
                        n.physical_network
                    ),
                )
                .fix(mapping_fix(facts, &n.physical_network))
            }
        })
        .collect()
}

fn versions(facts: &Facts) -> Check {
    let or = |v: &Option<String>| v.clone().unwrap_or_else(|| "not recorded".into());
    let nb_schema = facts
        .nb
        .members
        .iter()
        .find(|m| Some(&m.remote) == facts.nb.answered_by.as_ref())
        .and_then(|m| m.schema_version.clone());
    check(
        "versions",
        "versions",
        State::Info,
        format!(
            "plugin {}, OVS {} (schema {}), NB schema {}, SB schema {}, {}",
            facts.plugin_version,
            or(&facts.ovs.ovs_version),
            or(&facts.ovs.schema_version),
            or(&nb_schema),
            or(&facts.sb.schema_version),
            facts
                .ovn_controller
                .version
                .clone()
                .unwrap_or_else(|| "ovn-controller version unknown".into())
        ),
    )
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::facts::{ControllerFacts, GatewayFacts, NbFacts, NetworkMapping};
    use super::*;

    /// A node as the sandbox's chassis 1 is when all is well.
    pub(crate) fn healthy_facts() -> Facts {
        let mut facts = Facts {
            plugin_version: "0.1.0".into(),
            chassis: Some("node1".into()),
            ..Facts::default()
        };
        facts.node_config.path = Some("/etc/ovn-udn-cni/node.json".into());
        facts.node_config.bridge = "br-int".into();
        facts.nb = NbFacts {
            address: "tcp:10.0.0.1:6641,tcp:10.0.0.2:6641".into(),
            members: vec![
                Member {
                    remote: "tcp:10.0.0.1:6641".into(),
                    reachable: true,
                    model: Some("clustered".into()),
                    leader: Some(true),
                    connected: Some(true),
                    schema_version: Some("7.0.0".into()),
                    ..Member::default()
                },
                Member {
                    remote: "tcp:10.0.0.2:6641".into(),
                    reachable: true,
                    model: Some("clustered".into()),
                    leader: Some(false),
                    connected: Some(true),
                    ..Member::default()
                },
            ],
            answered_by: Some("tcp:10.0.0.1:6641".into()),
        };
        facts.ovs.reachable = true;
        facts.ovs.system_id = Some("node1".into());
        facts.ovs.bridge_present = true;
        facts.ovs.datapath_type = Some("netdev".into());
        facts.ovs.bridge_mappings = Some("physnet:br-ex".into());
        facts.sb.address = Some("tcp:10.0.0.1:6642".into());
        facts.sb.reachable = true;
        facts.sb.chassis_registered = true;
        facts.ovn_controller = ControllerFacts {
            pid: Some(42),
            running: true,
            version: Some("ovn-controller 23.03.1".into()),
            ..ControllerFacts::default()
        };
        facts
    }

    fn by_id<'a>(checks: &'a [Check], id: &str) -> Vec<&'a Check> {
        checks.iter().filter(|c| c.id == id).collect()
    }

    #[test]
    fn a_healthy_node_fails_nothing_and_says_no_egress() {
        let checks = evaluate(&healthy_facts());
        assert!(healthy(&checks), "{checks:#?}");
        let gateway = by_id(&checks, "gateway");
        assert_eq!(gateway[0].state, State::Info);
        assert!(gateway[0].detail.contains("no egress"));
        let versions = &by_id(&checks, "versions")[0].detail;
        assert!(versions.contains("NB schema 7.0.0"), "{versions}");
        assert!(versions.contains("ovn-controller 23.03.1"), "{versions}");
    }

    #[test]
    fn an_unreadable_node_config_is_the_only_check_and_names_the_file() {
        let mut facts = Facts::default();
        facts.node_config.path = Some("/tmp/n.json".into());
        facts.node_config.error = Some("node config /tmp/n.json: not JSON".into());
        let checks = evaluate(&facts);
        assert_eq!(checks.len(), 1);
        assert_eq!(checks[0].state, State::Fail);
        assert!(checks[0].detail.contains("/tmp/n.json"));
        assert!(
            checks[0]
                .fix
                .as_deref()
                .unwrap_or_default()
                .contains("/tmp/n.json")
        );
    }

    #[test]
    fn a_stopped_controller_and_a_missing_bridge_fail_with_their_fix() {
        let mut facts = healthy_facts();
        facts.ovn_controller = ControllerFacts {
            error: Some("no ovn-controller.pid in /var/run/ovn".into()),
            ..ControllerFacts::default()
        };
        facts.ovs.bridge_present = false;
        facts.ovs.wanted_datapath_type = Some("netdev".into());
        let checks = evaluate(&facts);
        assert_eq!(failed(&checks), 2);
        let controller = by_id(&checks, "ovnController")[0];
        assert!(controller.detail.contains("not running"));
        assert!(
            controller
                .fix
                .as_deref()
                .unwrap_or_default()
                .contains("start ovn-controller")
        );
        let bridge = by_id(&checks, "bridge")[0];
        assert!(bridge.detail.contains("missing"));
        let fix = bridge.fix.as_deref().unwrap_or_default();
        assert!(fix.starts_with("ovs-vsctl add-br br-int"), "{fix}");
        assert!(fix.contains("datapath_type=netdev"), "{fix}");
    }

    #[test]
    fn one_member_down_warns_all_down_fails() {
        let mut facts = healthy_facts();
        facts.nb.members[1].reachable = false;
        facts.nb.members[1].error = Some("connection refused".into());
        let checks = evaluate(&facts);
        assert!(healthy(&checks));
        assert_eq!(by_id(&checks, "nbMember")[1].state, State::Warn);

        facts.nb.members[0].connected = Some(false);
        facts.nb.answered_by = None;
        let checks = evaluate(&facts);
        let members = by_id(&checks, "nbMember");
        assert_eq!(members[0].state, State::Fail);
        assert!(members[0].detail.contains("cut off from its cluster"));
        assert_eq!(members[1].state, State::Fail);
        assert_eq!(by_id(&checks, "nbDatabase")[0].state, State::Fail);
    }

    #[test]
    fn chassis_name_missing_or_mismatched_fails() {
        let mut facts = healthy_facts();
        facts.ovs.system_id = None;
        facts.chassis = None;
        let checks = evaluate(&facts);
        let fix = by_id(&checks, "chassisName")[0]
            .fix
            .clone()
            .unwrap_or_default();
        assert!(fix.contains("external_ids:system-id="), "{fix}");

        let mut facts = healthy_facts();
        facts.node_config.chassis = Some("nodeX".into());
        let checks = evaluate(&facts);
        let chassis = by_id(&checks, "chassisName")[0];
        assert_eq!(chassis.state, State::Fail);
        assert!(chassis.detail.contains("nodeX") && chassis.detail.contains("node1"));
    }

    #[test]
    fn gateway_and_localnet_networks_need_their_physical_network_mapped() {
        let mut facts = healthy_facts();
        facts.gateway = Some(GatewayFacts {
            physical_network_name: "external".into(),
            address: "172.20.0.11/16".into(),
        });
        facts.networks = vec![
            NetworkMapping {
                network: "tenant".into(),
                physical_network: "physnet".into(),
            },
            NetworkMapping {
                network: "other".into(),
                physical_network: "elsewhere".into(),
            },
        ];
        let checks = evaluate(&facts);
        let gateway = by_id(&checks, "gateway")[0];
        assert_eq!(gateway.state, State::Fail);
        let fix = gateway.fix.as_deref().unwrap_or_default();
        assert!(
            fix.contains("ovn-bridge-mappings=physnet:br-ex,external:br-ex"),
            "{fix}"
        );
        let networks = by_id(&checks, "networkMapping");
        assert_eq!(networks[0].state, State::Ok);
        assert_eq!(networks[1].state, State::Warn);
        assert!(networks[1].detail.contains("elsewhere"));
    }

    #[test]
    fn an_unregistered_chassis_and_a_missing_ovn_remote_fail() {
        let mut facts = healthy_facts();
        facts.sb.chassis_registered = false;
        let checks = evaluate(&facts);
        let sb = by_id(&checks, "sbChassis")[0];
        assert_eq!(sb.state, State::Fail);
        assert!(sb.detail.contains("not registered"));
        facts.sb.address = None;
        let checks = evaluate(&facts);
        let sb = by_id(&checks, "sbChassis")[0];
        assert!(sb.fix.as_deref().unwrap_or_default().contains("ovn-remote"));
    }
}
