//! `ovn-udn-cni validate FILE...`: checks network configs offline, before a
//! runtime ever hands one to the plugin. A network config, each of this
//! plugin's entries in a conflist, and the `spec.config` of every
//! NetworkAttachmentDefinition in a (multi-document) YAML file go through
//! exactly what ADD runs before it contacts anything ([`Request::new`], then
//! the static-address check), so a config is refused here with the very
//! message and code ADD would answer.

use std::fmt::Write as _;
use std::io::Read;
use std::path::Path;
use std::process::ExitCode;

use conf::{NetConf, Network, NodeConfig, PLUGIN_TYPES, name_rules, shown};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::cni::env::{CniEnv, Command};
use crate::error::PluginError;
use crate::request::{Request, Verb};
use crate::topology;

/// Largest file read: a YAML file may hold many NetworkAttachmentDefinitions,
/// each up to the network config limit; anything bigger is not a config.
const MAX_FILE_BYTES: u64 = 4 * conf::MAX_CONFIG_BYTES as u64;

/// The Kubernetes API group and version of NetworkAttachmentDefinitions.
const NAD_API_VERSION: &str = "k8s.cni.cncf.io/v1";
/// The kind checked in YAML files; other kinds are skipped.
const NAD_KIND: &str = "NetworkAttachmentDefinition";

