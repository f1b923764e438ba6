//! Timestamps as syslog writes them: RFC 3339 (RFC 5424, and ISO-stamped BSD lines) and the
//! BSD `Mmm dd hh:mm:ss` form, which has neither year nor zone.

use nom::bytes::complete::{tag, take_while_m_n};
use nom::character::complete::{char, one_of};
use nom::combinator::opt;
use nom::{IResult, Parser};
use onewall_model::Timestamp;
use time::{Date, Month, PrimitiveDateTime, Time, UtcOffset};

type Res<'a, T> = IResult<&'a [u8], T>;

/// Calendar fields read from the text, not yet checked against the calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Civil {
    pub year: Option<i32>,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
    pub nanos: u32,
    /// `None` when the text carries no zone.
    pub offset: Option<UtcOffset>,
}

fn number(n: usize) -> impl Fn(&[u8]) -> Res<'_, u32> {
    move |i| {
        let (rest, d) = take_while_m_n(n, n, |b: u8| b.is_ascii_digit())(i)?;
        Ok((rest, fold_digits(d)))
    }
}

fn fold_digits(d: &[u8]) -> u32 {
    d.iter().fold(0u32, |acc, b| {
        acc.wrapping_mul(10).wrapping_add(u32::from(b - b'0'))
    })
}

/// `.123456` (1 to 9 digits; more are read and cut) as nanoseconds.
fn fraction(i: &[u8]) -> Res<'_, u32> {
    let err = || nom::Err::Error(nom::error::Error::new(i, nom::error::ErrorKind::Digit));
    let digits = i.strip_prefix(b".").ok_or_else(err)?;
    let n = digits.iter().take_while(|b| b.is_ascii_digit()).count();
    if n == 0 {
        return Err(err());
    }
    let mut nanos = 0u32;
    for k in 0..9 {
        nanos = nanos * 10 + digits[..n].get(k).map_or(0, |b| u32::from(b - b'0'));
    }
    Ok((&digits[n..], nanos))
}

fn hms(i: &[u8]) -> Res<'_, (u8, u8, u8, u32)> {
    let (i, (h, _, m, _, s, frac)) = (
        number(2),
        char(':'),
        number(2),
        char(':'),
        number(2),
        opt(fraction),
    )
        .parse(i)?;
    Ok((i, (h as u8, m as u8, s as u8, frac.unwrap_or(0))))
}

/// `Z`, `+08:00` or `-0500`.
pub(crate) fn zone_offset(i: &[u8]) -> Option<(&[u8], Result<UtcOffset, String>)> {
    zone(i).ok().map(|(rest, z)| (rest, z.offset()))
}

fn zone(i: &[u8]) -> Res<'_, ZoneText> {
    // `+hh:mm`, the common shape, by position.
    if let [s @ (b'+' | b'-'), _, _, b':', _, _, rest @ ..] = i
        && let (Some(hours), Some(minutes)) = (two(i, 1), two(i, 4))
    {
        let sign = if *s == b'-' { -1 } else { 1 };
        let z = ZoneText {
            sign,
            hours,
            minutes,
        };
        return Ok((rest, z));
    }
    if let Ok((rest, _)) = one_of::<_, _, nom::error::Error<&[u8]>>("Zz")(i) {
        return Ok((
            rest,
            ZoneText {
                sign: 1,
                hours: 0,
                minutes: 0,
            },
        ));
    }
    let (i, (sign, h, _, m)) = (one_of("+-"), number(2), opt(char(':')), number(2)).parse(i)?;
    let sign = if sign == '-' { -1 } else { 1 };
    Ok((
        i,
        ZoneText {
            sign,
            hours: h as u8,
            minutes: m as u8,
        },
    ))
}

#[derive(Debug, Clone, Copy)]
struct ZoneText {
    sign: i8,
    hours: u8,
    minutes: u8,
}

impl ZoneText {
    fn offset(self) -> Result<UtcOffset, String> {
        if self.hours > 23 || self.minutes > 59 {
            return Err("zone offset out of range".to_owned());
        }
        let (h, m) = (self.hours as i8 * self.sign, self.minutes as i8 * self.sign);
        UtcOffset::from_hms(h, m, 0).map_err(|e| e.to_string())
    }
}

