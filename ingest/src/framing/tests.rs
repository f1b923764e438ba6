use super::*;
use proptest::prelude::*;

/// What a decoder makes of `chunks` fed one after the other: frames as text, errors as their
/// metric reason in brackets.
fn run(max: usize, chunks: &[&[u8]]) -> Vec<String> {
    let mut d = FrameDecoder::new(max);
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let show = |item: Result<Bytes, FrameError>| match item {
        Ok(f) => String::from_utf8_lossy(&f).into_owned(),
        Err(e) => format!("[{}]", e.reason()),
    };
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        while let Some(item) = d.decode(&mut buf) {
            out.push(show(item));
        }
    }
    while let Some(item) = d.decode_eof(&mut buf) {
        out.push(show(item));
    }
    out
}

fn whole(max: usize, input: &[u8]) -> Vec<String> {
    run(max, &[input])
}

fn oc(msg: &str) -> String {
    format!("{} {msg}", msg.len())
}

#[test]
fn octet_counted_back_to_back() {
    let input = format!(
        "{}{}{}",
        oc("<13>1 - - - - - - one"),
        oc("two\nlines"),
        oc("3")
    );
    assert_eq!(
        whole(1024, input.as_bytes()),
        ["<13>1 - - - - - - one", "two\nlines", "3"]
    );
}

#[test]
fn octet_counted_with_rsyslog_trailing_lf() {
    let input = format!("{}\n{}\n", oc("<13>a"), oc("<13>b"));
    assert_eq!(whole(1024, input.as_bytes()), ["<13>a", "<13>b"]);
}

/// A sender whose template ends in LF counts it inside the frame; the frame keeps it (the
/// parsers drop trailing LF) and the next frame follows as usual.
#[test]
fn octet_counted_frame_holding_its_own_lf() {
    let input = format!("{}{}\n", oc("<13>a\n"), oc("<13>b\n"));
    assert_eq!(whole(1024, input.as_bytes()), ["<13>a\n", "<13>b\n"]);
}

#[test]
fn lf_frames_and_blank_lines() {
    let input = b"<13>Mar 15 12:00:00 h a: x\r\n\n\r\n<13>second\nlast without lf";
    assert_eq!(
        whole(1024, input),
        [
            "<13>Mar 15 12:00:00 h a: x\r",
            "<13>second",
            "last without lf"
        ]
    );
}

#[test]
fn mixed_framing_in_one_stream() {
    let input = format!(
        "{}<14>lf frame\n{}{}\n",
        oc("first"),
        oc("second"),
        oc("third")
    );
    assert_eq!(
        whole(1024, input.as_bytes()),
        ["first", "<14>lf frame", "second", "third"]
    );
}

/// A stream exercising every state, used by the split tests.
fn mixed_stream() -> Vec<u8> {
    let mut s = String::new();
    s.push_str(&oc("<13>1 2026-03-15T12:00:00Z h app - - - octet"));
    s.push_str("<13>Mar 15 12:00:00 h t: lf frame\r\n");
    s.push_str(&oc("x"));
    s.push('\n');
    s.push_str(&"y".repeat(40));
    s.push('\n');
    s.push_str("99 ");
    s.push_str(&"z".repeat(99));
    s.push_str("12x bad count\n");
    s.push_str(&oc("after"));
    s.push_str("tail");
    s.into_bytes()
}

const MIXED_MAX: usize = 32;

fn mixed_expected() -> Vec<String> {
    [
        "[frame_too_long]", // the first octet frame is 45 bytes, above 32
        "[frame_too_long]",
        "x",
        "[frame_too_long]",
        "[frame_too_long]",
        "[bad_octet_count]",
        "12x bad count",
        "after",
        "tail",
    ]
    .map(String::from)
    .to_vec()
}

#[test]
fn mixed_stream_in_one_read() {
    assert_eq!(whole(MIXED_MAX, &mixed_stream()), mixed_expected());
    // With room for everything, nothing is discarded.
    let roomy = whole(1024, &mixed_stream());
    assert_eq!(roomy.len(), 9, "{roomy:?}");
    assert!(roomy[0].ends_with("octet"));
}

#[test]
fn split_at_every_byte_position() {
    let input = mixed_stream();
    let expected = whole(MIXED_MAX, &input);
    for i in 0..=input.len() {
        for j in i..=input.len() {
            let got = run(MIXED_MAX, &[&input[..i], &input[i..j], &input[j..]]);
            assert_eq!(got, expected, "split at {i} and {j}");
        }
    }
}

#[test]
fn one_byte_at_a_time() {
    let input = mixed_stream();
    let chunks: Vec<&[u8]> = input.chunks(1).collect();
    assert_eq!(run(MIXED_MAX, &chunks), mixed_expected());
}

