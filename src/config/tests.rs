//! The configuration file read whole: every section composed, every mistake reported.

use onewall_ingest::listen::SourceTags;
use onewall_ingest::parse::{BodyFormat, Charset};

use super::*;

#[test]
fn defaults_resolve() {
    let r = defaults().unwrap();
    assert_eq!(r.region.to_string(), "410000");
    assert_eq!(r.listen.http.port(), 8080);
    assert_eq!(r.listen.syslog_udp.map(|a| a.port()), Some(5514));
    assert_eq!(r.listen.syslog_tcp.map(|a| a.port()), Some(5514));
    assert_eq!(
        r.listen.syslog_source.timezone,
        time::UtcOffset::from_hms(8, 0, 0).unwrap()
    );
    assert_eq!(r.listen.syslog_tls, None);
    assert_eq!(r.listen.syslog_source.region, r.region);
    assert_eq!(r.listen.syslog_source.tags, SourceTags::default());
    assert_eq!(r.config.store.path, PathBuf::from("./onewall-data"));
}

#[test]
fn example_file_is_the_defaults() {
    let r = parse(include_str!("../../onewall.example.toml")).unwrap();
    let d = defaults().unwrap();
    assert_eq!(
        toml::to_string(&r.config).unwrap(),
        toml::to_string(&d.config).unwrap(),
        "onewall.example.toml must show the defaults"
    );
    // `[intel]` is not written back (its geo part is read-only): compared on its own.
    assert_eq!(r.config.intel, d.config.intel, "[intel] in the example");
}

#[test]
fn minimal_file_is_version_only() {
    let r = parse("version = 1\n").unwrap();
    assert!(r.config.rules.builtin);
}

#[test]
fn every_mistake_is_reported_at_once() {
    let text = r#"
version = 1
[node]
region = "999999"
[syslog]
udpp = "0.0.0.0:514"
timezone = "Asia/Shanghai"
max_connections = "many"
[http]
listen = "localhost"
[store]
retention_days = -1
[[regions]]
code = "410102"
parent = "410100"
name = "中原区"
[[regions]]
code = "410999"
parent = "419999"
name = "x"
[alerting]
x = 1
"#;
    let e = parse(text).unwrap_err().0;
    let want = [
        "syslog.udpp: unknown key; expected one of udp, tcp, timezone, max_frame_bytes, max_connections",
        "syslog.max_connections: invalid type: string \"many\", expected usize",
        "store.retention_days: invalid value: integer `-1`, expected u32",
        "alerting: unknown section",
        "regions[1]: region 410999: parent 419999 is not a known region",
        "node.region: 999999 is not a known region",
        "http.listen: \"localhost\" is not an address",
        "syslog.timezone: \"Asia/Shanghai\" is not a UTC offset",
    ];
    assert_mistakes(&e, &want);
}

#[test]
fn tls_and_tag_mistakes_name_their_keys() {
    let text = r#"
version = 1
[syslog]
charset = "latin-9"
format = "Not A Format"
region = "419999"
idle_timeout_secs = -5
[syslog.tls]
cert = "/nonexistent/server.pem"
client_auth = "sometimes"
port = 6514
[http]
timezone = "CST"
hec_tokens = ["good", "has space"]
"#;
    let e = parse(text).unwrap_err().0;
    let want = [
        "syslog.tls.port: unknown key; expected one of listen, cert, key, client_ca, client_auth",
        "syslog.idle_timeout_secs: invalid value",
        "syslog.tls.key: missing",
        "syslog.tls.client_auth: \"sometimes\" is not one of none, optional, required",
        "http.timezone: \"CST\" is not a UTC offset",
        "syslog.charset: unknown charset \"latin-9\"",
        "syslog.format: unknown format \"Not A Format\"",
        "syslog.region: 419999 is not a known region",
        "http.hec_tokens[1]: a token must be non-empty",
    ];
    assert_mistakes(&e, &want);
}

#[test]
fn tls_files_are_loaded_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("server.pem");
    std::fs::write(&cert, "not a certificate\n").unwrap();
    let text = format!(
        "version = 1\n[syslog.tls]\ncert = {:?}\nkey = {:?}\nclient_auth = \"required\"\n",
        cert.display().to_string(),
        dir.path().join("server.key").display().to_string()
    );
    let e = parse(&text).unwrap_err().0;
    assert_eq!(e.len(), 1, "{e:#?}");
    assert!(e[0].starts_with("syslog.tls.client_ca: missing"), "{e:#?}");
    // The certificate is checked once the rest is right.
    let text = text.replace("required", "none");
    let e = parse(&text).unwrap_err().0;
    assert_eq!(e.len(), 1, "{e:#?}");
    assert!(e[0].starts_with("syslog.tls.cert: "), "{e:#?}");
    assert!(e[0].contains("server.pem"), "{e:#?}");
}

