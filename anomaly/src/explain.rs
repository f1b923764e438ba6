//! Why a finding is anomalous, and the one sentence an alert carries to say so, in English and
//! Chinese: "user zhangsan was seen with 203.0.113.0/24 for the first time in 30 days of
//! history" / "用户 zhangsan 首次出现 203.0.113.0/24（基线 30 天）".
//!
//! The group is named in words: each common group field has a noun ("user", "source",
//! "host" / "用户", "源地址", "主机"), any other field is shown as `field=value`, and a
//! detector with one group is named by its title. Numbers are shown with thousands separators
//! ("5,710"), spans in words ("2 h", "10 min", "30 days").

use onewall_model::anomaly::GroupField;

use crate::calendar::DayKind;

/// What a kind found, with the numbers its sentence is made of.
#[derive(Debug, Clone, PartialEq)]
pub enum Reason {
    /// More in a bucket than the baseline's band allows. The bucket starts at `hour:minute`
    /// (local) on a `day` (the kind of day whose profile judged it).
    Spike {
        count: f64,
        low: f64,
        high: f64,
        bucket_secs: i64,
        hour: u8,
        minute: u8,
        day: DayKind,
    },
    /// Less in a bucket than the baseline's band allows (not nothing).
    Drop {
        count: f64,
        low: f64,
        high: f64,
        bucket_secs: i64,
        hour: u8,
        minute: u8,
        day: DayKind,
    },
    /// Nothing for `silent_secs` from a group whose baseline expects at least `expected_low`
    /// per bucket.
    Silent {
        silent_secs: i64,
        expected_low: f64,
        bucket_secs: i64,
    },
    /// A value (or tuple) the group never had in `history_secs` of history.
    FirstSeen { value: String, history_secs: i64 },
    /// A value seen `count` times in the group's `total` observations, under `threshold`
    /// (a share, 0 to 1).
    Rare {
        value: String,
        count: u64,
        total: u64,
        threshold: f64,
    },
    /// A bucket's sum (or max) of `field` outside the group's own band. The bucket starts at
    /// `hour:minute` (local); `day` is the kind of day whose profile judged it (`None`: the
    /// baseline is not seasonal).
    Outlier {
        field: String,
        value: f64,
        low: f64,
        high: f64,
        bucket_secs: i64,
        hour: u8,
        minute: u8,
        day: Option<DayKind>,
    },
    /// Activity at `hour` (local) on a `day`, outside the group's usual hours (`usual`, as
    /// shown: "08:00–19:00").
    OffHours {
        hour: u8,
        day: DayKind,
        usual: String,
    },
}

/// Who a sentence is about: the detector and the group.
#[derive(Debug, Clone, Copy)]
pub struct Who<'a> {
    /// The detector's title (used when the group says little, e.g. a detector with one group).
    pub title: &'a str,
    pub group: &'a [GroupField],
}

/// The language of a sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Zh,
}

impl Reason {
    /// The one sentence that explains this reason for `who`, in `lang`.
    pub fn sentence(&self, who: &Who<'_>, lang: Lang) -> String {
        let s = subject(who, lang);
        match lang {
            Lang::En => self.english(&s, who),
            Lang::Zh => self.chinese(&s),
        }
    }

    fn english(&self, s: &str, who: &Who<'_>) -> String {
        match self {
            Reason::Spike {
                count,
                low,
                high,
                bucket_secs,
                hour,
                minute,
                day,
            } => format!(
                "{s} {} {} events {}, against {}–{} usually {}",
                verb(who),
                fmt_num(*count),
                bucket_en(*bucket_secs, *hour, *minute),
                fmt_num(*low),
                fmt_num(*high),
                usually_en(*bucket_secs, Some(*day)),
            ),
            Reason::Drop {
                count,
                low,
                high,
                bucket_secs,
                hour,
                minute,
                day,
            } => format!(
                "{s} {} only {} events {}, against {}–{} usually {}",
                verb(who),
                fmt_num(*count),
                bucket_en(*bucket_secs, *hour, *minute),
                fmt_num(*low),
                fmt_num(*high),
                usually_en(*bucket_secs, Some(*day)),
            ),
            Reason::Silent {
                silent_secs,
                expected_low,
                bucket_secs,
            } => format!(
                "{s} went silent: nothing for {}, usually at least {} {}",
                span_en(*silent_secs),
                fmt_num(*expected_low),
                per_en(*bucket_secs),
            ),
            Reason::FirstSeen {
                value,
                history_secs,
            } => format!(
                "{s} was seen with {value} for the first time in {} of history",
                span_en(*history_secs)
            ),
            Reason::Rare {
                value,
                count,
                total,
                threshold,
            } => format!(
                "{s} was seen with the rare value {value}: {} of {} observations ({}, under {})",
                fmt_num(*count as f64),
                fmt_num(*total as f64),
                fmt_share(*count as f64 / (*total).max(1) as f64),
                fmt_share(*threshold),
            ),
            Reason::Outlier {
                field,
                value,
                low,
                high,
                bucket_secs,
                hour,
                minute,
                day,
            } => format!(
                "{s}'s {field} {} {} {}, against {}–{} usually {}",
                if value < low { "was only" } else { "reached" },
                fmt_num(*value),
                bucket_en(*bucket_secs, *hour, *minute),
                fmt_num(*low),
                fmt_num(*high),
                usually_en(*bucket_secs, *day),
            ),
            Reason::OffHours { hour, day, usual } => format!(
                "{s} was active at {:02}:00 on {}, outside their usual hours ({})",
                hour,
                day_en(*day),
                if usual.is_empty() { "none yet" } else { usual },
            ),
        }
    }