#[test]
fn oversize_lf_frame_is_discarded_up_to_its_lf() {
    let long = format!("{}\nnext\n", "a".repeat(20));
    assert_eq!(whole(16, long.as_bytes()), ["[frame_too_long]", "next"]);
    // Exactly the maximum is fine.
    let exact = format!("{}\nnext\n", "a".repeat(16));
    assert_eq!(whole(16, exact.as_bytes()), ["a".repeat(16), "next".into()]);
    // Seen before its LF arrives: reported once, the rest of it thrown away as it comes.
    let parts: [&[u8]; 4] = [
        b"bbbbbbbbbbbbbbbbbbbbbbbb",
        b"bbbbbbbbbbbbbbbbbbbbbbbbbb",
        b"bb\nok",
        b"\n",
    ];
    assert_eq!(run(16, &parts), ["[frame_too_long]", "ok"]);
}

#[test]
fn oversize_octet_count_skips_that_many_bytes() {
    let input = format!("20 {}{}", "c".repeat(20), oc("ok"));
    assert_eq!(whole(16, input.as_bytes()), ["[frame_too_long]", "ok"]);
    let exact = format!("16 {}{}", "c".repeat(16), oc("ok"));
    assert_eq!(whole(16, exact.as_bytes()), ["c".repeat(16), "ok".into()]);
    // A huge count is skipped across reads without buffering it.
    let mut d = FrameDecoder::new(16);
    let mut buf = BytesMut::from(&b"999999 "[..]);
    assert!(matches!(
        d.decode(&mut buf),
        Some(Err(FrameError::OctetCountTooLarge {
            count: 999_999,
            max: 16
        }))
    ));
    buf.extend_from_slice(&[b'q'; 4096]);
    assert!(d.decode(&mut buf).is_none());
    assert!(buf.is_empty());
}

#[test]
fn bad_count_reads_the_line_as_an_lf_frame() {
    let input = format!("12x hello\n{}", oc("next"));
    assert_eq!(
        whole(1024, input.as_bytes()),
        ["[bad_octet_count]", "12x hello", "next"]
    );
    // An ISO-stamped line with no <PRI> starts with a digit too.
    let iso = b"2026-03-15T12:00:00+08:00 host app: hi\n";
    assert_eq!(
        whole(1024, iso),
        [
            "[bad_octet_count]",
            "2026-03-15T12:00:00+08:00 host app: hi"
        ]
    );
    // Too many digits is not a count.
    assert_eq!(
        whole(1024, b"12345678901 x\n"),
        ["[bad_octet_count]", "12345678901 x"]
    );
    let mut d = FrameDecoder::new(64);
    let mut buf = BytesMut::from(&b"7a"[..]);
    let Some(Err(e)) = d.decode(&mut buf) else {
        panic!("expected a bad count");
    };
    assert_eq!(
        e.to_string(),
        "bad octet count \"7a\", line read as an LF-terminated frame"
    );
}

#[test]
fn eof_delivers_what_is_left() {
    assert_eq!(whole(1024, b"no newline"), ["no newline"]);
    assert_eq!(whole(1024, b"10 short"), ["[truncated]", "short"]);
    assert_eq!(whole(1024, b"10 "), ["[truncated]"]);
    assert_eq!(
        whole(1024, b"5 <13>a9 <13>b"),
        ["<13>a", "[truncated]", "<13>b"]
    );
    assert_eq!(whole(1024, b"42"), ["42"]);
    assert_eq!(whole(1024, b"\n\n\r\n"), Vec::<String>::new());
    assert_eq!(whole(4, b"toolong"), ["[frame_too_long]"]);
    assert_eq!(whole(1, b"42"), ["[frame_too_long]"]);
}

proptest! {
    #[test]
    fn any_chunking_gives_the_same_frames(cuts in proptest::collection::vec(0usize..400, 0..12)) {
        let input = mixed_stream();
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (input.len() + 1)).collect();
        cuts.sort_unstable();
        let mut chunks: Vec<&[u8]> = Vec::new();
        let mut from = 0;
        for c in cuts {
            chunks.push(&input[from..c]);
            from = c;
        }
        chunks.push(&input[from..]);
        prop_assert_eq!(run(MIXED_MAX, &chunks), mixed_expected());
    }

    #[test]
    fn octet_counted_messages_round_trip(msgs in proptest::collection::vec("[ -~\n]{1,40}", 1..8)) {
        let input: String = msgs.iter().map(|m| oc(m)).collect();
        prop_assert_eq!(whole(1024, input.as_bytes()), msgs);
    }
}