/// RFC 3339: `2026-03-15T12:00:00.123+08:00`. With `zone_required` false the zone may be
/// missing (`offset: None`). Fails on syntax; values are checked by [`Civil::resolve`].
pub(crate) fn rfc3339(i: &[u8], zone_required: bool) -> Result<(&[u8], Civil), String> {
    if let Some(found) = rfc3339_fast(i, zone_required) {
        return found;
    }
    let date = (
        number(4),
        char('-'),
        number(2),
        char('-'),
        number(2),
        one_of("Tt"),
    );
    let parsed: Res<'_, _> = (date, hms).parse(i);
    let (rest, ((y, _, mo, _, d, _), (h, mi, s, nanos))) =
        parsed.map_err(|_| "expected YYYY-MM-DDThh:mm:ss".to_owned())?;
    let (rest, offset) = match zone(rest) {
        Ok((rest, z)) => (rest, Some(z.offset()?)),
        Err(_) if zone_required => return Err("expected a zone (Z or +hh:mm)".to_owned()),
        Err(_) => (rest, None),
    };
    let civil = Civil {
        year: Some(y as i32),
        month: mo as u8,
        day: d as u8,
        hour: h,
        minute: mi,
        second: s,
        nanos,
        offset,
    };
    Ok((rest, civil))
}

/// `yyyy-mm-dd hh:mm:ss[.frac]` with no zone, as Huawei, Hillstone, MySQL and NXLog write it.
pub(crate) fn iso_space(i: &[u8]) -> Option<(&[u8], Civil)> {
    let parsed: Res<'_, _> = (
        number(4),
        char('-'),
        number(2),
        char('-'),
        number(2),
        char(' '),
        hms,
    )
        .parse(i);
    let (rest, (y, _, mo, _, d, _, (h, mi, s, nanos))) = parsed.ok()?;
    let civil = Civil {
        year: Some(y as i32),
        month: mo as u8,
        day: d as u8,
        hour: h,
        minute: mi,
        second: s,
        nanos,
        offset: None,
    };
    Some((rest, civil))
}

/// `yyyy/mm/dd hh:mm:ss[.frac]` with no zone, as PAN-OS and the nginx error log write it.
pub(crate) fn slash_space(i: &[u8]) -> Option<(&[u8], Civil)> {
    if i.len() < 19 || i[4] != b'/' || i[7] != b'/' || i[10] != b' ' {
        return None;
    }
    let year = u16::from(two(i, 0)?) * 100 + u16::from(two(i, 2)?);
    let (month, day) = (two(i, 5)?, two(i, 8)?);
    let (rest, (hour, minute, second, nanos)) = hms(&i[11..]).ok()?;
    let civil = Civil {
        year: Some(i32::from(year)),
        month,
        day,
        hour,
        minute,
        second,
        nanos,
        offset: None,
    };
    Some((rest, civil))
}

/// How much a record's time says, worst first: none at all, no year (BSD), a local time with
/// a year but no zone, an instant (a zone, or seconds since the epoch).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum TimeQuality {
    None,
    NoYear,
    Local,
    Exact,
}

impl Civil {
    /// What this time says (never [`TimeQuality::None`]).
    pub(crate) fn quality(&self) -> TimeQuality {
        match (self.offset, self.year) {
            (Some(_), _) => TimeQuality::Exact,
            (None, Some(_)) => TimeQuality::Local,
            (None, None) => TimeQuality::NoYear,
        }
    }

    /// The same time in `offset`, when the text named its zone apart (`... 12:00:00 UTC`).
    pub(crate) fn with_offset(self, offset: UtcOffset) -> Civil {
        Civil {
            offset: Some(offset),
            ..self
        }
    }
}

/// Two ASCII digits at `i[k..k + 2]`.
#[inline(always)]
fn two(i: &[u8], k: usize) -> Option<u8> {
    let (a, b) = (i[k].wrapping_sub(b'0'), i[k + 1].wrapping_sub(b'0'));
    // `then`, not `then_some`: the product of a non-digit's byte overflows.
    (a < 10 && b < 10).then(|| a * 10 + b)
}

/// `YYYY-MM-DDThh:mm:ss` read by position, the common case, without the general parser.
/// `None` when the text is not in that exact shape (the general parser then decides).
fn rfc3339_fast(i: &[u8], zone_required: bool) -> Option<Result<(&[u8], Civil), String>> {
    if i.len() < 20
        || i[4] != b'-'
        || i[7] != b'-'
        || !matches!(i[10], b'T' | b't')
        || i[13] != b':'
        || i[16] != b':'
    {
        return None;
    }
    let year = u16::from(two(i, 0)?) * 100 + u16::from(two(i, 2)?);
    let (month, day) = (two(i, 5)?, two(i, 8)?);
    let (hour, minute, second) = (two(i, 11)?, two(i, 14)?, two(i, 17)?);
    let (rest, nanos) = match i[19] {
        b'.' => fraction(&i[19..]).ok()?,
        _ => (&i[19..], 0),
    };
    let (rest, offset) = match zone(rest) {
        Ok((rest, z)) => match z.offset() {
            Ok(o) => (rest, Some(o)),
            Err(e) => return Some(Err(e)),
        },
        Err(_) if zone_required => return None,
        Err(_) => (rest, None),
    };
    Some(Ok((
        rest,
        Civil {
            year: Some(i32::from(year)),
            month,
            day,
            hour,
            minute,
            second,
            nanos,
            offset,
        },
    )))
}

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

