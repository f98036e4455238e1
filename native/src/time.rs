//! `YYYY-MM-DDTHH:MM:SSZ` → milliseconds since the epoch, exactly the values
//! `kmslog.decode.flatten.parse_event_time` gives for that form. Any other
//! text yields None, and the caller hands the file to the Python path.

fn two(b: &[u8], i: usize) -> Option<i64> {
    let (x, y) = (b[i].wrapping_sub(b'0'), b[i + 1].wrapping_sub(b'0'));
    (x < 10 && y < 10).then(|| i64::from(x) * 10 + i64::from(y))
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    // Howard Hinnant's algorithm, proleptic Gregorian calendar.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

pub fn canonical_millis(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() != 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'Z'
    {
        return None;
    }
    let year = two(b, 0)? * 100 + two(b, 2)?;
    let (month, day) = (two(b, 5)?, two(b, 8)?);
    let (hour, minute, second) = (two(b, 11)?, two(b, 14)?, two(b, 17)?);
    if year == 0
        || !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000)
}

#[cfg(test)]
mod tests {
    use super::canonical_millis;

    #[test]
    fn known_instants() {
        assert_eq!(canonical_millis("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            canonical_millis("2024-02-29T23:59:59Z"),
            Some(1_709_251_199_000)
        );
        assert_eq!(
            canonical_millis("0001-01-01T00:00:00Z"),
            Some(-62_135_596_800_000)
        );
        assert_eq!(
            canonical_millis("9999-12-31T23:59:59Z"),
            Some(253_402_300_799_000)
        );
    }

    #[test]
    fn other_forms_are_not_taken() {
        for text in [
            "2023-02-29T00:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-01-01T24:00:00Z",
            "2024-01-01T00:60:00Z",
            "2024-01-01T00:00:60Z",
            "0000-01-01T00:00:00Z",
            "2024-01-01T00:00:00z",
            "2024-01-01T00:00:00.5Z",
            "2024-01-01 00:00:00Z",
            "2024-01-01T00:00:00+00:00",
            "+024-01-01T00:00:00Z",
        ] {
            assert_eq!(canonical_millis(text), None, "{text}");
        }
    }
}