const EXAMPLES: &str = "\
Each file is one of:
  *.json, *.conf    a network config, as a runtime hands it to the plugin
  *.conflist        a conflist: entries of type ovn-udn-cni or ovn-k8s-cni-overlay are
                    checked (with the list's name and cniVersion, as libcni passes them),
                    other plugins are skipped
  *.yaml, *.yml     Kubernetes objects, several documents allowed: the spec.config of each
                    NetworkAttachmentDefinition is checked, other kinds are skipped
  -                 standard input (JSON if it starts with '{', else YAML)

A config is refused with the message and CNI error code ADD would answer;
what only a node can tell (databases, bridge mappings, free addresses, the
IPAM plugin's answer) is not checked. Exit status: 0 if nothing is invalid.

Examples:
  ovn-udn-cni validate deploy/networks/*.yaml
  ovn-udn-cni validate /etc/cni/net.d/10-udn.conflist
  kubectl get net-attach-def -A -o yaml | ovn-udn-cni validate -
  ovn-udn-cni validate --json nad.yaml | jq '.results[] | select(.status == \"invalid\")'

--json prints one object: {\"valid\": bool, \"results\": [...]}, one result per
config found, each with the keys file, document, item, object, plugin, status
(ok, invalid or skipped), code, message and network (all present, null when
not applicable).";

/// `validate` and its options.
#[derive(Debug, clap::Args)]
#[command(after_long_help = EXAMPLES)]
pub struct Args {
    /// Network configs (.json, .conf), conflists (.conflist) or
    /// NetworkAttachmentDefinition YAML (.yaml, .yml); `-` reads stdin.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<String>,
    /// Print one JSON object instead of a line per config.
    #[arg(long)]
    json: bool,
}

/// What became of one config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum Status {
    /// ADD would accept it.
    Ok,
    /// ADD (or the runtime, or Kubernetes) would refuse it.
    Invalid,
    /// Not this plugin's to check.
    Skipped,
}

/// The Kubernetes object a config came from.
#[derive(Debug, Clone, Serialize)]
struct Object {
    kind: String,
    namespace: Option<String>,
    name: Option<String>,
}

/// The network an accepted config describes.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Summary {
    name: String,
    topology: &'static str,
    role: &'static str,
    subnets: Vec<String>,
    net_attach_def_name: Option<String>,
}

/// The verdict on one config: one line, or one element of `results`.
#[derive(Debug, Serialize)]
struct Finding {
    #[serde(flatten)]
    place: Place,
    status: Status,
    /// The CNI error code ADD would answer; null when ADD never sees the
    /// fault (YAML, the object around the config) or nothing is wrong.
    code: Option<u64>,
    message: String,
    network: Option<Summary>,
}

/// Where in the input a config sits.
#[derive(Debug, Clone, Default, Serialize)]
struct Place {
    /// The file as named on the command line (`-` for stdin).
    file: String,
    /// 1-based YAML document number; null in a JSON file.
    document: Option<usize>,
    /// Index in the `items` of a YAML list (`kubectl get -o yaml`).
    item: Option<usize>,
    /// The Kubernetes object of a YAML document.
    object: Option<Object>,
    /// Index in a conflist's `plugins`.
    plugin: Option<usize>,
}

impl Place {
    fn finding(&self, status: Status, code: Option<u64>, message: String) -> Finding {
        Finding {
            place: self.clone(),
            status,
            code,
            message,
            network: None,
        }
    }

    /// Refused the way ADD refuses it.
    fn refused(&self, err: &PluginError) -> Finding {
        self.finding(Status::Invalid, Some(err.code()), err.to_string())
    }

    /// Refused before a runtime would run the plugin at all.
    fn invalid(&self, message: String) -> Finding {
        self.finding(Status::Invalid, None, message)
    }

    fn skipped(&self, message: String) -> Finding {
        self.finding(Status::Skipped, None, message)
    }

    fn accepted(&self, network: &Network) -> Finding {
        let subnets: Vec<String> = network
            .subnets
            .iter()
            .map(|s| match s.host_prefix {
                Some(host) => format!("{}/{host}", s.cidr),
                None => s.cidr.to_string(),
            })
            .collect();
        let addressing = match (&network.ipam_plugin, subnets.is_empty()) {
            (Some(plugin), _) => format!("addresses from IPAM plugin {plugin}"),
            (None, true) => "no IPAM".to_owned(),
            (None, false) => subnets.join(","),
        };
        let message = format!(
            "{} {} network {} ({addressing})",
            network.topology.as_str(),
            network.role.as_str(),
            shown(&network.id.name)
        );
        Finding {
            network: Some(Summary {
                name: network.id.name.clone(),
                topology: network.topology.as_str(),
                role: network.role.as_str(),
                subnets,
                net_attach_def_name: network.id.nad.clone(),
            }),
            ..self.finding(Status::Ok, None, message)
        }
    }

    /// `file: document 2 (NetworkAttachmentDefinition ns/name): plugins[1]`.
    fn label(&self) -> String {
        let mut label = self.file.clone();
        if let Some(document) = self.document {
            let _ = write!(label, ": document {document}");
        }
        if let Some(item) = self.item {
            let _ = write!(label, ": items[{item}]");
        }
        if let Some(object) = &self.object {
            let name = match (&object.namespace, &object.name) {
                (Some(ns), Some(name)) => format!("{ns}/{name}"),
                (None, Some(name)) => name.clone(),
                (_, None) => "(no name)".to_owned(),
            };
            let _ = write!(label, " ({} {name})", object.kind);
        }
        if let Some(plugin) = self.plugin {
            let _ = write!(label, ": plugins[{plugin}]");
        }
        label
    }
}

/// Checks every file, prints the verdicts; exit status 0 if none is invalid.
pub fn run(args: Args) -> ExitCode {
    let mut findings = Vec::new();
    for file in &args.files {
        check_file(file, &mut findings);
    }
    let valid = findings.iter().all(|f| f.status != Status::Invalid);
    if args.json {
        let report = serde_json::json!({ "valid": valid, "results": findings });
        println!("{report}");
    } else {
        for finding in &findings {
            let verdict = match (finding.status, finding.code) {
                (Status::Ok, _) => "OK".to_owned(),
                (Status::Skipped, _) => "skipped".to_owned(),
                (Status::Invalid, Some(code)) => format!("INVALID (ADD answers code {code})"),
                (Status::Invalid, None) => "INVALID".to_owned(),
            };
            println!("{}: {verdict}: {}", finding.place.label(), finding.message);
        }
    }
    if valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Reads one file (or stdin) and checks what it holds.
fn check_file(file: &str, findings: &mut Vec<Finding>) {
    let place = Place {
        file: file.to_owned(),
        ..Place::default()
    };
    let bytes = match read_input(file) {
        Ok(bytes) => bytes,
        Err(message) => return findings.push(place.invalid(message)),
    };
    let yaml = match Path::new(file).extension().and_then(|e| e.to_str()) {
        Some("yaml" | "yml") => true,
        Some("json" | "conf" | "conflist") => false,
        _ => bytes.trim_ascii_start().first() != Some(&b'{'),
    };
    if yaml {
        check_yaml(&place, &bytes, findings);
    } else {
        check_json(&place, bytes, findings);
    }
}

/// The file's bytes, at most [`MAX_FILE_BYTES`]; the error names the file.
fn read_input(file: &str) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    let read = if file == "-" {
        std::io::stdin()
            .take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
    } else {
        std::fs::File::open(file).and_then(|f| f.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes))
    };
    read.map_err(|e| format!("cannot read: {e}"))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(format!(
            "more than {MAX_FILE_BYTES} bytes: not a network config"
        ));
    }
    Ok(bytes)
}

/// A JSON network config or conflist (a JSON object with `plugins`).
fn check_json(place: &Place, bytes: Vec<u8>, findings: &mut Vec<Finding>) {
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(list)) if list.contains_key("plugins") => {
            check_conflist(place, &list, findings);
        }
        // Anything else, even what is not JSON, gets ADD's own verdict.
        _ => findings.push(check_netconf(place, bytes)),
    }
}

/// A conflist: libcni requires `name` and `plugins`, and hands each plugin
/// its entry with the list's `name` and `cniVersion` set.
fn check_conflist(place: &Place, list: &Map<String, Value>, findings: &mut Vec<Finding>) {
    let Some(Value::String(name)) = list.get("name") else {
        return findings.push(place.invalid("conflist: `name` is required (a string)".into()));
    };
    let version = list.get("cniVersion").cloned();
    let plugins = match list.get("plugins") {
        Some(Value::Array(plugins)) if !plugins.is_empty() => plugins,
        _ => {
            return findings.push(place.invalid(
                "conflist: `plugins` must be a non-empty array of plugin configs".into(),
            ));
        }
    };
    for (i, plugin) in plugins.iter().enumerate() {
        let place = Place {
            plugin: Some(i),
            ..place.clone()
        };
        let Value::Object(plugin) = plugin else {
            findings.push(place.invalid(format!("conflist: `plugins[{i}]` is not an object")));
            continue;
        };
        match plugin.get("type").and_then(Value::as_str) {
            Some(kind) if PLUGIN_TYPES.contains(&kind) => {
                let mut conf = plugin.clone();
                conf.insert("name".into(), Value::String(name.clone()));
                if let Some(version) = &version {
                    conf.insert("cniVersion".into(), version.clone());
                }
                let bytes = Value::Object(conf).to_string().into_bytes();
                findings.push(check_netconf(&place, bytes));
            }
            Some(kind) => findings.push(place.skipped(format!(
                "type {} is another plugin (checked: {})",
                shown(kind),
                PLUGIN_TYPES.join(", ")
            ))),
            None => findings.push(place.invalid(format!(
                "conflist: `plugins[{i}].type` is required (a string)"
            ))),
        }
    }
}

/// One network config, through what ADD runs before it contacts anything.
fn check_netconf(place: &Place, bytes: Vec<u8>) -> Finding {
    let conf = match NetConf::from_slice(&bytes) {
        Ok(conf) => conf,
        Err(err) => return place.refused(&err.into()),
    };
    // An ADD as a runtime without Kubernetes arguments would send it: the
    // container id and interface name only name the port, never refuse it.
    let env = CniEnv {
        command: Command::Add,
        container_id: "validate".into(),
        netns: None,
        ifname: "eth0".into(),
        args: String::new(),
        path: String::new(),
    };
    let (network, addressing) = match Request::new(&env, bytes, conf, NodeConfig::default()) {
        Ok((_, Verb::Add(network, addressing))) => (network, addressing),
        // Request::new answers an ADD with Verb::Add; anything else would be
        // a bug of ours, reported rather than a panic.
        Ok(_) => return place.invalid("internal error: the config was not read as an ADD".into()),
        Err(err) => return place.refused(&err),
    };
    if let Err(err) = topology::check_static_addresses(&network, &addressing.ips) {
        return place.refused(&err);
    }
    if let Some(mismatch) = nad_mismatch(place.object.as_ref(), network.id.nad.as_deref()) {
        return place.invalid(mismatch);
    }
    place.accepted(&network)
}

/// A `netAttachDefName` that is not the NAD holding the config: ovn-kubernetes
/// refuses such a NAD, and ports would be named after another one.
fn nad_mismatch(object: Option<&Object>, nad: Option<&str>) -> Option<String> {
    let (object, nad) = (object?, nad?);
    let name = object.name.as_deref()?;
    let (nad_ns, nad_name) = nad.split_once('/')?;
    let same_ns = object.namespace.as_deref().is_none_or(|ns| ns == nad_ns);
    if same_ns && nad_name == name {
        return None;
    }
    let this = match &object.namespace {
        Some(ns) => format!("{ns}/{name}"),
        None => format!("<namespace>/{name}"),
    };
    Some(format!(
        "`netAttachDefName` {} is not this NetworkAttachmentDefinition ({this})",
        shown(nad)
    ))
}

/// Every document of a YAML file; a syntax error ends the file, naming its line.
fn check_yaml(place: &Place, bytes: &[u8], findings: &mut Vec<Finding>) {
    for (i, document) in serde_yaml_ng::Deserializer::from_slice(bytes).enumerate() {
        let place = Place {
            document: Some(i + 1),
            ..place.clone()
        };
        match Value::deserialize(document) {
            // An empty document (a trailing `---`) holds nothing to check.
            Ok(Value::Null) => {}
            Ok(value) => check_object(&place, value, findings),
            Err(err) => {
                // libyaml's messages carry the line already; others get it here.
                let text = err.to_string();
                let at = match err.location() {
                    Some(at) if !text.contains("at line") => {
                        format!("line {}, column {}: ", at.line(), at.column())
                    }
                    _ => String::new(),
                };
                findings.push(place.invalid(format!("invalid YAML: {at}{text}")));
                return;
            }
        }
    }
}

/// One Kubernetes object: a NetworkAttachmentDefinition's `spec.config` is
/// checked like a file of its own, the items of a list (`kubectl get -o
/// yaml`) one by one; any other kind is skipped.
fn check_object(place: &Place, value: Value, findings: &mut Vec<Finding>) {
    let Value::Object(object) = value else {
        return findings.push(place.invalid("not a Kubernetes object (a YAML mapping)".into()));
    };
    if place.item.is_none()
        && object
            .get("kind")
            .and_then(Value::as_str)
            .is_some_and(|kind| kind.ends_with("List"))
        && let Some(Value::Array(items)) = object.get("items")
    {
        for (i, item) in items.iter().enumerate() {
            let place = Place {
                item: Some(i),
                ..place.clone()
            };
            check_object(&place, item.clone(), findings);
        }
        return;
    }
    let text = |path: &[&str]| -> Option<&str> {
        let mut value = object.get(path[0])?;
        for key in &path[1..] {
            value = value.get(key)?;
        }
        value.as_str()
    };
    let kind = text(&["kind"]).unwrap_or("(no kind)").to_owned();
    let place = Place {
        object: Some(Object {
            kind: kind.clone(),
            namespace: text(&["metadata", "namespace"]).map(str::to_owned),
            name: text(&["metadata", "name"]).map(str::to_owned),
        }),
        ..place.clone()
    };
    if kind != NAD_KIND {
        return findings.push(place.skipped(format!("not a {NAD_KIND}")));
    }
    if let Some(why) = nad_metadata_error(&object) {
        return findings.push(place.invalid(why));
    }
    match object.get("spec").and_then(|spec| spec.get("config")) {
        None | Some(Value::Null) => findings.push(place.skipped(
            "no `spec.config`: Multus then reads the config from a file on each node, which validate cannot see".into(),
        )),
        Some(Value::String(config)) if config.trim().is_empty() => findings.push(place.skipped(
            "empty `spec.config`: Multus then reads the config from a file on each node, which validate cannot see".into(),
        )),
        Some(Value::String(config)) => check_json(&place, config.clone().into_bytes(), findings),
        Some(_) => findings.push(place.invalid(
            "`spec.config` must be a string holding the JSON network config".into(),
        )),
    }
}

/// What Kubernetes would refuse about the object around the config.
fn nad_metadata_error(object: &Map<String, Value>) -> Option<String> {
    match object.get("apiVersion").and_then(Value::as_str) {
        Some(NAD_API_VERSION) => {}
        other => {
            return Some(format!(
                "`apiVersion` {} is not {NAD_API_VERSION}",
                shown(other.unwrap_or(""))
            ));
        }
    }
    let metadata = object.get("metadata");
    let field = |key: &str| metadata.and_then(|m| m.get(key));
    let name = match field("name") {
        Some(Value::String(name)) => name,
        _ => return Some("`metadata.name` is required (a string)".into()),
    };
    if let Err(why) = name_rules::dns_subdomain(name) {
        return Some(format!("`metadata.name` {} {why}", shown(name)));
    }
    match field("namespace") {
        None | Some(Value::Null) => None,
        Some(Value::String(ns)) => name_rules::dns_label(ns)
            .err()
            .map(|why| format!("`metadata.namespace` {} {why}", shown(ns))),
        Some(_) => Some("`metadata.namespace` must be a string".into()),
    }
}
