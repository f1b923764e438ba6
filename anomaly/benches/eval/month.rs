//! The evaluation's generator: a month of traffic for 1,000 users and 200 hosts, with
//! injected anomalies and their labels. Deterministic for a seed (SplitMix64, no dependency);
//! the month without injections is the same traffic with the injections left out, so its
//! alerts are the false alarms.
//!
//! The month is 2026-09-14 … 2026-10-13 on China's clock (UTC+8): it holds the Mid-Autumn
//! holiday (Friday 09-25 … Sunday 09-27), the National Day holiday (10-01 … 10-07) and its two
//! make-up working days (Sunday 09-20, Saturday 10-10), as the State Council published them.
//! The first 14 days are the detectors' learning period; injections fall after it.
//!
//! Three streams, shaped as the node's parsed events:
//! - logons (`event.action: logon`): each user logs on 4 times a working day on average,
//!   inside their own hours, to one of their 1–3 usual hosts, from their office /24 (some
//!   also from a VPN /24); 5% fail; noise: 1% go to another host, 0.3% come from another
//!   internal /24, a few users work some weekends, 5% of users work nights every day;
//! - flows (`event.action: flow`) per host: a rate drawn per host (log-normal), a working-
//!   hour rhythm (full 09–18 on working days, half around it, a per-host night floor), a day
//!   multiplier, Poisson counts; a few usual destination ports, 0.2% to a random port;
//! - database queries (`event.action: db_query`) by 300 of the users: Poisson per hour in
//!   their working hours, `destination.bytes` log-normal per user.

use onewall_model::{AnomalyKind, Event, RegionCode, Source, Timestamp};

/// 2026-09-14 00:00 on China's clock.
pub const START: i64 = 1_789_315_200;
pub const DAYS: i64 = 30;
pub const LEARNING_DAYS: i64 = 14;
pub const UTC_OFFSET: i64 = 8 * 3600;
pub const USERS: usize = 1000;
pub const HOSTS: usize = 200;
pub const DB_USERS: usize = 300;
pub const DEFAULT_SEED: u64 = 20_260_914;

/// SplitMix64: small, fast, good enough for traffic.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for one `(stream, a, b)` of `seed`: the same numbers whatever else is drawn.
    pub fn keyed(seed: u64, stream: u64, a: u64, b: u64) -> Rng {
        let mut r = Rng(seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        r.0 ^= r.next_u64() ^ a.wrapping_mul(0xBF58_476D_1CE4_E5B9);
        r.0 ^= r.next_u64() ^ b.wrapping_mul(0x94D0_49BB_1331_11EB);
        r
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.f64() < p
    }

    pub fn normal(&mut self) -> f64 {
        let u = self.f64().max(1e-12);
        let v = self.f64();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }

    pub fn lognormal(&mut self, mu: f64, sigma: f64) -> f64 {
        (mu + sigma * self.normal()).exp()
    }

    pub fn poisson(&mut self, lambda: f64) -> u64 {
        if lambda <= 0.0 {
            return 0;
        }
        if lambda > 40.0 {
            return (lambda + lambda.sqrt() * self.normal()).round().max(0.0) as u64;
        }
        let l = (-lambda).exp();
        let (mut k, mut p) = (0u64, 1.0);
        loop {
            p *= self.f64();
            if p <= l {
                return k;
            }
            k += 1;
        }
    }
}

/// How a day of the month is worked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Day {
    Workday,
    Weekend,
    Holiday,
    MakeUp,
}

impl Day {
    pub fn of(day: i64) -> Day {
        // Day 0 is Monday 09-14; 09-25 is day 11, 10-01 day 17; 09-20 (Sun) and 10-10 (Sat)
        // are worked.
        match day {
            11..=13 | 17..=23 => Day::Holiday,
            6 | 26 => Day::MakeUp,
            d if d.rem_euclid(7) >= 5 => Day::Weekend,
            _ => Day::Workday,
        }
    }

    pub fn working(self) -> bool {
        matches!(self, Day::Workday | Day::MakeUp)
    }
}

#[derive(Debug, Clone)]
pub struct User {
    pub name: String,
    pub office: [u8; 3],
    pub vpn: Option<[u8; 3]>,
    /// First and last working hour (local); a night worker's `start > end` wraps midnight.
    pub start: u8,
    pub end: u8,
    pub night: bool,
    pub hosts: Vec<usize>,
    pub logons_per_day: f64,
    /// Logons on a day off (most users: none).
    pub off_day_logons: f64,
    /// Database queries per working hour and the log-mean of their bytes (db users).
    pub db: Option<(f64, f64)>,
}

