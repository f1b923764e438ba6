//! STIX 2.1 bundles, TAXII pages and MISP feeds read from fixtures written to their
//! published formats (`testdata/stix/`, `testdata/misp/`), and malformed files refused with
//! their reason.

use std::path::PathBuf;

use onewall_intel::feed::FeedRead;
use onewall_intel::feed::misp::{read_misp_event, read_misp_manifest};
use onewall_intel::feed::stix::{read_bundle, read_objects};
use onewall_intel::{Indicator, IntelError};
use onewall_model::{IndicatorKind, Severity, Timestamp, Tlp};

fn fixture(path: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(path);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The indicators whose value reads `text`.
fn by_value<'a>(read: &'a FeedRead, text: &str) -> &'a Indicator {
    read.indicators
        .iter()
        .find(|i| i.value.text() == text)
        .unwrap_or_else(|| panic!("no indicator {text} in {:#?}", values(read)))
}

fn values(read: &FeedRead) -> Vec<String> {
    read.indicators.iter().map(|i| i.value.text()).collect()
}

fn reason<'a>(read: &'a FeedRead, item: &str) -> &'a str {
    read.rejected
        .iter()
        .find(|r| r.item == item)
        .map(|r| r.reason.as_str())
        .unwrap_or_else(|| panic!("{item} not rejected: {:#?}", read.rejected))
}

fn ind(n: &str) -> String {
    format!("indicator--1b6e2c1f-7c55-4b0e-a9a8-0c5c2a0f6a{n}")
}

#[test]
fn a_stix_bundle_gives_its_supported_indicators_with_their_metadata() {
    let read = read_bundle(&fixture("stix/bundle.json"), "cert").expect("reads");
    assert_eq!(
        values(&read),
        [
            "198.51.100.23",
            "203.0.113.0/24",
            "update-check.example.net",
            "http://update-check.example.net/dl/setup.exe",
            "https://cdn.invalid-download.example/a.php?id=3",
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "44d88612fea8a8f36de82e1278abb02f",
            "1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b",
            "billing@invoices-example.com",
            "2001:db8:dead::7",
            "2001:db8:beef::/48",
        ]
    );

    let c2 = by_value(&read, "203.0.113.0/24");
    assert_eq!(c2.value.kind(), IndicatorKind::Cidr);
    assert_eq!(c2.feed, "cert");
    assert_eq!(c2.id.as_deref(), Some(ind("01").as_str()));
    assert_eq!(c2.confidence, 85);
    assert_eq!(c2.severity, Severity::High, "malicious-activity");
    assert_eq!(c2.tlp, Tlp::Green, "TLP 1.0 green id");
    assert_eq!(
        c2.valid_from,
        Some(Timestamp::parse_rfc3339("2026-11-02T08:00:00Z").expect("t"))
    );
    assert_eq!(
        c2.valid_until,
        Some(Timestamp::parse_rfc3339("2027-02-02T08:00:00Z").expect("t"))
    );
    assert_eq!(c2.labels, ["malicious-activity"]);
    // The mitre-attack kill chain phase (not the Lockheed one), then what it indicates.
    assert_eq!(c2.attack, ["TA0011", "T1071.001", "S0650"]);
    assert_eq!(
        c2.description.as_deref(),
        Some("Command and control servers of the QakBot campaign seen in November")
    );

    let phish = by_value(&read, "update-check.example.net");
    assert_eq!(phish.value.kind(), IndicatorKind::Domain);
    assert_eq!(phish.severity, Severity::Critical, "x_severity");
    assert_eq!(phish.tlp, Tlp::AmberStrict, "TLP 2.0 id beside a statement");
    assert_eq!(phish.attack, ["G0032"]);
    assert_eq!(
        phish.labels,
        ["phishing", "malicious-activity", "attribution"]
    );
    assert_eq!(
        phish.description.as_deref(),
        Some("Lazarus phishing infrastructure"),
        "the name when there is no description"
    );

    let sample = by_value(&read, "44d88612fea8a8f36de82e1278abb02f");
    assert_eq!(sample.confidence, 50, "absent confidence");
    assert_eq!(sample.severity, Severity::Low, "anomalous-activity");
    assert_eq!(sample.tlp, Tlp::Green, "TLP 2.0 green id");
    assert_eq!(sample.attack, ["T1204.002"], "not the virustotal reference");
    let sm3 = by_value(
        &read,
        "1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b",
    );
    assert_eq!(sm3.value.kind(), IndicatorKind::Sm3);

    let sender = by_value(&read, "billing@invoices-example.com");
    assert_eq!(sender.tlp, Tlp::Red, "a TLP marking defined in the bundle");
    assert_eq!(sender.severity, Severity::Medium);
    assert_eq!(sender.confidence, 40);

    let v6 = by_value(&read, "2001:db8:beef::/48");
    assert_eq!(v6.tlp, Tlp::Amber, "no marking");
    assert_eq!(v6.confidence, 100);
}

