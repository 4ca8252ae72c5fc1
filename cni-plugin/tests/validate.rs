//! `ovn-udn-cni validate`, the real binary: every example the project ships
//! (deploy/, the JSON configs of README.md and docs/) is valid, and a bad
//! config is refused with the message ADD itself answers. No root, no OVN.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::TempDir;
use conf::{NODE_KEYS, NetConf, Network, NodeConfig, PLUGIN_TYPES};
use serde_json::Value;

const BINARY: &str = env!("CARGO_BIN_EXE_ovn-udn-cni");

/// The repository's root (this crate is `cni-plugin/`).
fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// `ovn-udn-cni validate ARGS...` with `stdin`, outside any CNI call.
fn validate(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(BINARY)
        .arg("validate")
        .args(args)
        .env_remove("CNI_COMMAND")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// `validate --json`'s report, with its exit status.
fn report(args: &[&str], stdin: &str) -> (bool, Value) {
    let out = validate(&[&["--json"], args].concat(), stdin);
    let text = String::from_utf8(out.stdout).unwrap();
    let report: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("validate --json printed no JSON ({e}): {text}"));
    (out.status.success(), report)
}

fn results(report: &Value) -> &Vec<Value> {
    report["results"].as_array().unwrap()
}

/// Every file under `dir` with one of `extensions`, sorted.
fn files_under(dir: &Path, extensions: &[&str]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(files_under(&path, extensions));
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| extensions.contains(&e))
        {
            found.push(path);
        }
    }
    found.sort();
    found
}

#[test]
fn every_example_in_deploy_is_valid() {
    let files = files_under(
        &repo().join("deploy"),
        &["yaml", "yml", "json", "conf", "conflist"],
    );
    let names: Vec<&str> = files.iter().map(|f| f.to_str().unwrap()).collect();
    let (ok, report) = report(&names, "");
    let invalid: Vec<&Value> = results(&report)
        .iter()
        .filter(|r| r["status"] != "ok" && r["status"] != "skipped")
        .collect();
    assert!(ok && invalid.is_empty(), "invalid examples: {invalid:#?}");
    assert_eq!(report["valid"], true);
    // Every NetworkAttachmentDefinition was checked, none skipped; the
    // scenarios' networks are all there.
    let mut networks: Vec<String> = Vec::new();
    for result in results(&report) {
        if result["object"]["kind"] == "NetworkAttachmentDefinition" {
            assert_eq!(result["status"], "ok", "{result:#}");
            let object = &result["object"];
            networks.push(format!(
                "{}/{} {}",
                object["namespace"].as_str().unwrap(),
                object["name"].as_str().unwrap(),
                result["network"]["topology"].as_str().unwrap()
            ));
        }
    }
    networks.sort();
    assert_eq!(
        networks,
        [
            "blue-namespace/vm-network layer2",
            "blue/blue-network layer2",
            "green/green-network layer2",
            "orange/orange-vlan100 localnet",
            "purple/purple-network layer3",
            "red-namespace/vm-network layer2",
            "red/colored-enterprise layer2",
            "yellow/colored-enterprise layer2",
        ]
    );
}

/// The ```json blocks of a Markdown file, with the line each starts on.
fn json_blocks(markdown: &str) -> Vec<(usize, String)> {
    let mut blocks = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, line) in markdown.lines().enumerate() {
        let fence = line.trim_start();
        match &mut current {
            None if fence == "```json" => current = Some((i + 1, String::new())),
            Some(_) if fence.starts_with("```") => blocks.extend(current.take()),
            Some((_, text)) => {
                text.push_str(line);
                text.push('\n');
            }
            None => {}
        }
    }
    blocks
}

