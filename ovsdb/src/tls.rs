//! TLS for `ssl:` remotes: the client's key and certificate (ovsdb-server
//! requires client certificates) and the CA the server's chain must verify
//! against, all PEM files, as ovn-nbctl's `--private-key`, `--certificate`
//! and `--ca-cert` take them.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::ring;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, DistinguishedName, RootCertStore,
    SignatureScheme,
};
pub(crate) use tokio_rustls::TlsConnector;

use crate::Error;

/// The PEM files a TLS connection to ovsdb-server needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsConfig {
    /// The client's private key (PEM; PKCS#8, PKCS#1 or SEC1).
    pub private_key: PathBuf,
    /// The client's certificate, optionally followed by its intermediates
    /// (PEM), presented to the server.
    pub certificate: PathBuf,
    /// The CA certificate(s) (PEM) the server's certificate must chain to.
    pub ca_cert: PathBuf,
}

/// Loads the files of `tls` and builds the connector every `ssl:` remote of
/// a [`crate::Client::connect_with`] call uses. Each error names the file at
/// fault.
pub(crate) fn connector(tls: &TlsConfig) -> Result<TlsConnector, Error> {
    let provider = Arc::new(ring::default_provider());
    let certs = read_certs(&tls.certificate, "certificate")?;
    let key = PrivateKeyDer::from_pem_file(&tls.private_key)
        .map_err(|e| file_error("private key", &tls.private_key, e, "no private key found"))?;

    let mut roots = RootCertStore::empty();
    for ca in read_certs(&tls.ca_cert, "CA certificate")? {
        roots.add(ca).map_err(|e| Error::TlsFile {
            what: "CA certificate",
            path: tls.ca_cert.clone(),
            reason: e.to_string(),
        })?;
    }
    let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| Error::TlsFile {
            what: "CA certificate",
            path: tls.ca_cert.clone(),
            reason: e.to_string(),
        })?;

    let config = ClientConfig::builder_with_provider(provider)
        // Fails only for a provider without the default versions' cipher
        // suites; ring's default provider has them all.
        .with_safe_default_protocol_versions()
        .map_err(std::io::Error::other)?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyNameVerifier(webpki)))
        .with_client_auth_cert(certs, key)
        .map_err(|e| Error::TlsFile {
            what: "private key",
            path: tls.private_key.clone(),
            reason: format!(
                "unusable with certificate {}: {e}",
                tls.certificate.display()
            ),
        })?;
    Ok(TlsConnector::from(Arc::new(config)))
}

/// The name the server's certificate is checked against (by nothing, see
/// [`AnyNameVerifier`]) and sent as SNI when it is a DNS name.
pub(crate) fn server_name(host: &str) -> Result<ServerName<'static>, Error> {
    ServerName::try_from(host.to_string())
        .map_err(|e| Error::InvalidRemote(format!("ssl host {host:?}: {e}")))
}

/// Every certificate of a PEM file; none is an error.
fn read_certs(path: &Path, what: &'static str) -> Result<Vec<CertificateDer<'static>>, Error> {
    let none = "no certificate found";
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
        .map_err(|e| file_error(what, path, e, none))?;
    if certs.is_empty() {
        return Err(file_error(what, path, pem::Error::NoItemsFound, none));
    }
    Ok(certs)
}

fn file_error(what: &'static str, path: &Path, e: pem::Error, none: &str) -> Error {
    let reason = match e {
        pem::Error::Io(e) => format!("cannot read: {e}"),
        pem::Error::NoItemsFound => none.to_string(),
        e => format!("invalid PEM: {e}"),
    };
    Error::TlsFile {
        what,
        path: path.to_path_buf(),
        reason,
    }
}

/// Verifies the server's certificate chain against the CA like
/// [`WebPkiServerVerifier`], but does not require the certificate to name the
/// host connected to.
///
/// This is what OVS's own stream-ssl does, and so every OVN daemon and
/// ovn-nbctl/ovn-sbctl: it checks the peer's chain against the CA and nothing
/// about its name. OVN certificates (ovs-pki, ovn-kubernetes, OpenStack
/// deployments) name a component ("ovnnb", a node's chassis id), not the
/// address a client dials, so a name check would reject every such
/// deployment. Trust rests on the CA: whoever holds a key it signed is a
/// legitimate OVN peer.
///
/// Only the name-mismatch errors are forgiven: WebPkiServerVerifier checks the
/// name last, after the chain (signature, validity dates, CA constraints,
/// key usage) verified, so such an error means "good chain, other name".
/// Everything else, including the handshake signature checks, is delegated.
#[derive(Debug)]
struct AnyNameVerifier(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for AnyNameVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }

    fn requires_raw_public_keys(&self) -> bool {
        self.0.requires_raw_public_keys()
    }

    fn root_hint_subjects(&self) -> Option<&[DistinguishedName]> {
        self.0.root_hint_subjects()
    }
}
