//! Plain and CSV lists, read from fixtures written to the published formats of abuse.ch
//! Feodo Tracker (ipblocklist.txt and .csv), URLhaus (CSV dump) and ThreatFox (CSV export).

use onewall_intel::feed::list::{
    Column, CsvColumns, ListFormat, parse_time, read_list, split_record,
};
use onewall_intel::{IntelError, Observable};
use onewall_model::{IndicatorKind, Timestamp, Tlp};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/testdata/lists/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn texts(read: &onewall_intel::feed::FeedRead) -> Vec<String> {
    read.indicators.iter().map(|i| i.value.text()).collect()
}

#[test]
fn feodo_plain_list_reads_addresses_and_rejects_the_odd_line() {
    let format = ListFormat {
        kind: Some(IndicatorKind::Ip),
        ..ListFormat::default()
    };
    let read = read_list(&fixture("feodo_ipblocklist.txt"), "feodo", &format).expect("list");
    assert_eq!(
        texts(&read),
        [
            "198.51.100.23",
            "203.0.113.77",
            "192.0.2.140",
            "2001:db8:feed::5"
        ]
    );
    assert_eq!(read.rejected.len(), 1);
    assert_eq!(read.rejected[0].item, "line 14");
    assert!(
        read.rejected[0].reason.contains("not-an-address"),
        "{:?}",
        read.rejected
    );
    assert!(read.indicators.iter().all(|i| i.feed == "feodo"));
}

#[test]
fn feodo_csv_maps_columns_by_the_commented_header() {
    let read = read_list(
        &fixture("feodo_ipblocklist.csv"),
        "feodo",
        &ListFormat::feodo_csv(),
    )
    .expect("csv");
    assert_eq!(
        texts(&read),
        ["198.51.100.23", "203.0.113.77", "192.0.2.140"]
    );
    let first = &read.indicators[0];
    assert_eq!(first.labels, ["botnet_cc", "QakBot"]);
    assert_eq!(
        first.valid_from,
        Some(Timestamp::parse_rfc3339("2026-11-02T14:10:37Z").expect("t"))
    );
    assert_eq!(read.rejected.len(), 1);
    assert_eq!(read.rejected[0].item, "line 13");
}

#[test]
fn urlhaus_csv_reads_urls_ids_tags_and_quoted_quotes() {
    let read = read_list(
        &fixture("urlhaus.csv"),
        "urlhaus",
        &ListFormat::urlhaus_csv(),
    )
    .expect("csv");
    assert_eq!(
        texts(&read),
        [
            "http://198.51.100.9:41234/i",
            "https://Files.Example-Bad.test/dl/Invoice.zip",
            "http://203.0.113.50/bins/x86",
        ]
    );
    assert_eq!(read.indicators[0].id.as_deref(), Some("3412001"));
    assert_eq!(
        read.indicators[0].labels,
        ["malware_download", "32-bit", "elf", "mips", "Mozi"]
    );
    assert_eq!(
        read.indicators[2].labels,
        ["malware_download", "elf", "\"quoted\" tag"]
    );
    assert_eq!(read.rejected.len(), 1, "{:?}", read.rejected);
    assert!(read.rejected[0].reason.contains("one word"));
}

#[test]
fn threatfox_csv_reads_kinds_from_its_type_column() {
    let read = read_list(
        &fixture("threatfox.csv"),
        "threatfox",
        &ListFormat::threatfox_csv(),
    )
    .expect("csv");
    let kinds: Vec<IndicatorKind> = read.indicators.iter().map(|i| i.value.kind()).collect();
    assert_eq!(
        kinds,
        [
            IndicatorKind::Ip,
            IndicatorKind::Domain,
            IndicatorKind::Url,
            IndicatorKind::Md5,
            IndicatorKind::Sha256
        ]
    );
    assert_eq!(
        read.indicators[0].value,
        Observable::Ip("198.51.100.61".parse().expect("ip")),
        "ip:port is the address"
    );
    assert_eq!(read.indicators[1].confidence, 75);
    assert_eq!(read.indicators[1].id.as_deref(), Some("1650002"));
    assert_eq!(
        read.indicators[0].labels,
        ["botnet_cc", "Cobalt Strike", "c2", "CobaltStrike"]
    );
    assert_eq!(
        read.indicators[3].value.text(),
        "0d3a39c6a0e7c5ff6e0c7e10b5fa0a3b"
    );
    assert_eq!(read.rejected.len(), 1);
    assert!(
        read.rejected[0].reason.contains("sha3_384_hash"),
        "{:?}",
        read.rejected
    );
}

