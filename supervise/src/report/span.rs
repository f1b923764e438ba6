//! Report spans: ISO weeks (Monday to Monday, the ISO year's numbering: 2026-12-28 is in
//! 2026-W53, 2027-01-04 starts 2027-W01), calendar months and years, each `[from, to)` in
//! the reports' UTC offset.

use onewall_model::Timestamp;
use time::{Date, Month, PrimitiveDateTime, Time, UtcOffset, Weekday};

use super::{ReportKind, Span};
use crate::{Result, SuperviseError};

fn at_midnight(d: Date, offset: UtcOffset) -> Timestamp {
    Timestamp::from_offset_date_time(
        PrimitiveDateTime::new(d, Time::MIDNIGHT).assume_offset(offset),
    )
}

fn week_span(year: i32, week: u8, offset: UtcOffset) -> Option<Span> {
    let monday = Date::from_iso_week_date(year, week, Weekday::Monday).ok()?;
    let next = monday.checked_add(time::Duration::days(7))?;
    Some(Span {
        kind: ReportKind::Weekly,
        label: format!("{year:04}-W{week:02}"),
        from: at_midnight(monday, offset),
        to: at_midnight(next, offset),
    })
}

fn month_span(year: i32, month: Month, offset: UtcOffset) -> Option<Span> {
    let first = Date::from_calendar_date(year, month, 1).ok()?;
    let next = if month == Month::December {
        Date::from_calendar_date(year.checked_add(1)?, Month::January, 1).ok()?
    } else {
        Date::from_calendar_date(year, month.next(), 1).ok()?
    };
    Some(Span {
        kind: ReportKind::Monthly,
        label: format!("{year:04}-{:02}", u8::from(month)),
        from: at_midnight(first, offset),
        to: at_midnight(next, offset),
    })
}

fn year_span(year: i32, offset: UtcOffset) -> Option<Span> {
    let first = Date::from_calendar_date(year, Month::January, 1).ok()?;
    let next = Date::from_calendar_date(year.checked_add(1)?, Month::January, 1).ok()?;
    Some(Span {
        kind: ReportKind::Annual,
        label: format!("{year:04}"),
        from: at_midnight(first, offset),
        to: at_midnight(next, offset),
    })
}