#[test]
fn tags_are_resolved() {
    let r = parse(
        "version = 1\n[syslog]\nregion = \"410100\"\ndepartment = \"public-security\"\ncharset = \"GBK\"\nformat = \"huawei_usg\"\n[http]\ntimezone = \"+00:00\"\n",
    )
    .unwrap();
    assert_eq!(r.listen.syslog_source.region.to_string(), "410100");
    assert_eq!(
        r.listen.syslog_source.tags,
        SourceTags {
            department: Some("public-security".into()),
            charset: Charset::Gb18030,
            format_hint: Some(BodyFormat::HuaweiUsg),
            max_fields_per_event: 1000,
        }
    );
    assert_eq!(r.listen.http_source.region, r.region);
    assert_eq!(r.listen.http_source.timezone, time::UtcOffset::UTC);
}

#[test]
fn counties_join_the_tree() {
    let r = parse(
        "version = 1\n[node]\nregion = \"410102\"\n[[regions]]\ncode = \"410102\"\nparent = \"410100\"\nname = \"中原区\"\n",
    )
    .unwrap();
    assert!(r.regions.is_within(r.region, RegionCode::HENAN));
}

#[test]
fn version_is_required() {
    let e = parse("[node]\nname = \"x\"\n").unwrap_err().0;
    assert!(e[0].starts_with("version: missing"), "{e:?}");
    let e = parse("version = 2\n").unwrap_err().0;
    assert_eq!(e, ["version: expected 1, found 2"]);
    let e = parse("version = \n").unwrap_err().0;
    assert!(e[0].starts_with("line 1: "), "{e:?}");
}

/// `[flow]` through the whole file.
mod flow {
    use super::super::{defaults, parse};

    #[test]
    fn defaults_listen_on_the_registered_ports() {
        let r = defaults().expect("defaults");
        assert_eq!(r.flow.netflow.map(|a| a.port()), Some(2055));
        assert_eq!(r.flow.sflow.map(|a| a.port()), Some(6343));
        assert_eq!(r.flow.ipfix, None);
        assert_eq!(r.flow.region, r.region);
        assert_eq!(
            r.flow.settings.template_ttl,
            Some(std::time::Duration::from_secs(1800))
        );
    }

    #[test]
    fn every_flow_mistake_is_named() {
        let text = "version = 1\n[flow]\nnetflow = \"0.0.0.0:99999\"\nipfix = \"127.0.0.1:6343\"\nsflow = \"127.0.0.1:6343\"\nmax_exporters = 0\nregion = \"419999\"\nports = 1\n";
        let e = parse(text).expect_err("mistakes").0;
        for want in [
            "flow.ports: unknown key",
            "flow.netflow: \"0.0.0.0:99999\" is not an address",
            "flow.sflow: 127.0.0.1:6343 is also flow.ipfix",
            "flow.max_exporters: must be greater than 0",
            "flow.region: 419999",
        ] {
            assert!(e.iter().any(|l| l.starts_with(want)), "{want}: {e:#?}");
        }
    }

    #[test]
    fn tags_and_addresses_are_read() {
        let text = "version = 1\n[flow]\nnetflow = \"\"\nipfix = \"127.0.0.1:4739\"\nregion = \"410100\"\ndepartment = \" netops \"\ntemplate_ttl_secs = 0\n";
        let r = parse(text).expect("config");
        assert_eq!(r.flow.netflow, None);
        assert_eq!(r.flow.ipfix.map(|a| a.port()), Some(4739));
        assert_eq!(r.flow.region.to_string(), "410100");
        assert_eq!(r.flow.department.as_deref(), Some("netops"));
        assert_eq!(r.flow.settings.template_ttl, None);
    }
}

/// `[playbooks]` through the whole file, and with `[federation]`.
mod playbooks {
    use super::super::parse;

    #[test]
    fn playbooks_mistakes_name_their_keys() {
        let text = r#"
version = 1
[playbooks]
dir = "/nonexistent/playbooks"
escalate_url = "parent.example.org"
escalate_token = "has space"
max_attempts = 0
[playbooks.smtp]
host = "127.0.0.1"
tls = "ssl"
from = "not an address"
[playbooks.report]
time = "8 o'clock"
timezone = "Beijing"
regions = ["419999"]
parent_url = "parent.example.org"
expect_from = ["410100", "41"]
"#;
        let e = parse(text).unwrap_err().0;
        let want = [
            "playbooks.dir: /nonexistent/playbooks is not a directory",
            "playbooks.max_attempts: must be greater than 0",
            "playbooks.escalate_url: \"parent.example.org\" is not an http(s) URL",
            "playbooks.escalate_token: must be printable ASCII",
            "playbooks.smtp.tls: \"ssl\" is not one of",
            "playbooks.smtp.from: \"not an address\" is not a mail address",
            "playbooks.report.timezone: \"Beijing\" is not a UTC offset",
            "playbooks.report.time: \"8 o'clock\" is not a time of day",
            "playbooks.report.regions[0]: 419999 is not a known region",
            "playbooks.report.parent_url: \"parent.example.org\" is not an http(s) URL",
            "playbooks.report.parent_token: a collector token of the parent is needed",
            "playbooks.report.expect_from[1]: ",
        ];
        super::assert_mistakes(&e, &want);
    }

