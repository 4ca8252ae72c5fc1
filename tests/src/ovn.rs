//! Reading rows of the sandbox's OVN northbound and OVS databases, as JSON,
//! to assert what the plugin programmed.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::sandbox::sandbox;

/// One database row: column name to value, with OVSDB's `["map",..]`,
/// `["set",..]` and `["uuid",..]` wrappers turned into objects, arrays and
/// strings. A one-element set stays a bare value; use [`list`] on set columns.
pub type Row = Map<String, Value>;

/// Rows of NB `table` matching every `column[:key]=value` condition.
pub fn nb_find(table: &str, conditions: &[&str]) -> Vec<Row> {
    let mut args = vec!["--format=json", "find", table];
    args.extend_from_slice(conditions);
    parse_table(&sandbox().nbctl(&args))
}

/// Rows of chassis `node`'s OVS `table` matching every condition.
pub fn ovs_find(node: usize, table: &str, conditions: &[&str]) -> Vec<Row> {
    let mut args = vec!["--format=json", "find", table];
    args.extend_from_slice(conditions);
    parse_table(&sandbox().vsctl(node, &args))
}

/// The values of a set column (a bare value is a one-element set).
pub fn list(value: Option<&Value>) -> Vec<Value> {
    match value {
        None => Vec::new(),
        Some(Value::Array(items)) => items.clone(),
        Some(other) => vec![other.clone()],
    }
}

/// `row[column][key]` as a string, for map columns such as `external_ids`.
pub fn map_get<'a>(row: &'a Row, column: &str, key: &str) -> Option<&'a str> {
    row.get(column)?.get(key)?.as_str()
}

/// `row[column]` as a string.
pub fn column_str<'a>(row: &'a Row, column: &str) -> Option<&'a str> {
    row.get(column)?.as_str()
}

/// Logical switches whose name is `name`.
pub fn switches_named(name: &str) -> Vec<Row> {
    nb_find("Logical_Switch", &[&format!("name={name}")])
}

/// Logical switches tagged `external_ids:k8s.ovn.org/network=<network>`.
pub fn switches_of_network(network: &str) -> Vec<Row> {
    nb_find(
        "Logical_Switch",
        &[&format!("external_ids:k8s.ovn.org/network={network}")],
    )
}

/// The LSP called `name`, if any (panics if there are several: names are unique).
pub fn lsp(name: &str) -> Option<Row> {
    let mut rows = nb_find("Logical_Switch_Port", &[&format!("name={name}")]);
    assert!(rows.len() <= 1, "{} LSPs named {name}", rows.len());
    rows.pop()
}

/// Names of every pod LSP of a network: those tagged with it and those on
/// its switches `switches`, so a port that lacks its tag is still counted.
/// Ports with a `type` (router, localnet) belong to the topology: left out.
pub fn lsp_names_of_network(network: &str, switches: &[String]) -> BTreeSet<String> {
    let tagged = nb_find(
        "Logical_Switch_Port",
        &[&format!("external_ids:k8s.ovn.org/network={network}")],
    );
    let typed: BTreeSet<&str> = tagged
        .iter()
        .filter(|r| column_str(r, "type").is_some_and(|t| !t.is_empty()))
        .filter_map(|r| column_str(r, "name"))
        .collect();
    let mut names: BTreeSet<String> = tagged
        .iter()
        .filter_map(|r| column_str(r, "name").map(str::to_owned))
        .collect();
    for ls in switches.iter().flat_map(|s| switches_named(s)) {
        let uuid = column_str(&ls, "_uuid").unwrap_or_default().to_owned();
        let out = sandbox().nbctl(&["lsp-list", &uuid]);
        // Lines look like `<uuid> (<name>)`.
        for line in out.lines() {
            if let Some(name) = line.split_once('(').and_then(|(_, n)| n.strip_suffix(')')) {
                names.insert(name.to_owned());
            }
        }
    }
    names.retain(|n| !typed.contains(n.as_str()));
    names
}

/// OVS Interfaces on chassis `node` whose `external_ids:iface-id` is `lsp`.
pub fn interfaces_with_iface_id(node: usize, lsp: &str) -> Vec<Row> {
    ovs_find(
        node,
        "Interface",
        &[&format!("external_ids:iface-id={lsp}")],
    )
}

/// OVS Interfaces on chassis `node` whose `external_ids:sandbox` is `container_id`.
pub fn interfaces_of_sandbox(node: usize, container_id: &str) -> Vec<Row> {
    ovs_find(
        node,
        "Interface",
        &[&format!("external_ids:sandbox={container_id}")],
    )
}

/// OVS Interfaces on chassis `node` tagged `external_ids:k8s.ovn.org/network`.
pub fn interfaces_of_network(node: usize, network: &str) -> Vec<Row> {
    ovs_find(
        node,
        "Interface",
        &[&format!("external_ids:k8s.ovn.org/network={network}")],
    )
}

/// The OVS Port named `name` on chassis `node`, if any.
pub fn ovs_port(node: usize, name: &str) -> Option<Row> {
    ovs_find(node, "Port", &[&format!("name={name}")]).pop()
}

/// Names of the ports of bridge `br-int` on chassis `node`.
pub fn br_int_ports(node: usize) -> BTreeSet<String> {
    sandbox()
        .vsctl(node, &["list-ports", "br-int"])
        .lines()
        .map(str::to_owned)
        .collect()
}

fn parse_table(json: &str) -> Vec<Row> {
    let table: Value = serde_json::from_str(json)
        .unwrap_or_else(|e| panic!("ovsdb table output is not JSON ({e}): {json}"));
    let headings: Vec<String> = table["headings"]
        .as_array()
        .expect("table has headings")
        .iter()
        .map(|h| h.as_str().unwrap_or_default().to_owned())
        .collect();
    table["data"]
        .as_array()
        .expect("table has data")
        .iter()
        .map(|row| {
            headings
                .iter()
                .zip(row.as_array().expect("row is an array"))
                .map(|(h, v)| (h.clone(), plain(v)))
                .collect()
        })
        .collect()
}

/// Strips OVSDB's type wrappers from a value.
fn plain(value: &Value) -> Value {
    let Some([tag, body]) = value.as_array().map(Vec::as_slice) else {
        return value.clone();
    };
    match tag.as_str() {
        Some("uuid") | Some("named-uuid") => body.clone(),
        Some("set") => Value::Array(body.as_array().into_iter().flatten().map(plain).collect()),
        Some("map") => Value::Object(
            body.as_array()
                .into_iter()
                .flatten()
                .filter_map(|pair| {
                    let [k, v] = pair.as_array()?.as_slice() else {
                        return None;
                    };
                    Some((k.as_str()?.to_owned(), plain(v)))
                })
                .collect(),
        ),
        _ => value.clone(),
    }
}
