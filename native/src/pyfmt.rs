//! Text as Python writes it: `repr(float)`, `str(date)`, `str(datetime)`. Labels and error
//! messages of the transforms embed these, so they must match character for character.

use crate::civil::{civil_from_days, Civil};

/// Shortest round-trip digits of a finite, non-zero `x` and its decimal point position:
/// `|x| = 0.d1d2...dn × 10^decpt`.
pub fn shortest_digits(x: f64) -> (String, i32) {
    // Rust's `{:e}` without a precision prints a shortest string that round-trips. Of the
    // shortest, Python's repr takes the one nearest to x, an exact tie to the even digit: that
    // is the correctly rounded one at that length (`{:.N$e}`), whenever it round-trips too.
    let a = x.abs();
    let shortest = format!("{a:e}");
    let n = shortest
        .split_once('e')
        .expect("exponent form")
        .0
        .replace('.', "")
        .len();
    let rounded = format!("{a:.prec$e}", prec = n - 1);
    let text = if rounded.parse::<f64>() == Ok(a) {
        rounded
    } else {
        shortest
    };
    let (mantissa, exp) = text.split_once('e').expect("exponent form");
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let exp: i32 = exp.parse().expect("an exponent");
    (digits, exp + 1)
}

/// `repr(x)` of a Python float.
pub fn float_repr(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let sign = if x.is_sign_negative() { "-" } else { "" };
    if x == 0.0 {
        return format!("{sign}0.0");
    }
    let (digits, decpt) = shortest_digits(x);
    let n = digits.len() as i32;
    let body = if decpt <= -4 || decpt > 16 {
        let exp = decpt - 1;
        let (first, rest) = digits.split_at(1);
        let mantissa = if rest.is_empty() {
            first.to_string()
        } else {
            format!("{first}.{rest}")
        };
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{esign}{:02}", exp.abs())
    } else if decpt <= 0 {
        format!("0.{}{digits}", "0".repeat((-decpt) as usize))
    } else if decpt >= n {
        format!("{digits}{}.0", "0".repeat((decpt - n) as usize))
    } else {
        let (a, b) = digits.split_at(decpt as usize);
        format!("{a}.{b}")
    };
    format!("{sign}{body}")
}

/// `str(date)` of days since 1970-01-01.
pub fn date_str(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// `str(datetime)` of microseconds since 1970-01-01T00:00; `aware`: a UTC datetime.
pub fn datetime_str(micros: i64, aware: bool) -> String {
    let c = Civil::of_micros(micros);
    let mut out = format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    );
    if c.micro != 0 {
        out.push_str(&format!(".{:06}", c.micro));
    }
    if aware {
        out.push_str("+00:00");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_repr_matches_python() {
        for (x, text) in [
            (1.0, "1.0"),
            (-0.0, "-0.0"),
            (0.1, "0.1"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (123456789012345678.0, "1.2345678901234568e+17"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (5e-324, "5e-324"),
            (1.5e300, "1.5e+300"),
            (812.5, "812.5"),
            (2f64.powi(49) + 0.25, "562949953421312.2"), // a tie: the even digit
            (f64::NAN, "nan"),
            (f64::NEG_INFINITY, "-inf"),
        ] {
            assert_eq!(float_repr(x), text);
        }
    }

    #[test]
    fn dates_and_datetimes() {
        assert_eq!(date_str(0), "1970-01-01");
        assert_eq!(date_str(-719_162), "0001-01-01");
        assert_eq!(
            datetime_str(5_000, true),
            "1970-01-01 00:00:00.005000+00:00"
        );
        assert_eq!(datetime_str(-1_000_000, false), "1969-12-31 23:59:59");
    }
}
