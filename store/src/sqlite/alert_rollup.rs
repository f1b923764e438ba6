//! The alerts' hourly rollup (schema version 4): `alert_hour_terms`, per field, hour, region
//! and term, the alerts carrying the term by severity (`s0` informational .. `s4` critical).
//! The fields are those of `alert_terms` (entity values, ATT&CK tactics) and [`RULE`] (the
//! alert's rule id). Every row is written twice: under the alert's region and under region 0,
//! which sums all regions, so the top values of the whole tree read one row per term and hour
//! whatever the number of regions.
//!
//! A range's whole hours are read here and its edges from the alerts' own rows (`alerts`,
//! `alert_terms`); a query limited to a rule reads those rows only (the rollup does not keep
//! the rule of a term). Written in the alerts' transaction from the alerts actually inserted;
//! retention deletes the hours before its cutoff and recounts the hour it cuts.

use onewall_model::hash::FxMap;
use onewall_model::{Alert, Timestamp};
use rusqlite::{Connection, params, params_from_iter};

use super::sql::Conditions;
use crate::Result;
use crate::stats::StatsQuery;

pub(super) const HOUR: i64 = 3600 * Timestamp::NANOS_PER_SEC;

/// The `alert_hour_terms` field of the rule id.
pub(super) const RULE: i64 = 10;

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS alert_hour_terms (
    field INTEGER NOT NULL,         -- as alert_terms, or 10: the rule id
    hour INTEGER NOT NULL,          -- alert time / 3600 s
    region INTEGER NOT NULL,        -- 0: every region
    term TEXT NOT NULL,
    s0 INTEGER NOT NULL DEFAULT 0,  -- alerts by severity
    s1 INTEGER NOT NULL DEFAULT 0,
    s2 INTEGER NOT NULL DEFAULT 0,
    s3 INTEGER NOT NULL DEFAULT 0,
    s4 INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (field, region, hour, term)
) WITHOUT ROWID;
";

/// The hour of an alert time (ns), rounded down.
pub(super) fn hour_of(t: i64) -> i64 {
    t.div_euclid(HOUR)
}

/// The hour of SQL column `col` (ns), rounded down also before the epoch.
fn hour_sql(col: &str) -> String {
    format!("(CASE WHEN {col} >= 0 THEN {col} / {HOUR} ELSE ({col} + 1) / {HOUR} - 1 END)")
}

/// What a batch of inserted alerts adds: (field, hour, region, term) → alerts by severity.
#[derive(Debug, Default)]
pub(super) struct AlertRollup {
    rows: FxMap<(i64, i64, u32, String), [i64; 5]>,
}

impl AlertRollup {
    /// Count an inserted alert with its terms (field, term) from `alert_terms`.
    pub fn add(&mut self, a: &Alert, terms: &[(i64, String)]) {
        let hour = hour_of(a.time.0);
        let sev = (a.severity as usize).min(4);
        let rule = std::iter::once((RULE, a.rule.id.as_str()));
        for (field, term) in rule.chain(terms.iter().map(|(f, t)| (*f, t.as_str()))) {
            for region in [a.region.get(), 0] {
                let row = self
                    .rows
                    .entry((field, hour, region, term.to_owned()))
                    .or_default();
                row[sev] += 1;
            }
        }
    }

    /// Add the batch to the table (inside the alerts' transaction).
    pub fn write(self, conn: &Connection) -> Result<()> {
        let mut stmt = conn.prepare_cached(
            "INSERT INTO alert_hour_terms (field, hour, region, term, s0, s1, s2, s3, s4)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT DO UPDATE SET s0 = s0 + excluded.s0, s1 = s1 + excluded.s1,
                 s2 = s2 + excluded.s2, s3 = s3 + excluded.s3, s4 = s4 + excluded.s4",
        )?;
        for ((field, hour, region, term), s) in self.rows {
            stmt.execute(params![
                field, hour, region, term, s[0], s[1], s[2], s[3], s[4]
            ])?;
        }
        Ok(())
    }
}

