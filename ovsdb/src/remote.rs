//! OVSDB remote strings (`unix:PATH`, `tcp:HOST:PORT`, `ssl:HOST:PORT`) as
//! ovs-vsctl and ovn-nbctl spell them.

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
    /// TLS over TCP to a host (name, IPv4, or IPv6 without brackets) and
    /// port; connecting needs a [`crate::TlsConfig`].
    Ssl {
        /// Host name or address.
        host: String,
        /// Port number.
        port: u16,
    },
}

impl Remote {
    /// Parses one remote: `unix:PATH`, `tcp:HOST:PORT` or `ssl:HOST:PORT`,
    /// an IPv6 host bracketed (`ssl:[::1]:6641`).
    pub fn parse(s: &str) -> Result<Remote, Error> {
        let invalid = || Error::InvalidRemote(s.to_string());
        let (method, rest) = s.split_once(':').ok_or_else(invalid)?;
        match method {
            "unix" if !rest.is_empty() => Ok(Remote::Unix(PathBuf::from(rest))),
            "tcp" => {
                let (host, port) = parse_host_port(rest).ok_or_else(invalid)?;
                Ok(Remote::Tcp { host, port })
            }
            "ssl" => {
                let (host, port) = parse_host_port(rest).ok_or_else(invalid)?;
                Ok(Remote::Ssl { host, port })
            }
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

/// `HOST:PORT` of a tcp: or ssl: remote, the host unbracketed; `None` when
/// either part is missing or the port is not a number.
fn parse_host_port(s: &str) -> Option<(String, u16)> {
    let (host, port) = s.rsplit_once(':')?;
    // IPv6 addresses come bracketed, as in `tcp:[::1]:6641`.
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let port = port.parse().ok()?;
    if host.is_empty() {
        return None;
    }
    Some((host.to_string(), port))
}

impl std::fmt::Display for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (method, host, port) = match self {
            Remote::Unix(path) => return write!(f, "unix:{}", path.display()),
            Remote::Tcp { host, port } => ("tcp", host, port),
            Remote::Ssl { host, port } => ("ssl", host, port),
        };
        if host.contains(':') {
            write!(f, "{method}:[{host}]:{port}")
        } else {
            write!(f, "{method}:{host}:{port}")
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
    fn parses_ssl_like_tcp() {
        let v4 = Remote::parse("ssl:10.0.0.1:6641").unwrap();
        assert_eq!(
            v4,
            Remote::Ssl {
                host: "10.0.0.1".into(),
                port: 6641
            }
        );
        assert_eq!(v4.to_string(), "ssl:10.0.0.1:6641");
        let v6 = Remote::parse("ssl:[::1]:6641").unwrap();
        assert_eq!(
            v6,
            Remote::Ssl {
                host: "::1".into(),
                port: 6641
            }
        );
        assert_eq!(v6.to_string(), "ssl:[::1]:6641");
        assert_eq!(
            Remote::parse_list("ssl:10.0.0.1:6641,ssl:10.0.0.2:6641").unwrap(),
            vec![
                v4,
                Remote::Ssl {
                    host: "10.0.0.2".into(),
                    port: 6641
                }
            ]
        );
    }

    #[test]
    fn rejects_bad() {
        for bad in [
            "",
            "unix:",
            "tcp:host",
            "tcp::1",
            "tcp:h:99999",
            "ssl:",
            "ssl:host",
            "ssl::1",
            "ssl:[]:6641",
            "ssl:h:port",
            "foo:bar",
            "/path",
        ] {
            assert!(
                matches!(Remote::parse(bad), Err(Error::InvalidRemote(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            Remote::parse_list(" , "),
            Err(Error::InvalidRemote(_))
        ));
    }
}
