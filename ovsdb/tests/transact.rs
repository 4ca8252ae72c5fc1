//! Transactions against a real ovsdb-server.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{DB, Server};
use ovsdb::{Client, Condition, Error, Mutation, Operation, Row, Value};

async fn connect(server: &Server) -> Client {
    Client::connect(&server.unix).await.unwrap()
}

fn switch(name: &str) -> Row {
    Row::new().with("name", Value::string(name))
}

async fn switch_named(client: &Client, name: &str) -> Vec<Row> {
    client
        .select(
            DB,
            "Switch",
            vec![Condition::eq("name", Value::string(name))],
            None,
        )
        .await
        .unwrap()
}

#[tokio::test(flavor = "current_thread")]
async fn named_uuid_insert_and_mutate_in_one_transaction() {
    let server = Server::start();
    let client = connect(&server).await;
    let created = client
        .transact(DB, &[Operation::insert("Switch", switch("sw1"))])
        .await
        .unwrap();
    let switch_uuid = created[0].uuid.clone().expect("insert returns the uuid");

    let results = client
        .transact(
            DB,
            &[
                Operation::insert_named(
                    "Port",
                    Row::new().with("name", Value::string("p1")).with(
                        "addresses",
                        Value::string_set(["0a:58:0a:00:00:05 10.0.0.5"]),
                    ),
                    "new_port",
                ),
                Operation::mutate(
                    "Switch",
                    vec![Condition::uuid(&switch_uuid)],
                    vec![Mutation::insert(
                        "ports",
                        Value::named_uuid_set(["new_port"]),
                    )],
                ),
            ],
        )
        .await
        .unwrap();
    let port_uuid = results[0].uuid.clone().unwrap();
    assert_eq!(results[1].count, Some(1));

    let rows = switch_named(&client, "sw1").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].uuid(), Some(switch_uuid.as_str()));
    assert_eq!(rows[0].uuids("ports"), vec![port_uuid.clone()]);
    // Port is not a root table: it survives only because the switch refers to it.
    let ports = client
        .select(DB, "Port", vec![Condition::uuid(&port_uuid)], None)
        .await
        .unwrap();
    assert_eq!(ports.len(), 1);
    assert_eq!(ports[0].str("name"), Some("p1"));
    assert_eq!(
        ports[0].strings("addresses"),
        vec!["0a:58:0a:00:00:05 10.0.0.5"]
    );
}

#[tokio::test(flavor = "current_thread")]
async fn select_update_delete() {
    let server = Server::start();
    let client = connect(&server).await;
    client
        .transact(
            DB,
            &[
                Operation::insert("Switch", switch("a").with("tag", Value::integer(1))),
                Operation::insert("Switch", switch("b").with("tag", Value::integer(2))),
                Operation::insert("Switch", switch("c")),
            ],
        )
        .await
        .unwrap();

    let tagged = client
        .select(
            DB,
            "Switch",
            vec![Condition::new(
                "tag",
                ovsdb::Function::Ge,
                Value::integer(2),
            )],
            Some(vec!["name".into()]),
        )
        .await
        .unwrap();
    assert_eq!(tagged.len(), 1);
    assert_eq!(tagged[0].str("name"), Some("b"));
    assert!(
        tagged[0].get("tag").is_none(),
        "only the asked columns come back"
    );

    let updated = client
        .transact(
            DB,
            &[Operation::update(
                "Switch",
                vec![Condition::eq("name", Value::string("a"))],
                Row::new()
                    .with(
                        "external_ids",
                        Value::string_map([("k8s.ovn.org/network", "blue")]),
                    )
                    .with("tag", Value::empty_set()),
            )],
        )
        .await
        .unwrap();
    assert_eq!(updated[0].count, Some(1));
    let a = &switch_named(&client, "a").await[0];
    assert_eq!(
        a.map("external_ids")
            .get("k8s.ovn.org/network")
            .map(String::as_str),
        Some("blue")
    );
    assert_eq!(a.i64("tag"), None);

    let by_map = client
        .select(
            DB,
            "Switch",
            vec![Condition::includes(
                "external_ids",
                Value::string_map([("k8s.ovn.org/network", "blue")]),
            )],
            None,
        )
        .await
        .unwrap();
    assert_eq!(by_map.len(), 1);

    let deleted = client
        .transact(
            DB,
            &[Operation::delete(
                "Switch",
                vec![Condition::ne("name", Value::string("a"))],
            )],
        )
        .await
        .unwrap();
    assert_eq!(deleted[0].count, Some(2));
    let left = client.select(DB, "Switch", vec![], None).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].str("name"), Some("a"));
}