#[test]
fn a_stix_bundle_reports_each_indicator_it_did_not_take() {
    let read = read_bundle(&fixture("stix/bundle.json"), "cert").expect("reads");
    assert_eq!(read.rejected.len(), 5, "{:#?}", read.rejected);
    assert_eq!(reason(&read, &ind("06")), "pattern: unsupported: AND");
    assert_eq!(
        reason(&read, &ind("07")),
        "pattern_type snort is not supported (only stix)"
    );
    assert_eq!(reason(&read, &ind("08")), "revoked");
    assert_eq!(
        reason(&read, &ind("09")),
        "pattern: unsupported object path x509-certificate:hashes.'SHA-256'"
    );
    assert_eq!(
        reason(&read, &ind("10")),
        "pattern: unsupported: FOLLOWEDBY"
    );
    assert!(
        !values(&read).contains(&"192.0.2.200".to_string()),
        "revoked"
    );
}

#[test]
fn a_taxii_page_is_read_like_a_bundle() {
    let page = fixture("stix/taxii_page.json");
    let read = read_bundle(&page, "taxii").expect("reads");
    assert_eq!(read.indicators.len(), 5);
    assert_eq!(
        by_value(&read, "198.51.100.23").attack,
        ["TA0011", "T1071.001"],
        "the page's relationship; the malware is on another page"
    );
    let doc: serde_json::Value = serde_json::from_slice(&page).expect("json");
    let objects = doc["objects"].as_array().expect("objects");
    assert_eq!(read_objects(objects, "taxii"), read);
}

#[test]
fn stix_documents_that_cannot_be_read_say_why() {
    let cases: [(&[u8], &str); 7] = [
        (
            &fixture("stix/truncated.json"),
            "not JSON: EOF while parsing",
        ),
        (
            &fixture("stix/not_a_bundle.json"),
            "the top level is an array, not a bundle object",
        ),
        (
            b"{\"type\": \"indicator\", \"id\": \"indicator--x\"}",
            "the top level is a \"indicator\" object, not a bundle",
        ),
        (
            b"{\"type\": \"bundle\", \"objects\": {}}",
            "\"objects\" is an object, not an array",
        ),
        (b"{\"id\": \"x\"}", "neither a bundle nor a TAXII envelope"),
        (b"<html>502 Bad Gateway</html>", "not JSON"),
        (b"", "not JSON"),
    ];
    for (body, want) in cases {
        let e = read_bundle(body, "cert").expect_err(want);
        let IntelError::MalformedFeed { format, reason } = &e else {
            panic!("{e:?}")
        };
        assert_eq!(*format, "stix");
        assert!(reason.contains(want), "{want}: {reason}");
        assert!(e.to_string().starts_with("stix feed is malformed: "), "{e}");
    }
    // An empty bundle and an empty TAXII page are documents with nothing in them.
    let empty = read_bundle(b"{\"type\": \"bundle\", \"id\": \"bundle--1\"}", "c").expect("empty");
    assert_eq!(empty, FeedRead::default());
    let page = read_bundle(b"{\"more\": false}", "c").expect("empty page");
    assert_eq!(page, FeedRead::default());
}