#[test]
fn every_json_config_in_the_docs_is_valid() {
    let mut docs = vec![repo().join("README.md")];
    docs.extend(files_under(&repo().join("docs"), &["md"]));
    let dir = TempDir::new("doc-configs");
    let (mut network_configs, mut node_configs) = (0, 0);
    for doc in &docs {
        let markdown = std::fs::read_to_string(doc).unwrap();
        for (line, block) in json_blocks(&markdown) {
            let place = format!("{}:{line}", doc.display());
            // A ```json block that is not JSON is a broken example.
            let value: Value =
                serde_json::from_str(&block).unwrap_or_else(|e| panic!("{place}: not JSON: {e}"));
            let Value::Object(object) = value else {
                continue;
            };
            let plugin = object.get("type").and_then(Value::as_str);
            if object.contains_key("plugins") || plugin.is_some_and(|t| PLUGIN_TYPES.contains(&t)) {
                let (ok, report) = report(&["-"], &block);
                assert!(ok, "{place}: {report:#}");
                assert!(
                    results(&report).iter().any(|r| r["status"] == "ok"),
                    "{place}: nothing of this plugin in it: {report:#}"
                );
                network_configs += 1;
            } else if object.keys().all(|k| NODE_KEYS.contains(&k.as_str())) {
                // Only node keys: a node config (other blocks show the
                // CLI's JSON output).
                let file = dir.path().join(format!("node-{node_configs}.json"));
                std::fs::write(&file, &block).unwrap();
                NodeConfig::load_file(&file).unwrap_or_else(|e| panic!("{place}: {e}"));
                node_configs += 1;
            }
        }
    }
    // The docs show configs of every topology and the node config: finding
    // none would mean the blocks were not read.
    assert!(
        network_configs >= 5,
        "{network_configs} network configs found"
    );
    assert!(node_configs >= 1, "{node_configs} node configs found");
}

/// A NAD around `config`, YAML-quoted.
fn nad(namespace: &str, name: &str, config: &str) -> String {
    format!(
        "apiVersion: k8s.cni.cncf.io/v1\nkind: NetworkAttachmentDefinition\nmetadata:\n  \
         name: {name}\n  namespace: {namespace}\nspec:\n  config: '{config}'\n"
    )
}

