//! The decoders on arbitrary JSON: atoms, values, rows, operation results,
//! transact results and whole messages through the dispatcher.

use std::sync::Mutex;

use proptest::prelude::*;
use serde_json::{Value as Json, json};
use tokio::sync::{mpsc, oneshot};

use super::{config, strategies};
use crate::connection::{Shared, dispatch, lock};
use crate::result::parse_transact_result;
use crate::{Atom, Error, OpResult, Row, Value};

proptest! {
    #![proptest_config(config(256))]

    /// Every decoder gives a value or a protocol error for any JSON.
    #[test]
    fn decoders_never_panic(v in strategies::json()) {
        for result in [
            Atom::from_json(&v).map(drop),
            Value::from_json(&v).map(drop),
            Row::from_json(&v).map(drop),
            OpResult::from_json(&v).map(drop),
        ] {
            if let Err(e) = result {
                prop_assert!(matches!(e, Error::Protocol(_)), "{e:?}");
            }
        }
    }

    /// A transact result gives results or an error for any JSON and any
    /// number of operations; an op-level error is reported as one.
    #[test]
    fn transact_results_never_panic(v in strategies::json(), ops in 0usize..4) {
        match parse_transact_result(ops, &v) {
            Ok(results) => prop_assert_eq!(results.len(), ops),
            Err(Error::Protocol(_) | Error::OperationFailed { .. }) => {}
            Err(e) => prop_assert!(false, "unexpected error {e:?}"),
        }
    }

    /// The same, with results shaped like the server's (an array of
    /// objects with the keys it uses), so more cases reach the row and uuid
    /// readers.
    #[test]
    fn shaped_transact_results_never_panic(
        items in proptest::collection::vec(strategies::json(), 0..4),
        uuid in strategies::json(),
        rows in strategies::json(),
        ops in 0usize..4,
    ) {
        let mut result: Vec<Json> = items;
        result.push(json!({"uuid": uuid, "rows": rows, "count": 1}));
        let _ = parse_transact_result(ops, &Json::Array(result));
    }

    /// Whatever the client writes, it reads back the same.
    #[test]
    fn values_round_trip(v in strategies::value()) {
        prop_assert_eq!(Value::from_json(&v.to_json()).unwrap(), v);
    }

    /// Any message, through the dispatcher with a request and a monitor
    /// waiting: no panic, and what reaches them is well formed.
    #[test]
    fn dispatch_never_panics(message in strategies::json(), id in prop_oneof![Just(Json::from(1)), strategies::json()]) {
        let shared = Mutex::new(Shared::default());
        let (reply_tx, mut reply_rx) = oneshot::channel();
        let (update_tx, _update_rx) = mpsc::unbounded_channel();
        {
            let mut state = lock(&shared);
            state.pending.insert(1, reply_tx);
            state.monitors.insert("m".into(), update_tx);
        }
        let mut message = message;
        if let Some(obj) = message.as_object_mut() {
            obj.insert("id".into(), id);
        }
        let answer = dispatch(message, &shared);
        if let Some(answer) = answer {
            prop_assert!(answer.get("id").is_some_and(|id| !id.is_null()), "{answer}");
        }
        if let Ok(Err(e)) = reply_rx.try_recv() {
            prop_assert!(matches!(e, Error::Rpc(_)), "{e:?}");
        }
    }
}
