//! Transaction operations (RFC 7047 section 5.2) and their results.

use serde_json::{Value as Json, json};

use crate::{Row, Value};

/// A comparison of a condition clause (RFC 7047 `<function>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `>=`
    Ge,
    /// `>`
    Gt,
    /// `includes`: the column contains every element of the value.
    Includes,
    /// `excludes`: the column contains no element of the value.
    Excludes,
}

impl Function {
    /// The RFC 7047 spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Function::Lt => "<",
            Function::Le => "<=",
            Function::Eq => "==",
            Function::Ne => "!=",
            Function::Ge => ">=",
            Function::Gt => ">",
            Function::Includes => "includes",
            Function::Excludes => "excludes",
        }
    }
}

/// One clause of a `where`: `[column, function, value]`.
///
/// In a transaction the clauses of a `where` must all hold (AND); in a
/// `monitor_cond` request ovsdb-server treats them as alternatives (OR).
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// The column compared.
    pub column: String,
    /// The comparison.
    pub function: Function,
    /// The value compared with.
    pub value: Value,
}

impl Condition {
    /// A clause with any function.
    pub fn new(column: impl Into<String>, function: Function, value: Value) -> Condition {
        Condition {
            column: column.into(),
            function,
            value,
        }
    }

    /// `column == value`.
    pub fn eq(column: impl Into<String>, value: Value) -> Condition {
        Condition::new(column, Function::Eq, value)
    }

    /// `column != value`.
    pub fn ne(column: impl Into<String>, value: Value) -> Condition {
        Condition::new(column, Function::Ne, value)
    }

    /// `column includes value`, e.g. a map column holding a key-value pair.
    pub fn includes(column: impl Into<String>, value: Value) -> Condition {
        Condition::new(column, Function::Includes, value)
    }

    /// `column excludes value`.
    pub fn excludes(column: impl Into<String>, value: Value) -> Condition {
        Condition::new(column, Function::Excludes, value)
    }

    /// `_uuid == ["uuid", uuid]`: the one row with that uuid.
    pub fn uuid(uuid: &str) -> Condition {
        Condition::eq("_uuid", Value::uuid(uuid))
    }

    /// The JSON form `[column, function, value]`.
    pub fn to_json(&self) -> Json {
        json!([self.column, self.function.as_str(), self.value.to_json()])
    }
}

/// How a mutation changes a column (RFC 7047 `<mutator>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutator {
    /// `+=`
    Add,
    /// `-=`
    Sub,
    /// `*=`
    Mul,
    /// `/=`
    Div,
    /// `%=`
    Mod,
    /// `insert`: add set elements or map pairs (existing map keys are kept).
    Insert,
    /// `delete`: remove set elements, map pairs, or map keys given as a set.
    Delete,
}

impl Mutator {
    /// The RFC 7047 spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Mutator::Add => "+=",
            Mutator::Sub => "-=",
            Mutator::Mul => "*=",
            Mutator::Div => "/=",
            Mutator::Mod => "%=",
            Mutator::Insert => "insert",
            Mutator::Delete => "delete",
        }
    }
}

/// One mutation: `[column, mutator, value]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Mutation {
    /// The column changed.
    pub column: String,
    /// How it changes.
    pub mutator: Mutator,
    /// The operand.
    pub value: Value,
}

impl Mutation {
    /// A mutation with any mutator.
    pub fn new(column: impl Into<String>, mutator: Mutator, value: Value) -> Mutation {
        Mutation {
            column: column.into(),
            mutator,
            value,
        }
    }

    /// Adds elements to a set column or pairs to a map column.
    pub fn insert(column: impl Into<String>, value: Value) -> Mutation {
        Mutation::new(column, Mutator::Insert, value)
    }

    /// Removes elements from a set column, or pairs / keys from a map column.
    pub fn delete(column: impl Into<String>, value: Value) -> Mutation {
        Mutation::new(column, Mutator::Delete, value)
    }

