//! Acceptance: every line of every file in the shared corpus (`formats/`, skipping `# ` header
//! lines, and the loghub Linux and OpenSSH samples) is recognised as its format, and what the
//! parser makes of it equals `testdata/logs/<format>/<file>.expected.ndjson`.
//! `ONEWALL_BLESS=1` rewrites the expected files; review the diff line by line.

use std::path::{Path, PathBuf};

use onewall_ingest::{ParseContext, parse_syslog};
use onewall_model::{Event, RegionCode, Source, Timestamp, Value};
use serde_json::json;

fn corpus(rel: &str) -> Vec<u8> {
    let path = format!("{}/../../shared/corpus/{rel}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn expected_dir(format: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata/logs")
        .join(format)
}

fn ctx() -> ParseContext {
    let received = Timestamp::parse_rfc3339("2026-03-15T04:00:00Z").expect("fixed time");
    let region: RegionCode = "410100".parse().expect("fixed region");
    ParseContext::new(received, region, Source::new("syslog_udp", None))
}

/// Lines of a corpus file: split on LF, without `# ` headers and empty lines.
fn lines(data: &[u8]) -> Vec<&[u8]> {
    data.split(|&b| b == b'\n')
        .filter(|l| !l.is_empty() && !l.starts_with(b"# "))
        .collect()
}

fn log_format(e: &Event) -> Option<&str> {
    e.get("log.format").and_then(Value::as_str)
}

/// The event as the expected files hold it; the input line stays in the corpus (the line
/// number in the test's messages finds it).
fn describe(e: &Event) -> serde_json::Value {
    json!({
        "format": e.format.as_str(),
        "time": e.time.to_rfc3339(),
        "parse_error": e.parse_error.as_deref(),
        "fields": e.fields.to_typed_json(),
    })
}

/// Parses every line of `rel`, checks each is recognised by `accept`, and compares the events
/// with the expected file. Returns the number of lines.
fn check(rel: &str, format: &str, accept: &dyn Fn(&Event) -> bool) -> usize {
    let data = corpus(rel);
    let ctx = ctx();
    let mut actual = Vec::new();
    let mut unrecognised = Vec::new();
    for (k, line) in lines(&data).into_iter().enumerate() {
        let e = parse_syslog(line, &ctx);
        assert_eq!(&*e.raw, line, "{rel}: raw bytes kept");
        if !accept(&e) {
            unrecognised.push(format!(
                "{rel} line {}: format {} log.format {:?} error {:?}: {}",
                k + 1,
                e.format,
                log_format(&e),
                e.parse_error,
                String::from_utf8_lossy(line)
            ));
        }
        actual.push(describe(&e));
    }
    assert!(
        unrecognised.is_empty(),
        "{} lines not recognised:\n{}",
        unrecognised.len(),
        unrecognised.join("\n")
    );
    let name = rel.rsplit('/').next().unwrap_or(rel);
    let expected_path = expected_dir(format).join(format!("{name}.expected.ndjson"));
    if std::env::var_os("ONEWALL_BLESS").is_some() {
        std::fs::create_dir_all(expected_dir(format)).expect("create the expected folder");
        let text: String = actual.iter().map(|v| format!("{v}\n")).collect();
        std::fs::write(&expected_path, text).expect("write expected file");
        return actual.len();
    }
    let text = std::fs::read_to_string(&expected_path)
        .unwrap_or_else(|e| panic!("{}: {e}", expected_path.display()));
    let expected: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("expected line is JSON"))
        .collect();
    assert_eq!(actual.len(), expected.len(), "{rel}: line count");
    let diffs: Vec<String> = actual
        .iter()
        .zip(&expected)
        .enumerate()
        .filter(|(_, (a, e))| a != e)
        .map(|(k, (a, e))| format!("{rel} line {}\n  expected {e}\n  actual   {a}", k + 1))
        .collect();
    assert!(
        diffs.is_empty(),
        "{} lines differ:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
    actual.len()
}

fn is(format: &'static str) -> impl Fn(&Event) -> bool {
    move |e| log_format(e) == Some(format) && e.parse_error.is_none()
}

fn has(e: &Event, name: &str) -> bool {
    e.get(name).is_some()
}

#[test]
fn cef() {
    assert_eq!(check("formats/cef.log", "cef", &is("cef")), 25);
}

#[test]
fn leef() {
    assert_eq!(check("formats/leef.log", "leef", &is("leef")), 20);
}

