//! The operators' commands against the sandbox: `status`, `doctor`,
//! `attachments`, `networks`, each also with `--json`. One test stops a
//! chassis' ovn-controller, so every test here holds the fault tests' lock
//! ([`serial`]): none of them reads a chassis while it is broken.

use std::time::Duration;

use e2e::faults::{Stopped, serial};
use e2e::node_config::NodeConfigFile;
use e2e::plugin::cli_on;
use e2e::process::Finished;
use e2e::{Network, Pod, sandbox};
use serde_json::{Value, json};

/// `ovn-udn-cni ARGS` on chassis `node` with its sandbox node config.
fn on(node: usize, args: &[&str]) -> Finished {
    let config = sandbox().node_config(node).display().to_string();
    cli_on(node, &config, args)
}

/// The JSON a command printed on stdout.
fn json_of(done: &Finished, what: &str) -> Value {
    serde_json::from_slice(&done.stdout).unwrap_or_else(|e| {
        panic!(
            "{what}: stdout is not JSON ({e}): {}\nstderr: {}",
            done.stdout_text(),
            done.stderr
        )
    })
}

/// The checks of a `status --json` with this `id`.
fn checks<'a>(status: &'a Value, id: &str) -> Vec<&'a Value> {
    status["checks"]
        .as_array()
        .expect("checks is a list")
        .iter()
        .filter(|c| c["id"] == id)
        .collect()
}

#[test]
fn status_of_a_healthy_chassis_exits_0_with_its_facts() {
    let _serial = serial();
    let sb = sandbox();
    let done = on(2, &["status", "--json"]);
    assert!(done.ok(), "status: {}\n{}", done.stdout_text(), done.stderr);
    let status = json_of(&done, "status --json");
    assert_eq!(status["healthy"], true, "{status:#}");
    assert_eq!(status["chassis"], sb.chassis(2));
    for check in status["checks"].as_array().expect("checks") {
        assert_ne!(check["state"], "fail", "{check}");
    }
    let facts = &status["facts"];
    assert_eq!(facts["nb"]["answeredBy"], sb.nb_remote());
    assert_eq!(facts["nb"]["members"][0]["reachable"], true);
    assert_eq!(facts["nb"]["members"][0]["leader"], true);
    assert_eq!(facts["ovs"]["bridgePresent"], true);
    assert_eq!(facts["ovs"]["datapathType"], "netdev");
    assert_eq!(facts["ovs"]["systemId"], sb.chassis(2));
    assert!(
        facts["ovs"]["bridgeMappings"]
            .as_str()
            .is_some_and(|m| m.starts_with("physnet:")),
        "{facts:#}"
    );
    assert_eq!(facts["sb"]["chassisRegistered"], true);
    assert_eq!(facts["ovnController"]["running"], true);
    assert!(
        facts["ovnController"]["version"]
            .as_str()
            .is_some_and(|v| v.starts_with("ovn-controller")),
        "{facts:#}"
    );
    // The sandbox gives every chassis a gateway on its physical network.
    assert_eq!(facts["gateway"]["address"], "172.20.0.12/16");
    assert_eq!(facts["gateway"]["physicalNetworkName"], "physnet");
    assert_eq!(checks(&status, "gateway")[0]["state"], "ok");
    assert!(facts["nb"]["members"][0]["schemaVersion"].is_string());

    let table = on(2, &["status"]);
    assert!(table.ok(), "status: {}", table.stderr);
    let text = table.stdout_text();
    assert!(text.lines().last() == Some("healthy"), "{text}");
    assert!(text.contains("egress via 172.20.0.12/16"), "{text}");
    let doctor = on(2, &["doctor"]);
    assert!(doctor.ok(), "doctor: {}", doctor.stderr);
    assert!(
        doctor.stdout_text().contains("no problems found"),
        "{}",
        doctor.stdout_text()
    );
}