#[derive(Debug, Clone)]
pub struct Host {
    pub name: String,
    pub ip: [u8; 4],
    /// Flow events per hour at the working-day peak.
    pub rate: f64,
    pub night_floor: f64,
    pub ports: Vec<u16>,
}

/// What an injection is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum InjKind {
    Spike,
    Drop,
    Silence,
    FirstSeen,
    Rare,
    Outlier,
    TimeOfDay,
}

impl InjKind {
    pub const ALL: [InjKind; 7] = [
        InjKind::Spike,
        InjKind::Drop,
        InjKind::Silence,
        InjKind::FirstSeen,
        InjKind::Rare,
        InjKind::Outlier,
        InjKind::TimeOfDay,
    ];

    pub fn detector_kind(self) -> AnomalyKind {
        match self {
            InjKind::Spike | InjKind::Drop | InjKind::Silence => AnomalyKind::Volume,
            InjKind::FirstSeen => AnomalyKind::FirstSeen,
            InjKind::Rare => AnomalyKind::Rare,
            InjKind::Outlier => AnomalyKind::Outlier,
            InjKind::TimeOfDay => AnomalyKind::TimeOfDay,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            InjKind::Spike => "volume spike",
            InjKind::Drop => "volume drop",
            InjKind::Silence => "volume silence",
            InjKind::FirstSeen => "first_seen",
            InjKind::Rare => "rare",
            InjKind::Outlier => "outlier",
            InjKind::TimeOfDay => "time_of_day",
        }
    }

    /// How many the month holds.
    fn count(self) -> usize {
        match self {
            InjKind::Spike => 20,
            InjKind::Drop | InjKind::Silence => 15,
            InjKind::FirstSeen => 30,
            InjKind::Rare => 20,
            InjKind::Outlier | InjKind::TimeOfDay => 25,
        }
    }
}

/// One injected anomaly: its label.
#[derive(Debug, Clone, PartialEq)]
pub struct Injection {
    pub kind: InjKind,
    /// The user or host name.
    pub entity: String,
    /// What was injected: the new network, the rare host, the factor, the hour.
    pub value: String,
    /// The window, seconds since the epoch: `[start, end)`.
    pub start: i64,
    pub end: i64,
    /// Rare: the one earlier visit (learning period) that makes the value rare, not new.
    pub prelude: Option<i64>,
    entity_index: usize,
    extra: u32,
}

/// One generated record, before it becomes an [`Event`].
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    Logon {
        t: i64,
        user: usize,
        host: usize,
        ip: [u8; 4],
        ok: bool,
    },
    Flow {
        t: i64,
        host: usize,
        port: u16,
        bytes: u64,
    },
    Query {
        t: i64,
        user: usize,
        bytes: u64,
    },
}

impl Record {
    pub fn time(&self) -> i64 {
        match self {
            Record::Logon { t, .. } | Record::Flow { t, .. } | Record::Query { t, .. } => *t,
        }
    }
}

/// The month: its entities, its injections (none for the clean month), and the seed.
#[derive(Debug, Clone)]
pub struct Month {
    pub seed: u64,
    pub users: Vec<User>,
    pub hosts: Vec<Host>,
    pub injections: Vec<Injection>,
}

const PORTS: [u16; 12] = [443, 80, 53, 22, 3306, 5432, 8080, 8443, 123, 389, 445, 6379];

impl Month {
    /// The month for `seed`, with its injections when `inject`.
    pub fn new(seed: u64, inject: bool) -> Month {
        let mut r = Rng::keyed(seed, 1, 0, 0);
        let hosts: Vec<Host> = (0..HOSTS).map(|i| make_host(&mut r, i)).collect();
        let users: Vec<User> = (0..USERS).map(|i| make_user(&mut r, i)).collect();
        let mut month = Month {
            seed,
            users,
            hosts,
            injections: Vec::new(),
        };
        if inject {
            month.injections = make_injections(&month, seed);
        }
        month
    }

    /// Every record of day `day` (0–29), in time order.
    pub fn day(&self, day: i64) -> Vec<Record> {
        let kind = Day::of(day);
        let mut out = Vec::new();
        for (i, h) in self.hosts.iter().enumerate() {
            self.host_day(i, h, day, kind, &mut out);
        }
        for (i, u) in self.users.iter().enumerate() {
            self.user_day(i, u, day, kind, &mut out);
        }
        for inj in &self.injections {
            inject_records(self, inj, day, &mut out);
        }
        out.retain(|rec| !self.removed(rec));
        for rec in &mut out {
            self.amplify(rec);
        }
        out.sort_by_key(Record::time);
        out
    }

