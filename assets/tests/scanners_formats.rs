//! The scanner and baseline formats from fixtures written to their documented formats
//! (`testdata/assets/scans/`): detection from the content, what each parser reads, and the
//! refusal of a broken file naming its element, row or line. Random bytes never panic.

#![allow(clippy::unwrap_used)] // tests fail loudly on unexpected input

use std::path::PathBuf;

use onewall_assets::error::{AssetError, Place};
use onewall_assets::import::{self, Context, Format, Parsed};
use onewall_assets::scan::{FindingKind, Scan, Scanner};
use onewall_model::{RegionCode, RegionTree, Severity, Timestamp};
use proptest::prelude::*;

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata/assets/scans")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn tree() -> &'static RegionTree {
    static TREE: std::sync::OnceLock<RegionTree> = std::sync::OnceLock::new();
    TREE.get_or_init(RegionTree::builtin)
}

fn ctx() -> Context<'static> {
    Context {
        tree: tree(),
        now: Timestamp::parse_rfc3339("2026-12-10T00:00:00Z").unwrap(),
        default_region: RegionCode::new(410_000).unwrap(),
    }
}

/// Detect and parse a fixture that must be a scan of `format`.
fn scan(name: &str, format: Format) -> Scan {
    let bytes = fixture(name);
    let (got, parsed) =
        import::read(Some(name), &bytes, &ctx()).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(got, format, "{name}");
    match parsed {
        Parsed::Scan(s) => s,
        Parsed::Registry(_) => panic!("{name} read as a registry"),
    }
}

/// The refusal of a file that must be refused whole.
fn refusal(name: &str, format: Format) -> (Place, String) {
    let bytes = fixture(name);
    assert_eq!(
        import::detect(Some(name), &bytes).unwrap(),
        format,
        "{name}"
    );
    match import::parse(format, &bytes, &ctx()) {
        Err(AssetError::Refused { refusal, .. }) => (refusal.place, refusal.reason),
        Err(e) => panic!("{name}: refused, but not as a file: {e}"),
        Ok(_) => panic!("{name} was read, not refused"),
    }
}

fn time(s: &str) -> Timestamp {
    Timestamp::parse_rfc3339(s).unwrap()
}

#[test]
fn nmap_hosts_up_with_open_ports_and_versions() {
    let s = scan("nmap-sv.xml", Format::Nmap);
    assert_eq!(s.scanner, Scanner::Nmap);
    assert_eq!(s.at, Timestamp::from_secs(1_796_090_400));
    assert!(s.findings.is_empty());
    let keys: Vec<String> = s.hosts.iter().filter_map(|h| h.key()).collect();
    // The down host and the hosthint are not hosts; the IPv6 one is.
    assert_eq!(keys, ["10.20.1.15", "10.20.1.16", "2001:db8::15"]);
    let web = &s.hosts[0];
    assert_eq!(
        web.names,
        ["web01.gov.example"],
        "names lower case, trailing dot dropped, once"
    );
    let ports = web.ports.as_ref().unwrap();
    let open: Vec<u16> = ports.iter().map(|p| p.port).collect();
    assert_eq!(open, [22, 443, 8080], "the filtered port is not open");
    assert_eq!(ports[0].name.as_deref(), Some("ssh"));
    assert_eq!(ports[0].product.as_deref(), Some("OpenSSH"));
    assert_eq!(
        ports[0].version.as_deref(),
        Some("9.2p1 Debian 2+deb12u3 (protocol 2.0)")
    );
    assert_eq!(
        ports[2].product.as_deref(),
        Some("Apache Tomcat (Log4j 2.14.1)")
    );
    assert_eq!(ports[2].version, None);
    // open|filtered UDP says nothing answered.
    let second: Vec<u16> = s.hosts[1]
        .ports
        .as_ref()
        .unwrap()
        .iter()
        .map(|p| p.port)
        .collect();
    assert_eq!(second, [443]);
}

#[test]
fn nmap_bad_port_is_refused_naming_the_element() {
    let (place, reason) = refusal("nmap-bad-port.xml", Format::Nmap);
    match place {
        Place::Element { path, line } => {
            // The first port of the second host (no later sibling seen yet: no index).
            assert_eq!(path, "nmaprun/host[2]/ports/port");
            assert_eq!(line, Some(35));
        }
        other => panic!("{other:?}"),
    }
    assert!(reason.contains("44x3"), "{reason}");
}