    fn chinese(&self, s: &str) -> String {
        match self {
            Reason::Spike {
                count,
                low,
                high,
                bucket_secs,
                hour,
                minute,
                day,
            } => format!(
                "{s} {}产生 {} 个事件，而{}通常为 {}–{} 个",
                bucket_zh(*bucket_secs, *hour, *minute),
                fmt_num(*count),
                usually_zh(*bucket_secs, Some(*day)),
                fmt_num(*low),
                fmt_num(*high),
            ),
            Reason::Drop {
                count,
                low,
                high,
                bucket_secs,
                hour,
                minute,
                day,
            } => format!(
                "{s} {}仅产生 {} 个事件，而{}通常为 {}–{} 个",
                bucket_zh(*bucket_secs, *hour, *minute),
                fmt_num(*count),
                usually_zh(*bucket_secs, Some(*day)),
                fmt_num(*low),
                fmt_num(*high),
            ),
            Reason::Silent {
                silent_secs,
                expected_low,
                bucket_secs,
            } => format!(
                "{s} 已静默：{}没有任何事件，通常{}至少 {} 个",
                span_zh(*silent_secs),
                per_zh(*bucket_secs),
                fmt_num(*expected_low),
            ),
            Reason::FirstSeen {
                value,
                history_secs,
            } => format!("{s} 首次出现 {value}（基线 {}）", span_zh(*history_secs)),
            Reason::Rare {
                value,
                count,
                total,
                threshold,
            } => format!(
                "{s} 出现罕见值 {value}：{} 次观测中仅 {} 次（{}，低于 {}）",
                fmt_num(*total as f64),
                fmt_num(*count as f64),
                fmt_share(*count as f64 / (*total).max(1) as f64),
                fmt_share(*threshold),
            ),
            Reason::Outlier {
                field,
                value,
                low,
                high,
                bucket_secs,
                hour,
                minute,
                day,
            } => format!(
                "{s} 的 {field} {}{} {}，而{}通常为 {}–{}",
                bucket_zh(*bucket_secs, *hour, *minute),
                if value < low { "仅为" } else { "达到" },
                fmt_num(*value),
                usually_zh(*bucket_secs, *day),
                fmt_num(*low),
                fmt_num(*high),
            ),
            Reason::OffHours { hour, day, usual } => format!(
                "{s} 在{} {:02}:00 活动，不在其通常时段（{}）内",
                day_zh(*day),
                hour,
                if usual.is_empty() { "尚无" } else { usual },
            ),
        }
    }
}

/// The group in words ("user zhangsan, host db01"), or the detector's title.
fn subject(who: &Who<'_>, lang: Lang) -> String {
    if who.group.is_empty() {
        return who.title.to_string();
    }
    let parts: Vec<String> = who
        .group
        .iter()
        .map(|g| match noun(&g.field, lang) {
            Some(n) => format!("{n} {}", g.value),
            None => format!("{}={}", g.field, g.value),
        })
        .collect();
    parts.join(if lang == Lang::En { ", " } else { "、" })
}

/// The noun for a common group field.
pub fn noun(field: &str, lang: Lang) -> Option<&'static str> {
    let (en, zh) = match field {
        "user.name" | "user.id" | "source.user.name" | "db.user" => ("user", "用户"),
        "source.ip" | "source.address" => ("source", "源地址"),
        "source.port" => ("source port", "源端口"),
        "destination.ip" | "destination.address" => ("destination", "目的地址"),
        "destination.port" => ("destination port", "目的端口"),
        "destination.domain" | "url.domain" => ("domain", "域名"),
        "host.name" | "host.hostname" | "host.ip" => ("host", "主机"),
        "observer.name" | "observer.ip" | "observer.hostname" => ("device", "设备"),
        "process.name" | "process.executable" => ("process", "进程"),
        "service.name" => ("service", "服务"),
        "source.geo.country_iso_code" => ("country", "国家"),
        "network.protocol" | "network.transport" => ("protocol", "协议"),
        _ => return None,
    };
    Some(if lang == Lang::En { en } else { zh })
}

