//! Tenant input thrown at the plugin's own parsers: CNI_ARGS and the static
//! addressing of `args` and `runtimeConfig` (`args`), the CNI_* environment
//! (`env`), the result rendered
//! over an arbitrary `prevResult` (`result`), and the address pool over
//! arbitrary subnets, excludes and used sets (`pool`). The network config
//! parser itself is tested in `conf/tests/hostile_input.rs`.
//!
//! Proptest keeps the seeds of failing cases in
//! `cni-plugin/proptest-regressions/hostile_input/*.txt` (its default,
//! spelled out in [`config`], as in the `ovsdb` crate), replayed first on
//! later runs; commit them with the fix.

#![allow(clippy::unwrap_used)]

mod args;
mod env;
mod pool;
mod result;

use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config, FileFailurePersistence};
use serde_json::Value as Json;

/// Longest message an error may have, whatever the input.
const MAX_MESSAGE: usize = 2048;

/// Few cases per property: the suite runs on every `cargo test`.
fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::SourceParallel(
            "proptest-regressions",
        ))),
        ..Config::default()
    }
}

/// Words the parsers branch on.
const WORDS: &[&str] = &[
    "",
    "1",
    "true",
    "ips",
    "mac",
    "cni",
    "interfaces",
    "interface",
    "address",
    "version",
    "gateway",
    "dns",
    "10.0.0.5",
    "10.0.0.5/24",
    "fd00::5/64",
    "127.0.0.1",
    "0a:58:0a:00:00:05",
];

/// A word the parsers look for, or any text.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        select(WORDS).prop_map(String::from),
        any::<String>(),
        "[a-z0-9./:=;, \\-\n]{0,12}",
    ]
}

/// Any JSON value a few levels deep.
fn json() -> impl Strategy<Value = Json> {
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::from),
        any::<i64>().prop_map(Json::from),
        any::<f64>().prop_map(Json::from),
        text().prop_map(Json::from),
    ];
    leaf.prop_recursive(3, 32, 5, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..5).prop_map(Json::Array),
            btree_map(text(), inner, 0..5).prop_map(|m| Json::Object(m.into_iter().collect())),
        ]
    })
}