#[test]
fn greenbone_results_become_findings() {
    let s = scan("greenbone-report.xml", Format::Greenbone);
    assert_eq!(s.scanner, Scanner::Greenbone);
    assert_eq!(s.at, time("2026-12-01T02:00:05Z"));
    let keys: Vec<String> = s.hosts.iter().filter_map(|h| h.key()).collect();
    assert_eq!(
        keys,
        ["10.20.1.15", "10.20.1.16", "10.20.1.17"],
        "result hosts and the host list"
    );
    assert_eq!(s.hosts[0].names, ["web01.gov.example"]);
    assert_eq!(s.hosts[2].names, ["db01.gov.example"]);
    // The log result (OS detection) is not a finding.
    assert_eq!(s.findings.len(), 3);
    let log4shell = &s.findings[0];
    assert_eq!(log4shell.host, "10.20.1.15");
    assert_eq!(log4shell.kind, FindingKind::Vulnerability);
    assert_eq!(log4shell.key, "1.3.6.1.4.1.25623.1.0.117838");
    assert_eq!(
        (log4shell.port, log4shell.protocol.as_deref()),
        (Some(8080), Some("tcp"))
    );
    assert_eq!(log4shell.cves, ["CVE-2021-44228"]);
    assert_eq!(log4shell.cvss, Some(10.0));
    assert_eq!(log4shell.severity, Severity::Critical);
    assert_eq!(
        log4shell.cvss_vector.as_deref(),
        Some("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H")
    );
    assert_eq!(
        log4shell.solution.as_deref(),
        Some("Update to version 2.15.0 or later.")
    );
    assert!(
        log4shell
            .detail
            .contains("${jndi:ldap://10.20.9.9:1389/a} HTTP/1.1 & X-Api")
    );
    let weak = &s.findings[1];
    assert_eq!(
        weak.cves,
        ["CVE-2013-2566", "CVE-2015-2808", "CVE-2015-4000"]
    );
    assert_eq!(weak.severity, Severity::Medium);
    let ts = &s.findings[2];
    assert_eq!(
        (ts.port, ts.protocol.as_deref()),
        (None, Some("tcp")),
        "general/tcp"
    );
    assert_eq!(ts.severity, Severity::Low);
    assert_eq!(
        ts.solution.as_deref(),
        Some("Disable TCP timestamps."),
        "from the tags"
    );
}

#[test]
fn greenbone_rescan_no_longer_reports_log4shell() {
    let s = scan("greenbone-rescan.xml", Format::Greenbone);
    assert_eq!(s.at, time("2026-12-08T02:00:05Z"));
    assert!(
        s.hosts
            .iter()
            .any(|h| h.key().as_deref() == Some("10.20.1.15")),
        "still covered"
    );
    assert!(
        s.findings
            .iter()
            .all(|f| !f.cves.contains(&"CVE-2021-44228".to_string()))
    );
    assert_eq!(s.findings.len(), 2);
}

