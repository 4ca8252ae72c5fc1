//! `ssl:` remotes against a real ovsdb-server with certificates made by the
//! openssl CLI: client certificates, the CA check, and OVS's rule that the
//! server's certificate need not name the host.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Cert, DB, Pki, Server, ServerTls};
use ovsdb::{Client, Condition, Error, Operation, Row, TlsConfig, Value};

/// A CA, a server certificate and a client certificate it signed. The
/// server's names a component (`CN=ovnnb`, no subjectAltName), as ovs-pki's
/// do, never 127.0.0.1.
struct Setup {
    pki: Pki,
    ca: Cert,
    server: Cert,
    client: TlsConfig,
}

fn setup() -> Setup {
    let pki = Pki::new();
    let ca = pki.ca("ca");
    let server = pki.issue(&ca, "server", "ovnnb");
    let client = pki.issue(&ca, "client", "ovn-udn-cni");
    let client = TlsConfig {
        private_key: client.key,
        certificate: client.cert,
        ca_cert: ca.cert.clone(),
    };
    Setup {
        pki,
        ca,
        server,
        client,
    }
}

/// Starts a server with `identity` that accepts clients of `ca`, and waits
/// until it serves (once the unix remote answers, every listener is bound).
async fn start(identity: &Cert, ca: &Cert) -> Server {
    let server = Server::start_tls(&ServerTls {
        identity,
        ca_cert: &ca.cert,
    });
    Client::connect(&server.unix).await.unwrap();
    server
}

/// A server whose certificate another CA ("rogue") signed.
async fn start_with_rogue_certificate(s: &Setup) -> Server {
    let rogue = s.pki.ca("rogue");
    let identity = s.pki.issue(&rogue, "rogue-server", "ovnnb");
    start(&identity, &s.ca).await
}

#[tokio::test(flavor = "current_thread")]
async fn ssl_round_trip_with_a_certificate_that_names_no_host() {
    let s = setup();
    let server = start(&s.server, &s.ca).await;
    let client = Client::connect_with(server.ssl(), Some(&s.client))
        .await
        .unwrap_or_else(|e| panic!("{e}\nserver log:\n{}", server.log()));
    assert_eq!(client.remote(), server.ssl());
    client
        .transact(
            DB,
            &[Operation::insert(
                "Switch",
                Row::new().with("name", Value::string("over-tls")),
            )],
        )
        .await
        .unwrap();
    let rows = client
        .select(
            DB,
            "Switch",
            vec![Condition::eq("name", Value::string("over-tls"))],
            None,
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].str("name"), Some("over-tls"));

    // A host name (a DNS server name, where 127.0.0.1 is an IP one) is not
    // checked either.
    let port = server.ssl().rsplit_once(':').unwrap().1;
    let by_name = Client::connect_with(&format!("ssl:localhost:{port}"), Some(&s.client))
        .await
        .unwrap();
    by_name.echo().await.unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn rejects_a_server_certificate_signed_by_another_ca() {
    let s = setup();
    let server = start_with_rogue_certificate(&s).await;
    let err = Client::connect_with(server.ssl(), Some(&s.client))
        .await
        .unwrap_err();
    match &err {
        Error::Connect { remotes, reason } => {
            assert_eq!(remotes, server.ssl());
            assert!(reason.contains(server.ssl()), "{reason}");
            assert!(reason.contains("TLS handshake failed"), "{reason}");
            assert!(reason.contains("certificate"), "{reason}");
        }
        other => panic!("expected Error::Connect, got {other:?}"),
    }
}

#[tokio::test(flavor = "current_thread")]
async fn falls_through_a_server_of_another_ca_to_a_good_one() {
    let s = setup();
    let rogue = start_with_rogue_certificate(&s).await;
    let good = start(&s.server, &s.ca).await;
    let list = format!("{},{}", rogue.ssl(), good.ssl());
    let client = Client::connect_with(&list, Some(&s.client)).await.unwrap();
    assert_eq!(client.remote(), good.ssl());
    client.echo().await.unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn ssl_without_tls_settings_names_the_remote() {
    // Rejected before anything is tried: nothing listens on these ports.
    let err = Client::connect_with("tcp:127.0.0.1:1,ssl:127.0.0.1:2", None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::TlsRequired(remote) if remote == "ssl:127.0.0.1:2"),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.contains("ssl:127.0.0.1:2"), "{text}");
    assert!(text.contains("`tls` in the node config"), "{text}");
}

#[tokio::test(flavor = "current_thread")]
async fn tls_settings_are_ignored_without_ssl_remotes() {
    let server = Server::start();
    let missing = TlsConfig {
        private_key: "/nonexistent/key.pem".into(),
        certificate: "/nonexistent/cert.pem".into(),
        ca_cert: "/nonexistent/ca.pem".into(),
    };
    let client = Client::connect_with(&server.unix, Some(&missing))
        .await
        .unwrap();
    client.echo().await.unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn tls_file_errors_name_the_file() {
    let s = setup();
    // Rejected before anything is tried: nothing listens on this port.
    let remote = "ssl:127.0.0.1:2";
    let expect_file_error = |tls: TlsConfig, path: &std::path::Path, text: &str| {
        let path = path.to_path_buf();
        let text = text.to_string();
        async move {
            let err = Client::connect_with(remote, Some(&tls)).await.unwrap_err();
            assert!(
                matches!(&err, Error::TlsFile { path: p, .. } if *p == path),
                "{err:?}"
            );
            let message = err.to_string();
            assert!(message.contains(path.to_str().unwrap()), "{message}");
            assert!(message.contains(&text), "{message}");
        }
    };

    let missing = s.pki.path().join("missing-key.pem");
    expect_file_error(
        TlsConfig {
            private_key: missing.clone(),
            ..s.client.clone()
        },
        &missing,
        "TLS private key",
    )
    .await;
    expect_file_error(
        TlsConfig {
            private_key: missing.clone(),
            ..s.client.clone()
        },
        &missing,
        "cannot read",
    )
    .await;

    // A key where the certificate should be: a PEM file, but no certificate.
    let key = s.client.private_key.clone();
    expect_file_error(
        TlsConfig {
            certificate: key.clone(),
            ..s.client.clone()
        },
        &key,
        "TLS certificate",
    )
    .await;
    expect_file_error(
        TlsConfig {
            ca_cert: key.clone(),
            ..s.client.clone()
        },
        &key,
        "no certificate found",
    )
    .await;

    // A certificate where the key should be.
    let cert = s.client.certificate.clone();
    expect_file_error(
        TlsConfig {
            private_key: cert.clone(),
            ..s.client.clone()
        },
        &cert,
        "no private key found",
    )
    .await;

    // The key of another certificate.
    let other = s.server.key.clone();
    expect_file_error(
        TlsConfig {
            private_key: other.clone(),
            ..s.client.clone()
        },
        &other,
        "unusable with certificate",
    )
    .await;
}