#[test]
fn a_document_with_no_value_is_malformed_and_names_why() {
    for format in [
        ListFormat::default(),
        ListFormat {
            kind: Some(IndicatorKind::Ip),
            ..ListFormat::default()
        },
    ] {
        let e = read_list(&fixture("not_a_list.html"), "f", &format).expect_err("html");
        assert!(matches!(e, IntelError::MalformedFeed { .. }), "{e:?}");
        assert!(e.to_string().contains("none of its 3 records"), "{e}");
    }
    let e = read_list(b"\xff\xfe", "f", &ListFormat::default()).expect_err("binary");
    assert!(e.to_string().contains("not UTF-8"), "{e}");
    let mut cols = CsvColumns::value(Column::Name("indicator".into()));
    cols.header = true;
    let format = ListFormat {
        csv: Some(cols),
        ..ListFormat::default()
    };
    let e = read_list(b"value,kind\n1.2.3.4,ip\n", "f", &format).expect_err("no such column");
    assert!(
        e.to_string().contains("\"indicator\" is not in the header"),
        "{e}"
    );
    // Only comments: an empty feed, not an error.
    let empty = read_list(b"# nothing today\n", "f", &ListFormat::default()).expect("empty");
    assert!(empty.indicators.is_empty());
}

#[test]
fn plain_lists_guess_kinds_and_take_list_wide_settings() {
    let doc = b"203.0.113.9 # a c2\n10.0.0.0/8\nhttp://x.test/a\nEvil.Test.\nphish@x.test\n\
                d41d8cd98f00b204e9800998ecf8427e\nwhat\n";
    let format = ListFormat {
        confidence: Some(90),
        tlp: Some(Tlp::Green),
        labels: vec!["mine".into()],
        ..ListFormat::default()
    };
    let read = read_list(doc, "local", &format).expect("list");
    let kinds: Vec<IndicatorKind> = read.indicators.iter().map(|i| i.value.kind()).collect();
    assert_eq!(
        kinds,
        [
            IndicatorKind::Ip,
            IndicatorKind::Cidr,
            IndicatorKind::Url,
            IndicatorKind::Domain,
            IndicatorKind::Email,
            IndicatorKind::Md5
        ]
    );
    assert_eq!(read.indicators[3].value.text(), "evil.test");
    assert!(
        read.indicators
            .iter()
            .all(|i| i.confidence == 90 && i.tlp == Tlp::Green)
    );
    assert_eq!(read.indicators[0].labels, ["mine"]);
    assert_eq!(read.rejected.len(), 1);
    assert_eq!(read.rejected[0].item, "line 7");
}

#[test]
fn csv_by_position_with_a_header_row_and_another_delimiter() {
    let format: ListFormat = serde_json::from_value(serde_json::json!({
        "csv": {"value": 1, "kind": "type", "header": true, "delimiter": ";",
                "kinds": {"c2-host": "domain-tree"}, "confidence": "score"}
    }))
    .expect("format");
    let doc =
        b"seen;value;type;score\n2026-01-01;bad.test;c2-host;80\n2026-01-02;\"a;b\";domain;x\n\
                2026-01-03;\"unclosed;domain;1\n";
    let read = read_list(doc, "f", &format).expect("csv");
    assert_eq!(texts(&read), ["bad.test"]);
    assert_eq!(read.indicators[0].value.kind(), IndicatorKind::DomainTree);
    assert_eq!(read.indicators[0].confidence, 80);
    assert_eq!(read.rejected.len(), 2);
    assert_eq!(read.rejected[1].reason, "a quote is not closed");
}

#[test]
fn records_split_on_quotes_and_times_read_as_lists_write_them() {
    assert_eq!(
        split_record(r#""a", "b,c" ,d, "e""f""#, ',').expect("record"),
        ["a", "b,c", "d", "e\"f"]
    );
    assert!(split_record(r#""open"#, ',').is_none());
    let t = Timestamp::parse_rfc3339("2026-12-06T21:30:11Z").expect("t");
    assert_eq!(parse_time("2026-12-06 21:30:11"), Some(t));
    assert_eq!(parse_time("2026-12-06 21:30:11 UTC"), Some(t));
    assert_eq!(parse_time("2026-12-06T21:30:11Z"), Some(t));
    assert_eq!(
        parse_time("2026-12-06"),
        Some(Timestamp::parse_rfc3339("2026-12-06T00:00:00Z").expect("t"))
    );
    assert_eq!(parse_time("yesterday"), None);
}
