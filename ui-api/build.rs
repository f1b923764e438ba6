//! Embed the built console (`console/dist/`, made by `npm ci && npm run build` in `console/`):
//! a table of its files with their content types and entity tags (length and CRC-32), each
//! text file also gzipped here, at build time, when that makes it smaller. Hidden files (`.vite/`) are left out. Without the folder
//! the table is empty and the node answers `/ui/` with 503 saying how to build it.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The content type of a file, by its extension; and whether it is worth compressing.
fn content_type(path: &Path) -> (&'static str, bool) {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "html" => ("text/html; charset=utf-8", true),
        "js" | "mjs" => ("text/javascript; charset=utf-8", true),
        "css" => ("text/css; charset=utf-8", true),
        "json" | "map" => ("application/json", true),
        "webmanifest" => ("application/manifest+json", true),
        "svg" => ("image/svg+xml", true),
        "txt" => ("text/plain; charset=utf-8", true),
        "xml" => ("application/xml", true),
        "wasm" => ("application/wasm", true),
        "png" => ("image/png", false),
        "jpg" | "jpeg" => ("image/jpeg", false),
        "gif" => ("image/gif", false),
        "webp" => ("image/webp", false),
        "ico" => ("image/x-icon", false),
        "woff2" => ("font/woff2", false),
        "woff" => ("font/woff", false),
        _ => ("application/octet-stream", false),
    }
}

/// Every file under `dir` but hidden ones, sorted by path.
fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
    out.sort();
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(bytes).expect("gzip in memory");
    enc.finish().expect("gzip in memory")
}

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let console = manifest.join("../console");
    let dist = console.join("dist");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it"));
    println!("cargo:rerun-if-changed=build.rs");
    // The folder is watched whole (cargo scans it); without it, the console's folder, so a
    // first build of the console is noticed (a missing path would rerun this every time).
    if dist.is_dir() {
        println!("cargo:rerun-if-changed={}", dist.display());
    } else if console.is_dir() {
        println!("cargo:rerun-if-changed={}", console.display());
    }
    let mut list = Vec::new();
    files(&dist, &mut list);
    let mut table = String::from("&[\n");
    for (i, path) in list.iter().enumerate() {
        let Ok(rel) = path.strip_prefix(&dist) else {
            continue;
        };
        let name = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        let (ctype, compress) = content_type(path);
        let bytes = std::fs::read(path).expect("read a console file");
        let mut crc = flate2::Crc::new();
        crc.update(&bytes);
        let etag = format!("\"{:x}-{:08x}\"", bytes.len(), crc.sum());
        let gz = if compress {
            let packed = gzip(&bytes);
            (packed.len() < bytes.len()).then_some(packed)
        } else {
            None
        };
        let gz = match gz {
            Some(packed) => {
                let file = out.join(format!("console-{i}.gz"));
                std::fs::write(&file, packed).expect("write to OUT_DIR");
                format!("Some(include_bytes!({:?}))", file.display().to_string())
            }
            None => "None".to_owned(),
        };
        let _ = writeln!(
            table,
            "    ConsoleFile {{ path: {name:?}, content_type: {ctype:?}, etag: {etag:?}, body: include_bytes!({:?}), gzip: {gz} }},",
            path.display().to_string()
        );
    }
    table.push(']');
    std::fs::write(out.join("console_files.rs"), table).expect("write to OUT_DIR");
}