fn month_name(i: &[u8]) -> Res<'_, u8> {
    let err = || nom::Err::Error(nom::error::Error::new(i, nom::error::ErrorKind::Tag));
    let name = i.get(..3).ok_or_else(err)?;
    let pos = MONTHS
        .iter()
        .position(|m| m.eq_ignore_ascii_case(name))
        .ok_or_else(err)?;
    Ok((&i[3..], pos as u8 + 1))
}

/// A day of the month: `dd`, ` d` (space padded, as syslog writes it) or `d`.
fn day(i: &[u8]) -> Res<'_, u8> {
    let (i, _) = opt(char(' ')).parse(i)?;
    let (i, d) = take_while_m_n(1, 2, |b: u8| b.is_ascii_digit())(i)?;
    Ok((i, fold_digits(d) as u8))
}

/// The BSD timestamp: `Mmm dd hh:mm:ss[.frac][ yyyy]`, or Cisco's `Mmm dd yyyy hh:mm:ss`.
/// Leaves the input after the timestamp (at the space before the host, if any).
pub(crate) fn bsd(i: &[u8]) -> Option<(&[u8], Civil)> {
    if let Some(found) = bsd_fast(i) {
        return Some(found);
    }
    let parsed: Res<'_, _> = (month_name, char(' '), day, char(' ')).parse(i);
    let (i, (month, _, day, _)) = parsed.ok()?;
    // Cisco: the year before the time.
    let cisco: Res<'_, _> = (number(4), char(' '), hms).parse(i);
    let (i, year, (hour, minute, second, nanos)) = match cisco {
        Ok((i, (y, _, t))) => (i, Some(y as i32), t),
        Err(_) => {
            let (i, t) = hms(i).ok()?;
            // A year after the time, when a four-digit token follows on its own.
            let trailing: Res<'_, _> = (tag(&b" "[..]), number(4)).parse(i);
            match trailing {
                Ok((rest, (_, y))) if rest.is_empty() || rest[0] == b' ' => {
                    (rest, Some(y as i32), t)
                }
                _ => (i, None, t),
            }
        }
    };
    // Cisco ends its timestamp with `:`.
    let i = match i {
        [b':', b' ', ..] => &i[1..],
        _ => i,
    };
    // The record must go on with a space, or end, right after its timestamp.
    if !(i.is_empty() || i[0] == b' ') {
        return None;
    }
    let civil = Civil {
        year,
        month,
        day,
        hour,
        minute,
        second,
        nanos,
        offset: None,
    };
    Some((i, civil))
}

/// `Mmm dd hh:mm:ss` (or `Mmm  d`) read by position, when nothing that the general parser
/// handles (a fraction, a year, a one-digit day without padding) follows.
fn bsd_fast(i: &[u8]) -> Option<(&[u8], Civil)> {
    if i.len() < 15 || i[3] != b' ' || i[6] != b' ' || i[9] != b':' || i[12] != b':' {
        return None;
    }
    let rest = &i[15..];
    // A fraction or a year after the time: the general parser.
    match rest {
        [] => {}
        [b' ', d, ..] if !d.is_ascii_digit() => {}
        [b' '] => {}
        _ => return None,
    }
    let (_, month) = month_name(i).ok()?;
    let day = match (i[4], i[5]) {
        (b' ', d @ b'1'..=b'9') => d - b'0',
        _ => two(i, 4)?,
    };
    Some((
        rest,
        Civil {
            year: None,
            month,
            day,
            hour: two(i, 7)?,
            minute: two(i, 10)?,
            second: two(i, 13)?,
            nanos: 0,
            offset: None,
        },
    ))
}