/// Four ASCII digits as a year from 1970 to 9999.
fn year(s: &str) -> Option<i32> {
    (s.len() == 4 && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
        .filter(|y| *y >= 1970)
}

fn two_digits(s: &str) -> Option<u8> {
    (s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

pub(super) fn parse(kind: ReportKind, label: &str, offset: UtcOffset) -> Result<Span> {
    let l = label.trim();
    let bad = |why: &str| {
        SuperviseError::Invalid(format!(
            "report label {label:?}: {why} (a {} report is labelled {})",
            kind.as_str(),
            match kind {
                ReportKind::Weekly => "like 2026-W49",
                ReportKind::Monthly => "like 2026-12",
                ReportKind::Annual => "like 2026",
            }
        ))
    };
    match kind {
        ReportKind::Weekly => {
            let (y, w) = l.split_once("-W").ok_or_else(|| bad("not a week"))?;
            let y = year(y).ok_or_else(|| bad("the year is not four digits from 1970"))?;
            let w = two_digits(w).ok_or_else(|| bad("the week is not two digits"))?;
            week_span(y, w, offset).ok_or_else(|| bad(&format!("{y} has no week {w}")))
        }
        ReportKind::Monthly => {
            let (y, m) = l.split_once('-').ok_or_else(|| bad("not a month"))?;
            let y = year(y).ok_or_else(|| bad("the year is not four digits from 1970"))?;
            let m = two_digits(m)
                .and_then(|m| Month::try_from(m).ok())
                .ok_or_else(|| bad("the month is not 01 to 12"))?;
            month_span(y, m, offset).ok_or_else(|| bad("not a month"))
        }
        ReportKind::Annual => {
            let y = year(l).ok_or_else(|| bad("not a year of four digits from 1970"))?;
            year_span(y, offset).ok_or_else(|| bad("not a year"))
        }
    }
}

pub(super) fn last_complete(kind: ReportKind, now: Timestamp, offset: UtcOffset) -> Span {
    let today = now.to_offset_date_time().to_offset(offset).date();
    let span = match kind {
        ReportKind::Weekly => {
            let this_monday = today
                .checked_sub(time::Duration::days(i64::from(
                    today.weekday().number_days_from_monday(),
                )))
                .unwrap_or(today);
            let last = this_monday
                .checked_sub(time::Duration::days(7))
                .unwrap_or(this_monday);
            let (y, w, _) = last.to_iso_week_date();
            week_span(y, w, offset)
        }
        ReportKind::Monthly => {
            let (y, m) = match today.month() {
                Month::January => (today.year() - 1, Month::December),
                m => (today.year(), m.previous()),
            };
            month_span(y, m, offset)
        }
        ReportKind::Annual => year_span(today.year() - 1, offset),
    };
    // Only dates before 1971 or after 9999 fail; the epoch's span stands in for them.
    span.unwrap_or_else(|| Span {
        kind,
        label: String::new(),
        from: Timestamp::from_secs(0),
        to: Timestamp::from_secs(0),
    })
}

/// The end of the span after `span`: the `now` whose last complete span is that successor.
pub(super) fn following(span: &Span, offset: UtcOffset) -> Timestamp {
    let start = span.to.to_offset_date_time().to_offset(offset).date();
    let end = match span.kind {
        ReportKind::Weekly => start.checked_add(time::Duration::days(7)),
        ReportKind::Monthly => month_span(start.year(), start.month(), offset)
            .map(|s| s.to.to_offset_date_time().to_offset(offset).date()),
        ReportKind::Annual => Date::from_calendar_date(start.year() + 1, Month::January, 1).ok(),
    };
    end.map_or(span.to, |d| at_midnight(d, offset))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CST: UtcOffset = time::macros::offset!(+8);

    fn ts(s: &str) -> Timestamp {
        Timestamp::parse_rfc3339(s).expect("time")
    }

    #[test]
    fn iso_weeks_cross_year_boundaries() {
        // 2026 starts on a Thursday: it has 53 ISO weeks; 2027-W01 starts 2027-01-04.
        let w53 = parse(ReportKind::Weekly, "2026-W53", CST).expect("2026-W53");
        assert_eq!(w53.from, ts("2026-12-28T00:00:00+08:00"));
        assert_eq!(w53.to, ts("2027-01-04T00:00:00+08:00"));
        let w1 = parse(ReportKind::Weekly, "2027-W01", CST).expect("2027-W01");
        assert_eq!(w1.from, w53.to);
        assert!(
            parse(ReportKind::Weekly, "2027-W53", CST).is_err(),
            "2027 has 52 weeks"
        );
        // 2026-W01 starts in 2025.
        let first = parse(ReportKind::Weekly, "2026-W01", CST).expect("2026-W01");
        assert_eq!(first.from, ts("2025-12-29T00:00:00+08:00"));
        // On Sunday 2027-01-03 the last whole week is 2026-W52; on Monday, 2026-W53.
        let sun = last_complete(ReportKind::Weekly, ts("2027-01-03T23:00:00+08:00"), CST);
        assert_eq!(sun.label, "2026-W52");
        let mon = last_complete(ReportKind::Weekly, ts("2027-01-04T00:00:00+08:00"), CST);
        assert_eq!(mon, w53);
        // 2027-01-03T20:00Z is already Monday in +08:00.
        let utc_sun = last_complete(ReportKind::Weekly, ts("2027-01-03T20:00:00Z"), CST);
        assert_eq!(utc_sun.label, "2026-W53");
        assert_eq!(w53.next(CST), w1);
    }

    #[test]
    fn months_and_years_in_the_offset() {
        let dec = parse(ReportKind::Monthly, "2026-12", CST).expect("month");
        assert_eq!(dec.from, ts("2026-11-30T16:00:00Z"));
        assert_eq!(dec.to, ts("2027-01-01T00:00:00+08:00"));
        let feb = parse(ReportKind::Monthly, "2028-02", CST).expect("leap");
        assert_eq!(feb.to.secs() - feb.from.secs(), 29 * 86400);
        let jan = last_complete(ReportKind::Monthly, ts("2027-01-01T00:30:00+08:00"), CST);
        assert_eq!(jan, dec);
        assert_eq!(dec.next(CST).label, "2027-01");
        let y = parse(ReportKind::Annual, "2026", CST).expect("year");
        assert_eq!(y.to.secs() - y.from.secs(), 365 * 86400);
        assert_eq!(
            last_complete(ReportKind::Annual, ts("2027-06-01T00:00:00Z"), CST),
            y
        );
        assert_eq!(y.next(CST).label, "2027");
    }

    #[test]
    fn bad_labels_say_what_is_wrong() {
        for (k, l, want) in [
            (ReportKind::Weekly, "2026-12", "not a week"),
            (ReportKind::Weekly, "2026-W5", "two digits"),
            (ReportKind::Weekly, "2026-W00", "no week 0"),
            (ReportKind::Monthly, "2026-13", "01 to 12"),
            (ReportKind::Monthly, "26-01", "four digits"),
            (ReportKind::Annual, "2026-W01", "four digits"),
            (ReportKind::Annual, "", "four digits"),
            (ReportKind::Annual, "１２３４", "four digits"),
        ] {
            let e = parse(k, l, CST).expect_err(l).to_string();
            assert!(e.contains(want), "{l}: {e}");
            assert!(e.contains(&format!("{l:?}")), "{l}: {e}");
        }
    }
}
