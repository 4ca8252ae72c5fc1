//! Results of a transaction (RFC 7047 section 5.2: one result per
//! operation, or the error that stopped it).

use serde_json::Value as Json;

use crate::{Error, Row, Value};

/// The result of one successful operation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OpResult {
    /// The uuid of the row an insert created.
    pub uuid: Option<String>,
    /// The rows a select returned.
    pub rows: Vec<Row>,
    /// How many rows an update, mutate or delete touched.
    pub count: Option<u64>,
}

impl OpResult {
    /// Parses one element of a transact result array; `null` (an operation
    /// the server did not need to report on) gives an empty result.
    pub fn from_json(v: &Json) -> Result<OpResult, Error> {
        if v.is_null() {
            return Ok(OpResult::default());
        }
        let obj = v
            .as_object()
            .ok_or_else(|| Error::Protocol(format!("operation result is not an object: {v}")))?;
        let uuid = match obj.get("uuid") {
            Some(u) => Some(
                Value::from_json(u)?
                    .as_uuid()
                    .ok_or_else(|| Error::Protocol(format!("bad uuid in result: {u}")))?
                    .to_string(),
            ),
            None => None,
        };
        let rows = match obj.get("rows") {
            Some(Json::Array(rows)) => rows.iter().map(Row::from_json).collect::<Result<_, _>>()?,
            Some(other) => return Err(Error::Protocol(format!("bad rows in result: {other}"))),
            None => Vec::new(),
        };
        Ok(OpResult {
            uuid,
            rows,
            count: obj.get("count").and_then(Json::as_u64),
        })
    }
}

/// Turns a transact result array into results, or the first failure.
///
/// RFC 7047: the array has one element per operation, and one more holding
/// the error when the commit itself failed, so an error may sit at
/// `index == ops`.
pub(crate) fn parse_transact_result(ops: usize, result: &Json) -> Result<Vec<OpResult>, Error> {
    let items = result
        .as_array()
        .ok_or_else(|| Error::Protocol(format!("transact result is not an array: {result}")))?;
    for (index, item) in items.iter().enumerate() {
        if let Some(error) = item.get("error") {
            let text = |v: Option<&Json>| match v {
                Some(Json::String(s)) => s.clone(),
                Some(Json::Null) | None => String::new(),
                Some(other) => other.to_string(),
            };
            return Err(Error::OperationFailed {
                index,
                error: text(Some(error)),
                details: text(item.get("details")),
            });
        }
    }
    if items.len() < ops {
        return Err(Error::Protocol(format!(
            "transact returned {} results for {ops} operations",
            items.len()
        )));
    }
    items.iter().take(ops).map(OpResult::from_json).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn transact_results_and_errors() {
        let ok = parse_transact_result(2, &json!([{"uuid": ["uuid", "x"]}, {"count": 2}])).unwrap();
        assert_eq!(ok[0].uuid.as_deref(), Some("x"));
        assert_eq!(ok[1].count, Some(2));
        let err = parse_transact_result(
            1,
            &json!([{}, {"error": "constraint violation", "details": "dup"}]),
        )
        .unwrap_err();
        assert!(err.is_constraint_violation());
        assert!(matches!(err, Error::OperationFailed { index: 1, .. }));
        let conflict =
            parse_transact_result(2, &json!([{"error": "timed out"}, null])).unwrap_err();
        assert!(conflict.is_conflict());
        assert!(matches!(
            parse_transact_result(2, &json!([{}])),
            Err(Error::Protocol(_))
        ));
    }
}
