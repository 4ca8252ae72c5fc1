//! OVSDB data in RFC 7047 notation: atoms, sets, maps and rows, with
//! constructors for writing and lenient readers for what the server sends.

use std::collections::BTreeMap;

use serde_json::{Value as Json, json};

use crate::Error;

/// One scalar of an OVSDB column (RFC 7047 `<atom>`).
#[derive(Debug, Clone, PartialEq)]
pub enum Atom {
    /// A 64-bit integer.
    Integer(i64),
    /// A real number.
    Real(f64),
    /// A boolean.
    Boolean(bool),
    /// A string.
    String(String),
    /// A row reference: `["uuid", "…"]`.
    Uuid(String),
    /// A reference to a row inserted earlier in the same transaction:
    /// `["named-uuid", "…"]`.
    NamedUuid(String),
}

impl Atom {
    /// The JSON form of the atom.
    pub fn to_json(&self) -> Json {
        match self {
            Atom::Integer(i) => json!(i),
            Atom::Real(r) => json!(r),
            Atom::Boolean(b) => json!(b),
            Atom::String(s) => json!(s),
            Atom::Uuid(u) => json!(["uuid", u]),
            Atom::NamedUuid(n) => json!(["named-uuid", n]),
        }
    }

    /// Parses an atom; anything else (a set, a map, null) is a protocol error.
    pub fn from_json(v: &Json) -> Result<Atom, Error> {
        match v {
            Json::Bool(b) => Ok(Atom::Boolean(*b)),
            Json::String(s) => Ok(Atom::String(s.clone())),
            Json::Number(n) => match n.as_i64() {
                Some(i) => Ok(Atom::Integer(i)),
                None => n
                    .as_f64()
                    .map(Atom::Real)
                    .ok_or_else(|| Error::Protocol(format!("number out of range: {n}"))),
            },
            Json::Array(a) => match (a.first().and_then(Json::as_str), a.get(1), a.len()) {
                (Some("uuid"), Some(Json::String(u)), 2) => Ok(Atom::Uuid(u.clone())),
                (Some("named-uuid"), Some(Json::String(n)), 2) => Ok(Atom::NamedUuid(n.clone())),
                _ => Err(Error::Protocol(format!("not an OVSDB atom: {v}"))),
            },
            _ => Err(Error::Protocol(format!("not an OVSDB atom: {v}"))),
        }
    }

    /// The atom as text, for readers that want strings whatever the column
    /// type (map keys and values are usually strings, but not always).
    pub fn to_text(&self) -> String {
        match self {
            Atom::Integer(i) => i.to_string(),
            Atom::Real(r) => r.to_string(),
            Atom::Boolean(b) => b.to_string(),
            Atom::String(s) | Atom::Uuid(s) | Atom::NamedUuid(s) => s.clone(),
        }
    }
}

/// A column value (RFC 7047 `<value>`): an atom, a set or a map.
///
/// RFC 7047 lets a one-element set travel as a bare atom, so the readers
/// below treat `Atom(x)` and `Set([x])` alike and an empty set as "no value".
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A single atom.
    Atom(Atom),
    /// `["set", [...]]`.
    Set(Vec<Atom>),
    /// `["map", [[k, v], ...]]`.
    Map(Vec<(Atom, Atom)>),
}

impl Value {
    /// A string atom.
    pub fn string(s: impl Into<String>) -> Value {
        Value::Atom(Atom::String(s.into()))
    }

    /// An integer atom.
    pub fn integer(i: i64) -> Value {
        Value::Atom(Atom::Integer(i))
    }

    /// A boolean atom.
    pub fn boolean(b: bool) -> Value {
        Value::Atom(Atom::Boolean(b))
    }

    /// A row reference, `["uuid", u]`.
    pub fn uuid(u: impl Into<String>) -> Value {
        Value::Atom(Atom::Uuid(u.into()))
    }

    /// A reference to a row inserted in the same transaction, `["named-uuid", n]`.
    pub fn named_uuid(n: impl Into<String>) -> Value {
        Value::Atom(Atom::NamedUuid(n.into()))
    }

