//! The evaluation's table: per detector kind, onewall's precision, recall and false alarms,
//! and each baseline's at the threshold that gives it onewall's recall; then recall per
//! injection kind; then where onewall is not better.

use std::fmt::Write as _;

use onewall_model::AnomalyKind;

use super::features::Row;
use super::month::{InjKind, Injection};
use super::score::{self, Alarm, KindScore};

/// Per row, (HalfSpaceTrees, robust z) scores, for the injected and the clean month.
pub type MonthScores = (Vec<(f64, f64)>, Vec<(f64, f64)>);

pub struct Input<'a> {
    pub injections: &'a [Injection],
    /// onewall's alarms on the injected and the clean month.
    pub onewall: (&'a [Alarm], &'a [Alarm]),
    /// The feature rows of the injected and the clean month.
    pub rows: (&'a [Row], &'a [Row]),
    /// Per row, (HalfSpaceTrees, robust z) scores, per month; or why there are none.
    pub baselines: Result<&'a MonthScores, &'a String>,
}

/// One method's figures on one kind.
struct Figures {
    score: KindScore,
    false_alarms: f64,
    threshold: Option<f64>,
}

const BASELINES: [&str; 2] = ["HalfSpaceTrees", "robust z"];

pub fn render(input: &Input<'_>) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\nP = precision, R = recall on the injected month; FA = alarms per day per 1,000 \
         entities on the month without injections (16 days after learning).\nBaselines at \
         the threshold that gives them onewall's recall (or the next reachable above it).\n"
    );
    let _ = writeln!(
        out,
        "{:<12} {:>4} | {:^22} | {:^22} | {:^22}",
        "kind", "inj", "onewall P / R / FA", "HalfSpaceTrees P/R/FA", "robust z P / R / FA"
    );
    let mut verdicts = Vec::new();
    let mut per_kind = Vec::new();
    for kind in AnomalyKind::ALL {
        let ow = Figures {
            score: score::score(kind, input.onewall.0, input.injections),
            false_alarms: score::false_alarm_rate(kind, input.onewall.1),
            threshold: None,
        };
        let base: Vec<Option<Figures>> = (0..2)
            .map(|b| baseline(input, kind, b, ow.score.recall()))
            .collect();
        let _ = write!(
            out,
            "{:<12} {:>4} | {}",
            kind.as_str(),
            ow.score.injections,
            cell(&ow)
        );
        for (b, f) in base.iter().enumerate() {
            let _ = write!(out, " | {}", f.as_ref().map_or_else(|| "—".into(), cell));
            if let Some(f) = f {
                verdicts.push(verdict(kind, BASELINES[b], &ow, f));
            }
        }
        out.push('\n');
        per_kind.push((kind, ow, base));
    }
    if let Err(why) = input.baselines {
        let _ = writeln!(out, "\nbaselines not run: {why}");
    }
    let _ = writeln!(
        out,
        "\nrecall per injection kind (onewall / HalfSpaceTrees / robust z):"
    );
    for inj in InjKind::ALL {
        let n = input.injections.iter().filter(|i| i.kind == inj).count();
        let (_, ow, base) = per_kind
            .iter()
            .find(|(k, ..)| *k == inj.detector_kind())
            .expect("every kind is scored");
        let rec = |s: &KindScore| format!("{}/{n}", s.found.get(&inj).copied().unwrap_or(0));
        let b: Vec<String> = base
            .iter()
            .map(|f| f.as_ref().map_or_else(|| "—".into(), |f| rec(&f.score)))
            .collect();
        let _ = writeln!(
            out,
            "  {:<15} {} / {}",
            inj.name(),
            rec(&ow.score),
            b.join(" / ")
        );
    }
    let _ = writeln!(out, "\nverdicts (precision at equal recall):");
    for v in verdicts {
        let _ = writeln!(out, "  {v}");
    }
    out
}

fn baseline(input: &Input<'_>, kind: AnomalyKind, b: usize, recall: f64) -> Option<Figures> {
    let scores = input.baselines.as_ref().ok()?;
    let pick = |v: &[(f64, f64)]| -> Vec<f64> {
        v.iter().map(|s| if b == 0 { s.0 } else { s.1 }).collect()
    };
    let (with, without) = (pick(&scores.0), pick(&scores.1));
    if recall <= 0.0 {
        return None;
    }
    let t = score::threshold_for_recall(kind, input.rows.0, &with, input.injections, recall)?;
    let alarms = score::baseline_alarms(kind, input.rows.0, &with, t);
    let clean = score::baseline_alarms(kind, input.rows.1, &without, t);
    Some(Figures {
        score: score::score(kind, &alarms, input.injections),
        false_alarms: score::false_alarm_rate(kind, &clean),
        threshold: Some(t),
    })
}

fn pct(p: Option<f64>) -> String {
    p.map_or_else(|| "—".into(), |p| format!("{:.0}%", p * 100.0))
}

fn cell(f: &Figures) -> String {
    format!(
        "{:>5} / {:>4} / {:>6.2}",
        pct(f.score.precision()),
        pct(Some(f.score.recall())),
        f.false_alarms
    )
}

fn verdict(kind: AnomalyKind, name: &str, ow: &Figures, b: &Figures) -> String {
    let (p, q) = (
        ow.score.precision().unwrap_or(0.0),
        b.score.precision().unwrap_or(0.0),
    );
    let t = b
        .threshold
        .map_or_else(String::new, |t| format!(", threshold {t:.4}"));
    if p > q {
        format!(
            "{}: onewall better than {name} ({} vs {} at recall {} vs {}{t})",
            kind.as_str(),
            pct(Some(p)),
            pct(Some(q)),
            pct(Some(ow.score.recall())),
            pct(Some(b.score.recall()))
        )
    } else {
        format!(
            "{}: onewall NOT better than {name} ({} vs {} at recall {} vs {}{t})",
            kind.as_str(),
            pct(Some(p)),
            pct(Some(q)),
            pct(Some(ow.score.recall())),
            pct(Some(b.score.recall()))
        )
    }
}

/// For tuning: per kind, the injections onewall missed and a sample of its false alarms.
pub fn misses(input: &Input<'_>) -> String {
    let mut out = String::new();
    let local = |t: i64| {
        let l = t - super::month::START;
        format!(
            "day {} {:02}:{:02}",
            l / 86_400,
            (l % 86_400) / 3600,
            (l % 3600) / 60
        )
    };
    for kind in AnomalyKind::ALL {
        let _ = writeln!(out, "\n== {}: missed", kind.as_str());
        for inj in input
            .injections
            .iter()
            .filter(|i| i.kind.detector_kind() == kind)
        {
            if !input.onewall.0.iter().any(|a| score::matches(a, inj)) {
                let _ = writeln!(
                    out,
                    "  {:?} {} {} at {}",
                    inj.kind,
                    inj.entity,
                    inj.value,
                    local(inj.start)
                );
            }
        }
        let _ = writeln!(out, "== {}: false alarms (sample)", kind.as_str());
        let fps =
            input.onewall.0.iter().filter(|a| {
                a.kind == kind && !input.injections.iter().any(|i| score::matches(a, i))
            });
        for a in fps.take(12) {
            let _ = writeln!(out, "  {} {}: {}", local(a.time), a.entity, a.why);
        }
    }
    out
}
