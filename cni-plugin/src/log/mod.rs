//! Logging: stdout belongs to the CNI protocol, so every line goes to the
//! node's log file (and stderr when asked). Lines quote tenant-controlled
//! strings, so each event is written as exactly one escaped, length-capped
//! line ([`escape`]), and the file is opened without following links or
//! blocking, and rotated by size ([`file`]).

mod escape;
mod file;
#[cfg(test)]
mod tests;

use std::io::Write;
use std::str::FromStr;

use conf::NodeConfig;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::fmt::writer::{BoxMakeWriter, MakeWriterExt};

use self::escape::{Sanitize, sanitize_line};
use self::file::Rotation;

/// Installs the subscriber. A log file that cannot be used is not fatal:
/// the attachment matters more than its log, which then goes to stderr,
/// after one line there saying why the file was not used.
pub fn init(node: &NodeConfig) {
    let level = LevelFilter::from_str(&node.log_level).unwrap_or(LevelFilter::INFO);
    let rotation = Rotation {
        max_bytes: node.log_max_bytes,
        max_files: node.log_max_files,
    };
    let writer = match file::open(&node.log_file, rotation) {
        Ok(file) if node.log_stderr => BoxMakeWriter::new(Sanitize::new(file.and(std::io::stderr))),
        Ok(file) => BoxMakeWriter::new(Sanitize::new(file)),
        Err(err) => {
            let why = format!(
                "ovn-udn-cni: not logging to {}: {err}; logging to stderr only",
                node.log_file.display()
            );
            // Nowhere left to report a failure to write this.
            let _ = std::io::stderr().write_all(&sanitize_line(why.as_bytes()));
            BoxMakeWriter::new(Sanitize::new(std::io::stderr))
        }
    };
    let _ = tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(false)
        .with_max_level(level)
        .with_target(false)
        .try_init();
}
