//! `onewall demo`: a province node and two city nodes on loopback, fed a sample of logs, so
//! that a newcomer sees events, alerts, incidents and federation within a minute.
//!
//! The three nodes are this same binary (`onewall serve`), each with its own configuration and
//! data directory under `--dir`. The cities push their alerts to the province with collector
//! tokens the province issued (made with `onewall tokens create`, as an operator would); the
//! province opens an incident when one attacker is seen in both cities. The sample feed is
//! `testdata/demo/feed.log`, built into the binary.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use serde_json::Value;
use time::{OffsetDateTime, UtcOffset, macros::format_description};

/// The sample feed: syslog lines with placeholders for the send time and the city.
const FEED: &str = include_str!("../testdata/demo/feed.log");

/// The attacker every city sees in the feed: the province links the cities through it.
const ATTACKER: &str = "203.0.113.66";

/// One JSON record sent to each city over HTTP ingest, beside the syslog feed.
const JSON_RECORD: &str = r#"{"host":{"name":"{city}-app01"},"process":{"name":"useradd"},"message":"new user: name=backdoor, UID=1001"}"#;

/// What the demo runs: one province and the cities below it.
struct Site {
    /// Directory and file names, and the prefix of the feed's host names.
    key: &'static str,
    name: &'static str,
    region: &'static str,
}

const PROVINCE: Site = Site {
    key: "province",
    name: "河南省",
    region: "410000",
};
const CITIES: [Site; 2] = [
    Site {
        key: "zz",
        name: "郑州市",
        region: "410100",
    },
    Site {
        key: "kf",
        name: "开封市",
        region: "410200",
    },
];

/// A node the demo started.
struct Node {
    site: &'static Site,
    child: Child,
    http: String,
    syslog_tcp: String,
    token: String,
}

impl Node {
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.http)
    }

    fn get(&self, path: &str) -> Result<Value> {
        let mut resp = agent()
            .get(self.url(path))
            .header("Authorization", &format!("Bearer {}", self.token))
            .call()
            .with_context(|| format!("GET {}", self.url(path)))?;
        let status = resp.status().as_u16();
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        if status != 200 {
            bail!("GET {}: {status} {text}", self.url(path));
        }
        Ok(serde_json::from_str(&text)?)
    }

    fn items(&self, path: &str) -> Result<Vec<Value>> {
        Ok(self.get(path)?["items"]
            .as_array()
            .cloned()
            .unwrap_or_default())
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

/// Run the demo: start the nodes, send the feed, print what they made, then wait for Ctrl-C
/// (or stop at once with `exit`).
pub fn run(dir: &Path, port: u16, exit: bool) -> Result<ExitCode> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let dir = dir
        .canonicalize()
        .with_context(|| format!("reading {}", dir.display()))?;
    let exe = std::env::current_exe().context("finding the onewall binary")?;
    let mut nodes: Vec<Node> = Vec::new();
    let outcome = start_and_feed(&exe, &dir, port, &mut nodes);
    if outcome.is_err() {
        for n in &nodes {
            eprintln!(
                "  log of {}: {}",
                n.site.key,
                log_path(&dir, n.site).display()
            );
        }
    }
    if outcome.is_ok() && !exit {
        println!(
            "\nCtrl-C stops the three nodes; their data stays in {}.",
            dir.display()
        );
        wait_for_ctrl_c();
    }
    stop(&mut nodes);
    outcome.map(|()| ExitCode::SUCCESS)
}