impl Civil {
    /// The instant, checked against the calendar. A missing zone is `zone`; a missing year is
    /// the year of `received` in `zone`, or the year before when that would put the record more
    /// than a day after `received` (a December line read in January).
    pub(crate) fn resolve(
        &self,
        received: Timestamp,
        zone: UtcOffset,
    ) -> Result<Timestamp, String> {
        let offset = self.offset.unwrap_or(zone);
        if let Some(year) = self.year
            && let Some(t) = self.fast_instant(year, offset)
        {
            return Ok(t);
        }
        let month = Month::try_from(self.month).map_err(|e| e.to_string())?;
        // A leap second is read as the last second of its minute.
        let second = self.second.min(59);
        let time = Time::from_hms_nano(self.hour, self.minute, second, self.nanos)
            .map_err(|e| e.to_string())?;
        let at = |year: i32| -> Result<Timestamp, String> {
            let date =
                Date::from_calendar_date(year, month, self.day).map_err(|e| e.to_string())?;
            let t = PrimitiveDateTime::new(date, time).assume_offset(offset);
            Ok(Timestamp::from_offset_date_time(t))
        };
        if let Some(year) = self.year {
            return at(year);
        }
        let year = received.to_offset_date_time().to_offset(zone).year();
        match at(year) {
            Ok(t) if t.nanos() <= received.nanos().saturating_add(Timestamp::NANOS_PER_DAY) => {
                Ok(t)
            }
            // In the future, or 29 February of a common year: the year before.
            Ok(_) | Err(_) => at(year - 1),
        }
    }
}

impl Civil {
    /// The instant by arithmetic, when every field is in range and the year is one a
    /// [`Timestamp`] can hold; `None` sends the caller to the checked path (and its errors).
    fn fast_instant(&self, year: i32, offset: UtcOffset) -> Option<Timestamp> {
        if !(1678..=2261).contains(&year)
            || !(1..=12).contains(&self.month)
            || self.day == 0
            || self.day > days_in_month(year, self.month)
            || self.hour > 23
            || self.minute > 59
            || self.second > 60
            || self.nanos >= 1_000_000_000
        {
            return None;
        }
        let days = days_from_civil(year, self.month, self.day);
        let secs = days * 86_400
            + i64::from(self.hour) * 3600
            + i64::from(self.minute) * 60
            // A leap second is read as the last second of its minute.
            + i64::from(self.second.min(59))
            - i64::from(offset.whole_seconds());
        let nanos = secs
            .checked_mul(Timestamp::NANOS_PER_SEC)?
            .checked_add(i64::from(self.nanos))?;
        Some(Timestamp(nanos))
    }
}

fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(year: i32, month: u8, day: u8) -> i64 {
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        Timestamp::parse_rfc3339(s).expect("test timestamp")
    }

    #[test]
    fn rfc3339_forms() {
        let (rest, c) = rfc3339(b"2003-10-11T22:14:15.003Z rest", true).expect("parses");
        assert_eq!(rest, b" rest");
        assert_eq!(
            c.resolve(Timestamp(0), UtcOffset::UTC),
            Ok(ts("2003-10-11T22:14:15.003Z"))
        );
        let (_, c) = rfc3339(b"2003-08-24T05:14:15.000003-07:00", true).expect("parses");
        assert_eq!(
            c.resolve(Timestamp(0), UtcOffset::UTC),
            Ok(ts("2003-08-24T12:14:15.000003Z"))
        );
        assert!(rfc3339(b"2003-08-24T05:14:15", true).is_err());
        let (_, c) = rfc3339(b"2003-08-24T05:14:15", false).expect("parses");
        let cst = time::macros::offset!(+8);
        assert_eq!(c.resolve(Timestamp(0), cst), Ok(ts("2003-08-23T21:14:15Z")));
        let (_, c) = rfc3339(b"2026-13-01T00:00:00Z", true).expect("syntax is fine");
        let e = c
            .resolve(Timestamp(0), UtcOffset::UTC)
            .expect_err("month 13");
        assert!(e.contains("month"), "{e}");
    }

    #[test]
    fn arithmetic_and_calendar_paths_agree() {
        let zones = [
            UtcOffset::UTC,
            time::macros::offset!(+8),
            time::macros::offset!(-5:30),
        ];
        for year in [1970, 1999, 2000, 2024, 2025, 2100, 2261] {
            for month in 1..=12u8 {
                for day in [1u8, 28, 29, 30, 31] {
                    for zone in zones {
                        let c = Civil {
                            year: Some(year),
                            month,
                            day,
                            hour: 23,
                            minute: 59,
                            second: 60,
                            nanos: 999_999_999,
                            offset: Some(zone),
                        };
                        let slow = Month::try_from(month)
                            .ok()
                            .and_then(|m| Date::from_calendar_date(year, m, day).ok())
                            .map(|d| {
                                let t = Time::from_hms_nano(23, 59, 59, 999_999_999)
                                    .expect("valid time");
                                Timestamp::from_offset_date_time(
                                    PrimitiveDateTime::new(d, t).assume_offset(zone),
                                )
                            });
                        assert_eq!(c.resolve(Timestamp(0), zone).ok(), slow, "{c:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn bsd_year_is_inferred_from_receive_time() {
        let cst = time::macros::offset!(+8);
        let received = ts("2026-01-01T00:30:00+08:00");
        let (_, c) = bsd(b"Dec 31 23:59:59 host").expect("parses");
        assert_eq!(
            c.resolve(received, cst),
            Ok(ts("2025-12-31T23:59:59+08:00"))
        );
        let (_, c) = bsd(b"Jan  1 00:29:00 host").expect("parses");
        assert_eq!(
            c.resolve(received, cst),
            Ok(ts("2026-01-01T00:29:00+08:00"))
        );
        // Up to a day ahead is clock skew, not last year.
        let (_, c) = bsd(b"Jan  1 12:00:00").expect("parses");
        assert_eq!(
            c.resolve(received, cst),
            Ok(ts("2026-01-01T12:00:00+08:00"))
        );
        let (_, c) = bsd(b"Jan  2 12:00:00").expect("parses");
        assert_eq!(
            c.resolve(received, cst),
            Ok(ts("2025-01-02T12:00:00+08:00"))
        );
    }

    /// Fuzz crashers: a non-digit where a timestamp wants two digits overflowed `two`'s
    /// product (`+`, `~`, `!`, a control byte, a GBK byte) and panicked with overflow checks on.
    #[test]
    fn non_digits_in_a_timestamp_are_no_time() {
        let crashers: &[&[u8]] = &[
            b"Mar 14 +6:55:46 LabSZ sshd[24200]: Invalid user webmaster from 198.51.100.186",
            b"<13>Mar 15 11:58:z0 h app: nul padded",
            b"<13>2026-07-15T11:58:: rfc 3339 stamp",
            b"<13>Mar 15 11:\xd29:58 vm sshd: Failed password for r",
            b"<13>2026-03-15T#1:58:00.5+08:00 web01 nginx[77]: r",
            b"<13>Mar ~5 1!:58:00 hdded",
            b"<14>Mar 15 1+:58:00 pa-fw01 1,2026/03/15 11:57:58,",
            b"<13>Mar 15 !1:58:00 he\x19lo",
            b"<30>Mar 15 q1:58:00 host app[wo\0\0\0",
            b"<13>Mar %5 11:58:00 h app: nul padded",
            b"2026-03-15T\x081:58:00 web01 app: rfc 3339 stamp with",
            b"Mar \xff\xff 15:16:02 combo su(pam_unix)[21416]: session",
            b"<38>Mar 15 11:u8:00 web01 app: neither UTF-8 nor G",
            b"<13>Mar 15 \xb01:58:00 h( app: nul padded",
            b"Mar 14 15:16:f2 combo su(pam_unix)[21416]: session",
        ];
        let ctx = crate::parse::ParseContext::new(
            onewall_model::Timestamp::from_secs(1_773_547_200),
            onewall_model::RegionCode::HENAN,
            onewall_model::Source::new("syslog_udp", None),
        );
        for raw in crashers {
            let e = crate::parse::parse_syslog(raw, &ctx);
            assert_eq!(&*e.raw, *raw);
        }
        assert_eq!(two(b"+6", 0), None);
        assert_eq!(two(b"6+", 0), None);
        assert_eq!(two(b"\xff\xff", 0), None);
        assert_eq!(two(b"59", 0), Some(59));
    }

    #[test]
    fn bsd_variants() {
        let (rest, c) = bsd(b"Jul  3 04:08:03 combo").expect("space-padded day");
        assert_eq!((c.month, c.day, rest), (7, 3, &b" combo"[..]));
        let (_, c) = bsd(b"Jul 13 04:08:03.250 combo").expect("fraction");
        assert_eq!(c.nanos, 250_000_000);
        let (rest, c) = bsd(b"Mar 15 12:00:00 2026 fw01").expect("year after time");
        assert_eq!((c.year, rest), (Some(2026), &b" fw01"[..]));
        let (rest, c) = bsd(b"Mar 15 2026 12:00:00 fw01").expect("cisco year before time");
        assert_eq!((c.year, c.hour, rest), (Some(2026), 12, &b" fw01"[..]));
        assert!(bsd(b"Foo 15 12:00:00 x").is_none());
        assert!(bsd(b"Mar 15 12:00 x").is_none());
        assert!(bsd(b"Mar 15 12:00:00x").is_none());
    }
}