#[test]
fn stix_indicators_with_bad_metadata_are_refused_one_by_one() {
    let body = serde_json::json!({"type": "bundle", "id": "bundle--2", "objects": [
        {"type": "indicator", "id": "indicator--a", "pattern": "[ipv4-addr:value = '192.0.2.1']",
         "pattern_type": "stix", "confidence": 150},
        {"type": "indicator", "id": "indicator--b", "pattern": "[ipv4-addr:value = '192.0.2.2']",
         "valid_from": "2026-12-01T00:00:00Z", "valid_until": "2026-11-01T00:00:00Z"},
        {"type": "indicator", "id": "indicator--c", "pattern": "[ipv4-addr:value = '192.0.2.3']",
         "valid_from": "last tuesday"},
        {"type": "indicator", "id": "indicator--d"},
        {"type": "indicator", "id": "indicator--e", "pattern": "[ipv4-addr:value = '192.0.2.5'"},
        {"type": "indicator", "id": "indicator--f", "pattern": "[ipv4-addr:value = '192.0.2.6']"}
    ]});
    let read = read_bundle(body.to_string().as_bytes(), "c").expect("reads");
    assert_eq!(values(&read), ["192.0.2.6"]);
    assert_eq!(
        reason(&read, "indicator--a"),
        "confidence 150 is not 0 to 100"
    );
    assert_eq!(
        reason(&read, "indicator--b"),
        "valid_until is not after valid_from"
    );
    assert!(
        reason(&read, "indicator--c").starts_with("valid_from \"last tuesday\" is not a timestamp")
    );
    assert_eq!(reason(&read, "indicator--d"), "no pattern");
    assert!(
        reason(&read, "indicator--e").starts_with("pattern: syntax error at 30: expected ']'"),
        "{}",
        reason(&read, "indicator--e")
    );
}

#[test]
fn a_misp_manifest_lists_the_event_files() {
    let m = read_misp_manifest(&fixture("misp/manifest.json")).expect("reads");
    assert_eq!(m.len(), 2);
    assert_eq!(m[0].uuid, "5f3c2b1a-9d8e-4c7b-a6f5-0e1d2c3b4a59");
    assert_eq!(
        m[0].file_name(),
        "5f3c2b1a-9d8e-4c7b-a6f5-0e1d2c3b4a59.json"
    );
    assert_eq!(
        m[0].info,
        "Emotet epoch 5 botnet C2 and spam infrastructure"
    );
    assert_eq!(m[0].date, "2026-11-20");
    assert_eq!(m[0].timestamp, Some(Timestamp::from_secs(1_763_712_000)));
    assert_eq!(m[0].threat_level_id, Some(1));
    assert!(m[0].tags.contains(&"tlp:green".to_string()));
    assert_eq!(m[1].threat_level_id, Some(4));
    for e in &m {
        let read = read_misp_event(&fixture(&format!("misp/{}", e.file_name())), "misp")
            .expect("the manifest names event files that read");
        assert!(!read.indicators.is_empty());
    }
}

#[test]
fn a_misp_event_gives_its_attributes_and_objects_as_indicators() {
    let read = read_misp_event(
        &fixture("misp/5f3c2b1a-9d8e-4c7b-a6f5-0e1d2c3b4a59.json"),
        "circl",
    )
    .expect("reads");
    assert_eq!(
        values(&read),
        [
            "192.0.2.45",
            "198.51.100.77",
            "203.0.113.0/25",
            "mail.emotet-spam.example",
            "192.0.2.46",
            "relay7.emotet-spam.example",
            "invoice@emotet-spam.example",
            "5d41402abc4b2a76b9719d911017c592",
            "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
        ]
    );
    let c2 = by_value(&read, "192.0.2.45");
    assert_eq!(
        c2.id.as_deref(),
        Some("a1000000-0000-4000-8000-000000000001")
    );
    assert_eq!(c2.feed, "circl");
    assert_eq!(c2.severity, Severity::High, "threat level 1");
    assert_eq!(c2.tlp, Tlp::Green, "the event's tag");
    assert_eq!(c2.confidence, 60, "the event's estimative-language tag");
    assert_eq!(c2.attack, ["T1071", "S0367"]);
    assert_eq!(c2.labels, ["type:OSINT"]);
    assert_eq!(c2.description.as_deref(), Some("C2 observed on 2026-11-19"));
    assert_eq!(c2.valid_until, None);

    assert_eq!(
        by_value(&read, "203.0.113.0/25").tlp,
        Tlp::Amber,
        "the attribute's own tag"
    );
    assert_eq!(by_value(&read, "relay7.emotet-spam.example").confidence, 85);
    let domain_ip = by_value(&read, "mail.emotet-spam.example");
    assert_eq!(domain_ip.value.kind(), IndicatorKind::Domain);
    assert_eq!(
        by_value(&read, "192.0.2.46").id,
        domain_ip.id,
        "domain|ip is one attribute"
    );
    assert_eq!(
        by_value(&read, "198.51.100.77").description.as_deref(),
        Some("Emotet epoch 5 botnet C2 and spam infrastructure"),
        "the event's info without a comment"
    );
    let sha = by_value(
        &read,
        "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
    );
    assert_eq!(sha.attack, ["T1071", "S0367", "T1204.002"]);

    assert_eq!(read.rejected.len(), 5, "{:#?}", read.rejected);
    assert_eq!(
        reason(&read, "a1000000-0000-4000-8000-000000000007"),
        "to_ids is false"
    );
    assert_eq!(
        reason(&read, "a1000000-0000-4000-8000-000000000008"),
        "to_ids is false"
    );
    assert_eq!(
        reason(&read, "a1000000-0000-4000-8000-000000000011"),
        "to_ids is false"
    );
    assert_eq!(
        reason(&read, "a1000000-0000-4000-8000-000000000009"),
        "type AS is not supported"
    );
    assert!(
        reason(&read, "a1000000-0000-4000-8000-000000000010")
            .starts_with("ip-dst: ip value \"192.0.2.300\" is not valid")
    );
}

