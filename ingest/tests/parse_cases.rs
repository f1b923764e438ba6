//! Table-driven parser tests: every line of `testdata/logs/<format>/*.log` against the expected
//! event beside it (`*.expected.ndjson`). See `testdata/logs/README.md`.
//! `ONEWALL_BLESS=1` rewrites the expected files from what the parser does now.

use std::path::{Path, PathBuf};

use onewall_ingest::{ParseContext, parse_syslog};
use onewall_model::{RegionCode, Source, Timestamp};
use serde_json::{Value, json};

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/logs")
}

fn ctx() -> ParseContext {
    let received = Timestamp::parse_rfc3339("2026-03-15T04:00:00Z").expect("fixed time");
    let region: RegionCode = "410100".parse().expect("fixed region");
    ParseContext::new(received, region, Source::new("syslog_udp", None))
}

fn describe(line: &[u8], ctx: &ParseContext) -> Value {
    let e = parse_syslog(line, ctx);
    assert_eq!(&*e.raw, line, "raw bytes must be kept as received");
    assert_eq!(e.received, ctx.received);
    json!({
        "input": String::from_utf8_lossy(line),
        "format": e.format.as_str(),
        "time": e.time.to_rfc3339(),
        "parse_error": e.parse_error.as_deref(),
        "fields": e.fields.to_typed_json(),
    })
}

fn lines(data: &[u8]) -> Vec<&[u8]> {
    let mut v: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
    if v.last().is_some_and(|l| l.is_empty()) {
        v.pop();
    }
    v
}

fn check_folder(format: &str) {
    let dir = testdata().join(format);
    let bless = std::env::var_os("ONEWALL_BLESS").is_some();
    let mut logs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    logs.sort();
    assert!(!logs.is_empty(), "no .log files in {}", dir.display());
    let ctx = ctx();
    let mut failures = Vec::new();
    let mut count = 0;
    for log in logs {
        let data = std::fs::read(&log).unwrap_or_else(|e| panic!("{}: {e}", log.display()));
        let actual: Vec<Value> = lines(&data)
            .into_iter()
            .map(|l| describe(l, &ctx))
            .collect();
        let expected_path = log.with_extension("expected.ndjson");
        if bless {
            let text: String = actual.iter().map(|v| format!("{v}\n")).collect();
            std::fs::write(&expected_path, text).expect("write expected file");
            continue;
        }
        let expected_text = std::fs::read_to_string(&expected_path)
            .unwrap_or_else(|e| panic!("{}: {e}", expected_path.display()));
        let expected: Vec<Value> = expected_text
            .lines()
            .enumerate()
            .map(|(k, l)| {
                serde_json::from_str(l)
                    .unwrap_or_else(|e| panic!("{}:{}: {e}", expected_path.display(), k + 1))
            })
            .collect();
        assert_eq!(
            actual.len(),
            expected.len(),
            "{}: {} input lines but {} expected events",
            log.display(),
            actual.len(),
            expected.len()
        );
        for (k, (a, e)) in actual.iter().zip(&expected).enumerate() {
            count += 1;
            if a != e {
                failures.push(format!(
                    "{}:{}\n  expected {e}\n  actual   {a}",
                    log.display(),
                    k + 1
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {count} cases differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn rfc5424_cases() {
    check_folder("rfc5424");
}

#[test]
fn rfc3164_cases() {
    check_folder("rfc3164");
}

/// Vendor variants modelled on the corpus: Cisco ids the corpus lacks, Huawei and H3C headers
/// with a year, a relay's second header, a trailing NUL, LEEF 2.0 delimiters, useradd and
/// sudo, evtx_dump JSON, a pgAudit line with its log prefix, and a GBK-encoded Sangfor line.
#[test]
fn vendor_cases() {
    check_folder("vendors");
}
