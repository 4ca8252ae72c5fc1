//! A `monitor_cond` session on one table: the current matching rows, kept
//! up to date from `update2` notifications.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use serde_json::Value as Json;
use tokio::sync::mpsc;

use crate::{Atom, Client, Error, Row, Value, deadline};

/// How an update2 "modify" diff applies to a column, which depends on its
/// schema type (ovsdb-server's `ovsdb_datum_diff`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ColumnKind {
    /// At most one element (`max` 1, scalar or optional): the diff is the
    /// new value.
    Single,
    /// A set of several elements: the diff holds the elements to toggle.
    Set,
    /// A map of several pairs: the diff holds pairs to add, remove or replace.
    Map,
}

/// Column kinds of one table, read from its schema.
#[derive(Debug, Clone, Default)]
pub(crate) struct ColumnKinds(HashMap<String, ColumnKind>);

impl ColumnKinds {
    /// Reads the kinds of `table`'s columns from a `get_schema` result.
    pub(crate) fn from_schema(schema: &Json, table: &str) -> Result<ColumnKinds, Error> {
        let columns = schema
            .get("tables")
            .and_then(|t| t.get(table))
            .and_then(|t| t.get("columns"))
            .and_then(Json::as_object)
            .ok_or_else(|| Error::Protocol(format!("schema has no table {table:?}")))?;
        Ok(ColumnKinds(
            columns
                .iter()
                .map(|(name, column)| (name.clone(), kind_of(column.get("type"))))
                .collect(),
        ))
    }

    fn get(&self, column: &str) -> ColumnKind {
        // _uuid and _version are not in the schema; both are single values.
        self.0.get(column).copied().unwrap_or(ColumnKind::Single)
    }
}

fn kind_of(column_type: Option<&Json>) -> ColumnKind {
    let Some(Json::Object(t)) = column_type else {
        // A bare atomic type name: exactly one value.
        return ColumnKind::Single;
    };
    let max_is_one = match t.get("max") {
        None => true,
        Some(m) => m.as_u64() == Some(1),
    };
    match (max_is_one, t.contains_key("value")) {
        (true, _) => ColumnKind::Single,
        (false, true) => ColumnKind::Map,
        (false, false) => ColumnKind::Set,
    }
}

/// Applies one update2 "modify" diff to a column value.
fn apply_diff(old: Option<Value>, diff: Value, kind: ColumnKind) -> Value {
    match kind {
        ColumnKind::Single => diff,
        ColumnKind::Set => {
            let mut set: Vec<Atom> = old.map(|v| v.atoms().to_vec()).unwrap_or_default();
            for atom in diff.atoms() {
                match set.iter().position(|a| a == atom) {
                    Some(i) => {
                        set.remove(i);
                    }
                    None => set.push(atom.clone()),
                }
            }
            Value::Set(set)
        }
        ColumnKind::Map => {
            let mut map = match old {
                Some(Value::Map(m)) => m,
                _ => Vec::new(),
            };
            let Value::Map(changes) = diff else {
                return Value::Map(map);
            };
            for (key, value) in changes {
                match map.iter().position(|(k, _)| *k == key) {
                    // Same pair: the key was removed.
                    Some(i) if map[i].1 == value => {
                        map.remove(i);
                    }
                    // Same key, other value: the value changed.
                    Some(i) => map[i].1 = value,
                    None => map.push((key, value)),
                }
            }
            Value::Map(map)
        }
    }
}

/// The rows of one table matching a condition, as the server last reported
/// them. Dropping it sends `monitor_cancel` best-effort.
pub struct Monitor {
    client: Client,
    id: String,
    db: String,
    table: String,
    kinds: ColumnKinds,
    rows: BTreeMap<String, Row>,
    updates: mpsc::UnboundedReceiver<Json>,
}

impl std::fmt::Debug for Monitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Monitor")
            .field("db", &self.db)
            .field("table", &self.table)
            .field("rows", &self.rows.len())
            .finish_non_exhaustive()
    }
}

impl Monitor {
    pub(crate) fn new(
        client: Client,
        id: String,
        db: &str,
        table: &str,
        kinds: ColumnKinds,
        updates: mpsc::UnboundedReceiver<Json>,
    ) -> Monitor {
        Monitor {
            client,
            id,
            db: db.to_string(),
            table: table.to_string(),
            kinds,
            rows: BTreeMap::new(),
            updates,
        }
    }

    /// The current rows by uuid; each row also carries `_uuid`. Columns at
    /// their default value may be absent (update2 omits them), which the
    /// lenient [`Row`] readers treat as empty.
    pub fn rows(&self) -> &BTreeMap<String, Row> {
        &self.rows
    }