/// Activity of a destination is received; of anything else, sent.
fn verb(who: &Who<'_>) -> &'static str {
    match who.group.first() {
        Some(g) if g.field.starts_with("destination.") => "received",
        _ => "sent",
    }
}

/// "in the hour from 14:00", "in the 10 min from 14:20", "in a day".
fn bucket_en(bucket: i64, hour: u8, minute: u8) -> String {
    if bucket >= 86_400 {
        return "in a day".into();
    }
    let span = if bucket == 3600 {
        "hour".to_string()
    } else {
        span_en(bucket)
    };
    format!("in the {span} from {hour:02}:{minute:02}")
}

fn bucket_zh(bucket: i64, hour: u8, minute: u8) -> String {
    if bucket >= 86_400 {
        return "一天内".into();
    }
    format!("在 {hour:02}:{minute:02} 起的 {}内", span_zh(bucket))
}

fn usually_en(bucket: i64, day: Option<DayKind>) -> String {
    match (bucket >= 86_400, day) {
        (_, None) => "for this group".into(),
        (true, Some(d)) => format!("on {}", day_en(d)),
        (false, Some(d)) => format!("at this hour on {}", day_en(d)),
    }
}

fn usually_zh(bucket: i64, day: Option<DayKind>) -> String {
    match (bucket >= 86_400, day) {
        (_, None) => "该组".into(),
        (true, Some(d)) => day_zh(d).to_string(),
        (false, Some(d)) => format!("{}该时段", day_zh(d)),
    }
}

pub fn day_en(day: DayKind) -> &'static str {
    match day {
        DayKind::Workday => "a working day",
        DayKind::Weekend => "a weekend",
        DayKind::Holiday => "a holiday",
        DayKind::MakeUpWorkday => "a make-up working day",
    }
}

pub fn day_zh(day: DayKind) -> &'static str {
    match day {
        DayKind::Workday => "工作日",
        DayKind::Weekend => "周末",
        DayKind::Holiday => "节假日",
        DayKind::MakeUpWorkday => "调休工作日",
    }
}

/// "per hour", "per 10 min", "per day".
pub fn per_en(bucket: i64) -> String {
    match bucket {
        3600 => "per hour".into(),
        86_400 => "per day".into(),
        b => format!("per {}", span_en(b)),
    }
}

pub fn per_zh(bucket: i64) -> String {
    match bucket {
        3600 => "每小时".into(),
        86_400 => "每天".into(),
        b => format!("每 {}", span_zh(b)),
    }
}

/// A span in words, rounded down to its largest unit: "30 days", "2 h", "10 min", "45 s".
pub fn span_en(secs: i64) -> String {
    let (n, unit) = span_parts(secs);
    match unit {
        Unit::Day if n == 1 => "1 day".into(),
        Unit::Day => format!("{n} days"),
        Unit::Hour => format!("{n} h"),
        Unit::Min => format!("{n} min"),
        Unit::Sec => format!("{n} s"),
    }
}

/// The same span in Chinese: "30 天", "2 小时", "10 分钟", "45 秒".
pub fn span_zh(secs: i64) -> String {
    let (n, unit) = span_parts(secs);
    let unit = match unit {
        Unit::Day => "天",
        Unit::Hour => "小时",
        Unit::Min => "分钟",
        Unit::Sec => "秒",
    };
    format!("{n} {unit}")
}

enum Unit {
    Day,
    Hour,
    Min,
    Sec,
}

fn span_parts(secs: i64) -> (i64, Unit) {
    let secs = secs.max(0);
    if secs >= 86_400 && (secs >= 2 * 86_400 || secs % 86_400 == 0) {
        (secs / 86_400, Unit::Day)
    } else if secs >= 3600 && (secs >= 2 * 3600 || secs % 3600 == 0) {
        (secs / 3600, Unit::Hour)
    } else if secs >= 60 {
        (secs / 60, Unit::Min)
    } else {
        (secs, Unit::Sec)
    }
}

/// A number as shown: whole numbers (and anything from 100 up) rounded, with thousands
/// separators ("5,710"); smaller fractions with one decimal ("2.5").
pub fn fmt_num(x: f64) -> String {
    if !x.is_finite() {
        return x.to_string();
    }
    let r = x.round();
    if (x - r).abs() < 0.05 || x.abs() >= 100.0 {
        let digits = (r.abs() as u64).to_string();
        let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
        if r < 0.0 {
            out.push('-');
        }
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        out
    } else {
        format!("{x:.1}")
    }
}

/// A share as a percentage: "25%", "2.5%", "0.02%".
pub fn fmt_share(share: f64) -> String {
    let p = share * 100.0;
    let s = if p >= 10.0 {
        format!("{p:.0}")
    } else if p >= 1.0 {
        format!("{p:.1}")
    } else {
        format!("{p:.2}")
    };
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    format!("{s}%")
}

#[cfg(test)]
#[path = "explain_tests.rs"]
mod tests;
