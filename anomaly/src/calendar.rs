//! The working-day calendar and local time. (Contract: the public items are fixed; the
//! calendar data and config reading are to be written.)

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
}

impl Calendar {
    /// China's calendar (UTC+8) with the State Council's published holidays and make-up
    /// working days for the years it knows.
    pub fn china() -> Calendar {
        Calendar {
            utc_offset_secs: 8 * 3600,
        }
    }

    /// A calendar with no holidays (weekends only), `utc_offset_secs` from UTC.
    pub fn new(utc_offset_secs: i32) -> Calendar {
        Calendar { utc_offset_secs }
    }

    /// The same calendar on another clock (e.g. a node configured for another zone).
    pub fn with_utc_offset(self, utc_offset_secs: i32) -> Calendar {
        Calendar { utc_offset_secs }
    }

    /// Make `date` a holiday (`[anomaly] holidays`, for years the built-in data lacks).
    pub fn add_holiday(&mut self, date: time::Date) {
        let _ = date;
    }

    /// Make `date` a make-up working day (`[anomaly] workdays`).
    pub fn add_workday(&mut self, date: time::Date) {
        let _ = date;
    }

    /// What kind of day `date` is.
    pub fn day_kind(&self, date: time::Date) -> DayKind {
        if date.weekday().number_days_from_monday() >= 5 {
            DayKind::Weekend
        } else {
            DayKind::Workday
        }
    }

    /// The years whose holidays this calendar knows (built in or added), first to last.
    pub fn known_years(&self) -> Vec<i32> {
        Vec::new()
    }

    /// The offset from UTC.
    pub fn utc_offset_secs(&self) -> i32 {
        self.utc_offset_secs
    }

    /// `t` on this calendar's clock.
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
            day_kind: if weekday >= 5 {
                DayKind::Weekend
            } else {
                DayKind::Workday
            },
        }
    }
}