    /// Waits for the next update notification and applies it. Once the
    /// connection is gone, the reason it ended (see
    /// [`Client::is_connected`]).
    pub async fn changed(&mut self) -> Result<(), Error> {
        match self.updates.recv().await {
            Some(update) => self.apply(&update),
            None => Err(self.client.closed_error()),
        }
    }

    /// Returns as soon as `done(rows)` is true (checked on the current rows
    /// first), [`Error::Timeout`] after `timeout`; a timeout of a century
    /// or more, such as `Duration::MAX`, means no limit.
    pub async fn wait_until(
        &mut self,
        timeout: Duration,
        mut done: impl FnMut(&BTreeMap<String, Row>) -> bool,
    ) -> Result<(), Error> {
        let deadline = deadline::after(timeout);
        loop {
            if done(&self.rows) {
                return Ok(());
            }
            // changed() only awaits a channel receive, which is cancel-safe,
            // so a timeout never loses an update.
            match deadline::until(deadline, self.changed()).await {
                Some(result) => result?,
                None => {
                    return Err(Error::Timeout(format!(
                        "rows of {}.{} to reach the expected state within {timeout:?}",
                        self.db, self.table
                    )));
                }
            }
        }
    }

    /// Applies a `<table-updates2>` object (the monitor_cond reply or the
    /// second param of an update2 notification).
    pub(crate) fn apply(&mut self, updates: &Json) -> Result<(), Error> {
        let Some(table) = updates.get(&self.table) else {
            return Ok(());
        };
        let table = table
            .as_object()
            .ok_or_else(|| Error::Protocol(format!("bad table-update2: {table}")))?;
        for (uuid, update) in table {
            if let Some(row) = update.get("initial").or_else(|| update.get("insert")) {
                let row = Row::from_json(row)?.with("_uuid", Value::uuid(uuid));
                self.rows.insert(uuid.clone(), row);
            } else if let Some(diff) = update.get("modify") {
                let diff = Row::from_json(diff)?;
                let row = self
                    .rows
                    .entry(uuid.clone())
                    .or_insert_with(|| Row::new().with("_uuid", Value::uuid(uuid)));
                for (column, change) in diff.0 {
                    let old = row.0.remove(&column);
                    let new = apply_diff(old, change, self.kinds.get(&column));
                    row.0.insert(column, new);
                }
            } else if update.get("delete").is_some() {
                self.rows.remove(uuid);
            } else {
                return Err(Error::Protocol(format!("bad row-update2: {update}")));
            }
        }
        Ok(())
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        self.client.cancel_monitor(&self.id);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn s(x: &str) -> Atom {
        Atom::String(x.into())
    }

    #[test]
    fn kinds_from_schema_types() {
        assert_eq!(kind_of(Some(&json!("string"))), ColumnKind::Single);
        assert_eq!(
            kind_of(Some(&json!({"key": "integer", "min": 0, "max": 1}))),
            ColumnKind::Single
        );
        assert_eq!(
            kind_of(Some(
                &json!({"key": "string", "min": 0, "max": "unlimited"})
            )),
            ColumnKind::Set
        );
        assert_eq!(
            kind_of(Some(
                &json!({"key": "string", "value": "string", "min": 0, "max": "unlimited"})
            )),
            ColumnKind::Map
        );
    }

    #[test]
    fn set_diff_toggles_elements() {
        let old = Value::Set(vec![s("a"), s("b")]);
        let diff = Value::Set(vec![s("b"), s("c")]);
        assert_eq!(
            apply_diff(Some(old), diff, ColumnKind::Set),
            Value::Set(vec![s("a"), s("c")])
        );
        // An absent column (default, omitted by update2) starts empty; a
        // one-element diff may arrive as a bare atom.
        assert_eq!(
            apply_diff(None, Value::Atom(s("x")), ColumnKind::Set),
            Value::Set(vec![s("x")])
        );
    }

    #[test]
    fn map_diff_adds_removes_and_replaces() {
        let old = Value::string_map([("keep", "1"), ("drop", "2"), ("change", "3")]);
        let diff = Value::string_map([("drop", "2"), ("change", "4"), ("new", "5")]);
        let new = apply_diff(Some(old), diff, ColumnKind::Map).to_string_map();
        let expected: BTreeMap<String, String> = [("keep", "1"), ("change", "4"), ("new", "5")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(new, expected);
    }

    #[test]
    fn single_value_diff_replaces() {
        assert_eq!(
            apply_diff(
                Some(Value::integer(1)),
                Value::integer(2),
                ColumnKind::Single
            ),
            Value::integer(2)
        );
    }
}
