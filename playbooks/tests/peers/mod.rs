//! Real peers for the playbook tests: an SMTP server (aiosmtpd) and a webhook receiver, both
//! Python scripts under `scripts/`, started on free 127.0.0.1 ports and stopped by pid.

#![allow(dead_code, clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The repository root.
pub fn root() -> PathBuf {
    // This module is shared by the crate's tests and the root end-to-end tests.
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    if manifest.join("scripts/smtp_server.py").is_file() {
        manifest.to_owned()
    } else {
        manifest.join("..")
    }
}

/// A free port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child process stopped by pid (SIGTERM, then SIGKILL) when dropped.
pub struct Peer {
    child: Option<Child>,
    pub port: u16,
    pub dir: PathBuf,
}

impl Peer {
    fn start(mut cmd: Command, port: u16, dir: PathBuf) -> Peer {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {cmd:?}: {e}"));
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        assert!(line.starts_with("ready"), "peer did not start: {line:?}");
        Peer {
            child: Some(child),
            port,
            dir,
        }
    }

    /// Stop it (SIGTERM by pid) and wait.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").arg(child.id().to_string()).status();
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Files of `ext` it wrote, in order.
    pub fn files(&self, ext: &str) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        v.retain(|p| p.extension().and_then(|e| e.to_str()) == Some(ext));
        v.sort();
        v
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// TLS material for the SMTP server: a CA and a leaf for 127.0.0.1 / localhost it signed.
pub struct Certs {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

pub fn make_certs(dir: &Path) -> Certs {
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl must be installed (scripts/test installs it)");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut a = vec!["req", "-x509"];
    a.extend(ec);
    a.extend([
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=onewall test ca",
    ]);
    run(&a);
    let mut a = vec!["req"];
    a.extend(ec);
    a.extend([
        "-keyout",
        "key.pem",
        "-out",
        "leaf.csr",
        "-subj",
        "/CN=localhost",
    ]);
    run(&a);
    std::fs::write(
        dir.join("leaf.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "cert.pem",
        "-days",
        "2",
        "-extfile",
        "leaf.ext",
    ]);
    Certs {
        ca: dir.join("ca.pem"),
        cert: dir.join("cert.pem"),
        key: dir.join("key.pem"),
    }
}

pub const SMTP_USER: &str = "onewall";
pub const SMTP_PASSWORD: &str = "s3cret-口令";

/// Start the SMTP server on `port`, writing mail to `dir`.
pub fn smtp(port: u16, dir: &Path, certs: &Certs) -> Peer {
    let mut cmd = Command::new("python3");
    cmd.arg(root().join("scripts/smtp_server.py"))
        .args(["--port", &port.to_string(), "--dir"])
        .arg(dir)
        .arg("--cert")
        .arg(&certs.cert)
        .arg("--key")
        .arg(&certs.key)
        .args(["--user", SMTP_USER, "--password", SMTP_PASSWORD]);
    Peer::start(cmd, port, dir.to_owned())
}

pub const WEBHOOK_SECRET: &str = "SECtest-密钥";
pub const WECOM_KEY: &str = "693a91f6-7xxx";

/// Start the webhook receiver on a free port, recording to `dir`.
pub fn webhooks(dir: &Path) -> Peer {
    let port = free_port();
    let mut cmd = Command::new("python3");
    cmd.arg(root().join("scripts/webhook_receiver.py"))
        .args(["--port", &port.to_string(), "--dir"])
        .arg(dir)
        .args(["--secret", WEBHOOK_SECRET, "--wecom-key", WECOM_KEY]);
    Peer::start(cmd, port, dir.to_owned())
}

/// A received mail, parsed by Python's `email` package: subject decoded, from, to, body.
#[derive(Debug, serde::Deserialize)]
pub struct Mail {
    pub subject: String,
    pub from: String,
    pub to: String,
    pub body: String,
    pub content_type: String,
}

pub fn read_mail(path: &Path) -> Mail {
    let script = r#"
import email, json, sys
from email import policy
m = email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=policy.default)
print(json.dumps({'subject': str(m['subject']), 'from': str(m['from']), 'to': str(m['to']),
                  'body': m.get_content(), 'content_type': m.get_content_type()}))
"#;
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Wait until `f` holds, up to `secs`.
pub fn wait_for(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    f()
}