    /// The JSON form `[column, mutator, value]`.
    pub fn to_json(&self) -> Json {
        json!([self.column, self.mutator.as_str(), self.value.to_json()])
    }
}

/// One operation of a transaction.
#[derive(Debug, Clone, PartialEq)]
pub enum Operation {
    /// Inserts `row`; `uuid_name` lets later operations of the same
    /// transaction refer to it as `["named-uuid", name]`.
    Insert {
        /// Table name.
        table: String,
        /// Column values of the new row.
        row: Row,
        /// Name for `named-uuid` references.
        uuid_name: Option<String>,
    },
    /// Reads the rows matching all `conditions`.
    Select {
        /// Table name.
        table: String,
        /// Clauses that must all hold.
        conditions: Vec<Condition>,
        /// Columns to return; `None` returns all.
        columns: Option<Vec<String>>,
    },
    /// Sets the columns of `row` in every matching row.
    Update {
        /// Table name.
        table: String,
        /// Clauses that must all hold.
        conditions: Vec<Condition>,
        /// Columns to set.
        row: Row,
    },
    /// Applies `mutations` to every matching row.
    Mutate {
        /// Table name.
        table: String,
        /// Clauses that must all hold.
        conditions: Vec<Condition>,
        /// Changes to make.
        mutations: Vec<Mutation>,
    },
    /// Deletes every matching row.
    Delete {
        /// Table name.
        table: String,
        /// Clauses that must all hold.
        conditions: Vec<Condition>,
    },
    /// Until "==" when `until_equal`, else "!="; timeout 0 so a wait that
    /// does not hold fails the transaction at once (optimistic concurrency).
    Wait {
        /// Table name.
        table: String,
        /// Clauses selecting the rows compared.
        conditions: Vec<Condition>,
        /// Columns compared.
        columns: Vec<String>,
        /// `==` (the selected rows equal `rows`) or `!=`.
        until_equal: bool,
        /// Expected rows, restricted to `columns`.
        rows: Vec<Row>,
    },
    /// A comment written to the database log with the transaction.
    Comment(String),
}

fn conditions_json(conditions: &[Condition]) -> Json {
    Json::Array(conditions.iter().map(Condition::to_json).collect())
}

impl Operation {
    /// Inserts `row` into `table`.
    pub fn insert(table: impl Into<String>, row: Row) -> Operation {
        Operation::Insert {
            table: table.into(),
            row,
            uuid_name: None,
        }
    }

    /// Inserts `row` into `table`, naming it for `named-uuid` references.
    pub fn insert_named(table: impl Into<String>, row: Row, name: impl Into<String>) -> Operation {
        Operation::Insert {
            table: table.into(),
            row,
            uuid_name: Some(name.into()),
        }
    }

    /// Selects the matching rows of `table` (all columns with `None`).
    pub fn select(
        table: impl Into<String>,
        conditions: Vec<Condition>,
        columns: Option<Vec<String>>,
    ) -> Operation {
        Operation::Select {
            table: table.into(),
            conditions,
            columns,
        }
    }

    /// Sets the columns of `row` in the matching rows of `table`.
    pub fn update(table: impl Into<String>, conditions: Vec<Condition>, row: Row) -> Operation {
        Operation::Update {
            table: table.into(),
            conditions,
            row,
        }
    }

    /// Mutates the matching rows of `table`.
    pub fn mutate(
        table: impl Into<String>,
        conditions: Vec<Condition>,
        mutations: Vec<Mutation>,
    ) -> Operation {
        Operation::Mutate {
            table: table.into(),
            conditions,
            mutations,
        }
    }

    /// Deletes the matching rows of `table`.
    pub fn delete(table: impl Into<String>, conditions: Vec<Condition>) -> Operation {
        Operation::Delete {
            table: table.into(),
            conditions,
        }
    }