#[test]
fn without_ovn_controller_status_fails_and_doctor_names_the_fix() {
    let _serial = serial();
    {
        let _stopped = Stopped::daemon(3, "ovn-controller");
        let status = on(3, &["status", "--json"]);
        assert!(!status.ok(), "status with ovn-controller stopped exited 0");
        let json = json_of(&status, "status --json");
        assert_eq!(json["healthy"], false);
        let controller = checks(&json, "ovnController");
        assert_eq!(controller[0]["state"], "fail", "{json:#}");
        assert!(status.stderr.contains("checks failed"), "{}", status.stderr);

        let doctor = on(3, &["doctor"]);
        assert!(!doctor.ok(), "doctor with ovn-controller stopped exited 0");
        let text = doctor.stdout_text();
        assert!(text.contains("FAIL ovn-controller: not running"), "{text}");
        assert!(
            text.contains("fix: start ovn-controller: `systemctl start ovn-controller`"),
            "{text}"
        );
        let json = json_of(&on(3, &["doctor", "--json"]), "doctor --json");
        assert_eq!(json["problems"][0]["id"], "ovnController", "{json:#}");
    }
    // Restarted: healthy again once its control socket answers.
    let mut last = String::new();
    for _ in 0..50 {
        let status = on(3, &["status"]);
        if status.ok() {
            return;
        }
        last = status.stdout_text();
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("status still unhealthy after ovn-controller restarted:\n{last}");
}

#[test]
fn doctor_names_a_missing_bridge_and_the_command_that_adds_it() {
    let _serial = serial();
    let config = NodeConfigFile::for_node(1, &[("bridge", json!("br-nothere"))]);
    let doctor = cli_on(1, &config.path(), &["doctor"]);
    assert!(!doctor.ok(), "doctor with a missing bridge exited 0");
    let text = doctor.stdout_text();
    assert!(text.contains("FAIL bridge br-nothere: missing"), "{text}");
    assert!(
        text.contains("fix: ovs-vsctl add-br br-nothere -- set Bridge br-nothere"),
        "{text}"
    );
    assert!(text.contains("datapath_type=netdev"), "{text}");

    let broken = NodeConfigFile::raw(b"{\"bridge\":", Value::Null);
    let doctor = cli_on(1, &broken.path(), &["doctor"]);
    assert!(
        !doctor.ok(),
        "doctor with an unreadable node config exited 0"
    );
    let text = doctor.stdout_text();
    assert!(text.contains(&broken.path()), "{text}");
    assert!(text.contains("not JSON"), "{text}");
}

#[test]
fn doctor_tells_an_unreachable_nb_member_from_an_unreachable_nb() {
    let _serial = serial();
    let sb = sandbox();
    let gone = "unix:/nonexistent/nb.sock";
    let both = format!("{gone},{}", sb.nb_remote());
    let doctor = on(1, &["doctor", "--nb-address", &both]);
    assert!(
        doctor.ok(),
        "one member of two down is no failure: {}",
        doctor.stderr
    );
    let text = doctor.stdout_text();
    assert!(
        text.contains(&format!("WARN NB member {gone}: unreachable")),
        "{text}"
    );
    assert!(
        text.contains(&format!("ovsdb-client list-dbs {gone}")),
        "{text}"
    );

    let doctor = on(1, &["doctor", "--nb-address", gone]);
    assert!(!doctor.ok(), "doctor without any NB exited 0");
    let text = doctor.stdout_text();
    assert!(
        text.contains("FAIL NB database: no member of nbAddress"),
        "{text}"
    );
    assert!(text.contains("--nb-address"), "{text}");
}

#[test]
fn status_checks_the_gateway_physical_network_is_mapped() {
    let _serial = serial();
    let gateway =
        |physnet: &str| json!({"physicalNetworkName": physnet, "address": "172.20.0.11/16"});
    let mapped = NodeConfigFile::for_node(1, &[("gateway", gateway("physnet"))]);
    let done = cli_on(1, &mapped.path(), &["status", "--json"]);
    let status = json_of(&done, "status --json");
    assert!(done.ok(), "{status:#}");
    assert_eq!(checks(&status, "gateway")[0]["state"], "ok", "{status:#}");
    assert_eq!(status["facts"]["gateway"]["physicalNetworkName"], "physnet");

    let without = NodeConfigFile::for_node(1, &[("gateway", Value::Null)]);
    let done = cli_on(1, &without.path(), &["status"]);
    assert!(
        done.ok(),
        "a chassis without egress is healthy: {}",
        done.stderr
    );
    assert!(
        done.stdout_text().contains("no egress"),
        "{}",
        done.stdout_text()
    );

    let unmapped = NodeConfigFile::for_node(1, &[("gateway", gateway("nowhere"))]);
    let doctor = cli_on(1, &unmapped.path(), &["doctor"]);
    assert!(!doctor.ok(), "doctor with an unmapped gateway exited 0");
    let text = doctor.stdout_text();
    assert!(text.contains("FAIL gateway"), "{text}");
    assert!(
        text.contains("external_ids:ovn-bridge-mappings=physnet:br-ex,nowhere:br-ex"),
        "{text}"
    );
}

#[test]
fn attachments_list_added_pods_and_filter_by_network_and_chassis() {
    let _serial = serial();
    let sb = sandbox();
    let net = Network::layer2("cliatt", "10.61.0.0/24");
    let other = Network::layer2("cliattother", "10.61.1.0/24");
    let local = Pod::add(&net, 1);
    let remote = Pod::add(&net, 2);
    let _elsewhere = Pod::add(&other, 1);

    let done = on(1, &["attachments", "--json", "--network", &net.name]);
    assert!(done.ok(), "attachments: {}", done.stderr);
    let rows = json_of(&done, "attachments --json")["attachments"]
        .as_array()
        .expect("attachments is a list")
        .clone();
    assert_eq!(rows.len(), 2, "{rows:#?}");
    assert!(rows.iter().all(|r| r["network"] == net.name.as_str()));
    let mine = rows
        .iter()
        .find(|r| r["chassis"] == sb.chassis(1))
        .expect("the node1 pod");
    let k8s = local.spec.k8s.as_ref().expect("k8s identity");
    assert_eq!(mine["pod"], format!("{}/{}", k8s.namespace, k8s.name));
    assert_eq!(mine["containerId"], local.spec.container_id.as_str());
    assert_eq!(mine["interface"], "ovn-udn1");
    assert_eq!(mine["ips"], json!(local.cidrs()));
    assert_eq!(mine["mac"], local.pod_interface()["mac"]);
    assert_eq!(mine["bound"], true);
    assert_eq!(mine["ovnInstalled"], true);
    let theirs = rows
        .iter()
        .find(|r| r["chassis"] == sb.chassis(2))
        .expect("the node2 pod");
    assert_eq!(theirs["ips"], json!(remote.cidrs()));
    assert_eq!(theirs["bound"], true);
    assert_eq!(theirs["ovnInstalled"], Value::Null, "not this chassis' OVS");

    let done = on(
        1,
        &[
            "attachments",
            "--network",
            &net.name,
            "--chassis",
            &sb.chassis(2),
        ],
    );
    assert!(done.ok(), "attachments: {}", done.stderr);
    let text = done.stdout_text();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "header and one row: {text}");
    assert!(lines[0].starts_with("POD"), "{text}");
    assert!(lines[1].contains(&remote.ip()), "{text}");
    assert!(!text.contains(&k8s.name), "{text}");
}