#[test]
fn a_misp_event_reads_its_threat_level_and_tlp_tags() {
    let read = read_misp_event(
        &fixture("misp/6a4d3c2b-0e9f-4d8c-b7a6-1f2e3d4c5b6a.json"),
        "cert",
    )
    .expect("reads");
    assert_eq!(
        values(&read),
        [
            "notice@gov-portal-verify.example",
            "a9993e364706816aba3e25717850c26c9cd0d89d",
            "https://gov-portal-verify.example/login?next=%2Finbox",
            "gov-portal-verify.example",
            "2001:db8:4::1a",
        ]
    );
    for i in &read.indicators {
        assert_eq!(i.severity, Severity::Medium, "threat level 4 is undefined");
        assert_eq!(i.confidence, 70, "no confidence tag");
        assert_eq!(i.attack, ["G0016"]);
    }
    assert_eq!(
        by_value(&read, "gov-portal-verify.example").tlp,
        Tlp::AmberStrict
    );
    assert_eq!(
        by_value(
            &read,
            "https://gov-portal-verify.example/login?next=%2Finbox"
        )
        .tlp,
        Tlp::Red,
        "an attribute's tag over the event's"
    );
    assert_eq!(
        by_value(&read, "a9993e364706816aba3e25717850c26c9cd0d89d")
            .value
            .kind(),
        IndicatorKind::Sha1
    );
    assert_eq!(
        reason(&read, "a2000000-0000-4000-8000-000000000001"),
        "to_ids is false"
    );
    assert_eq!(
        reason(&read, "a2000000-0000-4000-8000-000000000007"),
        "type text is not supported"
    );
}

#[test]
fn misp_documents_that_cannot_be_read_say_why() {
    let cases: [(&[u8], &str); 5] = [
        (
            &fixture("misp/malformed/truncated.json"),
            "not JSON: EOF while parsing",
        ),
        (
            &fixture("misp/malformed/not_an_event.json"),
            "no \"Event\" at the top level",
        ),
        (b"[1, 2]", "the event file is not an object"),
        (b"{\"Event\": []}", "\"Event\" is not an object"),
        (
            b"{\"Event\": {\"Attribute\": {}}}",
            "\"Attribute\" is not an array",
        ),
    ];
    for (body, want) in cases {
        let e = read_misp_event(body, "m").expect_err(want);
        assert!(e.to_string().starts_with("misp feed is malformed: "), "{e}");
        assert!(e.to_string().contains(want), "{want}: {e}");
    }
    for (body, want) in [
        (&b"[]"[..], "the manifest is not an object"),
        (b"{\"u\": 3}", "manifest entry u is not an object"),
        (
            b"{\"u\": {\"date\": \"2026-01-01\"}}",
            "manifest entry u has no info",
        ),
        (b"{\"u\": ", "not JSON"),
    ] {
        let e = read_misp_manifest(body).expect_err(want);
        assert!(e.to_string().contains(want), "{want}: {e}");
    }
}
