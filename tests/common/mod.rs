//! Helpers for end-to-end tests: run the real `onewall` binary on free ports and talk to it.

#![allow(clippy::unwrap_used)] // tests fail loudly on unexpected input
#![allow(dead_code)]

#[path = "../../ingest/tests/support/peers.rs"]
pub mod peers;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A running node. Stopped with SIGTERM (then killed) when dropped.
pub struct Node {
    child: Option<Child>,
    pub http: String,
    pub udp: Option<String>,
    pub tcp: Option<String>,
    pub tls: Option<String>,
    pub stderr: Arc<Mutex<String>>,
    /// The admin token from `admin.token` in the node's data directory, sent as a bearer on
    /// `get`, `get_status` and `post`.
    pub token: Option<String>,
}

/// A config on 127.0.0.1 port 0 everywhere, storing under `data`, with `extra` appended.
/// The flow collectors get port 0 too, unless `extra` has its own `[flow]` section.
pub fn config(data: &Path, extra: &str) -> String {
    let flow = if extra.contains("[flow]") {
        ""
    } else {
        "[flow]\nnetflow = \"127.0.0.1:0\"\nsflow = \"127.0.0.1:0\"\n"
    };
    format!(
        r#"version = 1
[node]
name = "e2e"
region = "410100"
[syslog]
udp = "127.0.0.1:0"
tcp = "127.0.0.1:0"
[http]
listen = "127.0.0.1:0"
[store]
path = "{}"
{flow}{extra}
"#,
        data.display()
    )
}

/// [`config`] for the node `name` of `region` (the federation tests run several).
pub fn node_config(data: &Path, name: &str, region: &str, extra: &str) -> String {
    config(data, extra).replacen(
        "name = \"e2e\"\nregion = \"410100\"",
        &format!("name = \"{name}\"\nregion = \"{region}\""),
        1,
    )
}

/// Write `text` to `dir/file` and start a node on it.
pub fn start_with(dir: &Path, file: &str, text: &str) -> Node {
    let cfg = dir.join(file);
    std::fs::write(&cfg, text).unwrap();
    Node::start(&cfg)
}

pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_onewall"))
}

