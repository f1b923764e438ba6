//! The README's first commands, run as a newcomer would: every `sh` block of "Run it" (up to
//! the configuration file paragraph), in order, in a fresh directory, against the node the
//! first block starts. Two things differ from a newcomer's terminal, and only these: the
//! binary is the one this test run built (not `cargo run --release --`), and the node listens
//! on free ports instead of 8080 and 5514 (tests never bind the defaults), so those numbers are
//! rewritten in the commands.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{Node, binary, eventually};

/// The `sh` blocks of the README's "Run it" section, in order.
fn run_it_blocks() -> Vec<String> {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md");
    let start = readme.find("## Run it").expect("a \"Run it\" section");
    let end = readme[start..]
        .find("With a configuration file")
        .map(|e| start + e)
        .expect("the configuration paragraph after \"Run it\"");
    let mut blocks = Vec::new();
    let mut cur: Option<String> = None;
    for line in readme[start..end].lines() {
        match (&mut cur, line.trim_end()) {
            (None, "```sh") => cur = Some(String::new()),
            (Some(_), "```") => blocks.push(cur.take().expect("open block")),
            (Some(b), l) => {
                b.push_str(l);
                b.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

fn port(addr: &str) -> &str {
    addr.rsplit_once(':').expect("host:port").1
}

#[test]
fn the_readme_first_commands_work_as_written() {
    let blocks = run_it_blocks();
    assert!(blocks.len() >= 4, "{blocks:?}");
    assert_eq!(
        blocks[0].trim(),
        "cargo run --release -- serve",
        "{blocks:?}"
    );

    // The first block: the node on its defaults, but on free ports, in a fresh directory.
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    let cfg = cwd.join("ports.toml");
    std::fs::write(
        &cfg,
        common::config(&cwd.join("onewall-data"), "").replace(
            "name = \"e2e\"\nregion = \"410100\"",
            "name = \"readme\"\nregion = \"410000\"",
        ),
    )
    .unwrap();
    let node = Node::start(&cfg);
    assert!(
        cwd.join("onewall-data/admin.token").exists(),
        "the first start writes onewall-data/admin.token"
    );
    let http = node.http.clone();
    let (udp, tcp) = (node.udp_port(), node.tcp_port());

    let mut outputs = Vec::new();
    for block in &blocks[1..] {
        let syslog = if block.contains(" -T ") { &tcp } else { &udp };
        let script = block
            .replace(
                "cargo run --release -- demo",
                &format!(
                    "{} demo --port 0 --dir {}",
                    binary().display(),
                    cwd.join("onewall-demo").display()
                ),
            )
            .replace("127.0.0.1:8080", &format!("127.0.0.1:{}", port(&http)))
            .replace("-P 5514", &format!("-P {syslog}"));
        assert!(
            !script.contains("cargo "),
            "a command this test does not know: {script}"
        );
        let out = Command::new("bash")
            .args(["-euo", "pipefail", "-c", &script])
            .current_dir(cwd)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "README block failed:\n{block}\nstdout:\n{stdout}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        for line in stdout.lines().filter(|l| l.starts_with('{')) {
            let v: serde_json::Value = serde_json::from_str(line).unwrap_or_default();
            assert!(
                v.get("error").is_none(),
                "README block answered an error:\n{block}\n{line}"
            );
        }
        outputs.push((block.clone(), stdout));
    }

    // What the first commands show: the logger line as an event, its alert and incident.
    let (_, first) = &outputs[0];
    assert!(
        first.contains("Failed password for invalid user admin"),
        "{first}"
    );
    assert!(
        first.contains("ssh_auth_failure") || first.contains("SSH"),
        "{first}"
    );
    assert!(first.contains("203.0.113.7"), "{first}");
    // The TCP line and the JSON record arrived too.
    let stored = eventually(Duration::from_secs(10), || {
        let v = node.get("/api/v1/events?limit=20");
        let text = v.to_string();
        (text.contains("COMMAND=/bin/bash") && text.contains("backdoor")).then_some(())
    });
    assert!(stored.is_some(), "{}", node.get("/api/v1/events?limit=20"));
    // The demo made its province incident linking both cities and said so.
    let demo = outputs
        .iter()
        .find(|(b, _)| b.contains(" demo"))
        .map(|(_, o)| o.clone())
        .expect("a demo block");
    let province = demo
        .lines()
        .find(|l| l.trim_start().starts_with("410000"))
        .unwrap_or_else(|| panic!("no province line in the demo's output:\n{demo}"));
    assert!(
        province.contains("410100") && province.contains("410200"),
        "{demo}"
    );
    node.stop();
}
