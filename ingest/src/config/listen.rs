//! `[syslog]`, `[syslog.tls]` and `[http]`: the listeners' sections.

use std::path::PathBuf;

use onewall_model::config::ConfigError;
use serde::{Deserialize, Serialize};

use crate::listen::{ClientAuth, TlsSettings};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SyslogConfig {
    /// UDP listen address; empty disables the listener. Port 0 picks a free port.
    pub udp: String,
    /// TCP listen address; empty disables the listener.
    pub tcp: String,
    /// UTC offset for timestamps that carry none (RFC 3164), e.g. `+08:00`.
    pub timezone: String,
    /// Longest TCP frame accepted; longer frames are discarded and counted.
    pub max_frame_bytes: usize,
    /// Most TCP connections at once; more are refused and counted.
    pub max_connections: usize,
    /// Seconds a TCP or TLS connection may go without completing a frame before it is closed
    /// (bytes that never make a frame do not keep it open); 0 never closes.
    pub idle_timeout_secs: u64,
    /// `SO_RCVBUF` asked for the UDP socket, in bytes (the kernel caps it at
    /// `net.core.rmem_max`). What overflows it is dropped by the kernel and counted in
    /// `onewall_ingest_udp_kernel_dropped_total{listener="syslog"}`.
    pub udp_recv_buffer_bytes: usize,
    /// Most TCP or TLS connections at once from one address; more are refused and counted.
    pub max_connections_per_peer: usize,
    /// Seconds a frame may take from its first byte to its last; a connection trickling an
    /// incomplete frame for longer is closed and counted. 0 waits for ever.
    pub frame_timeout_secs: u64,
    /// GB/T 2260 code of the region the senders are in; empty means the node's region.
    pub region: String,
    /// Department the sending devices belong to (a tag on every event); empty for none.
    pub department: String,
    /// Character set of the records: `auto` (UTF-8, else GB18030), `utf-8`, `gbk` or `gb18030`.
    pub charset: String,
    /// Body format of the records: `auto` to detect, or one such as `fortigate`, `huawei_usg`,
    /// `h3c`, `cef`, `linux_auth`.
    pub format: String,
    /// Syslog over TLS (RFC 5425).
    pub tls: SyslogTlsConfig,
}

impl Default for SyslogConfig {
    fn default() -> Self {
        SyslogConfig {
            udp: "0.0.0.0:5514".into(),
            tcp: "0.0.0.0:5514".into(),
            timezone: "+08:00".into(),
            max_frame_bytes: 64 * 1024,
            max_connections: 1024,
            idle_timeout_secs: 3600,
            udp_recv_buffer_bytes: crate::listen::DEFAULT_RECV_BUFFER_BYTES,
            max_connections_per_peer: 256,
            frame_timeout_secs: 30,
            region: String::new(),
            department: String::new(),
            charset: "auto".into(),
            format: "auto".into(),
            tls: SyslogTlsConfig::default(),
        }
    }
}

/// The TLS listener runs when `cert` and `key` are set; it shares the `[syslog]` settings.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SyslogTlsConfig {
    /// TLS listen address; empty disables the listener.
    pub listen: String,
    /// Server certificate chain, PEM, leaf first. Re-read on SIGHUP.
    pub cert: PathBuf,
    /// Server private key, PEM. Re-read on SIGHUP.
    pub key: PathBuf,
    /// CA certificates (PEM) that client certificates must chain to.
    pub client_ca: PathBuf,
    /// `none`, `optional` (a certificate shown must be valid) or `required`.
    pub client_auth: String,
}

