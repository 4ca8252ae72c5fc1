//! OVSDB remote strings (`unix:PATH`, `tcp:HOST:PORT`) as ovs-vsctl and
//! ovn-nbctl spell them.

use std::path::PathBuf;

use crate::Error;

/// A place to connect to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Remote {
    /// A unix socket path.
    Unix(PathBuf),
    /// A TCP host (name, IPv4, or IPv6 without brackets) and port.
    Tcp {
        /// Host name or address.
        host: String,
        /// Port number.
        port: u16,
    },
}

impl Remote {
    /// Parses one remote. `ssl:` is recognised but not supported yet, so
    /// it gets its own error rather than "invalid".
    pub fn parse(s: &str) -> Result<Remote, Error> {
        let invalid = || Error::InvalidRemote(s.to_string());
        let (method, rest) = s.split_once(':').ok_or_else(invalid)?;
        match method {
            "unix" if !rest.is_empty() => Ok(Remote::Unix(PathBuf::from(rest))),
            "tcp" => {
                let (host, port) = rest.rsplit_once(':').ok_or_else(invalid)?;
                // IPv6 addresses come bracketed, as in `tcp:[::1]:6641`.
                let host = host
                    .strip_prefix('[')
                    .and_then(|h| h.strip_suffix(']'))
                    .unwrap_or(host);
                let port = port.parse().map_err(|_| invalid())?;
                if host.is_empty() {
                    return Err(invalid());
                }
                Ok(Remote::Tcp {
                    host: host.to_string(),
                    port,
                })
            }
            "ssl" => Err(Error::UnsupportedRemote(s.to_string())),
            _ => Err(invalid()),
        }
    }

    /// Parses a comma-separated list, the form a clustered database is given
    /// in; blanks around entries are ignored, an empty list is invalid.
    pub fn parse_list(s: &str) -> Result<Vec<Remote>, Error> {
        let remotes = s
            .split(',')
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(Remote::parse)
            .collect::<Result<Vec<_>, _>>()?;
        if remotes.is_empty() {
            return Err(Error::InvalidRemote(s.to_string()));
        }
        Ok(remotes)
    }
}

impl std::fmt::Display for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Remote::Unix(path) => write!(f, "unix:{}", path.display()),
            Remote::Tcp { host, port } if host.contains(':') => write!(f, "tcp:[{host}]:{port}"),
            Remote::Tcp { host, port } => write!(f, "tcp:{host}:{port}"),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_unix_and_tcp() {
        assert_eq!(
            Remote::parse("unix:/run/db.sock").unwrap(),
            Remote::Unix("/run/db.sock".into())
        );
        assert_eq!(
            Remote::parse("tcp:127.0.0.1:6641").unwrap(),
            Remote::Tcp {
                host: "127.0.0.1".into(),
                port: 6641
            }
        );
        let v6 = Remote::parse("tcp:[::1]:6641").unwrap();
        assert_eq!(
            v6,
            Remote::Tcp {
                host: "::1".into(),
                port: 6641
            }
        );
        assert_eq!(v6.to_string(), "tcp:[::1]:6641");
        assert_eq!(Remote::parse_list(" unix:/a , tcp:h:1").unwrap().len(), 2);
    }

    #[test]
    fn rejects_bad_and_unsupported() {
        for bad in [
            "",
            "unix:",
            "tcp:host",
            "tcp::1",
            "tcp:h:99999",
            "foo:bar",
            "/path",
        ] {
            assert!(
                matches!(Remote::parse(bad), Err(Error::InvalidRemote(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            Remote::parse("ssl:1.2.3.4:6641"),
            Err(Error::UnsupportedRemote(_))
        ));
        assert!(matches!(
            Remote::parse_list(" , "),
            Err(Error::InvalidRemote(_))
        ));
    }
}
