//! The features the Python baselines score: the same numbers onewall's detectors are built on,
//! one row per bucket or per event, per detector kind.
//!
//! - `volume`: flow events per host per hour, every hour (zeros included);
//! - `outlier`: `destination.bytes` summed per database user per hour, hours with a query;
//! - `first_seen`: per successful logon, how often the user logged on from that /24 before;
//! - `rare`: per successful logon, the share of the user's earlier logons made to that host;
//! - `time_of_day`: per successful logon, the local hour (with minutes).

use std::collections::HashMap;
use std::fmt::Write as _;

use onewall_model::AnomalyKind;

use super::month::{Day, Month, Record, START, UTC_OFFSET};

/// One row: a bucket (`start`..`t`) or an event (`start == t`).
#[derive(Debug, Clone)]
pub struct Row {
    pub kind: AnomalyKind,
    pub entity: String,
    /// When an alarm on this row would be raised: the bucket's end, or the event's time.
    pub t: i64,
    pub x: f64,
    pub hour: u8,
    pub working: bool,
}

/// Builds rows day by day.
#[derive(Debug, Default)]
pub struct Features {
    pub rows: Vec<Row>,
    nets: HashMap<(usize, [u8; 3]), u32>,
    hosts: HashMap<(usize, usize), u32>,
    logons: HashMap<usize, u32>,
}

impl Features {
    /// Add the rows of `day`, whose records are `recs` (in time order).
    pub fn add_day(&mut self, month: &Month, day: i64, recs: &[Record]) {
        let working = Day::of(day).working();
        let mut flows = vec![[0u32; 24]; month.hosts.len()];
        let mut bytes: HashMap<(usize, usize), f64> = HashMap::new();
        for rec in recs {
            let hour = (((rec.time() + UTC_OFFSET).rem_euclid(86_400)) / 3600) as usize;
            match *rec {
                Record::Flow { host, .. } => flows[host][hour] += 1,
                Record::Query { user, bytes: b, .. } => {
                    *bytes.entry((user, hour)).or_default() += b as f64;
                }
                Record::Logon {
                    t,
                    user,
                    host,
                    ip,
                    ok: true,
                } => self.logon(month, t, user, host, ip, working),
                Record::Logon { .. } => {}
            }
        }
        let day_start = START + day * 86_400;
        for (h, counts) in flows.iter().enumerate() {
            for (hour, n) in counts.iter().enumerate() {
                self.rows.push(Row {
                    kind: AnomalyKind::Volume,
                    entity: month.hosts[h].name.clone(),
                    t: day_start + (hour as i64 + 1) * 3600,
                    x: f64::from(*n),
                    hour: hour as u8,
                    working,
                });
            }
        }
        let mut sums: Vec<_> = bytes.into_iter().collect();
        sums.sort_by_key(|((u, h), _)| (*h, *u));
        for ((user, hour), sum) in sums {
            self.rows.push(Row {
                kind: AnomalyKind::Outlier,
                entity: month.users[user].name.clone(),
                t: day_start + (hour as i64 + 1) * 3600,
                x: sum,
                hour: hour as u8,
                working,
            });
        }
    }

    fn logon(&mut self, month: &Month, t: i64, user: usize, host: usize, ip: [u8; 4], w: bool) {
        let local = (t + UTC_OFFSET).rem_euclid(86_400);
        let hour = (local / 3600) as u8;
        let entity = &month.users[user].name;
        let net = self.nets.entry((user, [ip[0], ip[1], ip[2]])).or_default();
        let seen_net = f64::from(*net);
        *net += 1;
        let total = self.logons.entry(user).or_default();
        let on_host = self.hosts.entry((user, host)).or_default();
        let share = if *total == 0 {
            0.0
        } else {
            f64::from(*on_host) / f64::from(*total)
        };
        *on_host += 1;
        *total += 1;
        let row = |kind, x| Row {
            kind,
            entity: entity.clone(),
            t,
            x,
            hour,
            working: w,
        };
        self.rows.push(row(AnomalyKind::FirstSeen, seen_net));
        self.rows.push(row(AnomalyKind::Rare, share));
        self.rows
            .push(row(AnomalyKind::TimeOfDay, local as f64 / 3600.0));
    }
}

/// Put rows in the order `baselines.py` reads them: by kind, then time (stable).
pub fn sort(rows: &mut [Row]) {
    rows.sort_by_key(|r| (r.kind, r.t));
}

/// The rows of both months (each [`sort`]ed) as CSV for `baselines.py`:
/// `kind,month,entity,t,x,hour,working`; its scores come back in the same order.
pub fn csv(months: &[(&str, &[Row])]) -> String {
    let mut out = String::from("kind,month,entity,t,x,hour,working\n");
    for (name, rows) in months {
        for r in rows.iter() {
            let _ = writeln!(
                out,
                "{},{name},{},{},{},{},{}",
                r.kind.as_str(),
                r.entity,
                r.t,
                r.x,
                r.hour,
                u8::from(r.working)
            );
        }
    }
    out
}