    fn host_day(&self, i: usize, h: &Host, day: i64, kind: Day, out: &mut Vec<Record>) {
        let mut r = Rng::keyed(self.seed, 2, i as u64, day as u64);
        let day_factor = r.lognormal(0.0, 0.15);
        for hour in 0..24u8 {
            let shape = hour_shape(hour, kind).max(h.night_floor);
            let n = r.poisson(h.rate * shape * day_factor);
            for _ in 0..n {
                let t = START + day * 86_400 + i64::from(hour) * 3600 + r.below(3600) as i64;
                let port = if r.chance(0.002) {
                    1024 + r.below(64_000) as u16
                } else {
                    h.ports[(r.f64() * r.f64() * h.ports.len() as f64) as usize]
                };
                let bytes = r.lognormal(8.0, 1.2) as u64;
                out.push(Record::Flow {
                    t,
                    host: i,
                    port,
                    bytes,
                });
            }
        }
    }

    fn user_day(&self, i: usize, u: &User, day: i64, kind: Day, out: &mut Vec<Record>) {
        let mut r = Rng::keyed(self.seed, 3, i as u64, day as u64);
        let working = kind.working() || u.night;
        let n = r.poisson(if working {
            u.logons_per_day
        } else {
            u.off_day_logons
        });
        for _ in 0..n {
            let hour = if working {
                work_hour(&mut r, u)
            } else {
                10 + r.below(9) as u8
            };
            let t = START + day * 86_400 + i64::from(hour) * 3600 + r.below(3600) as i64;
            let host = if r.chance(0.01) {
                r.below(HOSTS as u64) as usize
            } else {
                u.hosts[r.below(u.hosts.len() as u64) as usize]
            };
            let net = if r.chance(0.003) {
                [10, 100 + r.below(50) as u8, r.below(256) as u8]
            } else {
                match u.vpn {
                    Some(v) if r.chance(0.1) => v,
                    _ => u.office,
                }
            };
            let ip = [net[0], net[1], net[2], 2 + r.below(250) as u8];
            let ok = !r.chance(0.05);
            out.push(Record::Logon {
                t,
                user: i,
                host,
                ip,
                ok,
            });
        }
        if let Some((per_hour, mu)) = u.db.filter(|_| working) {
            for hour in 0..24u8 {
                if !in_hours(u, hour) {
                    continue;
                }
                for _ in 0..r.poisson(per_hour) {
                    let t = START + day * 86_400 + i64::from(hour) * 3600 + r.below(3600) as i64;
                    let bytes = r.lognormal(mu, 0.8) as u64;
                    out.push(Record::Query { t, user: i, bytes });
                }
            }
        }
    }

    /// Whether an injection (drop, silence) takes `rec` away, or (outlier) it is replaced.
    fn removed(&self, rec: &Record) -> bool {
        let Record::Flow { t, host, .. } = rec else {
            return false;
        };
        self.injections.iter().any(|inj| {
            inj.entity_index == *host
                && (inj.start..inj.end).contains(t)
                && match inj.kind {
                    InjKind::Silence => true,
                    // Keep one event in ten (decided by the time, so it is deterministic).
                    InjKind::Drop => t % 10 != 0,
                    _ => false,
                }
        })
    }
}

fn make_host(r: &mut Rng, i: usize) -> Host {
    let mut ports: Vec<u16> = Vec::new();
    let n = 2 + r.below(5) as usize;
    while ports.len() < n {
        let p = PORTS[r.below(PORTS.len() as u64) as usize];
        if !ports.contains(&p) {
            ports.push(p);
        }
    }
    Host {
        name: format!("srv-{i:03}"),
        ip: [10, 1, (i / 250) as u8, (i % 250) as u8 + 1],
        rate: r.lognormal(3.4, 0.6).clamp(5.0, 150.0),
        night_floor: 0.1 + 0.3 * r.f64(),
        ports,
    }
}

fn make_user(r: &mut Rng, i: usize) -> User {
    let night = r.chance(0.05);
    let (start, end) = if night {
        (20 + r.below(2) as u8, 5 + r.below(2) as u8)
    } else {
        (7 + r.below(3) as u8, 16 + r.below(4) as u8)
    };
    let dept = (i / 40) as u8;
    let hosts: Vec<usize> = (0..1 + r.below(3))
        .map(|_| r.below(HOSTS as u64) as usize)
        .collect();
    User {
        name: format!("user{i:04}"),
        office: [10, 20 + dept, r.below(4) as u8],
        vpn: r.chance(0.3).then(|| [10, 90, r.below(8) as u8]),
        start,
        end,
        night,
        hosts,
        logons_per_day: r.lognormal(1.2, 0.4).clamp(1.0, 12.0),
        off_day_logons: if r.chance(0.1) { 0.5 } else { 0.0 },
        db: (i < DB_USERS).then(|| (r.lognormal(1.0, 0.5), 9.0 + 2.0 * r.f64())),
    }
}