impl Default for SyslogTlsConfig {
    fn default() -> Self {
        SyslogTlsConfig {
            listen: "0.0.0.0:6514".into(),
            cert: PathBuf::new(),
            key: PathBuf::new(),
            client_ca: PathBuf::new(),
            client_auth: "none".into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// API, console and HTTP ingest listen address.
    pub listen: String,
    /// Largest HTTP ingest body (after gzip is undone, too); larger ones get 413.
    pub max_body_bytes: usize,
    /// Tokens accepted by `POST /api/v1/ingest` (`Authorization: Bearer TOKEN`); none: open.
    pub ingest_tokens: Vec<String>,
    /// Tokens accepted by the Elasticsearch-compatible `_bulk` endpoints (Bearer, ApiKey, or
    /// Basic with the token as password); none: open.
    pub bulk_tokens: Vec<String>,
    /// Tokens accepted by the Splunk HEC endpoints (`Authorization: Splunk TOKEN`); none: open.
    pub hec_tokens: Vec<String>,
    /// GB/T 2260 code of the region the senders are in; empty means the node's region.
    pub region: String,
    /// Department the senders belong to (a tag on every event); empty for none.
    pub department: String,
    /// UTC offset for record times that carry none, e.g. `+08:00`.
    pub timezone: String,
    /// Character set of text records: `auto`, `utf-8`, `gbk` or `gb18030`.
    pub charset: String,
    /// Body format of text records: `auto` to detect, or one as under `[syslog]`.
    pub format: String,
    /// Mark the console's session cookie `Secure` on every login. Set it when a reverse proxy
    /// terminates TLS in front of the node; without it the cookie is `Secure` only when the
    /// request says it came over TLS (`X-Forwarded-Proto: https` or `Forwarded: proto=https`).
    pub secure_cookies: bool,
    /// Seconds a client has to send a request's head, counted from the connection's start or
    /// the end of the previous answer (so it also closes idle keep-alive connections).
    pub header_timeout_secs: u64,
    /// Seconds a client has to send a request's body, counted from its head.
    pub body_timeout_secs: u64,
    /// Seconds a connection may move no byte either way while no request is being handled
    /// (a client that stopped reading its answer); then it is closed.
    pub idle_timeout_secs: u64,
    /// Most HTTP connections at once; more are answered 503 and closed, and counted.
    pub max_connections: usize,
    /// Most HTTP connections at once from one address; more are answered 429 and closed,
    /// and counted. Raise it when a reverse proxy connects for every client.
    pub max_connections_per_peer: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            listen: "0.0.0.0:8080".into(),
            max_body_bytes: 16 * 1024 * 1024,
            ingest_tokens: Vec::new(),
            bulk_tokens: Vec::new(),
            hec_tokens: Vec::new(),
            region: String::new(),
            department: String::new(),
            timezone: "+08:00".into(),
            charset: "auto".into(),
            format: "auto".into(),
            secure_cookies: false,
            header_timeout_secs: 10,
            body_timeout_secs: 60,
            idle_timeout_secs: 60,
            max_connections: 4096,
            max_connections_per_peer: 64,
        }
    }
}

/// The TLS listener's certificate settings, each file checked by loading it.
pub(super) fn tls_settings(
    tls: &SyslogTlsConfig,
    errors: &mut Vec<ConfigError>,
) -> Option<TlsSettings> {
    let mut ok = true;
    for (key, path) in [("syslog.tls.cert", &tls.cert), ("syslog.tls.key", &tls.key)] {
        if path.as_os_str().is_empty() {
            errors.push(ConfigError::new(
                key,
                "missing; syslog.tls needs both cert and key",
            ));
            ok = false;
        }
    }
    let client_auth = match tls.client_auth.as_str() {
        "none" => ClientAuth::None,
        "optional" => ClientAuth::Optional,
        "required" => ClientAuth::Required,
        other => {
            errors.push(ConfigError::new(
                "syslog.tls.client_auth",
                format!("{other:?} is not one of none, optional, required"),
            ));
            ok = false;
            ClientAuth::None
        }
    };
    let client_ca = (!tls.client_ca.as_os_str().is_empty()).then(|| tls.client_ca.clone());
    if client_auth != ClientAuth::None && client_ca.is_none() {
        errors.push(ConfigError::new(
            "syslog.tls.client_ca",
            format!(
                "missing; client_auth = {:?} needs a CA to check certificates",
                tls.client_auth
            ),
        ));
        ok = false;
    }
    if !ok {
        return None;
    }
    let settings = TlsSettings {
        cert: tls.cert.clone(),
        key: tls.key.clone(),
        client_ca,
        client_auth,
    };
    match crate::listen::load_tls(&settings) {
        Ok(_) => Some(settings),
        Err(e) => {
            let text = e.to_string();
            let key = if text.starts_with(&format!("{}:", tls.key.display())) {
                "syslog.tls.key"
            } else if !tls.client_ca.as_os_str().is_empty()
                && text.starts_with(&format!("{}:", tls.client_ca.display()))
            {
                "syslog.tls.client_ca"
            } else {
                "syslog.tls.cert"
            };
            errors.push(ConfigError::new(key, text));
            None
        }
    }
}