#[tokio::test(flavor = "current_thread")]
async fn wait_that_holds_and_wait_that_conflicts() {
    let server = Server::start();
    let client = connect(&server).await;
    client
        .transact(
            DB,
            &[Operation::insert(
                "Switch",
                switch("w").with("tag", Value::integer(1)),
            )],
        )
        .await
        .unwrap();
    let by_name = || vec![Condition::eq("name", Value::string("w"))];
    let expect_tag = |t: i64| vec![Row::new().with("tag", Value::integer(t))];

    client
        .transact(
            DB,
            &[
                Operation::wait_equal("Switch", by_name(), vec!["tag".into()], expect_tag(1)),
                Operation::update(
                    "Switch",
                    by_name(),
                    Row::new().with("tag", Value::integer(2)),
                ),
            ],
        )
        .await
        .expect("the wait holds");
    assert_eq!(switch_named(&client, "w").await[0].i64("tag"), Some(2));

    // Stale read: we still believe tag is 1.
    let err = client
        .transact(
            DB,
            &[
                Operation::insert("Switch", switch("side-effect")),
                Operation::wait_equal("Switch", by_name(), vec!["tag".into()], expect_tag(1)),
                Operation::update(
                    "Switch",
                    by_name(),
                    Row::new().with("tag", Value::integer(3)),
                ),
            ],
        )
        .await
        .unwrap_err();
    assert!(err.is_conflict(), "{err}");
    assert!(!err.is_constraint_violation());
    assert!(
        matches!(err, Error::OperationFailed { index: 1, .. }),
        "{err}"
    );
    assert_eq!(switch_named(&client, "w").await[0].i64("tag"), Some(2));
    assert!(switch_named(&client, "side-effect").await.is_empty());
}

#[tokio::test(flavor = "current_thread")]
async fn duplicate_index_key_is_a_constraint_violation() {
    let server = Server::start();
    let client = connect(&server).await;
    client
        .transact(DB, &[Operation::insert("Switch", switch("dup"))])
        .await
        .unwrap();
    let err = client
        .transact(
            DB,
            &[
                Operation::comment("second insert of dup"),
                Operation::insert("Switch", switch("dup")),
            ],
        )
        .await
        .unwrap_err();
    assert!(err.is_constraint_violation(), "{err}");
    assert!(!err.is_conflict());
    // The index is checked at commit: the error sits after the last op.
    assert!(
        matches!(err, Error::OperationFailed { index: 2, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("dup"), "{err}");
    assert_eq!(switch_named(&client, "dup").await.len(), 1);
}

#[tokio::test(flavor = "current_thread")]
async fn comment_goes_with_the_transaction() {
    let server = Server::start();
    let client = connect(&server).await;
    let results = client
        .transact(
            DB,
            &[
                Operation::comment("ovn-udn-cni: add sw-c"),
                Operation::insert("Switch", switch("sw-c")),
            ],
        )
        .await
        .unwrap();
    assert_eq!(results.len(), 2);
    assert!(results[1].uuid.is_some());
    let db = server.dir().join("test.db");
    let out = std::process::Command::new("ovsdb-tool")
        .arg("show-log")
        .arg(&db)
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(log.contains("ovn-udn-cni: add sw-c"), "{log}");
}

#[tokio::test(flavor = "current_thread")]
async fn typed_values_round_trip_through_the_server() {
    let server = Server::start();
    let client = connect(&server).await;
    let row = switch("typed")
        .with("tag", Value::integer(4094))
        .with("weight", Value::Atom(ovsdb::Atom::Real(0.25)))
        .with("enabled", Value::boolean(true))
        .with("labels", Value::string_set(["x", "y"]))
        .with("external_ids", Value::string_map([("a", "1"), ("b", "2")]));
    client
        .transact(DB, &[Operation::insert("Switch", row)])
        .await
        .unwrap();
    let got = &switch_named(&client, "typed").await[0];
    assert_eq!(got.i64("tag"), Some(4094));
    assert_eq!(
        got.get("weight"),
        Some(&Value::Atom(ovsdb::Atom::Real(0.25)))
    );
    assert_eq!(got.bool("enabled"), Some(true));
    let mut labels = got.strings("labels");
    labels.sort();
    assert_eq!(labels, vec!["x", "y"]);
    assert_eq!(got.map("external_ids").len(), 2);
    assert_eq!(got.map("external_ids")["b"], "2");
    assert!(got.get("_version").and_then(Value::as_uuid).is_some());
}

#[tokio::test(flavor = "current_thread")]
async fn large_reply_spans_many_reads() {
    let server = Server::start();
    let client = connect(&server).await;
    let ops: Vec<Operation> = (0..2000)
        .map(|i| {
            Operation::insert(
                "Switch",
                switch(&format!("bulk-{i:05}")).with(
                    "external_ids",
                    Value::string_map([("pad", "x".repeat(200))]),
                ),
            )
        })
        .collect();
    client.transact(DB, &ops).await.unwrap();
    let rows = client.select(DB, "Switch", vec![], None).await.unwrap();
    assert_eq!(rows.len(), 2000);
    assert!(
        rows.iter()
            .all(|r| r.map("external_ids")["pad"].len() == 200)
    );
}

#[tokio::test(flavor = "current_thread")]
async fn echo_list_dbs_and_rpc_errors() {
    let server = Server::start();
    let client = connect(&server).await;
    client.echo().await.unwrap();
    let dbs = client.list_dbs().await.unwrap();
    assert!(dbs.contains(&DB.to_string()), "{dbs:?}");
    let err = client
        .transact("NoSuchDb", &[Operation::comment("x")])
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Rpc(e) if e.contains("unknown database")),
        "{err}"
    );
    let err = client
        .select(DB, "NoSuchTable", vec![], None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::OperationFailed { index: 0, .. }),
        "{err}"
    );
    // The connection is still usable after errors.
    client.echo().await.unwrap();
}
