//! Logging: stdout belongs to the CNI protocol, so every line goes to the
//! node's log file (and stderr when asked).

use std::fs::OpenOptions;
use std::str::FromStr;
use std::sync::Mutex;

use conf::NodeConfig;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::fmt::writer::{BoxMakeWriter, MakeWriterExt};

/// Installs the subscriber. A log file that cannot be opened is not fatal:
/// the attachment matters more than its log, which then goes to stderr.
pub fn init(node: &NodeConfig) {
    let level = LevelFilter::from_str(&node.log_level).unwrap_or(LevelFilter::INFO);
    if let Some(dir) = node.log_file.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&node.log_file);
    let writer = match (file, node.log_stderr) {
        (Ok(file), false) => BoxMakeWriter::new(Mutex::new(file)),
        (Ok(file), true) => BoxMakeWriter::new(Mutex::new(file).and(std::io::stderr)),
        (Err(_), _) => BoxMakeWriter::new(std::io::stderr),
    };
    let _ = tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(false)
        .with_max_level(level)
        .with_target(false)
        .try_init();
}
