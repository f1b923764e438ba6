//! Real scanners from Debian packages, run against this machine: `nmap -sV` against services
//! the test starts on loopback, `lynis audit system`, and `oscap xccdf eval` with the SCAP
//! Security Guide's Debian content. Their output is read by the importers and must land as
//! ports with versions and as baseline findings. A missing scanner fails the test naming the
//! package to install.

use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use onewall_assets::AssetBook;
use onewall_assets::config::Deadlines;
use onewall_assets::finding::FindingStatus;
use onewall_assets::import::{self, Context, Format, Parsed};
use onewall_assets::scan::{FindingKind, Scan, Scanner};
use onewall_model::{RegionCode, RegionTree, Timestamp};

/// The SCAP Security Guide's Debian 11 data stream (`ssg-debian`).
const SSG_DS: &str = "/usr/share/xml/scap/ssg/content/ssg-debian11-ds.xml";
const PROFILE: &str = "xccdf_org.ssgproject.content_profile_anssi_np_nt28_minimal";
const RULE_PASSWD: &str = "xccdf_org.ssgproject.content_rule_file_permissions_etc_passwd";
const RULE_GROUP: &str = "xccdf_org.ssgproject.content_rule_file_permissions_etc_group";

fn ctx() -> Context<'static> {
    static TREE: OnceLock<RegionTree> = OnceLock::new();
    Context {
        tree: TREE.get_or_init(RegionTree::builtin),
        now: Timestamp::now(),
        default_region: RegionCode::new(410_000).unwrap(),
    }
}

/// The scanner's path, or a failure naming the Debian package that has it.
fn need(binary: &str, package: &str) -> PathBuf {
    for dir in ["/usr/bin", "/usr/sbin", "/bin", "/sbin", "/usr/local/bin"] {
        let path = Path::new(dir).join(binary);
        if path.exists() {
            return path;
        }
    }
    panic!("{binary} is not installed: apt-get install {package}");
}

fn read_scan(bytes: &[u8], want: Format) -> Scan {
    let (format, parsed) = import::read(None, bytes, &ctx()).expect("the scanner's output reads");
    assert_eq!(format, want);
    match parsed {
        Parsed::Scan(s) => s,
        Parsed::Registry(_) => panic!("read as a registry"),
    }
}

/// A loopback listener answering each connection with `reply` (after reading the request
/// line when `http`), on its own thread for the life of the test process.
fn serve(reply: &'static [u8], http: bool) -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(5)));
                if http {
                    let mut reader = BufReader::new(&stream);
                    let mut line = String::new();
                    while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                        line.clear();
                    }
                }
                let _ = stream.write_all(reply);
                let _ = stream.flush();
                if !http {
                    // An SSH server waits for the client's banner; keep the line open a little.
                    let mut buf = [0u8; 256];
                    let _ = std::io::Read::read(&mut stream, &mut buf);
                }
            });
        }
    });
    port
}

