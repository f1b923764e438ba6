//! Real TLS and syslog peers for tests: a throwaway CA made with the `openssl` command, an
//! `rsyslogd` run in the foreground with its own config, and `openssl s_client`.
//!
//! Shared by the ingest listener tests and the end-to-end tests (which include this file by
//! path).

#![allow(clippy::unwrap_used, dead_code)] // tests fail loudly on unexpected input

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A test CA with a server certificate (for `localhost` and 127.0.0.1) and a client
/// certificate, all PEM files in one directory.
#[derive(Debug)]
pub struct TestPki {
    pub dir: PathBuf,
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("openssl (Debian package openssl) is installed");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

const EC: [&str; 4] = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];

impl TestPki {
    /// Make a CA named `ca_name`, and a server and a client certificate it signed, in `dir`.
    pub fn create(dir: &Path, ca_name: &str) -> TestPki {
        std::fs::create_dir_all(dir).unwrap();
        let subj = format!("/CN={ca_name}");
        let mut args = vec!["req", "-x509", "-nodes", "-days", "2", "-subj", &subj];
        args.extend(EC);
        args.extend([
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        openssl(dir, &args);
        let pki = TestPki {
            dir: dir.to_owned(),
        };
        pki.issue(
            "server",
            "localhost",
            "extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n",
        );
        pki.issue(
            "client",
            "client.test",
            "extendedKeyUsage=clientAuth\nsubjectAltName=DNS:client.test\n",
        );
        pki
    }

    /// `NAME.key` and `NAME.pem`, signed by the CA.
    pub fn issue(&self, name: &str, cn: &str, ext: &str) {
        let ext_file = format!("{name}.ext");
        std::fs::write(
            self.dir.join(&ext_file),
            format!("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n{ext}"),
        )
        .unwrap();
        let subj = format!("/CN={cn}");
        let (key, csr, pem) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.pem"),
        );
        let mut args = vec!["req", "-new", "-nodes", "-subj", &subj];
        args.extend(EC);
        args.extend(["-keyout", &key, "-out", &csr]);
        openssl(&self.dir, &args);
        openssl(
            &self.dir,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                &ext_file,
                "-out",
                &pem,
            ],
        );
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }
}

/// Bind and release a local TCP port, for a peer that must be told its port up front.
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// `rsyslogd` from the PATH, else where Debian puts it (`/usr/sbin` is not on every PATH).
fn rsyslogd_program() -> PathBuf {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("rsyslogd"))
            .find(|p| p.is_file())
    });
    on_path.unwrap_or_else(|| PathBuf::from("/usr/sbin/rsyslogd"))
}

/// An `rsyslogd -n -f CONF -i PIDFILE` of the test's own; stopped by its pid when dropped.
#[derive(Debug)]
pub struct Rsyslogd {
    child: Child,
    /// The plain TCP port its `imtcp` input listens on (LF-framed lines in).
    pub input_port: u16,
    pub dir: PathBuf,
}

impl Rsyslogd {
    /// Start rsyslogd in `dir` with an `imtcp` input on a free port, forwarding every message
    /// with `forward` (the body of an `action(type="omfwd" ...)`). `globals` goes inside
    /// `global(...)` (TLS certificate paths, for one).
    pub fn start(dir: &Path, globals: &str, forward: &str) -> Rsyslogd {
        let work = dir.join("work");
        std::fs::create_dir_all(&work).unwrap();
        let input_port = free_port();
        let conf = format!(
            r#"global(workDirectory="{work}" {globals})
module(load="imtcp")
input(type="imtcp" address="127.0.0.1" port="{input_port}" ruleset="forward")
ruleset(name="forward") {{
  action(type="omfwd" target="127.0.0.1" protocol="tcp" TCP_Framing="octet-counted"
         action.resumeRetryCount="-1" action.resumeInterval="1" {forward})
}}
"#,
            work = work.display()
        );
        let conf_path = dir.join("rsyslog.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let child = Command::new(rsyslogd_program())
            .arg("-n")
            .arg("-f")
            .arg(&conf_path)
            .arg("-i")
            .arg(dir.join("rsyslogd.pid"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("rsyslogd (Debian package rsyslog) is installed");
        let mut r = Rsyslogd {
            child,
            input_port,
            dir: dir.to_owned(),
        };
        r.wait_for_input();
        r
    }

    fn wait_for_input(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if std::net::TcpStream::connect(("127.0.0.1", self.input_port)).is_ok() {
                return;
            }
            if let Some(st) = self.child.try_wait().unwrap() {
                let mut err = String::new();
                if let Some(mut e) = self.child.stderr.take() {
                    let _ = e.read_to_string(&mut err);
                }
                panic!("rsyslogd exited with {st}: {err}");
            }
            assert!(
                Instant::now() < deadline,
                "rsyslogd did not open its input port"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Write LF-terminated lines to rsyslog's input.
    pub fn send_lines(&self, lines: &[String]) {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.input_port)).unwrap();
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        s.write_all(text.as_bytes()).unwrap();
    }

    /// Stop with SIGTERM by pid and wait for it.
    pub fn stop(mut self) {
        self.terminate();
    }

    fn terminate(&mut self) {
        if self.child.try_wait().ok().flatten().is_some() {
            return;
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.child.try_wait().ok().flatten().is_none() {
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Rsyslogd {
    fn drop(&mut self) {
        self.terminate();
    }
}

/// What `openssl s_client` made of a connection.
#[derive(Debug)]
pub struct SClient {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

/// Connect with `openssl s_client` to `addr`, verifying the server against `ca`, with
/// `extra` arguments (a client certificate, `-tls1_2`), write `payload`, and wait for it to
/// finish.
pub fn s_client(addr: &str, ca: &Path, extra: &[&str], payload: &[u8]) -> SClient {
    let mut child = Command::new("openssl")
        .args(["s_client", "-connect", addr, "-servername", "localhost"])
        .arg("-CAfile")
        .arg(ca)
        .args(["-verify_return_error", "-quiet", "-no_ign_eof"])
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("openssl (Debian package openssl) is installed");
    let mut stdin = child.stdin.take().unwrap();
    // A refused peer may close before all is written; the exit status tells.
    let _ = stdin.write_all(payload);
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    SClient {
        success: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `frames` octet-counted, back to back, as RFC 5425 sends them.
pub fn octet_counted(frames: &[String]) -> Vec<u8> {
    let mut out = Vec::new();
    for f in frames {
        out.extend_from_slice(format!("{} {f}", f.len()).as_bytes());
    }
    out
}
