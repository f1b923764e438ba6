//! Syslog over TLS (RFC 5425): TLS 1.2 and 1.3 with rustls, optional client certificates,
//! the same per-frame RFC 6587 framing as plain TCP.
//!
//! The certificates are read by [`load_tls`] into a [`rustls::ServerConfig`]; the listener
//! takes them from a `watch` channel at each handshake, so the caller reloads them (on SIGHUP)
//! by sending a new config: new handshakes use it, open connections carry on with theirs.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use onewall_model::EventBatch;
use rustls::RootCertStore;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ServerConfig, WebPkiClientVerifier};
use thiserror::Error;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio_rustls::server::TlsStream;
use tracing::{debug, warn};

use super::tcp::accept_loop;
use super::{ListenerConfig, Throttle, count_dropped};

/// A loaded TLS server configuration, as [`load_tls`] makes it and [`run_tls`] takes it.
pub type TlsServerConfig = ServerConfig;

/// The longest a client may take over its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Whether clients must show a certificate signed by the configured CA.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ClientAuth {
    /// Clients are not asked for a certificate.
    #[default]
    None,
    /// A client may show a certificate, which must then be valid; one without is accepted.
    Optional,
    /// A client without a valid certificate is refused.
    Required,
}

/// Where a TLS listener's certificates are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    /// The server's certificate chain, PEM, leaf first.
    pub cert: PathBuf,
    /// The server's private key, PEM (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// The CA certificates (PEM) that client certificates must chain to; needed unless
    /// `client_auth` is [`ClientAuth::None`].
    pub client_ca: Option<PathBuf>,
    /// Whether clients must show a certificate.
    pub client_auth: ClientAuth,
}

/// Why the TLS certificates could not be loaded; names the file at fault.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A file could not be read or holds no usable PEM.
    #[error("{path}: {reason}")]
    File { path: PathBuf, reason: String },
    /// Client authentication was asked for without a CA to check against.
    #[error("client certificates are {mode} but no client CA is configured")]
    NoClientCa { mode: &'static str },
    /// rustls refused the combination (e.g. the key does not match the certificate).
    #[error("{path}: {reason}")]
    Config { path: PathBuf, reason: String },
}

fn file_error(path: &Path, reason: impl ToString) -> TlsError {
    TlsError::File {
        path: path.to_owned(),
        reason: reason.to_string(),
    }
}

/// Read the certificates into a server config offering TLS 1.3 and 1.2.
pub fn load_tls(settings: &TlsSettings) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let certs = read_certs(&settings.cert)?;
    let key = PrivateKeyDer::from_pem_file(&settings.key)
        .map_err(|e| file_error(&settings.key, pem_reason(e, "private key")))?;
    let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| TlsError::Config {
            path: settings.cert.clone(),
            reason: e.to_string(),
        })?;
    let builder = match (settings.client_auth, &settings.client_ca) {
        (ClientAuth::None, _) => builder.with_no_client_auth(),
        (mode, None) => {
            return Err(TlsError::NoClientCa {
                mode: if mode == ClientAuth::Required {
                    "required"
                } else {
                    "optional"
                },
            });
        }
        (mode, Some(ca)) => {
            let mut roots = RootCertStore::empty();
            for cert in read_certs(ca)? {
                roots.add(cert).map_err(|e| file_error(ca, e))?;
            }
            let verifier =
                WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider));
            let verifier = if mode == ClientAuth::Optional {
                verifier.allow_unauthenticated()
            } else {
                verifier
            };
            let verifier = verifier.build().map_err(|e| file_error(ca, e))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let config = builder
        .with_single_cert(certs, key)
        .map_err(|e| TlsError::Config {
            path: settings.key.clone(),
            reason: e.to_string(),
        })?;
    Ok(Arc::new(config))
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| file_error(path, pem_reason(e, "certificate")))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file_error(path, pem_reason(e, "certificate")))?;
    if certs.is_empty() {
        return Err(file_error(path, "no PEM certificate found"));
    }
    Ok(certs)
}

fn pem_reason(e: rustls::pki_types::pem::Error, what: &str) -> String {
    use rustls::pki_types::pem::Error;
    match e {
        Error::NoItemsFound => format!("no PEM {what} found"),
        Error::Io(io) => io.to_string().to_lowercase(),
        other => format!("bad PEM {what}: {other:?}"),
    }
}

/// Accept syslog over TLS on `listener` until `shutdown` turns true, sending parsed events in
/// batches down `tx`. Each handshake uses the config `tls` holds at that moment. A client that
/// fails its handshake (no certificate where one is required, a bad one, not TLS at all) is
/// counted in `onewall_ingest_dropped_total{reason="tls_handshake"}` and the listener carries on.
pub async fn run_tls(
    listener: TcpListener,
    cfg: ListenerConfig,
    tls: watch::Receiver<Arc<ServerConfig>>,
    tx: mpsc::Sender<EventBatch>,
    shutdown: watch::Receiver<bool>,
) {
    let acceptor = TlsAcceptor {
        collector: cfg.collector.clone(),
        configs: tls,
    };
    accept_loop(listener, cfg, Some(acceptor), tx, shutdown).await;
}

/// Performs handshakes with the latest server config.
#[derive(Debug, Clone)]
pub(super) struct TlsAcceptor {
    collector: String,
    configs: watch::Receiver<Arc<ServerConfig>>,
}

impl TlsAcceptor {
    /// The TLS stream, or `None` (counted and, now and then, logged) when the handshake fails.
    pub async fn handshake(
        &self,
        stream: TcpStream,
        peer: SocketAddr,
        warn_throttle: &Mutex<Throttle>,
    ) -> Option<TlsStream<TcpStream>> {
        let config = Arc::clone(&self.configs.borrow());
        let acceptor = tokio_rustls::TlsAcceptor::from(config);
        let error = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
            Ok(Ok(stream)) => {
                let (_, session) = stream.get_ref();
                debug!(collector = %self.collector, peer = %peer,
                    version = ?session.protocol_version(),
                    client_cert = session.peer_certificates().is_some(),
                    "tls handshake done");
                return Some(stream);
            }
            Ok(Err(e)) => e.to_string(),
            Err(_) => format!("no handshake within {HANDSHAKE_TIMEOUT:?}"),
        };
        count_dropped("tls_handshake");
        let log = warn_throttle.lock().map(|mut t| t.ready()).unwrap_or(true);
        if log {
            warn!(collector = %self.collector, peer = %peer, error = %error,
                "tls handshake failed, connection refused");
        } else {
            debug!(collector = %self.collector, peer = %peer, error = %error,
                "tls handshake failed, connection refused");
        }
        None
    }
}
