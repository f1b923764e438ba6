//! The working-day calendar and local time.
//!
//! Built in: China's public holidays and make-up working days (调休) for 2025 and 2026, as the
//! State Council's notices on holiday arrangements published them (国务院办公厅关于 2025 年 /
//! 2026 年部分节假日安排的通知). Other years come from configuration
//! ([`Calendar::add_holiday`], [`Calendar::add_workday`]); a year nobody described has
//! weekends only.
//!
//! [`Calendar::local`] runs for every observation: the day kinds live in one table of one byte
//! per day from the first to the last day described, so a lookup is an index.

use onewall_model::Timestamp;
use serde::{Deserialize, Serialize};

/// What kind of day a date is, as government traffic follows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayKind {
    /// Monday to Friday, not a holiday.
    Workday,
    /// Saturday or Sunday, not a make-up working day.
    Weekend,
    /// A public holiday (or a weekday given off around one).
    Holiday,
    /// A Saturday or Sunday worked in exchange for a holiday (调休).
    MakeUpWorkday,
}

impl DayKind {
    /// Whether people are expected at work.
    pub fn is_working(self) -> bool {
        matches!(self, DayKind::Workday | DayKind::MakeUpWorkday)
    }
}

/// An instant on the calendar's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalTime {
    /// Days since 1970-01-01 in the calendar's zone.
    pub day: i64,
    /// 0 = Monday … 6 = Sunday.
    pub weekday: u8,
    /// 0–23.
    pub hour: u8,
    pub minute: u8,
    pub day_kind: DayKind,
}

impl LocalTime {
    /// The hour of the week, 0 (Monday 00:00) to 167.
    pub fn hour_of_week(&self) -> u16 {
        u16::from(self.weekday) * 24 + u16::from(self.hour)
    }
}

/// Public holidays and make-up working days, and the zone's offset from UTC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Calendar {
    utc_offset_secs: i32,
    /// The day (since 1970-01-01) `marks[0]` is about.
    first_day: i64,
    /// One per day from `first_day`: [`UNMARKED`], [`HOLIDAY`] or [`WORKDAY`].
    marks: Vec<u8>,
    /// Years with at least one day described, in order.
    years: Vec<i32>,
}

const UNMARKED: u8 = 0;
const HOLIDAY: u8 = 1;
const WORKDAY: u8 = 2;

