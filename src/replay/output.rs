//! How `onewall replay` prints: hits as a table, JSON lines or CSV on standard output;
//! progress (on a terminal only) and the summary on standard error.

use std::io::Write;

use onewall_model::Event;
use serde_json::json;

use super::hunt::{Hit, Location, Sink, Summary};

/// How hits are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    /// An aligned table, one hit per row.
    Table,
    /// One JSON object per hit: the alert, the event, and where it was read.
    Json,
    /// One CSV row per hit, after a header row.
    Csv,
}

/// Prints hits to `out`; progress to standard error when `progress` is set.
pub struct Printer<W: Write> {
    out: W,
    output: Output,
    progress: bool,
    started: bool,
}

impl<W: Write> std::fmt::Debug for Printer<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Printer({:?})", self.output)
    }
}

impl<W: Write> Printer<W> {
    pub fn new(out: W, output: Output, progress: bool) -> Self {
        Printer {
            out,
            output,
            progress,
            started: false,
        }
    }

    fn header(&mut self) -> std::io::Result<()> {
        if self.started {
            return Ok(());
        }
        self.started = true;
        match self.output {
            Output::Table => writeln!(
                self.out,
                "{:<24} {:<13} {:<44} {:<20} WHERE",
                "TIME", "LEVEL", "RULE", "HOST"
            ),
            Output::Csv => writeln!(
                self.out,
                "time,level,rule_id,rule_title,host,file,line,record"
            ),
            Output::Json => Ok(()),
        }
    }

    /// Flush the hits and clear the progress line.
    pub fn finish(&mut self) -> std::io::Result<()> {
        self.header()?;
        self.out.flush()?;
        if self.progress {
            eprint!("\r\x1b[K");
        }
        Ok(())
    }
}

impl<W: Write> Sink for Printer<W> {
    fn hit(&mut self, hit: &Hit, input_name: &str) -> std::io::Result<()> {
        self.header()?;
        let (line, record) = match hit.location {
            Some(Location::Line(l)) => (Some(l), None),
            Some(Location::Record(r)) => (None, Some(r)),
            None => (None, None),
        };
        let time = hit
            .event
            .as_ref()
            .map_or(hit.alert.time, |e| e.time)
            .to_rfc3339();
        let host = hit.event.as_ref().map_or_else(|| "-".to_owned(), host_of);
        match self.output {
            Output::Json => {
                let mut v = json!({
                    "file": input_name,
                    "alert": hit.alert,
                    "event": hit.event,
                });
                if let Some(l) = line {
                    v["line"] = json!(l);
                }
                if let Some(r) = record {
                    v["record"] = json!(r);
                }
                writeln!(self.out, "{v}")
            }
            Output::Csv => {
                let cells = [
                    time,
                    hit.alert.severity.as_str().to_owned(),
                    hit.alert.rule.id.clone(),
                    hit.alert.rule.title.clone(),
                    host,
                    input_name.to_owned(),
                    line.map(|l| l.to_string()).unwrap_or_default(),
                    record.map(|r| r.to_string()).unwrap_or_default(),
                ];
                let row: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
                writeln!(self.out, "{}", row.join(","))
            }
            Output::Table => {
                let place = match (line, record) {
                    (Some(l), _) => format!("{input_name}:{l}"),
                    (_, Some(r)) => format!("{input_name}#{r}"),
                    _ => input_name.to_owned(),
                };
                writeln!(
                    self.out,
                    "{:<24} {:<13} {:<44} {:<20} {place}",
                    time.chars().take(24).collect::<String>(),
                    hit.alert.severity.as_str(),
                    truncate(&hit.alert.rule.title, 44),
                    truncate(&host, 20),
                )
            }
        }
    }

    fn progress(&mut self, s: &Summary) {
        if self.progress {
            eprint!(
                "\r\x1b[K{} events, {} hits, {}/{} files, {:.0} events/s",
                s.events,
                s.hits,
                s.kinds.len() + s.unreadable.len(),
                s.files,
                s.events as f64 / s.elapsed_secs.max(1e-9)
            );
        }
    }
}

/// The host an event names: `host.name`, else the Windows `Computer`.
fn host_of(e: &Event) -> String {
    e.get("host.name")
        .or_else(|| e.get("Event.System.Computer"))
        .map_or_else(|| "-".to_owned(), |v| v.to_string())
}

/// A CSV cell (RFC 4180): quoted when it holds a comma, a quote or a line break.
fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
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

/// The summary, as lines of text.
pub fn summary_text(s: &Summary) -> String {
    let mut kinds: std::collections::BTreeMap<&str, usize> = Default::default();
    for (_, k) in &s.kinds {
        *kinds.entry(k.as_str()).or_default() += 1;
    }
    let kinds: Vec<String> = kinds.iter().map(|(k, n)| format!("{k} {n}")).collect();
    let mut out = format!(
        "replay: {} file(s) ({}), {} events, {} parse error(s), {} hit(s) in {:.2} s ({:.0} events/s)\n",
        s.files,
        kinds.join(", "),
        s.events,
        s.parse_errors,
        s.hits,
        s.elapsed_secs,
        s.events_per_sec
    );
    if !s.by_level.is_empty() {
        let levels: Vec<String> = s.by_level.iter().map(|(l, n)| format!("{l} {n}")).collect();
        out.push_str(&format!("hits by level: {}\n", levels.join(", ")));
        out.push_str("hits by rule:\n");
        let mut rules: Vec<_> = s.by_rule.iter().collect();
        rules.sort_by(|a, b| b.1.2.cmp(&a.1.2).then(a.0.cmp(b.0)));
        for (id, (title, level, n)) in rules {
            out.push_str(&format!("{n:>8}  {level:<13} {id}  {title}\n"));
        }
    }
    if !s.errors.is_empty() {
        out.push_str("parse errors (the first ones):\n");
        for e in &s.errors {
            out.push_str(&format!("  {e}\n"));
        }
    }
    for (name, why) in &s.unreadable {
        out.push_str(&format!("cannot read {name}: {why}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_only_when_needed() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
