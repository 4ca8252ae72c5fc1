//! Generators of JSON a server might send, steered towards the shapes the
//! decoders look for (`["set", …]`, `{"uuid": …}`) so that cases get past
//! the first check, and of the typed values the client writes.

use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Value as Json, json};

use crate::{Atom, Value};

/// Words the decoders branch on: OVSDB notation tags, result and update
/// keys, JSON-RPC fields.
const WORDS: &[&str] = &[
    "uuid",
    "named-uuid",
    "set",
    "map",
    "error",
    "details",
    "rows",
    "count",
    "initial",
    "insert",
    "modify",
    "delete",
    "T",
    "m",
    "id",
    "result",
    "method",
    "params",
    "update2",
    "echo",
];

/// A word the decoders look for, or any text, or text made of the bytes
/// the framer treats specially.
pub(super) fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        select(WORDS).prop_map(String::from),
        any::<String>(),
        r#"[\\"{}\[\] ]{0,6}"#,
    ]
}

/// Any JSON number, including ones no atom can hold (u64 above i64::MAX)
/// and NaN or infinities, which serde_json turns into null.
fn number() -> impl Strategy<Value = Json> {
    prop_oneof![
        any::<i64>().prop_map(Json::from),
        any::<u64>().prop_map(Json::from),
        any::<f64>().prop_map(Json::from),
    ]
}

/// Any JSON value up to a few levels deep.
pub(super) fn json() -> impl Strategy<Value = Json> {
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::from),
        number(),
        text().prop_map(Json::from),
    ];
    leaf.prop_recursive(4, 64, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Json::Array),
            // OVSDB notation with arbitrary contents: ["set", [...]], ["uuid", x].
            (select(WORDS), vec(inner.clone(), 0..4)).prop_map(|(tag, items)| json!([tag, items])),
            (select(WORDS), inner.clone()).prop_map(|(tag, x)| json!([tag, x])),
            btree_map(text(), inner, 0..6).prop_map(|m| Json::Object(m.into_iter().collect())),
        ]
    })
}

/// A JSON object or array: what may travel as a message.
pub(super) fn message() -> impl Strategy<Value = Json> {
    prop_oneof![
        vec(json(), 0..4).prop_map(Json::Array),
        btree_map(text(), json(), 0..4).prop_map(|m| Json::Object(m.into_iter().collect())),
    ]
}

/// Any atom the client can write (finite reals: JSON has no others).
pub(super) fn atom() -> impl Strategy<Value = Atom> {
    prop_oneof![
        any::<i64>().prop_map(Atom::Integer),
        (prop::num::f64::NORMAL | prop::num::f64::SUBNORMAL | prop::num::f64::ZERO)
            .prop_map(Atom::Real),
        any::<bool>().prop_map(Atom::Boolean),
        text().prop_map(Atom::String),
        text().prop_map(Atom::Uuid),
        text().prop_map(Atom::NamedUuid),
    ]
}

/// Any value the client can write.
pub(super) fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        atom().prop_map(Value::Atom),
        vec(atom(), 0..4).prop_map(Value::Set),
        vec((atom(), atom()), 0..4).prop_map(Value::Map),
    ]
}