/// One holiday period of the built-in data: first and last day off (inclusive), and the
/// weekend days worked in exchange. Dates are `(year, month, day)`.
type Period = ((i32, u8, u8), (i32, u8, u8), &'static [(i32, u8, u8)]);

/// The State Council's arrangements for 2025 (published November 2024).
const CHINA_2025: &[Period] = &[
    // 元旦
    ((2025, 1, 1), (2025, 1, 1), &[]),
    // 春节: 1月28日（除夕）至2月4日，1月26日（周日）、2月8日（周六）上班
    ((2025, 1, 28), (2025, 2, 4), &[(2025, 1, 26), (2025, 2, 8)]),
    // 清明节
    ((2025, 4, 4), (2025, 4, 6), &[]),
    // 劳动节: 5月1日至5日，4月27日（周日）上班
    ((2025, 5, 1), (2025, 5, 5), &[(2025, 4, 27)]),
    // 端午节
    ((2025, 5, 31), (2025, 6, 2), &[]),
    // 国庆节、中秋节: 10月1日至8日，9月28日（周日）、10月11日（周六）上班
    (
        (2025, 10, 1),
        (2025, 10, 8),
        &[(2025, 9, 28), (2025, 10, 11)],
    ),
];

/// The State Council's arrangements for 2026 (published November 2025).
const CHINA_2026: &[Period] = &[
    // 元旦: 1月1日至3日，1月4日（周日）上班
    ((2026, 1, 1), (2026, 1, 3), &[(2026, 1, 4)]),
    // 春节: 2月15日至23日，2月14日（周六）、2月28日（周六）上班
    (
        (2026, 2, 15),
        (2026, 2, 23),
        &[(2026, 2, 14), (2026, 2, 28)],
    ),
    // 清明节
    ((2026, 4, 4), (2026, 4, 6), &[]),
    // 劳动节: 5月1日至5日，5月9日（周六）上班
    ((2026, 5, 1), (2026, 5, 5), &[(2026, 5, 9)]),
    // 端午节
    ((2026, 6, 19), (2026, 6, 21), &[]),
    // 中秋节
    ((2026, 9, 25), (2026, 9, 27), &[]),
    // 国庆节: 10月1日至7日，9月20日（周日）、10月10日（周六）上班
    (
        (2026, 10, 1),
        (2026, 10, 7),
        &[(2026, 9, 20), (2026, 10, 10)],
    ),
];

/// Days since 1970-01-01 of `date`.
fn epoch_day(date: time::Date) -> i64 {
    // 1970-01-01 is Julian day 2,440,588.
    i64::from(date.to_julian_day()) - 2_440_588
}

fn builtin_date((y, m, d): (i32, u8, u8)) -> Option<time::Date> {
    let month = time::Month::try_from(m).ok()?;
    time::Date::from_calendar_date(y, month, d).ok()
}

impl Calendar {
    /// China's calendar (UTC+8) with the State Council's published holidays and make-up
    /// working days for the years it knows (2025 and 2026).
    pub fn china() -> Calendar {
        let mut cal = Calendar::new(8 * 3600);
        for (first, last, worked) in CHINA_2025.iter().chain(CHINA_2026) {
            if let (Some(first), Some(last)) = (builtin_date(*first), builtin_date(*last)) {
                let mut day = first;
                while day <= last {
                    cal.add_holiday(day);
                    match day.next_day() {
                        Some(next) => day = next,
                        None => break,
                    }
                }
            }
            for w in worked.iter().filter_map(|w| builtin_date(*w)) {
                cal.add_workday(w);
            }
        }
        cal
    }

    /// A calendar with no holidays (weekends only), `utc_offset_secs` from UTC.
    pub fn new(utc_offset_secs: i32) -> Calendar {
        Calendar {
            utc_offset_secs,
            first_day: 0,
            marks: Vec::new(),
            years: Vec::new(),
        }
    }

    /// The same calendar on another clock (e.g. a node configured for another zone).
    pub fn with_utc_offset(self, utc_offset_secs: i32) -> Calendar {
        Calendar {
            utc_offset_secs,
            ..self
        }
    }

    /// Make `date` a holiday (`[anomaly] holidays`, for years the built-in data lacks).
    pub fn add_holiday(&mut self, date: time::Date) {
        self.mark(date, HOLIDAY);
    }

    /// Make `date` a make-up working day (`[anomaly] workdays`).
    pub fn add_workday(&mut self, date: time::Date) {
        self.mark(date, WORKDAY);
    }

    fn mark(&mut self, date: time::Date, mark: u8) {
        let day = epoch_day(date);
        if self.marks.is_empty() {
            self.first_day = day;
        } else if day < self.first_day {
            let grow = usize::try_from(self.first_day - day).unwrap_or(0);
            self.marks.splice(0..0, std::iter::repeat_n(UNMARKED, grow));
            self.first_day = day;
        }
        let i = usize::try_from(day - self.first_day).unwrap_or(0);
        if i >= self.marks.len() {
            self.marks.resize(i + 1, UNMARKED);
        }
        self.marks[i] = mark;
        if let Err(at) = self.years.binary_search(&date.year()) {
            self.years.insert(at, date.year());
        }
    }

    /// The kind of the day `day` days after 1970-01-01 (0 = Monday … 6 = Sunday: `weekday`).
    #[inline]
    fn kind_of(&self, day: i64, weekday: u8) -> DayKind {
        let mark = day
            .checked_sub(self.first_day)
            .and_then(|i| usize::try_from(i).ok())
            .and_then(|i| self.marks.get(i).copied())
            .unwrap_or(UNMARKED);
        match (mark, weekday >= 5) {
            (HOLIDAY, _) => DayKind::Holiday,
            (WORKDAY, true) => DayKind::MakeUpWorkday,
            (_, true) => DayKind::Weekend,
            _ => DayKind::Workday,
        }
    }

    /// What kind of day `date` is.
    pub fn day_kind(&self, date: time::Date) -> DayKind {
        self.kind_of(epoch_day(date), date.weekday().number_days_from_monday())
    }

    /// The years whose holidays this calendar knows (built in or added), first to last.
    pub fn known_years(&self) -> Vec<i32> {
        self.years.clone()
    }

    /// The offset from UTC.
    pub fn utc_offset_secs(&self) -> i32 {
        self.utc_offset_secs
    }

    /// `t` on this calendar's clock.
    #[inline]
    pub fn local(&self, t: Timestamp) -> LocalTime {
        let secs = t.secs() + i64::from(self.utc_offset_secs);
        let day = secs.div_euclid(86_400);
        let in_day = secs.rem_euclid(86_400);
        // 1970-01-01 was a Thursday (3 counted from Monday).
        let weekday = ((day + 3).rem_euclid(7)) as u8;
        LocalTime {
            day,
            weekday,
            hour: (in_day / 3600) as u8,
            minute: ((in_day % 3600) / 60) as u8,
            day_kind: self.kind_of(day, weekday),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u8, d: u8) -> time::Date {
        builtin_date((y, m, d)).expect("a valid date")
    }

    fn kind(cal: &Calendar, y: i32, m: u8, d: u8) -> DayKind {
        cal.day_kind(date(y, m, d))
    }

    #[test]
    fn spring_festival_2025_and_its_make_up_days() {
        let cal = Calendar::china();
        for d in 28..=31 {
            assert_eq!(kind(&cal, 2025, 1, d), DayKind::Holiday, "2025-01-{d}");
        }
        for d in 1..=4 {
            assert_eq!(kind(&cal, 2025, 2, d), DayKind::Holiday, "2025-02-0{d}");
        }
        assert_eq!(kind(&cal, 2025, 1, 26), DayKind::MakeUpWorkday);
        assert_eq!(kind(&cal, 2025, 2, 8), DayKind::MakeUpWorkday);
        assert_eq!(kind(&cal, 2025, 2, 5), DayKind::Workday);
        assert_eq!(kind(&cal, 2025, 2, 9), DayKind::Weekend);
        assert_eq!(kind(&cal, 2025, 1, 1), DayKind::Holiday);
        assert_eq!(kind(&cal, 2025, 10, 8), DayKind::Holiday);
        assert_eq!(kind(&cal, 2025, 10, 11), DayKind::MakeUpWorkday);
    }

    #[test]
    fn holidays_of_2026() {
        let cal = Calendar::china();
        for d in 15..=23 {
            assert_eq!(kind(&cal, 2026, 2, d), DayKind::Holiday, "2026-02-{d}");
        }
        assert_eq!(kind(&cal, 2026, 2, 14), DayKind::MakeUpWorkday);
        assert_eq!(kind(&cal, 2026, 2, 28), DayKind::MakeUpWorkday);
        for d in 1..=7 {
            assert_eq!(kind(&cal, 2026, 10, d), DayKind::Holiday, "2026-10-0{d}");
        }
        assert_eq!(kind(&cal, 2026, 9, 20), DayKind::MakeUpWorkday);
        assert_eq!(kind(&cal, 2026, 10, 10), DayKind::MakeUpWorkday);
        assert_eq!(kind(&cal, 2026, 10, 8), DayKind::Workday);
        assert_eq!(kind(&cal, 2026, 1, 4), DayKind::MakeUpWorkday);
        assert_eq!(kind(&cal, 2026, 3, 2), DayKind::Workday);
        assert_eq!(kind(&cal, 2026, 3, 7), DayKind::Weekend);
        assert_eq!(cal.known_years(), vec![2025, 2026]);
    }

    #[test]
    fn local_time_takes_the_day_kind_from_the_calendar() {
        let cal = Calendar::china();
        // 2026-02-16 02:30 UTC is 10:30 on Monday 16 February in Beijing: a holiday.
        let t = Timestamp::parse_rfc3339("2026-02-16T02:30:00Z").expect("time");
        let l = cal.local(t);
        assert_eq!((l.weekday, l.hour, l.minute), (0, 10, 30));
        assert_eq!(l.day_kind, DayKind::Holiday);
        // 2026-02-13 17:00 UTC is already Saturday 14 February (a make-up day) in Beijing.
        let l = cal.local(Timestamp::parse_rfc3339("2026-02-13T17:00:00Z").expect("time"));
        assert_eq!((l.weekday, l.hour), (5, 1));
        assert_eq!(l.day_kind, DayKind::MakeUpWorkday);
        assert_eq!(l.day, epoch_day(date(2026, 2, 14)));
    }

    #[test]
    fn added_days_extend_the_calendar_either_way() {
        let mut cal = Calendar::new(0);
        assert!(cal.known_years().is_empty());
        assert_eq!(kind(&cal, 2027, 1, 1), DayKind::Workday);
        cal.add_holiday(date(2027, 1, 1));
        cal.add_workday(date(2024, 12, 28));
        cal.add_holiday(date(2030, 5, 1));
        assert_eq!(kind(&cal, 2027, 1, 1), DayKind::Holiday);
        assert_eq!(kind(&cal, 2024, 12, 28), DayKind::MakeUpWorkday);
        assert_eq!(kind(&cal, 2030, 5, 1), DayKind::Holiday);
        assert_eq!(kind(&cal, 2030, 5, 4), DayKind::Weekend);
        assert_eq!(cal.known_years(), vec![2024, 2027, 2030]);
        let l = cal.local(Timestamp::parse_rfc3339("2027-01-01T12:00:00Z").expect("time"));
        assert_eq!(l.day_kind, DayKind::Holiday);
        // A make-up day that falls on a weekday stays a plain working day.
        cal.add_workday(date(2027, 1, 5));
        assert_eq!(kind(&cal, 2027, 1, 5), DayKind::Workday);
    }
}
