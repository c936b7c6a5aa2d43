//! The anonymization transforms on decoded values: the same output, and the same errors, as
//! `hub.agreements.transforms` gives for the Python objects fastavro decodes.

use crate::bucket::{Bucket, Num};
use crate::civil::{
    civil_from_days, days_from_civil, Civil, MAX_DAYS, MAX_MICROS, MICROS_PER_DAY,
    MICROS_PER_SECOND, MIN_DAYS, MIN_MICROS,
};
use crate::fail::{Fail, Result};
use crate::keys::Keys;
use crate::pyfmt::{date_str, datetime_str, float_repr};
use crate::tz::Zone;
use crate::value::Value;
use std::borrow::Cow;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Hour,
    Day,
    Month,
    Year,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Period {
    Year,
    Quarter,
    Month,
}

#[derive(Clone, Debug)]
pub enum Transform {
    Keep,
    Redact(Value<'static>),
    Pseudonymize,
    Mask(usize),
    PostcodePrefix(usize),
    /// a timestamp (aware or local) to the start of its hour/day/month/year in the city
    TruncateTimestamp(Unit),
    /// a date to the first of its month or year
    TruncateDate(Unit),
    Generalize(Period),
    AgeBand {
        labels: Vec<String>,
        top: String,
        /// index of the top-level `occurred_at`
        event_time: usize,
    },
    Bucket(Bucket),
    H3 {
        res: h3o::Resolution,
        lat: usize,
        lon: usize,
    },
    DateShift(u64),
}

/// What a transform may use besides the value: the agreement's keys, the city's time zone,
/// the message key and the whole record.
pub struct Context<'c, 'a> {
    pub keys: &'c Keys,
    pub zone: &'c Zone,
    pub key: Option<&'c [u8]>,
    pub record: &'c Value<'a>,
}

const EVENT_TIME: &str = "occurred_at";

fn year_of_micros(micros: i64) -> i64 {
    civil_from_days(micros.div_euclid(MICROS_PER_DAY)).0
}

/// Near the ends of what `datetime` holds, the Python engine's period arithmetic overflows
/// (and says so with its own exceptions): those years are left to it.
fn guard_year(year: i64) -> Result<()> {
    if year <= 1 || year >= 9999 {
        return Err(Fail::defer("a time within a year of datetime's limits"));
    }
    Ok(())
}

/// `v.astimezone(tz)`: local wall time (microseconds) and fold of a UTC instant.
pub fn to_local(zone: &Zone, utc: i64) -> Result<(i64, bool)> {
    guard_year(year_of_micros(utc))?;
    let (off, fold) = zone.from_utc(utc.div_euclid(MICROS_PER_SECOND), year_of_micros(utc));
    Ok((utc + off * MICROS_PER_SECOND, fold))
}

/// `local.replace(tzinfo=tz).astimezone(UTC)` of a wall time with its fold.
pub fn to_utc(zone: &Zone, local: i64, fold: bool) -> Result<i64> {
    guard_year(year_of_micros(local))?;
    let off = zone.utc_offset(
        local.div_euclid(MICROS_PER_SECOND),
        year_of_micros(local),
        fold,
    );
    Ok(local - off * MICROS_PER_SECOND)
}

fn reset(local: i64, unit: Unit) -> i64 {
    let mut c = Civil::of_micros(local);
    c.micro = 0;
    c.second = 0;
    c.minute = 0;
    if unit != Unit::Hour {
        c.hour = 0;
    }
    if matches!(unit, Unit::Month | Unit::Year) {
        c.day = 1;
    }
    if unit == Unit::Year {
        c.month = 1;
    }
    c.to_micros()
}

/// The calendar day (days since 1970) in the city of a date or timestamp.
fn local_day(zone: &Zone, v: &Value<'_>) -> Result<i64> {
    Ok(match v {
        Value::Date(d) => i64::from(*d),
        Value::LocalTimestamp(us) => us.div_euclid(MICROS_PER_DAY),
        Value::Timestamp(us) => to_local(zone, *us)?.0.div_euclid(MICROS_PER_DAY),
        other => return Err(unexpected(other)),
    })
}

fn unexpected(v: &Value<'_>) -> Fail {
    Fail::defer(format!("a value of an unexpected type: {v:?}"))
}

fn overflow() -> Fail {
    Fail::error("OverflowError", "date value out of range")
}

fn mask(text: &str, n: usize) -> String {
    let len = text.chars().count();
    if len <= n {
        return "*".repeat(len);
    }
    let hidden = len - n;
    let mut out = "*".repeat(hidden);
    out.extend(text.chars().skip(hidden));
    out
}

/// The message key as `bytes.decode("utf-8", "backslashreplace")`.
pub fn key_text(key: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(key) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => {
            let mut out = String::with_capacity(key.len() + 8);
            let mut rest = key;
            loop {
                match std::str::from_utf8(rest) {
                    Ok(s) => {
                        out.push_str(s);
                        break;
                    }
                    Err(e) => {
                        let (ok, bad) = rest.split_at(e.valid_up_to());
                        out.push_str(std::str::from_utf8(ok).expect("valid prefix"));
                        let n = e.error_len().unwrap_or(bad.len());
                        for b in &bad[..n] {
                            out.push_str(&format!("\\x{b:02x}"));
                        }
                        rest = &bad[n..];
                    }
                }
            }
            Cow::Owned(out)
        }
    }
}