/// The share of a host's peak rate at `hour` on a day of `kind`.
fn hour_shape(hour: u8, kind: Day) -> f64 {
    match (kind.working(), hour) {
        (true, 9..=17) => 1.0,
        (true, 7..=8 | 18..=20) => 0.5,
        (false, 9..=20) => 0.25,
        _ => 0.0,
    }
}

fn in_hours(u: &User, hour: u8) -> bool {
    if u.start <= u.end {
        (u.start..=u.end).contains(&hour)
    } else {
        hour >= u.start || hour <= u.end
    }
}

fn work_hour(r: &mut Rng, u: &User) -> u8 {
    let span = if u.start <= u.end {
        u.end - u.start + 1
    } else {
        24 - u.start + u.end + 1
    };
    (u.start + r.below(u64::from(span)) as u8) % 24
}

/// Working days after the learning period (days counted from 09-14).
const WORKING_AFTER_LEARNING: [i64; 8] = [14, 15, 16, 24, 25, 26, 28, 29];

/// The month's injections: `count` of each kind, each on its own entity, after learning.
pub fn make_injections(month: &Month, seed: u64) -> Vec<Injection> {
    let mut r = Rng::keyed(seed, 4, 0, 0);
    let mut used_hosts = std::collections::HashSet::new();
    let mut used_users = std::collections::HashSet::new();
    let mut out = Vec::new();
    for kind in InjKind::ALL {
        for n in 0..kind.count() {
            let volume = kind.detector_kind() == AnomalyKind::Volume;
            let entity = loop {
                let (pool, used) = if volume {
                    (HOSTS, &mut used_hosts)
                } else if kind == InjKind::Outlier {
                    (DB_USERS, &mut used_users)
                } else {
                    (USERS, &mut used_users)
                };
                let e = r.below(pool as u64) as usize;
                if (volume || !month.users[e].night) && used.insert(e) {
                    break e;
                }
            };
            out.push(injection(month, &mut r, kind, entity, n));
        }
    }
    out
}

fn injection(month: &Month, r: &mut Rng, kind: InjKind, e: usize, n: usize) -> Injection {
    let working_day = WORKING_AFTER_LEARNING[r.below(8) as usize];
    let day_start = START + working_day * 86_400;
    let at = |hour: u8| day_start + i64::from(hour) * 3600;
    let (start, hours, value, extra, prelude) = match kind {
        InjKind::Spike => {
            let day = LEARNING_DAYS + r.below((DAYS - LEARNING_DAYS) as u64) as i64;
            let hour = r.below(24) as u8;
            let h = &month.hosts[e];
            let shape = hour_shape(hour, Day::of(day)).max(h.night_floor);
            let extra = (h.rate * shape * 7.0).max(15.0) as u32;
            let start = START + day * 86_400 + i64::from(hour) * 3600;
            (start, 1, "x8".to_owned(), extra, None)
        }
        InjKind::Drop => (at(9 + r.below(6) as u8), 3, "x0.1".to_owned(), 0, None),
        InjKind::Silence => (at(9 + r.below(5) as u8), 4, "0".to_owned(), 0, None),
        InjKind::FirstSeen => {
            let hour = work_hour(r, &month.users[e]);
            (at(hour), 1, format!("198.18.{n}.0/24"), 2, None)
        }
        InjKind::Rare => {
            let u = &month.users[e];
            let host = loop {
                let h = r.below(HOSTS as u64) as usize;
                if !u.hosts.contains(&h) {
                    break h;
                }
            };
            let pre_day = [1i64, 2, 3, 4, 7, 8, 9, 10, 11][r.below(9) as usize];
            let prelude = START + pre_day * 86_400 + i64::from(work_hour(r, u)) * 3600;
            let hour = work_hour(r, u);
            (
                at(hour),
                1,
                month.hosts[host].name.clone(),
                2,
                Some(prelude),
            )
        }
        InjKind::Outlier => {
            let hour = work_hour(r, &month.users[e]);
            (at(hour), 1, "x10".to_owned(), 1, None)
        }
        InjKind::TimeOfDay => {
            let hour = 1 + r.below(3) as u8;
            (
                at(hour),
                1,
                format!("{hour:02}:00"),
                1 + r.below(2) as u32,
                None,
            )
        }
    };
    let entity = if kind.detector_kind() == AnomalyKind::Volume {
        month.hosts[e].name.clone()
    } else {
        month.users[e].name.clone()
    };
    Injection {
        kind,
        entity,
        value,
        start,
        end: start + hours * 3600,
        prelude,
        entity_index: e,
        extra,
    }
}

