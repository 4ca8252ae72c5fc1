//! The southbound view of a claimed port: where it is bound.

use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::process;
use crate::sandbox::sandbox;

/// A logical port's southbound Port_Binding, chassis given by name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Binding {
    /// The main chassis (`chassis`).
    pub chassis: Option<String>,
    /// Further chassis (`additional_chassis`), e.g. a migration target.
    pub additional_chassis: Vec<String>,
    /// `options:additional-chassis-activated`: chassis where the RARP arrived.
    pub activated: Vec<String>,
    /// The `up` column.
    pub up: bool,
}

impl Binding {
    /// The Port_Binding of `lsp`, if northd made one.
    pub fn of(lsp: &str) -> Option<Binding> {
        let row = sbctl_json(&[
            "--columns=chassis,additional_chassis,options,up",
            "find",
            "Port_Binding",
            &format!("logical_port={lsp}"),
        ])
        .into_iter()
        .next()?;
        let names = chassis_names();
        let name = |uuid: &String| {
            names
                .iter()
                .find(|(u, _)| u == uuid)
                .map_or_else(|| uuid.clone(), |(_, n)| n.clone())
        };
        let options = &row[2];
        let activated = options
            .get("additional-chassis-activated")
            .and_then(Value::as_str)
            .map(|v| v.split(',').map(str::to_owned).collect())
            .unwrap_or_default();
        Some(Binding {
            chassis: uuids(&row[0]).first().map(name),
            additional_chassis: uuids(&row[1]).iter().map(name).collect(),
            activated,
            up: row[3].as_bool().unwrap_or(false),
        })
    }

    /// Polls [`Binding::of`] until `ok` holds (panics after `timeout`,
    /// naming `what` and the last binding seen).
    pub fn wait(
        lsp: &str,
        timeout: Duration,
        what: &str,
        ok: impl Fn(&Binding) -> bool,
    ) -> Binding {
        let deadline = Instant::now() + timeout;
        loop {
            let binding = Binding::of(lsp);
            if let Some(b) = binding.as_ref().filter(|b| ok(b)) {
                return b.clone();
            }
            assert!(
                Instant::now() < deadline,
                "Port_Binding of {lsp}: not {what} after {timeout:?}: {binding:?}"
            );
            thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Runs `ovn-sbctl` against the sandbox SB; panics on failure.
fn sbctl(args: &[&str]) -> String {
    let db = format!("--db=unix:{}", sandbox().dir.join("sb.sock").display());
    let mut all = vec!["--timeout=20", db.as_str()];
    all.extend_from_slice(args);
    process::must("ovn-sbctl", &all)
}

/// Rows of an `ovn-sbctl --format=json` listing, values with OVSDB's
/// `map` wrapper turned into objects (uuids and sets are left wrapped).
fn sbctl_json(args: &[&str]) -> Vec<Vec<Value>> {
    let mut all = vec!["--format=json"];
    all.extend_from_slice(args);
    let out = sbctl(&all);
    let table: Value = serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("ovn-sbctl output is not JSON ({e}): {out}"));
    table["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_array)
        .map(|row| row.iter().map(unmap).collect())
        .collect()
}

/// `["map", [[k, v], ..]]` as an object; anything else unchanged.
fn unmap(value: &Value) -> Value {
    match value.as_array().map(Vec::as_slice) {
        Some([tag, Value::Array(pairs)]) if tag == "map" => Value::Object(
            pairs
                .iter()
                .filter_map(|p| Some((p[0].as_str()?.to_owned(), p[1].clone())))
                .collect(),
        ),
        _ => value.clone(),
    }
}

/// The uuids in a `["uuid", u]` or `["set", [["uuid", u], ..]]` value.
fn uuids(value: &Value) -> Vec<String> {
    match value.as_array().map(Vec::as_slice) {
        Some([tag, Value::String(u)]) if tag == "uuid" => vec![u.clone()],
        Some([tag, Value::Array(items)]) if tag == "set" => items.iter().flat_map(uuids).collect(),
        _ => Vec::new(),
    }
}

/// (uuid, name) of every SB Chassis.
fn chassis_names() -> Vec<(String, String)> {
    sbctl_json(&["--columns=_uuid,name", "list", "Chassis"])
        .iter()
        .filter_map(|row| Some((uuids(row.first()?).pop()?, row.get(1)?.as_str()?.to_owned())))
        .collect()
}
