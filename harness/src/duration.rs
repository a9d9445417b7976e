//! Human time spans as scenario files and the command line write them: `250ms`, `2s`, `1.5s`, `1m30s`, `1h`.
//! Only the units h, m, s, ms and us exist; a bare number is refused so that no one has to guess its unit.
//! This is parsing only; what a span means is decided by its caller.

use std::time::Duration;

/// Parses a span such as `1m30s` or `250ms`.
pub fn parse(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("empty duration".into());
    }
    let mut rest = text;
    let mut total = 0.0_f64;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("`{text}` has no unit (use h, m, s, ms or us)"))?;
        if digits == 0 {
            return Err(format!("`{text}` is not a duration like 250ms, 2s or 1m30s"));
        }
        let number: f64 = rest[..digits].parse().map_err(|_| format!("`{}` is not a number", &rest[..digits]))?;
        rest = &rest[digits..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" => 1e-6,
            other => return Err(format!("unknown unit `{other}` in `{text}` (use h, m, s, ms or us)")),
        };
        total += number * scale;
        rest = &rest[unit_len..];
    }
    if !total.is_finite() || total > 1e9 {
        return Err(format!("`{text}` is too long"));
    }
    Ok(Duration::from_secs_f64(total))
}

/// Parses `1s..3s` into a range; a single span `2s` is the range `2s..2s`.
pub fn parse_range(text: &str) -> Result<std::ops::Range<Duration>, String> {
    match text.split_once("..") {
        Some((low, high)) => {
            let (low, high) = (parse(low)?, parse(high)?);
            if low > high {
                return Err(format!("`{text}`: the lower bound is above the upper one"));
            }
            Ok(low..high)
        }
        None => {
            let one = parse(text)?;
            Ok(one..one)
        }
    }
}

/// Formats a span the way `parse` reads it back, for reports.
pub fn format(span: Duration) -> String {
    let ms = span.as_secs_f64() * 1e3;
    if ms < 1000.0 {
        format!("{}ms", trim_float(ms))
    } else {
        format!("{}s", trim_float(ms / 1e3))
    }
}

fn trim_float(value: f64) -> String {
    let text = format!("{value:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expected: Result<f64, &str>) {
        let actual = parse(text).map(|d| d.as_secs_f64());
        match (actual, expected) {
            (Ok(a), Ok(e)) => assert!((a - e).abs() < 1e-9, "{text}: {a} != {e}"),
            (Err(a), Err(e)) => assert!(a.contains(e), "{text}: error `{a}` lacks `{e}`"),
            (a, e) => panic!("{text}: got {a:?}, expected {e:?}"),
        }
    }

    #[test]
    fn spans() {
        check("250ms", Ok(0.25));
        check("2s", Ok(2.0));
        check("1.5s", Ok(1.5));
        check("1m30s", Ok(90.0));
        check("1h", Ok(3600.0));
        check("500us", Ok(0.0005));
        check(" 10s ", Ok(10.0));
        check("10", Err("no unit"));
        check("10 parsecs", Err("unknown unit"));
        check("", Err("empty"));
        check("s", Err("not a duration"));
    }

    #[test]
    fn ranges_and_format() {
        assert_eq!(parse_range("1s..3s"), Ok(Duration::from_secs(1)..Duration::from_secs(3)));
        assert_eq!(parse_range("2s"), Ok(Duration::from_secs(2)..Duration::from_secs(2)));
        assert!(parse_range("3s..1s").unwrap_err().contains("lower bound"));
        assert_eq!(format(Duration::from_millis(250)), "250ms");
        assert_eq!(format(Duration::from_millis(1500)), "1.5s");
    }
}