fn start_and_feed(exe: &Path, dir: &Path, port: u16, nodes: &mut Vec<Node>) -> Result<()> {
    println!(
        "onewall demo: a province and two cities on 127.0.0.1, data in {}",
        dir.display()
    );
    // The province first: the cities need its address and the tokens it issues.
    let province_cfg = dir.join("province.toml");
    std::fs::write(
        &province_cfg,
        config(
            dir,
            &PROVINCE,
            port,
            "[federation]\nchildren = [\"410100\", \"410200\"]\nmin_regions = 2\n",
        ),
    )?;
    let province_token = token(exe, dir, &province_cfg, &PROVINCE, "admin", "410000")?;
    let mut uplinks = Vec::new();
    for city in &CITIES {
        uplinks.push(token(
            exe,
            dir,
            &province_cfg,
            city,
            "collector",
            city.region,
        )?);
    }
    nodes.push(start(exe, dir, &PROVINCE, &province_cfg, province_token)?);
    let parent = nodes[0].url("");
    for (i, (city, uplink)) in CITIES.iter().zip(uplinks).enumerate() {
        let cfg = dir.join(format!("{}.toml", city.key));
        let http_port = if port == 0 { 0 } else { port + 1 + i as u16 };
        let federation = format!(
            "[federation]\nparent_url = \"{parent}\"\ntoken = \"{uplink}\"\n\
             push_interval_ms = 500\nheartbeat_s = 2\n"
        );
        std::fs::write(&cfg, config(dir, city, http_port, &federation))?;
        let admin = token(exe, dir, &cfg, city, "admin", city.region)?;
        nodes.push(start(exe, dir, city, &cfg, admin)?);
    }
    for n in nodes.iter() {
        println!(
            "  {:<8} {} {}  http://{}  token in {}",
            n.site.key,
            n.site.region,
            n.site.name,
            n.http,
            token_path(dir, n.site).display()
        );
    }

    let mut sent = 0;
    for n in &nodes[1..] {
        sent = send_feed(n)?;
    }
    println!("\nsent {sent} syslog lines and 1 JSON record to each city");

    // What the nodes made of it: each city opens incidents, the province links them.
    let deadline = Instant::now() + Duration::from_secs(90);
    let province_incident = loop {
        if let Some(i) = nodes[0]
            .items("/api/v1/incidents?limit=100")?
            .into_iter()
            .find(spans_both_cities)
        {
            break i;
        }
        if Instant::now() > deadline {
            bail!(
                "the province opened no incident linking both cities within 90 s \
                 (see the nodes' logs)"
            );
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    println!();
    for n in &nodes[1..] {
        let alerts = n.items("/api/v1/alerts?limit=500")?;
        let incidents = n.items("/api/v1/incidents?limit=100")?;
        println!(
            "  {} {}: {}, {}",
            n.site.region,
            n.site.name,
            count(alerts.len(), "alert"),
            count(incidents.len(), "incident")
        );
        for i in &incidents {
            println!("      {}", incident_line(i));
        }
    }
    println!(
        "  {} {}: {}",
        PROVINCE.region,
        PROVINCE.name,
        incident_line(&province_incident)
    );
    let p = &nodes[0];
    println!("\nLook around (each node's admin token is in its .token file):");
    println!(
        "  curl -s -H \"Authorization: Bearer $(cat {})\" {}",
        token_path(dir, p.site).display(),
        p.url(&format!(
            "/api/v1/incidents/{}",
            province_incident["id"].as_str().unwrap_or_default()
        ))
    );
    println!(
        "  curl -s -H \"Authorization: Bearer $(cat {})\" '{}'",
        token_path(dir, p.site).display(),
        p.url("/api/v1/alerts?limit=5")
    );
    println!(
        "  curl -s -H \"Authorization: Bearer $(cat {})\" {}",
        token_path(dir, p.site).display(),
        p.url("/api/v1/federation/children")
    );
    Ok(())
}

/// True when an incident's regions hold both demo cities.
fn spans_both_cities(incident: &Value) -> bool {
    let regions: Vec<&str> = incident["regions"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    CITIES.iter().all(|c| regions.contains(&c.region))
        && incident["entities"].to_string().contains(ATTACKER)
}

fn incident_line(i: &Value) -> String {
    let regions: Vec<&str> = i["regions"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    format!(
        "incident {} [{}] grade {} ({}, regions {}): {}",
        i["id"].as_str().unwrap_or("?"),
        i["status"].as_str().unwrap_or("?"),
        i["classification"]["grade"].as_str().unwrap_or("-"),
        count(i["alert_ids"].as_array().map_or(0, Vec::len), "alert"),
        regions.join(" "),
        i["title"].as_str().unwrap_or("")
    )
}

fn count(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

fn log_path(dir: &Path, site: &Site) -> PathBuf {
    dir.join(format!("{}.log", site.key))
}

fn token_path(dir: &Path, site: &Site) -> PathBuf {
    dir.join(format!("{}.token", site.key))
}

/// A node configuration on loopback: HTTP on `http_port` (0: any free port), syslog and
/// flows on free ports, data in `DIR/KEY`.
fn config(dir: &Path, site: &Site, http_port: u16, extra: &str) -> String {
    format!(
        "version = 1\n\
         [node]\nname = \"demo-{key}\"\nregion = \"{region}\"\n\
         [syslog]\nudp = \"127.0.0.1:0\"\ntcp = \"127.0.0.1:0\"\n\
         [flow]\nnetflow = \"127.0.0.1:0\"\nsflow = \"127.0.0.1:0\"\n\
         [http]\nlisten = \"127.0.0.1:{http_port}\"\n\
         [store]\npath = \"{data}\"\n{extra}",
        key = site.key,
        region = site.region,
        data = dir.join(site.key).display(),
    )
}

/// A token made with `onewall tokens create` in the node's data directory, kept in
/// `DIR/KEY.token` (the node's admin token) or returned (a city's uplink). A token made by an
/// earlier run is used again.
fn token(
    exe: &Path,
    dir: &Path,
    config: &Path,
    site: &Site,
    role: &str,
    region: &str,
) -> Result<String> {
    let file = if role == "admin" {
        token_path(dir, site)
    } else {
        dir.join(format!("{}-uplink.token", site.key))
    };
    if let Ok(t) = std::fs::read_to_string(&file) {
        return Ok(t.trim().to_owned());
    }
    let name = format!("demo-{}-{role}", site.key);
    let out = Command::new(exe)
        .args(["tokens", "create", "--name", &name, "--role", role])
        .args(["--region", region, "--config"])
        .arg(config)
        .output()
        .context("running onewall tokens create")?;
    if !out.status.success() {
        bail!(
            "onewall tokens create for {}: {}",
            site.key,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let t = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    write_private(&file, &t)?;
    Ok(t)
}

fn write_private(file: &Path, text: &str) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(file)
        .with_context(|| format!("writing {}", file.display()))?;
    writeln!(f, "{text}")?;
    Ok(())
}

/// Start `onewall serve` for one site, its log in `DIR/KEY.log`, and wait until it is ready.
fn start(
    exe: &Path,
    dir: &Path,
    site: &'static Site,
    config: &Path,
    token: String,
) -> Result<Node> {
    let log = std::fs::File::create(log_path(dir, site))?;
    let mut child = Command::new(exe)
        .args(["serve", "--config"])
        .arg(config)
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .with_context(|| format!("starting the {} node", site.key))?;
    let stdout = child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
    let (tx, rx) = mpsc::channel();
    // Reads the node's stdout to its end, so the pipe never fills.
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let (mut http, mut tcp) = (None, None);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok(line) = rx.recv_timeout(left) else {
            let _ = child.kill();
            bail!(
                "the {} node did not start; see {}",
                site.key,
                log_path(dir, site).display()
            );
        };
        if let Some(rest) = line.strip_prefix("onewall listening ") {
            match rest.split_once(' ') {
                Some(("http", a)) => {
                    http = Some(a.trim_start_matches("http://").to_owned());
                }
                Some(("syslog_tcp", a)) => tcp = Some(a.to_owned()),
                _ => {}
            }
        }
        if line.starts_with("onewall ready") {
            break;
        }
    }
    let node = Node {
        site,
        child,
        http: http.ok_or_else(|| anyhow!("{}: no http address printed", site.key))?,
        syslog_tcp: tcp.ok_or_else(|| anyhow!("{}: no syslog address printed", site.key))?,
        token,
    };
    Ok(node)
}

/// Send the feed to a city over syslog TCP and the JSON record over HTTP; the number of
/// syslog lines sent.
fn send_feed(node: &Node) -> Result<usize> {
    let now = OffsetDateTime::now_utc();
    let beijing = now.to_offset(UtcOffset::from_hms(8, 0, 0).unwrap_or(UtcOffset::UTC));
    let rfc3339 = now
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let date = beijing
        .format(format_description!("[year]-[month]-[day]"))
        .unwrap_or_default();
    let clock = beijing
        .format(format_description!("[hour]:[minute]:[second]"))
        .unwrap_or_default();
    let clf = beijing
        .format(format_description!(
            "[day]/[month repr:short]/[year]:[hour]:[minute]:[second] +0800"
        ))
        .unwrap_or_default();
    let mut out = String::new();
    let mut n = 0;
    for line in FEED.lines() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        out.push_str(
            &line
                .replace("{now}", &rfc3339)
                .replace("{date}", &date)
                .replace("{time}", &clock)
                .replace("{clf}", &clf)
                .replace("{city}", node.site.key),
        );
        out.push('\n');
        n += 1;
    }
    let mut tcp = TcpStream::connect(&node.syslog_tcp)
        .with_context(|| format!("connecting to {}'s syslog", node.site.key))?;
    tcp.write_all(out.as_bytes())?;
    tcp.flush()?;
    drop(tcp);
    let record = JSON_RECORD.replace("{city}", node.site.key);
    let mut resp = agent()
        .post(node.url("/api/v1/ingest"))
        .header("Content-Type", "application/json")
        .send(record.as_bytes())
        .with_context(|| format!("POST {}", node.url("/api/v1/ingest")))?;
    let status = resp.status().as_u16();
    if !(200..300).contains(&status) {
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        bail!("{}'s HTTP ingest answered {status}: {text}", node.site.key);
    }
    Ok(n)
}

fn wait_for_ctrl_c() {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => {
            let _ = rt.block_on(tokio::signal::ctrl_c());
        }
        Err(e) => eprintln!("onewall demo: cannot wait for Ctrl-C ({e}); stopping now"),
    }
}

/// Stop the nodes as an operator would (SIGTERM: each drains what it holds), cities first.
fn stop(nodes: &mut [Node]) {
    for n in nodes.iter_mut().rev() {
        let pid = n.child.id().to_string();
        let termed = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .is_ok_and(|s| s.success());
        if !termed {
            let _ = n.child.kill();
        }
    }
    for n in nodes.iter_mut() {
        let _ = n.child.wait();
    }
}
