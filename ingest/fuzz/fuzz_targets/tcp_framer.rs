//! The RFC 6587 TCP framer on arbitrary bytes: it never panics, never delivers a frame over
//! its maximum, and gives the same frames and errors however the stream is cut into reads.

#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use onewall_ingest::FrameDecoder;

/// Frames as bytes, errors as their metric reason.
fn decode(max: usize, chunks: &[&[u8]]) -> Vec<Result<Vec<u8>, &'static str>> {
    let mut decoder = FrameDecoder::new(max);
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        while let Some(item) = decoder.decode(&mut buf) {
            out.push(item.map(|f| f.to_vec()).map_err(|e| e.reason()));
        }
    }
    while let Some(item) = decoder.decode_eof(&mut buf) {
        out.push(item.map(|f| f.to_vec()).map_err(|e| e.reason()));
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&head, stream)) = data.split_first() else {
        return;
    };
    // Small maxima reach the oversize paths; the read size varies from 1 byte up.
    let max = 1 + usize::from(head & 0x3f) * 3;
    let step = 1 + usize::from(head >> 6) * 5;
    let whole = decode(max, &[stream]);
    let chunks: Vec<&[u8]> = stream.chunks(step).collect();
    let pieces = decode(max, &chunks);
    assert_eq!(whole, pieces, "max {max}, reads of {step} bytes");
    let delivered: usize = whole.iter().flatten().map(Vec::len).sum();
    assert!(delivered <= stream.len());
    for frame in whole.iter().flatten() {
        assert!(
            frame.len() <= max,
            "a frame of {} bytes over {max}",
            frame.len()
        );
    }
});