/// The CNI error ADD answers for `config` (it is refused before any netns,
/// database or node is touched, so no root is needed).
fn add_error(config: &str) -> Value {
    let dir = TempDir::new("add");
    let node = dir.path().join("node.json");
    let log = dir.path().join("plugin.log");
    std::fs::write(&node, format!(r#"{{"logFile":"{}"}}"#, log.display())).unwrap();
    let mut child = Command::new(BINARY)
        .env("CNI_COMMAND", "ADD")
        .env("CNI_CONTAINERID", "c0ffee")
        .env("CNI_NETNS", dir.path().join("no-netns"))
        .env("CNI_IFNAME", "net1")
        .env("CNI_PATH", dir.path())
        .env("OVN_UDN_CNI_NODE_CONFIG", &node)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(config.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success(), "ADD accepted {config}");
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn a_bad_subnet_in_a_nad_gets_the_message_add_gives() {
    let config = r#"{"cniVersion":"1.1.0","name":"blue-network","type":"ovn-k8s-cni-overlay","role":"primary","subnets":"192.168.0.0/33","netAttachDefName":"blue/blue-network"}"#;
    let conf_error = Network::from_conf(&NetConf::from_slice(config.as_bytes()).unwrap())
        .unwrap_err()
        .to_string();
    assert!(conf_error.contains("`subnets`"), "{conf_error}");
    let add = add_error(config);

    let (ok, report) = report(&["-"], &nad("blue", "blue-network", config));
    assert!(!ok);
    assert_eq!(report["valid"], false);
    let [result] = results(&report).as_slice() else {
        panic!("one result expected: {report:#}");
    };
    assert_eq!(result["status"], "invalid");
    assert_eq!(result["message"], conf_error.as_str());
    assert_eq!(result["message"], add["msg"]);
    assert_eq!(result["code"], add["code"]);
    assert_eq!(result["code"], 7);
    assert_eq!(result["object"]["name"], "blue-network");

    // The same verdict as a plain JSON file, and in the line output.
    let dir = TempDir::new("bad-subnet");
    let file = dir.path().join("blue.json");
    std::fs::write(&file, config).unwrap();
    let out = validate(&[file.to_str().unwrap()], "");
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text.starts_with(&format!(
            "{}: INVALID (ADD answers code 7): ",
            file.display()
        )) && text.trim_end().ends_with(&conf_error),
        "{text}"
    );
}

#[test]
fn a_static_address_outside_the_subnets_gets_adds_code_and_message() {
    let config = r#"{"cniVersion":"1.0.0","name":"l","type":"ovn-udn-cni","subnets":"10.0.0.0/24","runtimeConfig":{"ips":["10.0.1.5/24"]}}"#;
    let add = add_error(config);
    let (ok, report) = report(&["-"], config);
    assert!(!ok);
    let result = &results(&report)[0];
    assert_eq!(result["message"], add["msg"]);
    assert_eq!(result["code"], add["code"]);
}

#[test]
fn every_node_key_in_a_network_config_is_refused() {
    for key in NODE_KEYS {
        let config =
            format!(r#"{{"cniVersion":"1.1.0","name":"n","type":"ovn-udn-cni","{key}":"x"}}"#);
        let (ok, report) = report(&["-"], &config);
        assert!(!ok, "{key} accepted");
        let result = &results(&report)[0];
        assert_eq!(result["code"], 7, "{key}: {result:#}");
        assert_eq!(result["message"], add_error(&config)["msg"], "{key}");
        let message = result["message"].as_str().unwrap();
        assert!(
            message.contains(&format!("`{key}` is a node setting")),
            "{key}: {message}"
        );
    }
}

#[test]
fn invalid_yaml_names_the_file_and_line() {
    let dir = TempDir::new("yaml");
    let file = dir.path().join("broken.yaml");
    let good = nad(
        "blue",
        "blue-network",
        r#"{"cniVersion":"1.1.0","name":"blue-network","type":"ovn-udn-cni"}"#,
    );
    // Line 10 (the second document's 2nd) opens a flow sequence that line
    // 11 does not go on with.
    std::fs::write(
        &file,
        format!("{good}---\napiVersion: k8s.cni.cncf.io/v1\nmetadata: [name: x\nkind: NetworkAttachmentDefinition\n"),
    )
    .unwrap();
    let out = validate(&[file.to_str().unwrap()], "");
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].contains(": OK: "), "{text}");
    let broken = format!("{}: document 2: INVALID: invalid YAML: ", file.display());
    assert!(
        lines[1].starts_with(&broken) && lines[1].contains(" line 11 "),
        "{text}"
    );
}

#[test]
fn conflists_check_this_plugins_entries_with_the_lists_name() {
    let list = r#"{"cniVersion":"1.0.0","name":"shared","plugins":[
        {"type":"ovn-udn-cni","topology":"layer3","subnets":"10.128.0.0/16"},
        {"type":"tuning","sysctl":{}}]}"#;
    let (ok, report) = report(&["-"], list);
    assert!(ok, "{report:#}");
    let [ours, other] = results(&report).as_slice() else {
        panic!("two results expected: {report:#}");
    };
    assert_eq!(
        (&ours["status"], &ours["plugin"], &ours["network"]["name"]),
        (&"ok".into(), &0.into(), &"shared".into())
    );
    assert_eq!(ours["network"]["subnets"][0], "10.128.0.0/16/24");
    assert_eq!(
        (&other["status"], &other["plugin"]),
        (&"skipped".into(), &1.into())
    );
}

#[test]
fn the_json_schema_is_the_same_for_every_result() {
    let yaml = format!(
        "{}---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: blue\n",
        nad("blue", "x", r#"{"cniVersion":"1.1.0","name":"x","mtu":9}"#)
    );
    let (ok, report) = report(&["-"], &yaml);
    assert!(!ok);
    let keys = |r: &Value| -> Vec<String> { r.as_object().unwrap().keys().cloned().collect() };
    let expected = [
        "code", "document", "file", "item", "message", "network", "object", "plugin", "status",
    ];
    let results = results(&report);
    assert_eq!(results.len(), 2);
    for result in results {
        assert_eq!(keys(result), expected, "{result:#}");
    }
    assert_eq!(results[0]["status"], "invalid");
    assert_eq!(results[1]["status"], "skipped");
}

#[test]
fn a_nad_whose_net_attach_def_name_is_another_is_refused() {
    let config =
        r#"{"cniVersion":"1.1.0","name":"ce","type":"ovn-udn-cni","netAttachDefName":"red/other"}"#;
    let (ok, report) = report(&["-"], &nad("red", "colored-enterprise", config));
    assert!(!ok);
    let message = results(&report)[0]["message"].as_str().unwrap().to_owned();
    assert!(
        message.contains("`netAttachDefName`") && message.contains("red/colored-enterprise"),
        "{message}"
    );
}
