//! Value transformations, applied in the order the modifiers are written: `windash`,
//! `base64`, `base64offset`, `utf16le`/`wide`, `utf16be`, `utf16`. They turn one rule value
//! into the texts to look for; matching never sees them.

/// A value transformation, applied in the order the modifiers are written.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Transform {
    Windash,
    Base64,
    Base64Offset,
    Utf16(Utf16),
}

/// Apply value transformations in order. Binary results (UTF-16 not followed by base64) are
/// kept as text with one character per byte.
pub(crate) fn transform(text: &str, transforms: &[Transform]) -> Result<Vec<String>, String> {
    let mut values: Vec<Vec<u8>> = vec![text.as_bytes().to_vec()];
    for t in transforms {
        values = match t {
            Transform::Windash => {
                let mut out = Vec::new();
                for v in &values {
                    let s = String::from_utf8_lossy(v);
                    out.extend(windash(&s)?.into_iter().map(String::into_bytes));
                }
                out
            }
            Transform::Utf16(kind) => values
                .iter()
                .map(|v| utf16(&String::from_utf8_lossy(v), *kind))
                .collect(),
            Transform::Base64 => values.iter().map(|v| base64(v).into_bytes()).collect(),
            Transform::Base64Offset => values
                .iter()
                .flat_map(|v| base64offset(v))
                .map(String::into_bytes)
                .collect(),
        };
    }
    Ok(values
        .into_iter()
        .map(|v| match String::from_utf8(v) {
            Ok(s) => s,
            Err(e) => e.into_bytes().into_iter().map(char::from).collect(),
        })
        .collect())
}

/// The dash characters `windash` tries at each option position: hyphen-minus, slash, en dash,
/// em dash and horizontal bar.
const DASHES: [char; 5] = ['-', '/', '\u{2013}', '\u{2014}', '\u{2015}'];

/// Most option positions `windash` expands in one value (5^n variants).
const WINDASH_MAX_POSITIONS: usize = 4;

/// `windash`: every combination of dash variants at each position where an option starts
/// (a `-` or `/` at the start or after a non-word character, followed by a word character,
/// like pySigma's `\B[-/]\b`).
pub(super) fn windash(value: &str) -> Result<Vec<String>, String> {
    let chars: Vec<char> = value.chars().collect();
    let word = |c: char| c.is_alphanumeric() || c == '_';
    let positions: Vec<usize> = (0..chars.len())
        .filter(|&i| {
            matches!(chars[i], '-' | '/')
                && (i == 0 || !word(chars[i - 1]))
                && chars.get(i + 1).is_some_and(|&c| word(c))
        })
        .collect();
    if positions.len() > WINDASH_MAX_POSITIONS {
        return Err(format!(
            "windash value '{value}' has {} option dashes, at most {WINDASH_MAX_POSITIONS} are expanded",
            positions.len()
        ));
    }
    let mut out = vec![chars];
    for &p in &positions {
        out = out
            .into_iter()
            .flat_map(|v| {
                DASHES.iter().map(move |&d| {
                    let mut v = v.clone();
                    v[p] = d;
                    v
                })
            })
            .collect();
    }
    Ok(out.into_iter().map(|v| v.into_iter().collect()).collect())
}

/// Standard base64 with padding.
pub(super) fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `base64offset`: the three encodings of `bytes` at offsets 0, 1 and 2 of a base64 stream,
/// with the characters that depend on the unknown neighbours trimmed (as pySigma does: start
/// offsets 0, 2, 3; the end trimmed by 0, 3 or 2 characters by `(len + shift) % 3`).
pub(super) fn base64offset(bytes: &[u8]) -> Vec<String> {
    const START: [usize; 3] = [0, 2, 3];
    const END: [usize; 3] = [0, 3, 2];
    (0..3)
        .map(|shift| {
            let mut padded = vec![b' '; shift];
            padded.extend_from_slice(bytes);
            let enc = base64(&padded);
            let end = enc.len().saturating_sub(END[(bytes.len() + shift) % 3]);
            enc.get(START[shift]..end).unwrap_or_default().to_owned()
        })
        .collect()
}

/// UTF-16 encodings for `utf16le`/`wide`, `utf16be` and `utf16` (little endian with a BOM).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Utf16 {
    Le,
    Be,
    Bom,
}

pub(super) fn utf16(text: &str, kind: Utf16) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() * 2 + 2);
    if let Utf16::Bom = kind {
        out.extend_from_slice(&[0xff, 0xfe]);
    }
    for unit in text.encode_utf16() {
        match kind {
            Utf16::Be => out.extend_from_slice(&unit.to_be_bytes()),
            Utf16::Le | Utf16::Bom => out.extend_from_slice(&unit.to_le_bytes()),
        }
    }
    out
}