    /// A set of strings; always `["set", …]`, even with one element, so the
    /// caller need not think about the one-element shorthand.
    pub fn string_set<I: IntoIterator<Item = S>, S: Into<String>>(items: I) -> Value {
        Value::Set(items.into_iter().map(|s| Atom::String(s.into())).collect())
    }

    /// A set of row references.
    pub fn uuid_set<I: IntoIterator<Item = S>, S: Into<String>>(items: I) -> Value {
        Value::Set(items.into_iter().map(|s| Atom::Uuid(s.into())).collect())
    }

    /// A set of references to rows inserted in the same transaction.
    pub fn named_uuid_set<I: IntoIterator<Item = S>, S: Into<String>>(items: I) -> Value {
        Value::Set(
            items
                .into_iter()
                .map(|s| Atom::NamedUuid(s.into()))
                .collect(),
        )
    }

    /// A string-to-string map, `["map", [[k, v], …]]`.
    pub fn string_map<I: IntoIterator<Item = (K, V)>, K: Into<String>, V: Into<String>>(
        items: I,
    ) -> Value {
        Value::Map(
            items
                .into_iter()
                .map(|(k, v)| (Atom::String(k.into()), Atom::String(v.into())))
                .collect(),
        )
    }

    /// The empty set, which is how OVSDB clears an optional column.
    pub fn empty_set() -> Value {
        Value::Set(Vec::new())
    }

    /// The JSON form of the value.
    pub fn to_json(&self) -> Json {
        match self {
            Value::Atom(a) => a.to_json(),
            Value::Set(s) => json!(["set", s.iter().map(Atom::to_json).collect::<Vec<_>>()]),
            Value::Map(m) => json!([
                "map",
                m.iter()
                    .map(|(k, v)| json!([k.to_json(), v.to_json()]))
                    .collect::<Vec<_>>()
            ]),
        }
    }

    /// Parses a value as the server sends it.
    pub fn from_json(v: &Json) -> Result<Value, Error> {
        let bad = || Error::Protocol(format!("not an OVSDB value: {v}"));
        let Some(arr) = v.as_array() else {
            return Atom::from_json(v).map(Value::Atom);
        };
        match (arr.first().and_then(Json::as_str), arr.get(1), arr.len()) {
            (Some("set"), Some(Json::Array(items)), 2) => items
                .iter()
                .map(Atom::from_json)
                .collect::<Result<_, _>>()
                .map(Value::Set),
            (Some("map"), Some(Json::Array(pairs)), 2) => pairs
                .iter()
                .map(|p| match p.as_array().map(Vec::as_slice) {
                    Some([k, v]) => Ok((Atom::from_json(k)?, Atom::from_json(v)?)),
                    _ => Err(bad()),
                })
                .collect::<Result<_, _>>()
                .map(Value::Map),
            _ => Atom::from_json(v).map(Value::Atom),
        }
    }

    /// The atoms of an atom or a set (a map yields nothing).
    pub fn atoms(&self) -> &[Atom] {
        match self {
            Value::Atom(a) => std::slice::from_ref(a),
            Value::Set(s) => s,
            Value::Map(_) => &[],
        }
    }

    /// The single atom of an atom or a one-element set.
    fn single(&self) -> Option<&Atom> {
        match self.atoms() {
            [a] => Some(a),
            _ => None,
        }
    }

    /// The string, if this is one string (or a one-element set of one).
    pub fn as_str(&self) -> Option<&str> {
        match self.single()? {
            Atom::String(s) => Some(s),
            _ => None,
        }
    }

    /// The integer, if this is one integer (or a one-element set of one).
    pub fn as_i64(&self) -> Option<i64> {
        match self.single()? {
            Atom::Integer(i) => Some(*i),
            _ => None,
        }
    }