#[test]
fn greenbone_broken_and_truncated_are_refused_naming_the_element() {
    let (place, reason) = refusal("greenbone-broken.xml", Format::Greenbone);
    match place {
        Place::Element { path, .. } => {
            assert_eq!(path, "get_reports_response/report/report/results/result[2]")
        }
        other => panic!("{other:?}"),
    }
    assert!(reason.contains("10.20.1.316"), "{reason}");
    let (place, reason) = refusal("greenbone-truncated.xml", Format::Greenbone);
    match place {
        Place::Element { path, .. } => assert!(
            path.starts_with("get_reports_response/report/report/results/result[2]"),
            "{path}: {reason}"
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn findings_csv_scores_vectors_and_severities() {
    let s = scan("findings.csv", Format::FindingsCsv);
    assert_eq!(s.scanner, Scanner::Csv);
    assert_eq!(s.at, ctx().now, "the file does not say when");
    let keys: Vec<String> = s.hosts.iter().filter_map(|h| h.key()).collect();
    assert_eq!(
        keys,
        ["10.20.1.15", "10.20.1.16", "db01.gov.example", "10.20.1.17"]
    );
    let f = &s.findings;
    assert_eq!(f.len(), 5);
    assert_eq!(
        (f[0].key.as_str(), f[0].cvss, f[0].severity),
        ("CVE-2021-44228", Some(10.0), Severity::Critical)
    );
    // No score: the v3.1 vector's base score.
    assert_eq!(f[1].cvss, Some(9.0));
    assert_eq!(f[1].severity, Severity::Critical);
    assert_eq!(f[1].detail, "");
    // `443/tcp` in the port cell, two CVEs in one.
    assert_eq!(
        (f[2].port, f[2].protocol.as_deref()),
        (Some(443), Some("tcp"))
    );
    assert_eq!(f[2].cves, ["CVE-2016-2183", "CVE-2016-6329"]);
    assert_eq!(f[2].key, "CVE-2016-2183,CVE-2016-6329");
    assert_eq!(f[2].severity, Severity::High);
    // No CVE: keyed by title; the severity word when there is no score.
    assert_eq!(f[3].key, "MySQL weak password policy");
    assert_eq!(f[3].severity, Severity::Medium);
    assert_eq!(f[3].host, "db01.gov.example");
    // A v2 vector scores 10.0, but the severity cell says high.
    assert_eq!(f[4].cvss, Some(10.0));
    assert_eq!(f[4].severity, Severity::High);
    assert_eq!(f[4].port, None);
}

#[test]
fn findings_csv_in_gbk_with_chinese_headers() {
    let s = scan("findings-zh-gbk.csv", Format::FindingsCsv);
    assert_eq!(s.findings.len(), 3);
    assert_eq!(s.findings[0].title, "Apache Log4j2 远程代码执行漏洞");
    assert_eq!(s.findings[0].severity, Severity::Critical);
    assert_eq!(
        s.findings[0].solution.as_deref(),
        Some("升级 log4j-core 至 2.17.1 及以上")
    );
    assert_eq!(s.findings[1].title, "SSL/TLS 协议信息泄露漏洞（SWEET32）");
    assert_eq!(s.findings[2].host, "web02.gov.example");
    assert_eq!(s.findings[2].severity, Severity::Low);
}

#[test]
fn findings_csv_bad_row_refuses_the_file() {
    let (place, reason) = refusal("findings-bad.csv", Format::FindingsCsv);
    assert_eq!(
        place,
        Place::Row {
            row: 4,
            column: Some("cvss".to_string())
        }
    );
    assert!(reason.contains("11.2"), "{reason}");
    for (text, row, column, word) in [
        ("host,cve\n,CVE-2021-44228\n", 2, Some("host"), "no host"),
        (
            "host,cve\n10.0.0.1,CVE-2021-1234\n10.0.0.1,CVE-21-1\n",
            3,
            Some("cve"),
            "CVE-21-1",
        ),
        (
            "host,port,cve\n10.0.0.1,70000,CVE-2021-44228\n",
            2,
            Some("port"),
            "70000",
        ),
        (
            "ip,cvss_vector,title\n10.0.0.1,CVSS:3.1/AV:X,t\n",
            2,
            Some("cvss_vector"),
            "CVSS:3.1/AV:X",
        ),
        (
            "主机,漏洞编号,风险等级\n10.0.0.1,CVE-2021-44228,很高\n",
            2,
            Some("风险等级"),
            "很高",
        ),
        ("host,cvss\n10.0.0.1,5\n", 2, None, "neither"),
        (
            "host,cve\n10.0.0.1;x,CVE-2021-44228\n",
            2,
            Some("host"),
            "neither an address",
        ),
    ] {
        match import::parse(Format::FindingsCsv, text.as_bytes(), &ctx()) {
            Err(AssetError::Refused { refusal, .. }) => {
                assert_eq!(
                    refusal.place,
                    Place::Row {
                        row,
                        column: column.map(str::to_string)
                    },
                    "{text}"
                );
                assert!(refusal.reason.contains(word), "{text}: {}", refusal.reason);
            }
            other => panic!("{text}: {other:?}"),
        }
    }
}

#[test]
fn xccdf_results_failed_rules_are_baseline_findings() {
    let s = scan("xccdf-results.xml", Format::Xccdf);
    assert_eq!(s.scanner, Scanner::Openscap);
    assert_eq!(s.at, time("2026-12-01T03:10:04+08:00"));
    assert_eq!(s.hosts.len(), 1);
    let host = &s.hosts[0];
    assert_eq!(
        host.address,
        Some("10.20.1.15".parse().unwrap()),
        "loopback skipped"
    );
    assert_eq!(host.names, ["web01", "web01.gov.example"]);
    let rules: Vec<(&str, Severity, &str)> = s
        .findings
        .iter()
        .map(|f| (f.key.as_str(), f.severity, f.title.as_str()))
        .collect();
    assert_eq!(
        rules,
        [
            (
                "xccdf_org.ssgproject.content_rule_file_permissions_etc_passwd",
                Severity::Medium,
                "Verify Permissions on passwd File"
            ),
            (
                "xccdf_org.ssgproject.content_rule_accounts_no_uid_except_zero",
                Severity::High,
                "Verify Only Root Has UID 0"
            ),
            (
                "xccdf_org.ssgproject.content_rule_sshd_set_idle_timeout",
                Severity::Low,
                "xccdf_org.ssgproject.content_rule_sshd_set_idle_timeout"
            ),
        ]
    );
    assert!(
        s.findings
            .iter()
            .all(|f| f.kind == FindingKind::Baseline && f.host == "10.20.1.15")
    );
    assert_eq!(s.findings[0].detail, "CCE-82895-9");
}

#[test]
fn xccdf_arf_reads_the_test_result_and_the_data_stream_titles() {
    let s = scan("xccdf-arf.xml", Format::Xccdf);
    assert_eq!(s.at, time("2026-12-02T01:00:03Z"));
    assert_eq!(s.hosts[0].key().as_deref(), Some("10.20.1.16"));
    assert_eq!(s.findings.len(), 1);
    assert_eq!(
        s.findings[0].key,
        "xccdf_org.ssgproject.content_rule_file_permissions_etc_group"
    );
    assert_eq!(s.findings[0].title, "Verify Permissions on group File");
}

#[test]
fn xccdf_unknown_result_word_is_refused() {
    let (place, reason) = refusal("xccdf-bad-result.xml", Format::Xccdf);
    match place {
        Place::Element { path, .. } => assert_eq!(path, "Benchmark/TestResult/rule-result[2]"),
        other => panic!("{other:?}"),
    }
    assert!(reason.contains("passed"), "{reason}");
}

#[test]
fn lynis_tests_are_findings_keyed_by_test_id() {
    let s = scan("lynis-report.dat", Format::Lynis);
    assert_eq!(s.scanner, Scanner::Lynis);
    assert_eq!(s.at, time("2026-12-01T03:01:40Z"));
    assert_eq!(s.hosts[0].key().as_deref(), Some("web01"));
    assert_eq!(s.hosts[0].names, ["web01", "web01.gov.example"]);
    let keys: Vec<(&str, Severity)> = s
        .findings
        .iter()
        .map(|f| (f.key.as_str(), f.severity))
        .collect();
    assert_eq!(
        keys,
        [
            ("DEB-0280", Severity::Low),
            ("AUTH-9286", Severity::Low),
            ("FILE-6310", Severity::Low),
            ("PKGS-7392", Severity::Medium),
            ("SSH-7408", Severity::Low),
            ("LOGG-2138", Severity::Medium),
        ]
    );
    let pkgs = &s.findings[3];
    assert_eq!(
        pkgs.title, "Found one or more vulnerable packages.",
        "the warning leads"
    );
    assert!(
        pkgs.detail.contains("suggestion: Update your system"),
        "{}",
        pkgs.detail
    );
    let auth = &s.findings[1];
    assert_eq!(auth.detail.lines().count(), 2, "both messages of AUTH-9286");
    assert!(
        s.findings[4]
            .detail
            .contains("(AllowTcpForwarding (set YES to NO))")
    );
}

#[test]
fn lynis_broken_line_is_refused() {
    let (place, reason) = refusal("lynis-broken.dat", Format::Lynis);
    assert_eq!(place, Place::Line { line: 6 });
    assert!(reason.contains("not key=value"), "{reason}");
}

#[test]
fn unknown_content_names_the_formats_read() {
    for bytes in [
        &b"hello world"[..],
        b"<html><body/></html>",
        b"PK\x03\x04junk",
        b"",
    ] {
        match import::detect(None, bytes) {
            Err(AssetError::UnknownFormat(msg)) => {
                assert!(msg.contains("Nmap XML") && msg.contains("lynis"), "{msg}")
            }
            other => panic!("{bytes:?}: {other:?}"),
        }
    }
    // A results-less benchmark in another namespace is not XCCDF 1.2 results.
    assert!(import::detect(None, b"<Benchmark xmlns=\"urn:other\"/>").is_err());
    assert_eq!(
        import::detect(
            None,
            b"<TestResult xmlns=\"http://checklists.nist.gov/xccdf/1.2\"/>"
        )
        .unwrap(),
        Format::Xccdf
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// No parser panics on any bytes, and detection never does.
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = import::detect(None, &bytes);
        for format in [Format::Nmap, Format::Greenbone, Format::FindingsCsv, Format::Xccdf, Format::Lynis] {
            let _ = import::parse(format, &bytes, &ctx());
        }
    }

    /// Nor on a real report with bytes flipped or cut anywhere.
    #[test]
    fn damaged_reports_never_panic(
        which in 0usize..5,
        cut in any::<prop::sample::Index>(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8),
    ) {
        let (name, format) = [
            ("nmap-sv.xml", Format::Nmap),
            ("greenbone-report.xml", Format::Greenbone),
            ("findings.csv", Format::FindingsCsv),
            ("xccdf-results.xml", Format::Xccdf),
            ("lynis-report.dat", Format::Lynis),
        ][which];
        let mut bytes = fixture(name);
        for (at, b) in flips {
            let i = at.index(bytes.len());
            bytes[i] = b;
        }
        bytes.truncate(cut.index(bytes.len() + 1));
        let _ = import::detect(Some(name), &bytes);
        // What still reads is self-consistent: every finding is on a host the scan covers.
        if let Ok(Parsed::Scan(s)) = import::parse(format, &bytes, &ctx()) {
            let keys: Vec<String> = s.hosts.iter().filter_map(|h| h.key()).collect();
            for f in &s.findings {
                prop_assert!(keys.contains(&f.host), "{name}: {} not covered", f.host);
            }
        }
    }
}

#[test]
fn registry_tables_are_told_from_findings_tables() {
    for (name, format) in [
        ("registry_en.csv", Format::RegistryCsv),
        ("registry_zh_gbk.csv", Format::RegistryCsv),
        ("registry_zh.xlsx", Format::RegistryXlsx),
        ("registry_merged.xlsx", Format::RegistryXlsx),
    ] {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../testdata/assets/registry")
            .join(name);
        let bytes = std::fs::read(&path).unwrap();
        // The content decides, not the name.
        assert_eq!(import::detect(None, &bytes).unwrap(), format, "{name}");
    }
}

#[test]
fn greenbone_rescan_marks_the_missing_finding_fixed() {
    use onewall_assets::AssetBook;
    use onewall_assets::config::Deadlines;
    use onewall_assets::finding::FindingStatus;

    let mut book = AssetBook::default();
    let first = scan("greenbone-report.xml", Format::Greenbone);
    let now = ctx().now;
    let out = book.apply_scan(first, &Deadlines::default(), now);
    assert_eq!((out.new, out.fixed), (3, 0));
    let open_cves = |book: &AssetBook, host: &str| -> Vec<String> {
        book.findings_of(host)
            .filter(|f| f.status != FindingStatus::Fixed)
            .flat_map(|f| f.cves.clone())
            .collect()
    };
    assert_eq!(open_cves(&book, "10.20.1.15"), ["CVE-2021-44228"]);
    let out = book.apply_scan(
        scan("greenbone-rescan.xml", Format::Greenbone),
        &Deadlines::default(),
        now,
    );
    assert_eq!((out.new, out.again, out.fixed), (0, 2, 1));
    assert!(
        open_cves(&book, "10.20.1.15").is_empty(),
        "Log4Shell fixed on re-scan"
    );
    let fixed: Vec<_> = book
        .findings()
        .filter(|f| f.status == FindingStatus::Fixed)
        .collect();
    assert_eq!(fixed.len(), 1);
    assert_eq!(fixed[0].key, "1.3.6.1.4.1.25623.1.0.117838");
    // A broken file changes nothing: it never gets past parsing.
    assert!(import::read(None, &fixture("greenbone-broken.xml"), &ctx()).is_err());
}
