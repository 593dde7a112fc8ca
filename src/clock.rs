//! Time as the core sees it: milliseconds since the Unix epoch, passed in by
//! the shell (`Date.now()`), and their RFC 3339 form for answers and records.

/// `2026-11-28T13:20:54.000Z` for a millisecond timestamp (UTC), as
/// JavaScript's `Date.prototype.toISOString` writes it.
pub fn iso8601(ms: u64) -> String {
    let secs = ms / 1000;
    let millis = ms % 1000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// The milliseconds of a timestamp written by `iso8601` (the records' own
/// format, `YYYY-MM-DDTHH:MM:SS.sssZ`); anything else is `None`.
pub fn parse_iso8601(text: &str) -> Option<u64> {
    let b = text.as_bytes();
    let shape = b.len() == 24
        && [4, 7].iter().all(|&i| b[i] == b'-')
        && b[10] == b'T'
        && [13, 16].iter().all(|&i| b[i] == b':')
        && b[19] == b'.'
        && b[23] == b'Z';
    if !shape {
        return None;
    }
    let number = |from: usize, to: usize| -> Option<u64> {
        let digits = &text[from..to];
        digits.bytes().all(|c| c.is_ascii_digit()).then(|| digits.parse().ok())?
    };
    let (year, month, day) = (number(0, 4)?, number(5, 7)?, number(8, 10)?);
    let (hour, minute, second, millis) = (number(11, 13)?, number(14, 16)?, number(17, 19)?, number(20, 23)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let days = days_from_civil(year as i64, month as u32, day as u32);
    let ms = (days * 86_400 + (hour * 3600 + minute * 60 + second) as i64) * 1000 + millis as i64;
    let ms = u64::try_from(ms).ok()?;
    // A day past the month's end (2026-02-31) does not read back the same.
    (iso8601(ms) == text).then_some(ms)
}

/// The milliseconds of an RFC 3339 timestamp in any of its forms, as
/// another server writes it: `2026-12-02T04:17:42Z`, with a fraction of any
/// length (cut to milliseconds), a lower-case `t`/`z`, or an offset
/// (`+01:00`). Anything else, or a time before 1970, is `None`.
pub fn parse_rfc3339(text: &str) -> Option<u64> {
    let b = text.as_bytes();
    if b.len() < 20 || !b.is_ascii() {
        return None;
    }
    let digits = |from: usize, to: usize| -> Option<i64> {
        let part = text.get(from..to)?;
        part.bytes().all(|c| c.is_ascii_digit()).then(|| part.parse().ok())?
    };
    let shape =
        b[4] == b'-' && b[7] == b'-' && matches!(b[10], b'T' | b't') && b[13] == b':' && b[16] == b':';
    if !shape {
        return None;
    }
    let (year, month, day) = (digits(0, 4)?, digits(5, 7)?, digits(8, 10)?);
    let (hour, minute, second) = (digits(11, 13)?, digits(14, 16)?, digits(17, 19)?);
    // The fraction: any number of digits after a '.', cut to milliseconds.
    let mut at = 19;
    let mut millis = 0;
    if b[at] == b'.' {
        let end = at + 1 + b[at + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if end == at + 1 {
            return None;
        }
        let kept = &text[at + 1..end.min(at + 4)];
        millis = kept.parse::<i64>().ok()? * 10_i64.pow(3 - kept.len() as u32);
        at = end;
    }
    let offset_minutes = match &text[at..] {
        "Z" | "z" => 0,
        zone if zone.len() == 6
            && matches!(zone.as_bytes()[0], b'+' | b'-')
            && zone.as_bytes()[3] == b':' =>
        {
            let (h, m) = (digits(at + 1, at + 3)?, digits(at + 4, at + 6)?);
            if h > 23 || m > 59 {
                return None;
            }
            if zone.starts_with('-') {
                -(h * 60 + m)
            } else {
                h * 60 + m
            }
        }
        _ => return None,
    };
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let days = days_from_civil(year, month as u32, day as u32);
    // A day past the month's end (2026-02-31) does not come back the same.
    if civil_from_days(days) != (year, month as u32, day as u32) {
        return None;
    }
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second.min(59) - offset_minutes * 60;
    u64::try_from(seconds * 1000 + millis).ok()
}

/// (year, month, day) to days since 1970-01-01 (the inverse of
/// `civil_from_days`, same algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = year - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let mp = i64::from(if month > 2 { month - 3 } else { month + 9 });
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian
/// calendar (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_in_its_forms() {
        let base = parse_iso8601("2026-12-02T04:17:42.000Z").unwrap();
        for (text, expected) in [
            ("2026-12-02T04:17:42Z", Some(base)),
            ("2026-12-02T04:17:42.5Z", Some(base + 500)),
            ("2026-12-02T04:17:42.123456789z", Some(base + 123)),
            ("2026-12-02t05:17:42+01:00", Some(base)),
            ("2026-12-02T00:47:42.000-03:30", Some(base)),
            ("2026-12-02T04:17:42", None),
            ("2026-12-02T04:17:42.Z", None),
            ("2026-02-31T04:17:42Z", None),
            ("2026-12-02T24:17:42Z", None),
            ("2026-12-02T04:17:42+24:00", None),
            ("1969-12-31T23:59:59Z", None),
            ("2026-12-02 04:17:42Z", None),
            ("२०२६-12-02T04:17:42Z", None),
        ] {
            assert_eq!(parse_rfc3339(text), expected, "{text}");
        }
    }

    #[test]
    fn formats_like_to_iso_string() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso8601(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(iso8601(1_795_872_054_123), "2026-11-28T13:20:54.123Z");
        assert_eq!(iso8601(4_102_444_799_999), "2099-12-31T23:59:59.999Z");
    }

    #[test]
    fn parses_what_it_writes_and_nothing_else() {
        for ms in [0, 951_782_400_000, 1_795_872_054_123, 4_102_444_799_999, 1_709_164_800_000] {
            assert_eq!(parse_iso8601(&iso8601(ms)), Some(ms));
        }
        for bad in [
            "2026-02-31T00:00:00.000Z",
            "2026-11-28T13:20:54Z",
            "2026-11-28 13:20:54.000Z",
            "+026-11-28T13:20:54.000Z",
            "",
        ] {
            assert_eq!(parse_iso8601(bad), None, "{bad}");
        }
    }
}
