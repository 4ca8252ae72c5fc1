//! monitor_cond sessions against a real ovsdb-server.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{DB, Server};
use ovsdb::{Client, Condition, Error, Mutation, Operation, Row, Value};

fn by_name(name: &str) -> Vec<Condition> {
    vec![Condition::eq("name", Value::string(name))]
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[tokio::test(flavor = "current_thread")]
async fn initial_rows_then_wait_for_a_concurrent_change() {
    let server = Server::start();
    let client = Client::connect(&server.unix).await.unwrap();
    client
        .transact(
            DB,
            &[
                Operation::insert("Switch", Row::new().with("name", Value::string("watched"))),
                Operation::insert("Switch", Row::new().with("name", Value::string("other"))),
            ],
        )
        .await
        .unwrap();

    let mut monitor = client
        .monitor(DB, "Switch", by_name("watched"), vec![])
        .await
        .unwrap();
    assert_eq!(monitor.rows().len(), 1, "only the matching row");
    let (uuid, row) = monitor.rows().iter().next().unwrap();
    assert_eq!(row.uuid(), Some(uuid.as_str()));
    assert_eq!(row.str("name"), Some("watched"));

    // Another connection, like ovn-controller, sets the flag a bit later.
    let writer_remote = server.unix.clone();
    let writer = tokio::spawn(async move {
        let other = Client::connect(&writer_remote).await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        other
            .transact(
                DB,
                &[
                    Operation::update(
                        "Switch",
                        by_name("other"),
                        Row::new().with("external_ids", Value::string_map([("ready", "true")])),
                    ),
                    Operation::mutate(
                        "Switch",
                        by_name("watched"),
                        vec![Mutation::insert(
                            "external_ids",
                            Value::string_map([("ovn-installed", "true")]),
                        )],
                    ),
                ],
            )
            .await
            .unwrap();
    });
    monitor
        .wait_until(Duration::from_secs(10), |rows| {
            rows.values().any(|r| {
                r.map("external_ids")
                    .get("ovn-installed")
                    .map(String::as_str)
                    == Some("true")
            })
        })
        .await
        .unwrap();
    writer.await.unwrap();
    assert_eq!(monitor.rows().len(), 1, "the other row never enters");

    // A condition that is already true returns at once, and one that never
    // becomes true times out.
    monitor
        .wait_until(Duration::from_millis(1), |rows| rows.len() == 1)
        .await
        .unwrap();
    let err = monitor
        .wait_until(Duration::from_millis(300), |rows| rows.is_empty())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Timeout(_)), "{err}");
}

