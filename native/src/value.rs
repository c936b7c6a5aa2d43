//! A decoded Avro value, shaped like the Python object fastavro hands the Python engine
//! (a `date`, an aware or naive `datetime`, a `UUID`, a dict of a record), so every transform
//! sees what its Python specification sees. Strings and bytes borrow from the event's bytes.

use std::borrow::Cow;

#[derive(Clone, Debug, PartialEq)]
pub enum Value<'a> {
    Null,
    Bool(bool),
    /// int and long: a Python int
    Int(i64),
    /// float and double: a Python float (a float is widened to double, as fastavro does)
    Float(f64),
    Bytes(Cow<'a, [u8]>),
    Str(Cow<'a, str>),
    /// an enum symbol (a Python str); borrowed from the schema
    Enum(&'a str),
    /// `date`: days since 1970-01-01
    Date(i32),
    /// aware `datetime` in UTC (timestamp-millis/micros): microseconds since the epoch
    Timestamp(i64),
    /// naive `datetime` (local-timestamp-millis/micros): microseconds since 1970-01-01T00:00
    LocalTimestamp(i64),
    Uuid(u128),
    /// a value the core carries but never looks into (decimal, time-of-day): its raw Avro
    /// bytes, re-encoded as they came
    Opaque(&'a [u8]),
    /// a record's fields in the order of the schema it was read into
    Record(Vec<Value<'a>>),
    Array(Vec<Value<'a>>),
    Map(Vec<(Cow<'a, str>, Value<'a>)>),
}

impl Value<'_> {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
}

/// Follow a path of record field indices; None where a record on the way is null (as the
/// Python engine's getter gives None for a missing parent).
pub fn get_path<'v, 'a>(record: &'v Value<'a>, path: &[usize]) -> Option<&'v Value<'a>> {
    let mut at = record;
    for &i in path {
        match at {
            Value::Record(fields) => at = fields.get(i)?,
            _ => return None,
        }
    }
    if at.is_null() {
        None
    } else {
        Some(at)
    }
}