    /// The number, if this is one real or integer. ovsdb-server writes a
    /// real with no fractional part as a JSON integer (`0`, not `0.0`), so a
    /// real column may parse as [`Atom::Integer`]; this reader accepts both.
    pub fn as_f64(&self) -> Option<f64> {
        match self.single()? {
            Atom::Real(r) => Some(*r),
            // Precision loss above 2^53 is irrelevant for the reals OVSDB holds.
            Atom::Integer(i) => Some(*i as f64),
            _ => None,
        }
    }

    /// The boolean, if this is one boolean (or a one-element set of one).
    pub fn as_bool(&self) -> Option<bool> {
        match self.single()? {
            Atom::Boolean(b) => Some(*b),
            _ => None,
        }
    }

    /// The row reference, if this is one uuid (or a one-element set of one).
    pub fn as_uuid(&self) -> Option<&str> {
        match self.single()? {
            Atom::Uuid(u) => Some(u),
            _ => None,
        }
    }

    /// Every string of an atom or a set; other atom types are skipped.
    pub fn strings(&self) -> Vec<String> {
        self.atoms()
            .iter()
            .filter_map(|a| match a {
                Atom::String(s) => Some(s.clone()),
                _ => None,
            })
            .collect()
    }

    /// Every row reference of an atom or a set; other atom types are skipped.
    pub fn uuids(&self) -> Vec<String> {
        self.atoms()
            .iter()
            .filter_map(|a| match a {
                Atom::Uuid(u) => Some(u.clone()),
                _ => None,
            })
            .collect()
    }

    /// A map as text keys and values (non-string atoms are written as text);
    /// anything that is not a map gives an empty map.
    ///
    /// Named `to_string_map` because `Value::string_map` is the constructor.
    pub fn to_string_map(&self) -> BTreeMap<String, String> {
        match self {
            Value::Map(m) => m.iter().map(|(k, v)| (k.to_text(), v.to_text())).collect(),
            _ => BTreeMap::new(),
        }
    }
}

/// A row: column name to value. Rows read from the server carry `_uuid`
/// (and `_version` when selected) as ordinary columns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Row(pub BTreeMap<String, Value>);

impl Row {
    /// An empty row, to be filled with [`Row::with`].
    pub fn new() -> Row {
        Row::default()
    }

    /// Sets `column` to `value`; a builder for insert and update rows.
    pub fn with(mut self, column: &str, value: Value) -> Row {
        self.0.insert(column.to_string(), value);
        self
    }

    /// The value of `column`, if the row has it.
    pub fn get(&self, column: &str) -> Option<&Value> {
        self.0.get(column)
    }

    /// The row's own uuid (`_uuid`).
    pub fn uuid(&self) -> Option<&str> {
        self.get("_uuid").and_then(Value::as_uuid)
    }

    /// `column` as one string.
    pub fn str(&self, column: &str) -> Option<&str> {
        self.get(column).and_then(Value::as_str)
    }

    /// `column` as one integer.
    pub fn i64(&self, column: &str) -> Option<i64> {
        self.get(column).and_then(Value::as_i64)
    }

    /// `column` as one number (real or integer, see [`Value::as_f64`]).
    pub fn f64(&self, column: &str) -> Option<f64> {
        self.get(column).and_then(Value::as_f64)
    }

    /// `column` as one boolean.
    pub fn bool(&self, column: &str) -> Option<bool> {
        self.get(column).and_then(Value::as_bool)
    }

    /// `column` as a list of strings; empty if absent.
    pub fn strings(&self, column: &str) -> Vec<String> {
        self.get(column).map(Value::strings).unwrap_or_default()
    }

    /// `column` as a list of row references; empty if absent.
    pub fn uuids(&self, column: &str) -> Vec<String> {
        self.get(column).map(Value::uuids).unwrap_or_default()
    }

    /// `column` as a string map; empty if absent.
    pub fn map(&self, column: &str) -> BTreeMap<String, String> {
        self.get(column)
            .map(Value::to_string_map)
            .unwrap_or_default()
    }

    /// The JSON object form of the row.
    pub fn to_json(&self) -> Json {
        Json::Object(
            self.0
                .iter()
                .map(|(k, v)| (k.clone(), v.to_json()))
                .collect(),
        )
    }

