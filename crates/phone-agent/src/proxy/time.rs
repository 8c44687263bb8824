//! RFC 3339 time stamps for `proxy-for --now`.

use anyhow::{Context, Result, bail};
use proxy_pac::PacTime;

/// `YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM)` as a [`PacTime`] with that offset.
pub fn parse_rfc3339(s: &str) -> Result<PacTime> {
    let bad = || format!("`{s}` is not an RFC 3339 time (e.g. 2009-03-03T10:00:00+01:00)");
    let b = s.as_bytes();
    if b.len() < 20
        || b.get(4) != Some(&b'-')
        || b.get(7) != Some(&b'-')
        || !matches!(b.get(10), Some(b'T' | b't' | b' '))
    {
        bail!(bad());
    }
    let num = |r: std::ops::Range<usize>| -> Result<i64> {
        let t = s.get(r).with_context(bad)?;
        if !t.bytes().all(|c| c.is_ascii_digit()) {
            bail!(bad());
        }
        t.parse::<i64>().with_context(bad)
    };
    let (y, mo, d, h, mi, se) = (
        num(0..4)?,
        num(5..7)?,
        num(8..10)?,
        num(11..13)?,
        num(14..16)?,
        num(17..19)?,
    );
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        bail!(bad());
    }
    let mut rest = s.get(19..).with_context(bad)?;
    let mut millis = 0;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits: String = frac.chars().take_while(char::is_ascii_digit).collect();
        if digits.is_empty() {
            bail!(bad());
        }
        let ms: String = digits.chars().chain("000".chars()).take(3).collect();
        millis = ms.parse::<i64>().with_context(bad)?;
        rest = frac.get(digits.len()..).with_context(bad)?;
    }
    let offset = match rest {
        "Z" | "z" => 0,
        o if o.len() == 6
            && matches!(o.as_bytes().first(), Some(b'+' | b'-'))
            && o.as_bytes().get(3) == Some(&b':') =>
        {
            let oh = num(s.len() - 5..s.len() - 3)?;
            let om = num(s.len() - 2..s.len())?;
            let sign = if o.starts_with('-') { -1 } else { 1 };
            sign * (oh * 3600 + om * 60)
        }
        _ => bail!(bad()),
    };
    let days = days_from_civil(y, mo, d);
    let local_secs = days * 86_400 + h * 3600 + mi * 60 + se;
    let unix_millis = (local_secs - offset) * 1000 + millis;
    Ok(PacTime::from_unix_millis(
        unix_millis,
        i32::try_from(offset).with_context(bad)?,
    ))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339() {
        let t = parse_rfc3339("2009-03-03T10:00:00+01:00").unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(
            (t.unix_millis(), t.utc_offset_seconds()),
            (1_236_070_800_000, 3600)
        );
        let t = parse_rfc3339("1970-01-01T00:00:00.5Z").unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(t.unix_millis(), 500);
        assert!(parse_rfc3339("2009-13-03T10:00:00Z").is_err());
        assert!(parse_rfc3339("yesterday").is_err());
        assert!(parse_rfc3339("2009-03-03T10:00:00+0100").is_err());
    }
}