/// The message key transform.
#[derive(Clone, Debug)]
pub enum KeyTransform {
    Drop,
    Keep,
    Redact(String),
    Pseudonymize,
    Mask(usize),
}

impl KeyTransform {
    pub fn apply(&self, keys: &Keys, key: Option<&[u8]>) -> Option<Vec<u8>> {
        let key = key?;
        Some(match self {
            KeyTransform::Drop => return None,
            KeyTransform::Redact(c) => c.as_bytes().to_vec(),
            KeyTransform::Pseudonymize => keys.pseudonym(key).into_bytes(),
            KeyTransform::Keep => key_text(key).into_owned().into_bytes(),
            KeyTransform::Mask(n) => mask(&key_text(key), *n).into_bytes(),
        })
    }
}

impl Transform {
    /// The output value of a non-null source value `v`.
    pub fn apply<'a>(&self, v: &Value<'a>, cx: &Context<'_, 'a>) -> Result<Value<'a>> {
        Ok(match self {
            Transform::Keep => v.clone(),
            Transform::Redact(c) => c.clone(),
            Transform::Pseudonymize => {
                let p = match v {
                    Value::Str(s) => cx.keys.pseudonym(s.as_bytes()),
                    Value::Enum(s) => cx.keys.pseudonym(s.as_bytes()),
                    Value::Bytes(b) => cx.keys.pseudonym(b),
                    Value::Int(i) => cx.keys.pseudonym(i.to_string().as_bytes()),
                    other => return Err(unexpected(other)),
                };
                Value::Str(Cow::Owned(p))
            }
            Transform::Mask(n) => match v {
                Value::Str(s) => Value::Str(Cow::Owned(mask(s, *n))),
                other => return Err(unexpected(other)),
            },
            Transform::PostcodePrefix(n) => match v {
                Value::Str(s) => match s.char_indices().nth(*n) {
                    Some((at, _)) => Value::Str(match s {
                        Cow::Borrowed(b) => Cow::Borrowed(&b[..at]),
                        Cow::Owned(o) => Cow::Owned(o[..at].to_string()),
                    }),
                    None => v.clone(),
                },
                other => return Err(unexpected(other)),
            },
            Transform::TruncateTimestamp(unit) => match v {
                Value::Timestamp(us) => {
                    let (local, fold) = to_local(cx.zone, *us)?;
                    guard_year(year_of_micros(local))?;
                    Value::Timestamp(to_utc(cx.zone, reset(local, *unit), fold)?)
                }
                Value::LocalTimestamp(us) => {
                    guard_year(year_of_micros(*us))?;
                    Value::LocalTimestamp(reset(*us, *unit))
                }
                other => return Err(unexpected(other)),
            },
            Transform::TruncateDate(unit) => match v {
                Value::Date(d) => {
                    let (y, m, _) = civil_from_days(i64::from(*d));
                    let m = if *unit == Unit::Year { 1 } else { m };
                    Value::Date(days_from_civil(y, m, 1) as i32)
                }
                other => return Err(unexpected(other)),
            },
            Transform::Generalize(period) => {
                let (y, m, _) = civil_from_days(local_day(cx.zone, v)?);
                match period {
                    Period::Year => Value::Int(y),
                    Period::Quarter => Value::Str(Cow::Owned(format!("{y}-Q{}", (m - 1) / 3 + 1))),
                    Period::Month => Value::Str(Cow::Owned(format!("{y:04}-{m:02}"))),
                }
            }
            Transform::AgeBand {
                labels,
                top,
                event_time,
            } => {
                let Value::Date(birth) = v else {
                    return Err(unexpected(v));
                };
                let at = match cx.record {
                    Value::Record(fields) => fields.get(*event_time).unwrap_or(&Value::Null),
                    _ => &Value::Null,
                };
                if at.is_null() {
                    return Err(Fail::transform(format!(
                        "age_band needs {EVENT_TIME}, which the record lacks"
                    )));
                }
                let on = civil_from_days(local_day(cx.zone, at)?);
                let b = civil_from_days(i64::from(*birth));
                let age = on.0 - b.0 - i64::from((on.1, on.2) < (b.1, b.2));
                if age < 0 {
                    let at_text = match at {
                        Value::Timestamp(us) => datetime_str(*us, true),
                        Value::LocalTimestamp(us) => datetime_str(*us, false),
                        other => return Err(unexpected(other)),
                    };
                    return Err(Fail::transform(format!(
                        "birth date {} is after the event time {at_text}",
                        date_str(i64::from(*birth))
                    )));
                }
                let label = labels.get(age as usize).unwrap_or(top);
                Value::Str(Cow::Owned(label.clone()))
            }
            Transform::Bucket(b) => {
                let n = match v {
                    Value::Int(i) => Num::Int(i128::from(*i)),
                    Value::Float(f) => Num::Float(*f),
                    other => return Err(unexpected(other)),
                };
                Value::Str(Cow::Owned(b.apply(n)?))
            }
            Transform::H3 { res, lat, lon } => {
                let Value::Record(fields) = v else {
                    return Err(unexpected(v));
                };
                let (Some(Value::Float(y)), Some(Value::Float(x))) =
                    (fields.get(*lat), fields.get(*lon))
                else {
                    return Err(Fail::defer("a geo point without float coordinates"));
                };
                let (y, x) = (*y, *x);
                if !((-90.0..=90.0).contains(&y) && (-180.0..=180.0).contains(&x)) {
                    return Err(Fail::transform(format!(
                        "({}, {}) is no WGS84 point; cannot map it to H3",
                        float_repr(y),
                        float_repr(x)
                    )));
                }
                let point = h3o::LatLng::new(y, x)
                    .map_err(|e| Fail::defer(format!("h3o refused the point: {e}")))?;
                Value::Str(Cow::Owned(point.to_cell(*res).to_string()))
            }
            Transform::DateShift(max_days) => {
                let Some(key) = cx.key else {
                    return Err(Fail::transform(
                        "date_shift needs the message key (the entity id)",
                    ));
                };
                let days = cx.keys.shift_days(key, *max_days);
                match v {
                    Value::Date(d) => {
                        let out = i64::from(*d) + days;
                        if !(MIN_DAYS..=MAX_DAYS).contains(&out) {
                            return Err(overflow());
                        }
                        Value::Date(out as i32)
                    }
                    Value::Timestamp(us) | Value::LocalTimestamp(us) => {
                        let out = i128::from(*us) + i128::from(days) * i128::from(MICROS_PER_DAY);
                        if out < i128::from(MIN_MICROS) || out > i128::from(MAX_MICROS) {
                            return Err(overflow());
                        }
                        if matches!(v, Value::Timestamp(_)) {
                            Value::Timestamp(out as i64)
                        } else {
                            Value::LocalTimestamp(out as i64)
                        }
                    }
                    other => return Err(unexpected(other)),
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask_and_key_text() {
        assert_eq!(mask("DE89370400440532013000", 4), "******************3000");
        assert_eq!(mask("1234", 4), "****");
        assert_eq!(mask("äöü", 1), "**ü");
        assert_eq!(key_text(b"a\xffb\xe2\x82"), "a\\xffb\\xe2\\x82");
    }
}
