//! Operations on logical ports that several writers share: removing a port
//! only as it was read, and the row of a port that belongs to the topology.

use ovsdb::{Condition, Mutation, Operation, Row, Value};

use super::record::PortRecord;
use crate::topology::FixedPort;
use crate::vocabulary::{column, table};

/// Removes `old` from its switch and the database, if its external_ids (its
/// owner and attachments) are still as read.
pub fn remove_port_ops(old: &PortRecord) -> [Operation; 3] {
    let old_set = Value::uuid_set([old.uuid.clone()]);
    [
        Operation::wait_equal(
            table::LOGICAL_SWITCH_PORT,
            vec![Condition::uuid(&old.uuid)],
            vec![column::EXTERNAL_IDS.into()],
            vec![Row::new().with(
                column::EXTERNAL_IDS,
                Value::string_map(old.external_ids.clone()),
            )],
        ),
        Operation::mutate(
            table::LOGICAL_SWITCH,
            vec![Condition::includes(column::PORTS, old_set.clone())],
            vec![Mutation::delete(column::PORTS, old_set)],
        ),
        Operation::delete(table::LOGICAL_SWITCH_PORT, vec![Condition::uuid(&old.uuid)]),
    ]
}

/// The row of a port that belongs to the topology, not to a pod.
pub fn fixed_port_row(port: &FixedPort) -> Row {
    let mut row = Row::new()
        .with(column::NAME, Value::string(&port.name))
        .with(column::TYPE, Value::string(&port.kind))
        .with(column::ADDRESSES, Value::string_set(port.addresses.clone()))
        .with(column::OPTIONS, Value::string_map(port.options.clone()))
        .with(
            column::EXTERNAL_IDS,
            Value::string_map(port.external_ids.clone()),
        );
    if let Some(tag) = port.tag_request {
        row = row.with(column::TAG_REQUEST, Value::integer(i64::from(tag)));
    }
    row
}