    /// Parses a JSON object of columns.
    pub fn from_json(v: &Json) -> Result<Row, Error> {
        let obj = v
            .as_object()
            .ok_or_else(|| Error::Protocol(format!("row is not an object: {v}")))?;
        obj.iter()
            .map(|(k, v)| Ok((k.clone(), Value::from_json(v)?)))
            .collect::<Result<_, _>>()
            .map(Row)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn round_trip(v: Value, expected: Json) {
        assert_eq!(v.to_json(), expected);
        assert_eq!(Value::from_json(&expected).unwrap(), v);
    }

    #[test]
    fn atoms_round_trip() {
        round_trip(Value::string("a"), json!("a"));
        round_trip(Value::integer(-7), json!(-7));
        round_trip(Value::Atom(Atom::Real(1.5)), json!(1.5));
        round_trip(Value::boolean(true), json!(true));
        round_trip(Value::uuid("u1"), json!(["uuid", "u1"]));
        round_trip(Value::named_uuid("n1"), json!(["named-uuid", "n1"]));
    }

    #[test]
    fn sets_and_maps_round_trip() {
        round_trip(Value::string_set(["x"]), json!(["set", ["x"]]));
        round_trip(Value::empty_set(), json!(["set", []]));
        round_trip(
            Value::uuid_set(["a", "b"]),
            json!(["set", [["uuid", "a"], ["uuid", "b"]]]),
        );
        round_trip(
            Value::named_uuid_set(["n"]),
            json!(["set", [["named-uuid", "n"]]]),
        );
        round_trip(
            Value::string_map([("k", "v"), ("a", "b")]),
            json!(["map", [["k", "v"], ["a", "b"]]]),
        );
    }

    #[test]
    fn readers_are_lenient() {
        let one = Value::from_json(&json!(["set", ["only"]])).unwrap();
        assert_eq!(one.as_str(), Some("only"));
        assert_eq!(Value::string("s").strings(), vec!["s"]);
        assert_eq!(Value::empty_set().as_str(), None);
        assert_eq!(Value::empty_set().as_i64(), None);
        assert_eq!(Value::uuid("u").uuids(), vec!["u"]);
        assert_eq!(Value::string("s").as_uuid(), None);
        assert_eq!(Value::integer(3).as_i64(), Some(3));
        assert_eq!(Value::boolean(false).as_bool(), Some(false));
        assert_eq!(Value::integer(0).as_f64(), Some(0.0));
        assert_eq!(Value::Atom(Atom::Real(0.5)).as_f64(), Some(0.5));
        let m = Value::from_json(&json!(["map", [[1, "one"]]])).unwrap();
        assert_eq!(m.to_string_map().get("1").map(String::as_str), Some("one"));
    }

    #[test]
    fn malformed_values_are_protocol_errors() {
        for bad in [
            json!(null),
            json!({"a": 1}),
            json!(["uuid"]),
            json!(["set", "x"]),
            json!(["map", [["k"]]]),
            json!(["bogus", "x"]),
        ] {
            assert!(
                matches!(Value::from_json(&bad), Err(Error::Protocol(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn row_readers() {
        let row = Row::from_json(&json!({
            "_uuid": ["uuid", "r1"],
            "name": "sw",
            "ports": ["set", [["uuid", "p1"], ["uuid", "p2"]]],
            "external_ids": ["map", [["k", "v"]]],
            "tag": ["set", []],
        }))
        .unwrap();
        assert_eq!(row.uuid(), Some("r1"));
        assert_eq!(row.str("name"), Some("sw"));
        assert_eq!(row.uuids("ports"), vec!["p1", "p2"]);
        assert_eq!(
            row.map("external_ids").get("k").map(String::as_str),
            Some("v")
        );
        assert_eq!(row.i64("tag"), None);
        assert!(row.strings("missing").is_empty());
        assert!(row.map("missing").is_empty());
        let built = Row::new().with("name", Value::string("x"));
        assert_eq!(built.to_json(), json!({"name": "x"}));
    }
}