/// Count the hours `[lo, hi)` again from the alerts' rows (`None`: every hour): the
/// upgrade's fill, and the hour retention cuts.
pub(super) fn recount(conn: &Connection, lo: Option<i64>, hi: Option<i64>) -> Result<()> {
    let mut c = Conditions::default();
    c.range("hour", lo, hi);
    conn.execute(
        &format!("DELETE FROM alert_hour_terms {}", c.where_clause()),
        params_from_iter(c.params()),
    )?;
    let mut t = Conditions::default();
    t.range("time", lo.map(|h| h * HOUR), hi.map(|h| h * HOUR));
    let hour = hour_sql("time");
    let sevs = "sum(severity = 0), sum(severity = 1), sum(severity = 2), sum(severity = 3), \
                sum(severity = 4)";
    let source = format!(
        "SELECT field, {hour} AS hour, region, term, severity FROM alert_terms {w}
         UNION ALL SELECT {RULE}, {hour}, region, rule_id, severity FROM alerts {w}",
        w = t.where_clause()
    );
    // Each alert's own region, then region 0 (every region).
    for (region, group) in [("region", "region, "), ("0", "")] {
        let sql = format!(
            "INSERT INTO alert_hour_terms (field, hour, region, term, s0, s1, s2, s3, s4)
             SELECT field, hour, {region}, term, {sevs} FROM ({source})
             GROUP BY field, hour, {group}term"
        );
        conn.execute(&sql, params_from_iter(t.params()))?;
    }
    Ok(())
}

/// Retention: alerts before `before` are gone; their whole hours go, the hour holding
/// `before` is counted again.
pub(super) fn drop_before(conn: &Connection, before: Timestamp) -> Result<()> {
    let h = hour_of(before.0);
    conn.execute("DELETE FROM alert_hour_terms WHERE hour < ?1", [h])?;
    if before.0 != h * HOUR {
        recount(conn, Some(h), Some(h + 1))?;
    }
    Ok(())
}

/// Whole hours `[lo, hi)` and edges `[from, to)` in ns.
pub(super) type Split = ((i64, i64), Vec<(i64, i64)>);

/// How `q`'s range splits: the whole hours `[lo, hi)` the rollup answers, and the edges
/// (time ranges in ns) read from the alerts' rows. `None` when the range holds no whole hour
/// or the query names a rule.
pub(super) fn split(q: &StatsQuery) -> Option<Split> {
    if q.rule_id.is_some() {
        return None;
    }
    let lo = (q.from.0 + HOUR - 1).div_euclid(HOUR);
    let hi = q.to.0.div_euclid(HOUR);
    if lo >= hi {
        return None;
    }
    let edges = [(q.from.0, lo * HOUR), (hi * HOUR, q.to.0)]
        .into_iter()
        .filter(|(a, b)| a < b)
        .collect();
    Some(((lo, hi), edges))
}

/// The rollup's count of the query's severities: the sum of the severity columns kept.
pub(super) fn severity_sum(q: &StatsQuery) -> String {
    let from = q.min_severity.map_or(0, |s| s as usize);
    let cols: Vec<String> = (from.min(4)..5).map(|s| format!("s{s}")).collect();
    cols.join(" + ")
}

/// The rollup's conditions of `q` over hours `[lo, hi)` for `field`: the regions (region 0
/// for the whole tree), and rows with something counted.
pub(super) fn conditions(q: &StatsQuery, field: i64, hours: (i64, i64)) -> Conditions {
    let mut c = Conditions::default();
    let p = c.bind(field);
    c.push(format!("field = {p}"));
    c.range("hour", Some(hours.0), Some(hours.1));
    // Keyed by region before hour: one range of hours per region asked for.
    if !q.regions.is_empty() {
        c.regions(&q.regions);
    } else {
        c.push("region = 0".to_owned());
    }
    if q.min_severity.is_some() {
        c.push(format!("({}) > 0", severity_sum(q)));
    }
    c
}
