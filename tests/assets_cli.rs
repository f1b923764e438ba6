//! `onewall assets import` and `onewall assets export` against a running node: a registry
//! imported from its file (every refused row printed), exported as .xlsx and as CSV, and the
//! exports imported back unchanged; a broken scanner file refused naming its element, with a
//! failing exit.

#![allow(clippy::unwrap_used)] // tests fail loudly on unexpected input

mod common;

use std::path::Path;
use std::process::Output;

use common::Node;

fn fixture(path: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/assets")
        .join(path)
}

fn cli(node: &Node, args: &[&str]) -> Output {
    let url = node.url("");
    std::process::Command::new(common::binary())
        .arg("assets")
        .args(args)
        .args(["--url", url.trim_end_matches('/')])
        .args(["--token", node.token.as_deref().unwrap()])
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn import_and_export_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("onewall.toml");
    let text_cfg = common::config(&dir.path().join("data"), "")
        .replace("region = \"410100\"", "region = \"410000\"");
    std::fs::write(&cfg, text_cfg).unwrap();
    let node = Node::start(&cfg);

    let registry = fixture("registry/registry_zh_gbk.csv");
    let o = cli(&node, &["import", registry.to_str().unwrap()]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(
        out.contains("registry_csv:") && out.contains("systems added"),
        "{out}"
    );
    // Every refused row is printed with its row and column.
    assert!(out.contains("refused: row 17, column 等保级别:"), "{out}");
    assert!(out.contains("419999"), "{out}");
    let systems = node.get("/api/v1/assets/systems")["items"]
        .as_array()
        .unwrap()
        .len();
    assert!(systems >= 10, "{systems}");

    for format in ["xlsx", "csv"] {
        let file = dir.path().join(format!("export.{format}"));
        let o = cli(
            &node,
            &["export", "--format", format, "-o", file.to_str().unwrap()],
        );
        assert!(o.status.success(), "{}", text(&o));
        let o = cli(&node, &["import", file.to_str().unwrap()]);
        let out = text(&o);
        assert!(o.status.success(), "{out}");
        assert!(
            out.contains(&format!("registry_{format}: ")) && out.contains("added 0, updated 0"),
            "the export imports back unchanged: {out}"
        );
        assert!(out.contains(&format!("unchanged {systems}")), "{out}");
        assert!(!out.contains("refused:"), "{out}");
    }

    // A broken scanner file: refused, naming where, nothing applied, a failing exit.
    let broken = fixture("scans/greenbone-broken.xml");
    let o = cli(&node, &["import", broken.to_str().unwrap()]);
    assert!(!o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("refused (400)"), "{}", text(&o));
    let findings = node.get("/api/v1/assets/findings");
    assert_eq!(findings["items"].as_array().unwrap().len(), 0, "{findings}");
    node.stop();
}
