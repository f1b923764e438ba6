//! Every line of the loghub Linux and OpenSSH samples (sysklogd files: `Mmm dd hh:mm:ss host
//! tag[pid]: msg`, no `<PRI>`, CRLF line ends) parses as RFC 3164 with a host and a process.

use onewall_ingest::{ParseContext, parse_syslog};
use onewall_model::event::names;
use onewall_model::{Format, RegionCode, Source, Timestamp, Value};

fn corpus(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../../shared/corpus/loghub/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn ctx() -> ParseContext {
    let received = Timestamp::parse_rfc3339("2026-03-15T04:00:00Z").expect("fixed time");
    ParseContext::new(received, RegionCode::HENAN, Source::new("syslog_udp", None))
}

fn text(v: Option<&Value>) -> Option<&str> {
    v.and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// Parses every line and returns how many there were and the process names seen.
fn check(name: &str, host: &str) -> (usize, Vec<String>) {
    let data = corpus(name);
    let ctx = ctx();
    let mut count = 0;
    let mut processes = Vec::new();
    for (k, line) in data.split(|&b| b == b'\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        count += 1;
        let e = parse_syslog(line, &ctx);
        let at = format!("{name}:{}: {}", k + 1, String::from_utf8_lossy(line));
        assert_eq!(e.format, Format::Rfc3164, "{at}");
        assert_eq!(e.parse_error, None, "{at}");
        assert_eq!(text(e.get(names::HOST_NAME)), Some(host), "{at}");
        let process =
            text(e.get(names::PROCESS_NAME)).unwrap_or_else(|| panic!("no process.name: {at}"));
        assert_eq!(&*e.raw, line, "{at}");
        let msg = e.get(names::MESSAGE).and_then(Value::as_str);
        assert!(msg.is_some_and(|m| !m.ends_with('\r')), "{at}");
        // No PRI in these files, so no priority fields.
        assert_eq!(e.get(names::SYSLOG_PRIORITY), None, "{at}");
        // The record's own day, not the receive time.
        assert_ne!(e.time, e.received, "{at}");
        if !processes.iter().any(|p| p == process) {
            processes.push(process.to_owned());
        }
    }
    (count, processes)
}

#[test]
fn linux_sample_parses_as_rfc3164() {
    let (count, processes) = check("Linux_2k.log", "combo");
    assert_eq!(count, 2000);
    for p in [
        "sshd(pam_unix)",
        "su(pam_unix)",
        "ftpd",
        "kernel",
        "logrotate",
        "syslogd",
    ] {
        assert!(
            processes.iter().any(|x| x == p),
            "{p} missing from {processes:?}"
        );
    }
}

#[test]
fn openssh_sample_parses_as_rfc3164() {
    let (count, processes) = check("OpenSSH_2k.log", "LabSZ");
    assert_eq!(count, 2000);
    assert_eq!(processes, ["sshd"]);
}

#[test]
fn openssh_fields_of_one_line() {
    let data = corpus("OpenSSH_2k.log");
    let first = data.split(|&b| b == b'\n').next().expect("a first line");
    let e = parse_syslog(first, &ctx());
    assert_eq!(e.get(names::PROCESS_PID), Some(&Value::Int(24200)));
    assert_eq!(
        e.time,
        Timestamp::parse_rfc3339("2025-12-10T06:55:46+08:00").expect("time"),
        "December, received in March: last year"
    );
    let msg = text(e.get(names::MESSAGE)).expect("message");
    assert!(
        msg.starts_with("reverse mapping checking getaddrinfo"),
        "{msg}"
    );
    assert!(msg.ends_with("POSSIBLE BREAK-IN ATTEMPT!"), "{msg}");
}