#[test]
fn fortigate() {
    // 22 key=value lines and 3 in FortiGate's CEF mode.
    let ok = |e: &Event| {
        (is("fortigate")(e) && has(e, "logid")) || (is("cef")(e) && has(e, "observer.vendor"))
    };
    assert_eq!(check("formats/fortigate-kv.log", "fortigate", &ok), 25);
}

#[test]
fn cisco_asa() {
    let ok = |e: &Event| is("cisco_asa")(e) && has(e, "cisco.message_id");
    assert_eq!(check("formats/cisco-asa.log", "cisco_asa", &ok), 26);
}

#[test]
fn huawei_usg() {
    assert_eq!(
        check("formats/huawei-usg.log", "huawei_usg", &is("huawei_usg")),
        7
    );
}

#[test]
fn h3c() {
    assert_eq!(check("formats/h3c.log", "h3c", &is("h3c")), 9);
}

#[test]
fn hillstone() {
    assert_eq!(
        check("formats/hillstone.log", "hillstone", &is("hillstone")),
        10
    );
}

#[test]
fn sangfor() {
    assert_eq!(check("formats/sangfor.log", "sangfor", &is("sangfor")), 16);
}

#[test]
fn venustech_leadsec_topsec() {
    let ok = |e: &Event| ["venustech", "leadsec", "topsec"].iter().any(|f| is(f)(e));
    assert_eq!(
        check("formats/venustech-leadsec-topsec.log", "venustech", &ok),
        10
    );
}

#[test]
fn paloalto() {
    let ok = |e: &Event| is("paloalto")(e) && has(e, "panos.type");
    assert_eq!(check("formats/paloalto-csv.log", "paloalto", &ok), 25);
}

#[test]
fn nginx_apache() {
    let ok = |e: &Event| is("http_access")(e) || is("http_error")(e);
    assert_eq!(
        check("formats/nginx-apache-access.log", "http_access", &ok),
        29
    );
}

#[test]
fn pgaudit() {
    let ok = |e: &Event| is("pgaudit")(e) && has(e, "event.action");
    assert_eq!(check("formats/pgaudit.log", "pgaudit", &ok), 22);
}

#[test]
fn mysql_audit() {
    let ok = |e: &Event| is("mysql_audit")(e) && has(e, "event.action");
    assert_eq!(
        check("formats/mysql-enterprise-audit.ndjson", "mysql_audit", &ok),
        7
    );
}

#[test]
fn windows_nxlog() {
    let ok = |e: &Event| is("windows")(e) && has(e, "event.code");
    assert_eq!(check("formats/windows-nxlog.ndjson", "windows", &ok), 15);
}

#[test]
fn windows_winlogbeat() {
    let ok = |e: &Event| is("windows")(e) && has(e, "event.code");
    assert_eq!(
        check("formats/windows-winlogbeat.ndjson", "windows", &ok),
        12
    );
}

#[test]
fn openssh() {
    let ok = |e: &Event| is("linux_auth")(e) && has(e, "event.action");
    assert_eq!(check("loghub/OpenSSH_2k.log", "linux_auth", &ok), 2000);
}

#[test]
fn linux() {
    // Every line parses as RFC 3164; lines of authentication programs are also `linux_auth`.
    let ok = |e: &Event| {
        let auth_program = e
            .get("process.name")
            .and_then(Value::as_str)
            .is_some_and(|p| {
                ["sshd", "su", "ftpd", "login", "gdm", "klogind"]
                    .iter()
                    .any(|a| p.starts_with(a))
            });
        e.parse_error.is_none() && (!auth_program || is("linux_auth")(e))
    };
    assert_eq!(check("loghub/Linux_2k.log", "linux_auth", &ok), 2000);
}

#[test]
fn gbk_sangfor_decodes_like_its_utf8_twin() {
    let utf8 = corpus("formats/sangfor.log");
    let gbk = corpus("formats/sangfor-gbk-reencoded-synthetic.log");
    let (utf8, gbk) = (lines(&utf8), lines(&gbk));
    assert_eq!(utf8.len(), gbk.len());
    let ctx = ctx();
    for (k, (u, g)) in utf8.iter().zip(&gbk).enumerate() {
        assert_ne!(u, g, "line {} should differ in bytes", k + 1);
        let (eu, eg) = (parse_syslog(u, &ctx), parse_syslog(g, &ctx));
        assert_eq!(eu.fields, eg.fields, "line {}", k + 1);
        assert_eq!(eu.time, eg.time, "line {}", k + 1);
        assert_eq!(&*eg.raw, *g, "raw GBK bytes kept");
        let msg = eg.get("message").and_then(Value::as_str).unwrap_or("");
        assert!(!msg.contains('\u{fffd}'), "line {}: {msg}", k + 1);
    }
}