/// `networks --json` for one network.
fn network_info(name: &str) -> Value {
    let done = on(1, &["networks", "--json", "--network", name]);
    assert!(done.ok(), "networks: {}", done.stderr);
    let json = json_of(&done, "networks --json");
    let list = json["networks"].as_array().expect("networks is a list");
    assert_eq!(list.len(), 1, "{json:#}");
    list[0].clone()
}

#[test]
fn networks_count_ports_and_free_addresses_as_pods_come() {
    let _serial = serial();
    let net = Network::layer2("clinet", "10.62.0.0/24");
    let _first = Pod::add(&net, 1);
    let before = network_info(&net.name);
    assert_eq!(before["topology"], "layer2");
    assert_eq!(before["role"], "primary");
    assert_eq!(before["ports"], 1);
    assert_eq!(before["subnets"][0]["subnet"], "10.62.0.0/24");
    // 256 less network, broadcast, gateway and the pod.
    assert_eq!(before["subnets"][0]["free"], 252);

    let _second = Pod::add(&net, 2);
    let after = network_info(&net.name);
    assert_eq!(after["ports"], 2);
    assert_eq!(after["subnets"][0]["used"], 2);
    assert_eq!(after["subnets"][0]["free"], 251);

    let table = on(1, &["networks", "--network", &net.name]);
    let text = table.stdout_text();
    let row = text.lines().nth(1).unwrap_or_default();
    for cell in [
        net.name.as_str(),
        "layer2",
        "primary",
        "10.62.0.0/24",
        "251",
    ] {
        assert!(row.contains(cell), "{cell} in {text}");
    }
}

#[test]
fn ipam_list_json_parses() {
    let _serial = serial();
    let done = on(1, &["ipam", "list", "--json"]);
    assert!(done.ok(), "ipam list: {}", done.stderr);
    let json = json_of(&done, "ipam list --json");
    assert!(json["claims"].is_array(), "{json:#}");
}