impl Node {
    /// Start `onewall serve --config FILE` and wait until it prints that it is ready.
    pub fn start(config_file: &Path) -> Node {
        let mut child = Command::new(binary())
            .args(["serve", "--config"])
            .arg(config_file)
            .env("ONEWALL_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start onewall");
        let stderr = Arc::new(Mutex::new(String::new()));
        {
            let mut err = child.stderr.take().expect("stderr");
            let sink = stderr.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = err.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    sink.lock()
                        .unwrap()
                        .push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            });
        }
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let (mut http, mut udp, mut tcp, mut tls) = (None, None, None, None);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = match rx.recv_timeout(left) {
                Ok(l) => l,
                Err(_) => {
                    let _ = child.kill();
                    panic!(
                        "onewall did not become ready; stderr:\n{}",
                        stderr.lock().unwrap()
                    );
                }
            };
            if let Some(rest) = line.strip_prefix("onewall listening ") {
                let (kind, addr) = rest.split_once(' ').expect("listening line");
                match kind {
                    "http" => http = Some(addr.to_owned()),
                    "syslog_udp" => udp = Some(addr.to_owned()),
                    "syslog_tcp" => tcp = Some(addr.to_owned()),
                    "syslog_tls" => tls = Some(addr.to_owned()),
                    _ => {}
                }
            }
            if line.starts_with("onewall ready") {
                break;
            }
        }
        let token = data_dir_of(config_file)
            .map(|d| d.join("admin.token"))
            .and_then(|f| std::fs::read_to_string(f).ok())
            .map(|t| t.trim().to_owned());
        Node {
            child: Some(child),
            http: http.expect("http address printed"),
            udp,
            tcp,
            tls,
            stderr,
            token,
        }
    }

    /// The node's process id, for signals.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// Send the node a signal by name (`HUP`, `TERM`).
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.pid().to_string()])
            .status();
        assert!(
            status.map(|s| s.success()).unwrap_or(false),
            "sending SIG{name}"
        );
    }

    /// The value of one metric series, by its full name with labels as rendered.
    pub fn metric(&self, series: &str) -> Option<f64> {
        self.metrics().lines().find_map(|l| {
            let (name, value) = l.rsplit_once(' ')?;
            (name == series).then(|| value.parse().ok()).flatten()
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.http)
    }

    pub fn udp_port(&self) -> String {
        port(self.udp.as_deref().expect("udp listener"))
    }

    pub fn tcp_port(&self) -> String {
        port(self.tcp.as_deref().expect("tcp listener"))
    }

    /// GET a JSON document; panics on a non-2xx answer.
    pub fn get(&self, path: &str) -> Value {
        let (status, body) = self.get_status(path);
        assert!((200..300).contains(&status), "GET {path}: {status} {body}");
        body
    }

    pub fn get_status(&self, path: &str) -> (u16, Value) {
        http_call("GET", &self.url(path), None, self.token.as_deref())
    }

    pub fn post(&self, path: &str, body: &[u8]) -> (u16, Value) {
        http_call("POST", &self.url(path), Some(body), self.token.as_deref())
    }

    /// A call with another credential (`None`: none at all).
    pub fn call_as(
        &self,
        token: Option<&str>,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
    ) -> (u16, Value) {
        http_call(method, &self.url(path), body, token)
    }

    pub fn metrics(&self) -> String {
        let mut resp = agent()
            .get(&self.url("/metrics"))
            .call()
            .expect("GET /metrics");
        resp.body_mut().read_to_string().expect("metrics body")
    }

    /// Stop with SIGTERM and wait for a clean exit.
    pub fn stop(mut self) {
        let mut child = self.child.take().expect("running");
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        assert!(
            status.map(|s| s.success()).unwrap_or(false),
            "sending SIGTERM"
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(st) = child.try_wait().expect("wait") {
                assert!(
                    st.success(),
                    "onewall exited with {st}; stderr:\n{}",
                    self.stderr()
                );
                return;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!(
                    "onewall did not stop within 30s; stderr:\n{}",
                    self.stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn port(addr: &str) -> String {
    addr.rsplit_once(':').expect("host:port").1.to_owned()
}

/// A port free now that the kernel does not hand out by itself (below its ephemeral range,
/// 32768 and up), for a server a test starts later: a port from `bind(0)` is an ephemeral one,
/// which any outgoing connection on the machine may take meanwhile.
pub fn port_for_later() -> u16 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let mut x = (u64::from(nanos) << 20) ^ u64::from(std::process::id()) | 1;
    for _ in 0..1000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let port = 20_000 + (x % 12_000) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port between 20000 and 32000");
}

/// An HTTP client that hands back every status (a 4xx is an answer, not an error), giving up
/// on a call after 30 s.
pub fn agent() -> ureq::Agent {
    agent_with(Duration::from_secs(30))
}

/// [`agent`], giving up on a call after `timeout`.
pub fn agent_with(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(timeout))
        .build()
        .into()
}

/// A GET with `token` as bearer, its body not parsed: status, content type and body text.
pub fn raw_get(node: &Node, token: &str, path: &str) -> (u16, String, String) {
    let mut resp = agent()
        .get(&node.url(path))
        .header("Authorization", &format!("Bearer {token}"))
        .call()
        .unwrap();
    let ctype = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = resp.body_mut().read_to_string().unwrap();
    (resp.status().as_u16(), ctype, body)
}

/// The data directory of a config file: its `[store] path`, else the default.
pub fn data_dir_of(config_file: &Path) -> Option<PathBuf> {
    let text = std::fs::read_to_string(config_file).ok()?;
    let doc: toml::Table = text.parse().ok()?;
    let path = doc
        .get("store")
        .and_then(|s| s.get("path"))
        .and_then(|p| p.as_str())
        .unwrap_or("./onewall-data");
    Some(PathBuf::from(path))
}

fn http_call(method: &str, url: &str, body: Option<&[u8]>, token: Option<&str>) -> (u16, Value) {
    let a = agent();
    let bearer = token.map(|t| format!("Bearer {t}"));
    let resp = match (method, body) {
        ("GET", _) => {
            let mut r = a.get(url);
            if let Some(b) = &bearer {
                r = r.header("Authorization", b);
            }
            r.call()
        }
        ("DELETE", _) => {
            let mut r = a.delete(url);
            if let Some(b) = &bearer {
                r = r.header("Authorization", b);
            }
            r.call()
        }
        (_, body) => {
            let mut r = a.post(url);
            if let Some(b) = &bearer {
                r = r.header("Authorization", b);
            }
            match body {
                Some(b) => r.send(b),
                None => r.send_empty(),
            }
        }
    };
    let mut resp = resp.unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    let json = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, json)
}

/// POST a body the node is expected to refuse part-way (413): written on a raw connection
/// whose write errors are ignored, because the node answers and closes before it has read
/// the rest (an HTTP client reports the broken pipe of its unfinished write instead of the
/// answer). The status and the JSON answer.
pub fn post_refused(
    node: &Node,
    token: &str,
    path: &str,
    ctype: &str,
    body: &[u8],
) -> (u16, Value) {
    use std::io::Write;
    let addr = node.http.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    let _ = s.write_all(body);
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 8192];
    // Until the node closes (or resets) the connection: the answer arrived before either.
    while let Ok(n) = s.read(&mut buf) {
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&got);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("POST {path}: no status in {head:?}"));
    let json = serde_json::from_str(body).unwrap_or(Value::String(body.to_owned()));
    (status, json)
}

/// Poll `f` until it returns `Some` or `timeout` passes.
pub fn eventually<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Run the real `logger` with `args`, optionally feeding `stdin`.
pub fn logger(args: &[&str], stdin: Option<&str>) {
    use std::io::Write;
    let mut child = Command::new("logger")
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .spawn()
        .expect("run logger (package bsdutils)");
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(text.as_bytes())
            .expect("write to logger");
    }
    let st = child.wait().expect("logger");
    assert!(st.success(), "logger {args:?} failed: {st}");
}

/// One RFC 3164 line from the real `logger` over UDP to `node`, with its tag and priority;
/// `extra` goes before the priority (e.g. `--id=4242`).
pub fn logger_udp(node: &Node, tag: &str, extra: &[&str], priority: &str, message: &str) {
    let port = node.udp_port();
    let mut args = vec!["-n", "127.0.0.1", "-P", &port, "-d", "--rfc3164", "-t", tag];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["-p", priority, message]);
    logger(&args, None);
}

/// Send `message` as sshd (`auth.info`) over UDP in RFC 3164 to `node` with the real `logger`;
/// `extra` goes before the message (e.g. `--id=4242`).
pub fn sshd_udp(node: &Node, extra: &[&str], message: &str) {
    logger_udp(node, "sshd", extra, "auth.info", message);
}

/// [`sshd_udp`] with nothing extra.
pub fn sshd(node: &Node, message: &str) {
    sshd_udp(node, &[], message);
}