#[tokio::test(flavor = "current_thread")]
async fn modify_diffs_of_maps_sets_and_optional_columns() {
    let server = Server::start();
    let client = Client::connect(&server.unix).await.unwrap();
    client
        .transact(
            DB,
            &[Operation::insert(
                "Switch",
                Row::new()
                    .with("name", Value::string("d"))
                    .with(
                        "external_ids",
                        Value::string_map([("keep", "1"), ("drop", "2"), ("change", "3")]),
                    )
                    .with("labels", Value::string_set(["a", "b"]))
                    .with("tag", Value::integer(10)),
            )],
        )
        .await
        .unwrap();
    let mut monitor = client.monitor(DB, "Switch", vec![], vec![]).await.unwrap();
    let initial = monitor.rows().values().next().unwrap().clone();
    assert_eq!(initial.map("external_ids").len(), 3);
    assert_eq!(initial.i64("tag"), Some(10));

    client
        .transact(
            DB,
            &[Operation::mutate(
                "Switch",
                by_name("d"),
                vec![
                    Mutation::delete("external_ids", Value::string_set(["drop", "change"])),
                    Mutation::insert(
                        "external_ids",
                        Value::string_map([("change", "4"), ("new", "5")]),
                    ),
                    Mutation::delete("labels", Value::string_set(["a"])),
                    Mutation::insert("labels", Value::string_set(["c"])),
                    Mutation::new("tag", ovsdb::Mutator::Add, Value::integer(1)),
                ],
            )],
        )
        .await
        .unwrap();
    // ovsdb-server sends the update2 before the transact reply.
    monitor.changed().await.unwrap();
    let row = monitor.rows().values().next().unwrap().clone();
    assert_eq!(
        row.map("external_ids"),
        map(&[("keep", "1"), ("change", "4"), ("new", "5")])
    );
    let mut labels = row.strings("labels");
    labels.sort();
    assert_eq!(labels, vec!["b", "c"]);
    assert_eq!(
        row.i64("tag"),
        Some(11),
        "an optional column's diff is its new value"
    );

    // Clearing the optional column and the map; then the monitor must agree
    // with a fresh select on every column.
    client
        .transact(
            DB,
            &[Operation::update(
                "Switch",
                by_name("d"),
                Row::new()
                    .with("tag", Value::empty_set())
                    .with("external_ids", Value::string_map([("only", "x")])),
            )],
        )
        .await
        .unwrap();
    monitor.changed().await.unwrap();
    let row = monitor.rows().values().next().unwrap();
    assert_eq!(row.i64("tag"), None);
    assert_eq!(row.map("external_ids"), map(&[("only", "x")]));
    let selected = client
        .select(DB, "Switch", by_name("d"), None)
        .await
        .unwrap();
    for (column, value) in &selected[0].0 {
        if column == "_version" {
            continue;
        }
        let mine = row.get(column);
        let same = match (mine, value) {
            (Some(a), b) => {
                a.to_string_map() == b.to_string_map() && {
                    let (mut x, mut y) = (a.atoms().to_vec(), b.atoms().to_vec());
                    x.sort_by_key(|a| a.to_text());
                    y.sort_by_key(|a| a.to_text());
                    x == y
                }
            }
            // update2 leaves out columns at their default value.
            (None, b) => {
                b.atoms().is_empty() && b.to_string_map().is_empty()
                // A real 0.0 comes back as the JSON number 0.
                || b.as_f64() == Some(0.0)
                || matches!(b, Value::Atom(ovsdb::Atom::Boolean(false)))
            }
        };
        assert!(
            same,
            "column {column}: monitor {mine:?} vs select {value:?}"
        );
    }

    // Deleting the row removes it from the monitor.
    client
        .transact(DB, &[Operation::delete("Switch", by_name("d"))])
        .await
        .unwrap();
    monitor
        .wait_until(Duration::from_secs(5), |rows| rows.is_empty())
        .await
        .unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn monitor_conditions_are_alternatives_and_columns_restrict() {
    let server = Server::start();
    let client = Client::connect(&server.unix).await.unwrap();
    for name in ["x", "y", "z"] {
        client
            .transact(
                DB,
                &[Operation::insert(
                    "Switch",
                    Row::new()
                        .with("name", Value::string(name))
                        .with("tag", Value::integer(1)),
                )],
            )
            .await
            .unwrap();
    }
    let monitor = client
        .monitor(
            DB,
            "Switch",
            vec![
                Condition::eq("name", Value::string("x")),
                Condition::eq("name", Value::string("y")),
            ],
            vec!["name".into()],
        )
        .await
        .unwrap();
    let mut names: Vec<_> = monitor
        .rows()
        .values()
        .map(|r| r.str("name").unwrap().to_string())
        .collect();
    names.sort();
    assert_eq!(names, vec!["x", "y"]);
    assert!(monitor.rows().values().all(|r| r.get("tag").is_none()));
}

#[tokio::test(flavor = "current_thread")]
async fn dropped_monitor_is_cancelled_and_client_keeps_working() {
    let server = Server::start();
    let client = Client::connect(&server.unix).await.unwrap();
    let monitor = client.monitor(DB, "Switch", vec![], vec![]).await.unwrap();
    drop(monitor);
    // Updates for the cancelled monitor must not disturb later requests.
    client
        .transact(
            DB,
            &[Operation::insert(
                "Switch",
                Row::new().with("name", Value::string("after")),
            )],
        )
        .await
        .unwrap();
    let mut again = client.monitor(DB, "Switch", vec![], vec![]).await.unwrap();
    assert_eq!(again.rows().len(), 1);
    client
        .transact(DB, &[Operation::delete("Switch", vec![])])
        .await
        .unwrap();
    again
        .wait_until(Duration::from_secs(5), |rows| rows.is_empty())
        .await
        .unwrap();
}

/// A timeout too large to add to a clock (`Duration::from_secs(u64::MAX)`
/// overflows an `Instant`) means no deadline: no panic, and the wait
/// returns when the condition holds, at once or after a change.
#[tokio::test(flavor = "current_thread")]
async fn a_huge_timeout_waits_without_panicking() {
    let server = Server::start();
    let client = Client::connect(&server.unix).await.unwrap();
    let mut monitor = client
        .monitor(DB, "Switch", by_name("late"), vec![])
        .await
        .unwrap();
    for huge in [Duration::from_secs(u64::MAX), Duration::MAX] {
        monitor
            .wait_until(huge, |rows| rows.is_empty())
            .await
            .unwrap();
    }
    let writer = client.clone();
    let insert = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        writer
            .transact(
                DB,
                &[Operation::insert(
                    "Switch",
                    Row::new().with("name", Value::string("late")),
                )],
            )
            .await
            .unwrap();
    });
    tokio::time::timeout(
        Duration::from_secs(10),
        monitor.wait_until(Duration::from_secs(u64::MAX), |rows| rows.len() == 1),
    )
    .await
    .expect("the row was inserted")
    .unwrap();
    insert.await.unwrap();
}
