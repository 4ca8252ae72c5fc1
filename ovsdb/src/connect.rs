//! Choosing the remote: [`Client::connect`] tries each remote of the list
//! in turn (each within `CONNECT_TIMEOUT`, a busy one retried as `dial.rs`
//! says) and keeps the first that can serve.

use std::time::Duration;

use tokio::time::Instant;

use crate::dial::{self, RetryUntil};
use crate::tls::{self, TlsConnector};
use crate::{Client, Error, Remote, TlsConfig};

/// How long one remote may take to accept the connection and answer an echo.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

impl Client {
    /// `remotes` is a comma-separated list (`unix:/path,tcp:127.0.0.1:6641`);
    /// tries them in order with a connect timeout (5 s each). Of several,
    /// it uses the first that answers and is not a clustered-database member
    /// cut off from its cluster; a lone remote is used once it accepts. The
    /// error lists every remote with its reason.
    ///
    /// A server too busy to accept (`EAGAIN`: backlog full) is retried,
    /// with pauses from 5 ms doubling to 200 ms, within that timeout; a
    /// refused lone remote for 1 s; other failures move on at once.
    ///
    /// Without TLS settings: an `ssl:` remote fails with
    /// [`Error::TlsRequired`]; see [`Client::connect_with`].
    pub async fn connect(remotes: &str) -> Result<Client, Error> {
        Client::connect_with(remotes, None).await
    }

    /// [`Client::connect`], with the TLS settings `ssl:` remotes use
    /// (`ssl:10.0.0.1:6641,ssl:10.0.0.2:6641`); other remotes ignore them.
    /// The server's certificate must chain to `tls.ca_cert`, but, as with
    /// OVS's own clients, its name is not checked against the host.
    ///
    /// Settings errors come before any remote is tried, as they are: an
    /// `ssl:` remote without `tls` is [`Error::TlsRequired`], a file that
    /// cannot be read or used is [`Error::TlsFile`]. A failed handshake is a
    /// failure of that remote, in the [`Error::Connect`] of the list.
    pub async fn connect_with(remotes: &str, tls: Option<&TlsConfig>) -> Result<Client, Error> {
        let list = Remote::parse_list(remotes)?;
        let connector = match (list.iter().find(|r| matches!(r, Remote::Ssl { .. })), tls) {
            (None, _) => None,
            (Some(ssl), None) => return Err(Error::TlsRequired(ssl.to_string())),
            (Some(_), Some(tls)) => Some(tls::connector(tls)?),
        };
        let mut failures = Vec::new();
        // With a choice of servers, each is checked before it is chosen; a
        // lone server has no alternative, and its first request tells.
        let check = list.len() > 1;
        for remote in &list {
            let deadline = Instant::now() + CONNECT_TIMEOUT;
            // A lone remote (unchecked) has no alternative to move on to.
            let until = RetryUntil::new(deadline, !check);
            let attempt = Client::connect_one(remote, connector.as_ref(), check, until);
            match tokio::time::timeout_at(deadline, attempt).await {
                Ok(Ok(client)) => return Ok(client),
                Ok(Err(e)) => failures.push(format!("{remote}: {e}")),
                Err(_) => failures.push(format!("{remote}: no answer within {CONNECT_TIMEOUT:?}")),
            }
        }
        Err(Error::Connect {
            remotes: list
                .iter()
                .map(Remote::to_string)
                .collect::<Vec<_>>()
                .join(","),
            reason: failures.join("; "),
        })
    }

    async fn connect_one(
        remote: &Remote,
        connector: Option<&TlsConnector>,
        check: bool,
        until: RetryUntil,
    ) -> Result<Client, Error> {
        let name = remote.to_string();
        let client = match remote {
            Remote::Unix(path) => Client::from_stream(dial::unix(path, &name, until).await?, name),
            Remote::Tcp { host, port } => {
                Client::from_stream(dial::tcp(host, *port, &name, until).await?, name)
            }
            Remote::Ssl { host, port } => {
                // connect_with has a connector whenever the list has an ssl: remote.
                let connector = connector.ok_or_else(|| Error::TlsRequired(name.clone()))?;
                let server_name = tls::server_name(host)?;
                let stream = connector
                    .connect(server_name, dial::tcp(host, *port, &name, until).await?)
                    .await
                    .map_err(Error::TlsHandshake)?;
                Client::from_stream(stream, name)
            }
        };
        if check {
            // A socket that accepts is not yet a server that answers, nor a
            // member of its cluster: the _Server select tells both.
            client.check_cluster_membership().await?;
        }
        Ok(client)
    }

    /// Rejects a member of a clustered database that has lost its cluster:
    /// it still answers, but its data may be stale and its transactions
    /// cannot commit, so the next remote of the list is the better choice
    /// (ovn-nbctl makes the same check through `_Server`).
    async fn check_cluster_membership(&self) -> Result<(), Error> {
        let columns = ["name", "model", "connected"].map(String::from).to_vec();
        let rows = match self
            .select("_Server", "Database", vec![], Some(columns))
            .await
        {
            Ok(rows) => rows,
            // No _Server database (OVS before 2.9): nothing to check.
            Err(Error::Rpc(_)) => return Ok(()),
            Err(e) => return Err(e),
        };
        let lost: Vec<&str> = rows
            .iter()
            .filter(|r| r.str("model") == Some("clustered") && r.bool("connected") == Some(false))
            .filter_map(|r| r.str("name"))
            .collect();
        if lost.is_empty() {
            Ok(())
        } else {
            Err(Error::ClusterDisconnected(lost.join(",")))
        }
    }
}