#[test]
fn nmap_service_scan_lands_ports_and_versions() {
    let nmap = need("nmap", "nmap");
    let ssh = serve(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n", false);
    let web = serve(
        b"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nContent-Type: text/html\r\nContent-Length: 13\r\nConnection: close\r\n\r\n<html></html>",
        true,
    );
    let closed = {
        // A port bound then released: closed when nmap looks.
        let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        l.local_addr().unwrap().port()
    };
    let out = Command::new(nmap)
        .args(["-sV", "-Pn", "-n", "--version-light", "-p"])
        .arg(format!("{ssh},{web},{closed}"))
        .args(["-oX", "-", "127.0.0.1"])
        .output()
        .expect("nmap runs");
    assert!(
        out.status.success(),
        "nmap: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = read_scan(&out.stdout, Format::Nmap);
    assert_eq!(s.scanner, Scanner::Nmap);
    assert!(
        (Timestamp::now().secs() - s.at.secs()).abs() < 600,
        "scan time from nmaprun start"
    );
    assert_eq!(s.hosts.len(), 1);
    let host = &s.hosts[0];
    assert_eq!(host.key().as_deref(), Some("127.0.0.1"));
    let ports = host.ports.as_ref().expect("nmap reports ports");
    let by_port = |p: u16| ports.iter().find(|s| s.port == p);
    assert!(by_port(closed).is_none(), "a closed port is not open");
    let ssh_service = by_port(ssh).unwrap_or_else(|| panic!("port {ssh} in {ports:?}"));
    assert_eq!(ssh_service.protocol, "tcp");
    assert_eq!(ssh_service.name.as_deref(), Some("ssh"), "{ssh_service:?}");
    assert_eq!(
        ssh_service.product.as_deref(),
        Some("OpenSSH"),
        "{ssh_service:?}"
    );
    assert!(
        ssh_service
            .version
            .as_deref()
            .is_some_and(|v| v.starts_with("9.2p1 Debian 2")),
        "{ssh_service:?}"
    );
    let web_service = by_port(web).unwrap_or_else(|| panic!("port {web} in {ports:?}"));
    assert_eq!(web_service.name.as_deref(), Some("http"), "{web_service:?}");
    assert_eq!(
        web_service.product.as_deref(),
        Some("nginx"),
        "{web_service:?}"
    );
    assert_eq!(
        web_service.version.as_deref(),
        Some("1.22.1"),
        "{web_service:?}"
    );
}

/// One lynis run for the whole file (it takes a minute or two).
fn lynis_report() -> &'static Vec<u8> {
    static REPORT: OnceLock<Vec<u8>> = OnceLock::new();
    REPORT.get_or_init(|| {
        let lynis = need("lynis", "lynis");
        let dir = tempfile::tempdir().unwrap();
        let report = dir.path().join("lynis-report.dat");
        let out = Command::new(lynis)
            .args(["audit", "system", "--quick", "--no-colors", "--report-file"])
            .arg(&report)
            .arg("--logfile")
            .arg(dir.path().join("lynis.log"))
            .output()
            .expect("lynis runs");
        assert!(
            out.status.success(),
            "lynis: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::read(&report).expect("lynis wrote its report")
    })
}

#[test]
fn lynis_audit_lands_baseline_findings() {
    let bytes = lynis_report();
    let s = read_scan(bytes, Format::Lynis);
    assert_eq!(s.scanner, Scanner::Lynis);
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert_eq!(s.hosts.len(), 1);
    assert_eq!(s.hosts[0].key(), Some(hostname.trim().to_lowercase()));
    assert!(!s.findings.is_empty(), "lynis always suggests something");
    let text = String::from_utf8_lossy(bytes);
    for f in &s.findings {
        assert_eq!(f.kind, FindingKind::Baseline);
        assert!(
            text.contains(&format!("[]={}|", f.key)),
            "{} is a test id of the report",
            f.key
        );
        assert!(!f.title.is_empty());
    }
    // Every warning and suggestion line is in some finding, one finding per test id.
    let lines = text
        .lines()
        .filter(|l| l.starts_with("warning[]=") || l.starts_with("suggestion[]="))
        .count();
    let messages: usize = s.findings.iter().map(|f| f.detail.lines().count()).sum();
    assert!(messages <= lines && messages >= s.findings.len());
    let mut keys: Vec<&str> = s.findings.iter().map(|f| f.key.as_str()).collect();
    keys.sort_unstable();
    keys.dedup();
    assert_eq!(keys.len(), s.findings.len());
}

/// `oscap xccdf eval` of two rules against a directory standing for a Debian 11 machine
/// (`OSCAP_PROBE_ROOT`): its `/etc/passwd` mode is `passwd_mode`. Returns the results file
/// and the ARF.
fn oscap(root: &Path, passwd_mode: u32) -> (Vec<u8>, Vec<u8>) {
    let oscap = need("oscap", "openscap-scanner");
    assert!(
        Path::new(SSG_DS).exists(),
        "{SSG_DS} is missing: apt-get install ssg-debian"
    );
    let etc = root.join("etc");
    std::fs::create_dir_all(&etc).unwrap();
    std::fs::write(etc.join("debian_version"), "11.6\n").unwrap();
    std::fs::write(etc.join("hostname"), "web01\n").unwrap();
    std::fs::write(etc.join("passwd"), "root:x:0:0:root:/root:/bin/bash\n").unwrap();
    std::fs::write(etc.join("group"), "root:x:0:\n").unwrap();
    std::fs::set_permissions(
        etc.join("passwd"),
        std::fs::Permissions::from_mode(passwd_mode),
    )
    .unwrap();
    std::fs::set_permissions(etc.join("group"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let out_dir = tempfile::tempdir().unwrap();
    let results = out_dir.path().join("results.xml");
    let arf = out_dir.path().join("arf.xml");
    let out = Command::new(oscap)
        .env("OSCAP_PROBE_ROOT", root)
        .args([
            "xccdf",
            "eval",
            "--profile",
            PROFILE,
            "--rule",
            RULE_PASSWD,
            "--rule",
            RULE_GROUP,
        ])
        .arg("--results")
        .arg(&results)
        .arg("--results-arf")
        .arg(&arf)
        .arg(SSG_DS)
        .output()
        .expect("oscap runs");
    // 0: every rule passed; 2: some failed. Anything else is trouble.
    assert!(
        matches!(out.status.code(), Some(0 | 2)),
        "oscap: {:?} {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    (std::fs::read(results).unwrap(), std::fs::read(arf).unwrap())
}

#[test]
fn oscap_failed_rule_lands_and_goes_when_fixed() {
    let root = tempfile::tempdir().unwrap();
    let (results, arf) = oscap(root.path(), 0o666);
    for (what, bytes) in [("results", &results), ("arf", &arf)] {
        let s = read_scan(bytes, Format::Xccdf);
        assert_eq!(s.scanner, Scanner::Openscap, "{what}");
        assert_eq!(s.hosts.len(), 1, "{what}");
        assert_eq!(
            s.hosts[0].key().as_deref(),
            Some("web01"),
            "{what}: the target"
        );
        let keys: Vec<&str> = s.findings.iter().map(|f| f.key.as_str()).collect();
        assert_eq!(keys, [RULE_PASSWD], "{what}: only the failed rule");
        let f = &s.findings[0];
        assert_eq!(f.kind, FindingKind::Baseline);
        assert_eq!(
            f.title, "Verify Permissions on passwd File",
            "{what}: the benchmark's title"
        );
        assert_eq!(f.severity, onewall_model::Severity::Medium);
        assert!(
            (Timestamp::now().secs() - s.at.secs()).abs() < 600,
            "{what}: end-time"
        );
    }
    let mut book = AssetBook::default();
    let out = book.apply_scan(
        read_scan(&arf, Format::Xccdf),
        &Deadlines::default(),
        Timestamp::now(),
    );
    assert_eq!(out.new, 1);
    // Fixed on the machine: the re-scan covers the host and finds nothing, and the finding
    // is marked fixed.
    let (results, arf) = oscap(root.path(), 0o644);
    for bytes in [&results, &arf] {
        let s = read_scan(bytes, Format::Xccdf);
        assert_eq!(s.hosts[0].key().as_deref(), Some("web01"));
        assert!(s.findings.is_empty(), "{:?}", s.findings);
    }
    let out = book.apply_scan(
        read_scan(&results, Format::Xccdf),
        &Deadlines::default(),
        Timestamp::now(),
    );
    assert_eq!(out.fixed, 1);
    let finding = book
        .findings_of("web01")
        .next()
        .expect("the finding is kept");
    assert_eq!(finding.key, RULE_PASSWD);
    assert_eq!(finding.status, FindingStatus::Fixed);
}
