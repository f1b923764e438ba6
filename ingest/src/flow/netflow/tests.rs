use super::names::snake;
use super::*;

#[test]
fn snake_case_names() {
    assert_eq!(snake("SourceIpv4address"), "source_ipv4address");
    assert_eq!(snake("Ipv4SrcAddr"), "ipv4_src_addr");
    assert_eq!(snake("Unknown(300)"), "unknown_300");
    assert_eq!(snake("Cisco(AppName)"), "cisco_app_name");
    assert_eq!(snake("InBytes"), "in_bytes");
}

/// Every export in the shared corpus gives the same events whether its data datagrams
/// are read from the known templates or by the parser.
#[test]
fn known_templates_read_what_the_parser_reads() {
    let root =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/flows/dgrams");
    let ctx = FlowContext {
        collector: "netflow".into(),
        region: onewall_model::RegionCode::HENAN,
        department: None,
    };
    let peer: SocketAddr = "192.0.2.7:2055".parse().expect("addr");
    let received = Timestamp::from_secs(1_700_000_000);
    for exporter in [
        "softflowd_v9",
        "softflowd_v10",
        "pmacct_ipfix",
        "nfreplay_v9",
    ] {
        let dir = root.join(exporter);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.expect("entry").path())
            .collect();
        files.sort();
        let settings = NetflowSettings::default();
        let mut direct = NetflowDecoder::new(settings).expect("decoder");
        let mut parsed = NetflowDecoder::new(settings).expect("decoder");
        parsed.direct_enabled = false;
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for f in &files {
            let d = std::fs::read(f).expect("datagram");
            let ra = direct.decode(&d, peer, received, &ctx, &mut a);
            let rb = parsed.decode(&d, peer, received, &ctx, &mut b);
            assert_eq!(ra, rb, "{exporter} {}", f.display());
        }
        assert!(
            direct.direct > 0 && parsed.direct == 0,
            "{exporter}: {} datagrams read directly",
            direct.direct
        );
        assert!(!a.is_empty());
        assert_eq!(a.len(), b.len(), "{exporter}");
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x.fields, y.fields, "{exporter}");
            assert_eq!((x.time, &x.raw), (y.time, &y.raw), "{exporter}");
        }
    }
}

/// An IPFIX message: header (sequence `seq`) and the given sets.
fn ipfix(seq: u32, sets: &[(u16, Vec<u8>)]) -> Vec<u8> {
    let mut m = vec![0, 10, 0, 0];
    m.extend_from_slice(&1_700_000_000u32.to_be_bytes());
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(&7u32.to_be_bytes());
    for (id, body) in sets {
        m.extend_from_slice(&id.to_be_bytes());
        m.extend_from_slice(&u16::try_from(body.len() + 4).expect("set").to_be_bytes());
        m.extend_from_slice(body);
    }
    let len = u16::try_from(m.len()).expect("message");
    m[2..4].copy_from_slice(&len.to_be_bytes());
    m
}

/// A data set holds at most as many records as the parser reads from one; both paths stop
/// at the same place.
#[test]
fn a_set_gives_no_more_records_than_the_parser_reads() {
    let ctx = FlowContext {
        collector: "netflow".into(),
        region: onewall_model::RegionCode::HENAN,
        department: None,
    };
    let peer: SocketAddr = "192.0.2.9:4739".parse().expect("addr");
    // Template 300: protocolIdentifier (4), one byte.
    let template = ipfix(0, &[(2, vec![1, 44, 0, 1, 0, 4, 0, 1])]);
    let data = ipfix(1, &[(300, vec![6; 3000])]);
    let mut counts = Vec::new();
    for direct in [true, false] {
        let mut d = NetflowDecoder::new(NetflowSettings::default()).expect("decoder");
        d.direct_enabled = direct;
        let mut out = Vec::new();
        d.decode(&template, peer, Timestamp::now(), &ctx, &mut out);
        let r = d.decode(&data, peer, Timestamp::now(), &ctx, &mut out);
        assert_eq!(r.error, None);
        assert_eq!(d.direct, u64::from(direct));
        counts.push(r.records);
    }
    assert_eq!(
        counts,
        vec![super::super::templates::MAX_RECORDS_PER_SET; 2]
    );
}

#[test]
fn header_peek_names_what_is_short() {
    let e = Header::peek(&[0, 9, 0, 1]).expect_err("short");
    assert!(e.to_string().contains("netflow v9 header"), "{e}");
    assert!(matches!(
        Header::peek(&[0, 77]),
        Err(FlowError::UnsupportedVersion(77))
    ));
    assert!(matches!(
        Header::peek(&[0]),
        Err(FlowError::Truncated { .. })
    ));
}