/// The records `inj` adds on `day`.
fn inject_records(month: &Month, inj: &Injection, day: i64, out: &mut Vec<Record>) {
    let day_of = |t: i64| (t - START).div_euclid(86_400);
    let mut r = Rng::keyed(month.seed, 5, inj.entity_index as u64, inj.start as u64);
    let e = inj.entity_index;
    let logon = |r: &mut Rng, t: i64, host: usize, net: [u8; 3]| Record::Logon {
        t,
        user: e,
        host,
        ip: [net[0], net[1], net[2], 2 + r.below(250) as u8],
        ok: true,
    };
    if let Some(p) = inj.prelude.filter(|p| day_of(*p) == day) {
        let host = host_index(month, &inj.value);
        let t = p + r.below(3600) as i64;
        out.push(logon(&mut r, t, host, month.users[e].office));
    }
    if day_of(inj.start) != day {
        return;
    }
    for _ in 0..inj.extra {
        let t = inj.start + r.below((inj.end - inj.start) as u64) as i64;
        let u = month.users.get(e);
        let rec = match inj.kind {
            InjKind::Spike => {
                let h = &month.hosts[e];
                let port = h.ports[r.below(h.ports.len() as u64) as usize];
                let bytes = r.lognormal(8.0, 1.2) as u64;
                Record::Flow {
                    t,
                    host: e,
                    port,
                    bytes,
                }
            }
            InjKind::FirstSeen => {
                let n: u8 = inj
                    .value
                    .split('.')
                    .nth(2)
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                logon(&mut r, t, u.map_or(0, |u| u.hosts[0]), [198, 18, n])
            }
            InjKind::Rare => logon(
                &mut r,
                t,
                host_index(month, &inj.value),
                month.users[e].office,
            ),
            InjKind::TimeOfDay => {
                let u = &month.users[e];
                logon(&mut r, t, u.hosts[0], u.office)
            }
            InjKind::Outlier => {
                let mu = month.users[e].db.map_or(10.0, |d| d.1);
                Record::Query {
                    t,
                    user: e,
                    bytes: r.lognormal(mu, 0.8) as u64,
                }
            }
            InjKind::Drop | InjKind::Silence => continue,
        };
        out.push(rec);
    }
}

fn host_index(month: &Month, name: &str) -> usize {
    month.hosts.iter().position(|h| h.name == name).unwrap_or(0)
}

impl Month {
    /// An outlier injection multiplies the bytes of its user's queries in its window by ten.
    fn amplify(&self, rec: &mut Record) {
        let Record::Query { t, user, bytes } = rec else {
            return;
        };
        let hit = self.injections.iter().any(|inj| {
            inj.kind == InjKind::Outlier
                && inj.entity_index == *user
                && (inj.start..inj.end).contains(t)
        });
        if hit {
            *bytes *= 10;
        }
    }
}

/// The node's event for `rec`, as a parser would have made it.
pub fn event(month: &Month, rec: &Record) -> Event {
    let t = Timestamp::from_secs(rec.time());
    let mut e = Event::new(t, RegionCode::HENAN, Source::new("eval", None), b"");
    e.time = t;
    let f = &mut e.fields;
    match rec {
        Record::Logon {
            user, host, ip, ok, ..
        } => {
            f.insert("event.category", "authentication");
            f.insert("event.action", "logon");
            f.insert("event.outcome", if *ok { "success" } else { "failure" });
            f.insert("user.name", month.users[*user].name.as_str());
            f.insert("host.name", month.hosts[*host].name.as_str());
            f.insert("source.ip", dotted(ip));
        }
        Record::Flow {
            host, port, bytes, ..
        } => {
            f.insert("event.action", "flow");
            f.insert("host.name", month.hosts[*host].name.as_str());
            f.insert("source.ip", dotted(&month.hosts[*host].ip));
            f.insert("destination.port", i64::from(*port));
            f.insert("network.bytes", *bytes as i64);
        }
        Record::Query { user, bytes, .. } => {
            f.insert("event.action", "db_query");
            f.insert("user.name", month.users[*user].name.as_str());
            f.insert("host.name", "db-01");
            f.insert("destination.bytes", *bytes as i64);
        }
    }
    e
}

pub fn dotted(ip: &[u8; 4]) -> String {
    format!("{}.{}.{}.{}", ip[0], ip[1], ip[2], ip[3])
}