    /// Fails the transaction unless the matching rows, restricted to
    /// `columns`, are exactly `rows` (the rows the caller read earlier).
    pub fn wait_equal(
        table: impl Into<String>,
        conditions: Vec<Condition>,
        columns: Vec<String>,
        rows: Vec<Row>,
    ) -> Operation {
        Operation::Wait {
            table: table.into(),
            conditions,
            columns,
            until_equal: true,
            rows,
        }
    }

    /// Fails the transaction if the matching rows, restricted to `columns`,
    /// are exactly `rows`.
    pub fn wait_not_equal(
        table: impl Into<String>,
        conditions: Vec<Condition>,
        columns: Vec<String>,
        rows: Vec<Row>,
    ) -> Operation {
        Operation::Wait {
            table: table.into(),
            conditions,
            columns,
            until_equal: false,
            rows,
        }
    }

    /// A comment for the database log.
    pub fn comment(text: impl Into<String>) -> Operation {
        Operation::Comment(text.into())
    }

    /// The JSON object form of the operation.
    pub fn to_json(&self) -> Json {
        match self {
            Operation::Insert {
                table,
                row,
                uuid_name,
            } => {
                let mut op = json!({"op": "insert", "table": table, "row": row.to_json()});
                if let (Some(name), Some(obj)) = (uuid_name, op.as_object_mut()) {
                    obj.insert("uuid-name".into(), json!(name));
                }
                op
            }
            Operation::Select {
                table,
                conditions,
                columns,
            } => {
                let mut op =
                    json!({"op": "select", "table": table, "where": conditions_json(conditions)});
                if let (Some(columns), Some(obj)) = (columns, op.as_object_mut()) {
                    obj.insert("columns".into(), json!(columns));
                }
                op
            }
            Operation::Update {
                table,
                conditions,
                row,
            } => json!({
                "op": "update", "table": table,
                "where": conditions_json(conditions), "row": row.to_json(),
            }),
            Operation::Mutate {
                table,
                conditions,
                mutations,
            } => json!({
                "op": "mutate", "table": table, "where": conditions_json(conditions),
                "mutations": mutations.iter().map(Mutation::to_json).collect::<Vec<_>>(),
            }),
            Operation::Delete { table, conditions } => {
                json!({"op": "delete", "table": table, "where": conditions_json(conditions)})
            }
            Operation::Wait {
                table,
                conditions,
                columns,
                until_equal,
                rows,
            } => json!({
                "op": "wait", "table": table, "where": conditions_json(conditions),
                "columns": columns, "until": if *until_equal { "==" } else { "!=" },
                "rows": rows.iter().map(Row::to_json).collect::<Vec<_>>(),
                "timeout": 0,
            }),
            Operation::Comment(text) => json!({"op": "comment", "comment": text}),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn operations_serialise_as_rfc7047() {
        let row = Row::new().with("name", Value::string("a"));
        assert_eq!(
            Operation::insert_named("T", row.clone(), "new").to_json(),
            json!({"op": "insert", "table": "T", "row": {"name": "a"}, "uuid-name": "new"})
        );
        assert_eq!(
            Operation::insert("T", row).to_json(),
            json!({"op": "insert", "table": "T", "row": {"name": "a"}})
        );
        assert_eq!(
            Operation::select("T", vec![Condition::uuid("u")], None).to_json(),
            json!({"op": "select", "table": "T", "where": [["_uuid", "==", ["uuid", "u"]]]})
        );
        assert_eq!(
            Operation::mutate(
                "T",
                vec![],
                vec![Mutation::insert("s", Value::named_uuid_set(["new"]))]
            )
            .to_json(),
            json!({"op": "mutate", "table": "T", "where": [],
                   "mutations": [["s", "insert", ["set", [["named-uuid", "new"]]]]]})
        );
        assert_eq!(
            Operation::wait_equal("T", vec![], vec!["c".into()], vec![]).to_json(),
            json!({"op": "wait", "table": "T", "where": [], "columns": ["c"],
                   "until": "==", "rows": [], "timeout": 0})
        );
        assert_eq!(
            Operation::comment("hi").to_json(),
            json!({"op": "comment", "comment": "hi"})
        );
    }
}
