//! Reading and writing `/proc/sys` inside a namespace.
//!
//! `/proc/sys/net` shows the namespace of the thread that opens the file, so
//! each access enters the namespace just for the open and the read or write.

use std::fs::OpenOptions;
use std::io::{self, Read, Write};
use std::path::Path;

use crate::{Error, Netns};

/// Writes `value` to the sysctl `key` (e.g. `net/ipv6/conf/eth0/accept_dad`)
/// of `ns`. [`Error::SysctlMissing`] when the key does not exist there (IPv6
/// disabled, no such interface).
pub fn write(ns: &Netns, key: &str, value: &str) -> Result<(), Error> {
    let path = Path::new("/proc/sys").join(key);
    let result = {
        let _guard = ns.enter()?;
        OpenOptions::new()
            .write(true)
            .open(&path)
            .and_then(|mut file| file.write_all(value.as_bytes()))
    };
    result.map_err(|source| sysctl_error(ns, key, source))
}

/// Reads the sysctl `key` of `ns`, without the trailing newline.
/// [`Error::SysctlMissing`] when the key does not exist there.
pub fn read(ns: &Netns, key: &str) -> Result<String, Error> {
    let path = Path::new("/proc/sys").join(key);
    let result = {
        let _guard = ns.enter()?;
        let mut text = String::new();
        std::fs::File::open(&path)
            .and_then(|mut file| file.read_to_string(&mut text))
            .map(|_| text)
    };
    result
        .map(|text| text.trim_end().to_string())
        .map_err(|source| sysctl_error(ns, key, source))
}

/// The key of the per-interface IPv6 `accept_dad` sysctl.
pub fn accept_dad_key(interface: &str) -> String {
    format!("net/ipv6/conf/{interface}/accept_dad")
}

fn sysctl_error(ns: &Netns, key: &str, source: io::Error) -> Error {
    if source.kind() == io::ErrorKind::NotFound {
        Error::SysctlMissing {
            key: key.to_string(),
            netns: ns.path().to_path_buf(),
        }
    } else {
        Error::Sysctl {
            key: key.to_string(),
            netns: ns.path().to_path_buf(),
            source,
        }
    }
}