    #[test]
    fn reports_go_to_the_federation_parent_and_expect_its_children() {
        let fed = "version = 1\n[federation]\nparent_url = \"http://province:8080/\"\ntoken = \"owt_x\"\nchildren = [\"410100\", \"410200\"]\n";
        let p = parse(fed).unwrap().playbooks.unwrap();
        let to = p.sender.report_to.expect("to the federation parent");
        assert_eq!(to.url, "http://province:8080/api/v1/reports");
        assert_eq!(to.token, "owt_x");
        assert_eq!(p.expect_from.len(), 2);
        // Its own keys win; to_parent = false keeps reports local.
        let own = format!(
            "{fed}[playbooks.report]\nparent_url = \"http://other:1\"\nparent_token = \"t2\"\nexpect_from = [\"410300\"]\n"
        );
        let p = parse(&own).unwrap().playbooks.unwrap();
        assert_eq!(
            p.sender.report_to.unwrap().url,
            "http://other:1/api/v1/reports"
        );
        assert_eq!(p.expect_from, ["410300".parse().unwrap()]);
        let local = format!("{fed}[playbooks.report]\nto_parent = false\n");
        let p = parse(&local).unwrap().playbooks.unwrap();
        assert!(p.sender.report_to.is_none());
    }

    #[test]
    fn playbooks_resolve_with_defaults() {
        let r = parse("version = 1\n").unwrap();
        let p = r.playbooks.expect("defaults resolve");
        assert!(p.dir.is_none());
        assert!(p.sender.smtp.is_none());
        assert_eq!(p.report.regions, [r.region]);
        assert_eq!(p.report.schedule.at_secs, 8 * 3600);
        assert_eq!(p.retry.max_attempts, 12);
    }
}

/// `e` holds exactly one mistake starting with each of `want`.
fn assert_mistakes(e: &[String], want: &[&str]) {
    for w in want {
        assert!(
            e.iter().any(|l| l.starts_with(w)),
            "missing {w:?} in {e:#?}"
        );
    }
    assert_eq!(e.len(), want.len(), "{e:#?}");
}

#[test]
fn intel_feeds_read_and_their_mistakes_name_their_keys() {
    let ok = parse(
        r#"version = 1
[intel]
fold_minutes = 30
[[intel.feeds]]
name = "partner-cti"
format = "taxii"
collection = "https://taxii.example.org/api1/collections/91a7b528/"
interval_secs = 300
tlp = "AMBER"
auth = { username = "onewall", password = "x" }
[[intel.feeds]]
name = "feodo"
format = "csv"
url = "https://feodotracker.example/ipblocklist.csv"
mapping = { csv = { value = "dst_ip", first_seen = "first_seen_utc" }, kind = "ip", confidence = 80 }
"#,
    )
    .unwrap();
    assert_eq!(ok.config.intel.feeds.len(), 2);
    assert_eq!(ok.config.intel.fold_minutes, 30);
    let err = parse(
        "version = 1\n[intel]\nfold_minutes = \"x\"\n[[intel.feeds]]\nname = \"import\"\nformat = \"csv\"\npath = \"/x\"\n",
    )
    .unwrap_err()
    .0
    .join("\n");
    assert!(err.contains("intel.fold_minutes:"), "{err}");
    assert!(
        err.contains("intel.feeds[0].name: \"import\" is reserved"),
        "{err}"
    );
    assert!(
        err.contains("intel.feeds[0].mapping: a csv feed needs"),
        "{err}"
    );
}

#[test]
fn supervise_mistakes_name_their_keys() {
    let text = "version = 1\n[supervise]\ncheck_secs = 0\nunknown = 1\n\
                [supervise.period]\nsla_factor = 0.5\n[supervise.reports]\noffset = \"Beijing\"\n\
                [supervise.score]\nsla = \"many\"\n";
    let errors = parse(text).unwrap_err().0;
    for key in [
        "supervise.unknown:",
        "supervise.score.sla:",
        "supervise.check_secs: must be positive",
        "supervise.period.sla_factor:",
        "supervise.reports.offset:",
    ] {
        assert!(
            errors.iter().any(|e| e.starts_with(key)),
            "{key} not reported: {errors:?}"
        );
    }
    let r =
        parse("version = 1\n[supervise]\ncheck_secs = 5\n[supervise.period]\ngrace_mins = 10\n")
            .unwrap();
    assert_eq!(r.supervise.config.check_secs, 5);
    assert_eq!(r.supervise.config.period.grace_mins, 10);
    assert_eq!(r.supervise.config.period.report_every_mins, 120);
}
