//! `onewall replay`: hunt over log files offline with a rule set, printing the hits.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use onewall_ingest::{ParseContext, parse_json_object, parse_syslog, split_http_body};
use onewall_model::{Alert, Event, EventId, RegionCode, Source, Timestamp};
use onewall_rules::Engine;
use serde_json::json;

/// How hits are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    /// An aligned table, one hit per row.
    Table,
    /// One JSON object per hit: the alert, the event, and where it was read.
    Json,
}

/// What `onewall replay` was asked.
#[derive(Debug)]
pub struct Replay {
    pub files: Vec<PathBuf>,
    pub rule_dirs: Vec<PathBuf>,
    pub builtin: bool,
    pub output: Output,
    pub timezone: time::UtcOffset,
    pub region: RegionCode,
}

const CHUNK: usize = 1024;

/// Where an event was read from.
struct Origin {
    file: usize,
    line: usize,
}

pub fn run(r: Replay) -> anyhow::Result<ExitCode> {
    let builtin = r.builtin || r.rule_dirs.is_empty();
    let (engine, report) = Engine::load(builtin, &r.rule_dirs)?;
    for e in &report.errors {
        eprintln!("rule skipped: {e}");
    }
    eprintln!("rules: compiled {} of {}", report.compiled, report.total);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    if r.output == Output::Table {
        writeln!(
            out,
            "{:<24} {:<13} {:<44} {:<20} WHERE",
            "TIME", "LEVEL", "RULE", "HOST"
        )?;
    }
    let (mut events_seen, mut hits, mut parse_errors) = (0usize, 0usize, 0usize);
    for (file_no, path) in r.files.iter().enumerate() {
        let events = read_file(path, file_no, &r)?;
        for chunk in events.chunks(CHUNK) {
            let batch: Vec<Event> = chunk.iter().map(|(e, _)| e.clone()).collect();
            let origins: HashMap<EventId, (&Event, &Origin)> =
                chunk.iter().map(|(e, o)| (e.id, (e, o))).collect();
            events_seen += batch.len();
            parse_errors += batch.iter().filter(|e| e.parse_error.is_some()).count();
            let mut alerts = Vec::new();
            engine.match_batch(&batch, Timestamp::now(), &mut alerts);
            for alert in &alerts {
                let Some((event, origin)) = alert.event_ids.first().and_then(|id| origins.get(id))
                else {
                    continue;
                };
                hits += 1;
                print_hit(
                    &mut out,
                    r.output,
                    alert,
                    event,
                    &r.files[origin.file],
                    origin.line,
                )?;
            }
        }
    }
    out.flush()?;
    eprintln!(
        "{events_seen} events from {} file(s), {parse_errors} kept raw with a parse error, {hits} hit(s)",
        r.files.len()
    );
    Ok(ExitCode::SUCCESS)
}

fn read_file(path: &Path, file_no: usize, r: &Replay) -> anyhow::Result<Vec<(Event, Origin)>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let source = Source::new("replay", None);
    let ctx = |received| {
        let mut c = ParseContext::new(received, r.region, source.clone());
        c.timezone = r.timezone;
        c
    };
    let now = Timestamp::now();
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        let records =
            split_http_body(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        return Ok(records
            .into_iter()
            .enumerate()
            .map(|(i, (raw, obj))| {
                (
                    parse_json_object(&obj, &raw, &ctx(now)),
                    Origin {
                        file: file_no,
                        line: i + 1,
                    },
                )
            })
            .collect());
    }
    let mut out = Vec::new();
    for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let event = if line.first() == Some(&b'{') {
            match serde_json::from_slice::<serde_json::Value>(line) {
                Ok(serde_json::Value::Object(obj)) => parse_json_object(&obj, line, &ctx(now)),
                _ => parse_syslog(line, &ctx(now)),
            }
        } else {
            parse_syslog(line, &ctx(now))
        };
        out.push((
            event,
            Origin {
                file: file_no,
                line: i + 1,
            },
        ));
    }
    Ok(out)
}

fn print_hit(
    out: &mut impl Write,
    output: Output,
    alert: &Alert,
    event: &Event,
    file: &Path,
    line: usize,
) -> anyhow::Result<()> {
    match output {
        Output::Json => {
            let hit = json!({
                "file": file.display().to_string(),
                "line": line,
                "alert": alert,
                "event": event,
            });
            writeln!(out, "{hit}")?;
        }
        Output::Table => {
            let host = event
                .get("host.name")
                .map(|v| v.to_string())
                .unwrap_or_else(|| "-".into());
            writeln!(
                out,
                "{:<24} {:<13} {:<44} {:<20} {}:{}",
                event.time.to_rfc3339().chars().take(24).collect::<String>(),
                alert.severity.as_str(),
                truncate(&alert.rule.title, 44),
                truncate(&host, 20),
                file.display(),
                line
            )?;
        }
    }
    Ok(())
}

fn truncate(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(width.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}
