//! `Value` to Avro binary under an output schema, as fastavro's `schemaless_writer` writes the
//! Python value: one block per array or map, null branches chosen by value, logical types
//! converted back (a `datetime` to its millis or micros, a `date` to its days, a UUID to text).

use crate::fail::{Fail, Result};
use crate::schema::{Kind, Logical, NodeId, Schema};
use crate::value::Value;

const ENCODE: &str = "EncodeError";

pub fn write_long(out: &mut Vec<u8>, n: i64) {
    let mut z = ((n << 1) ^ (n >> 63)) as u64;
    while z >= 0x80 {
        out.push((z as u8) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

pub fn write_bytes(out: &mut Vec<u8>, b: &[u8]) {
    write_long(out, b.len() as i64);
    out.extend_from_slice(b);
}

fn mismatch(node: &str, value: &Value<'_>) -> Fail {
    Fail::error(ENCODE, format!("a {node} field cannot hold {value:?}"))
}

pub fn uuid_text(u: u128) -> String {
    let h = format!("{u:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Write `value` as the type `id` of `schema`.
pub fn encode(schema: &Schema, id: NodeId, value: &Value<'_>, out: &mut Vec<u8>) -> Result<()> {
    let node = schema.node(id);
    match (&node.kind, value) {
        (Kind::Null, _) => {} // fastavro writes nothing for null, whatever the value
        (Kind::Boolean, Value::Bool(b)) => out.push(u8::from(*b)),
        (Kind::Int | Kind::Long, v) => {
            let n = match (node.logical, v) {
                (_, Value::Int(n)) => *n,
                (Logical::Date, Value::Date(d)) => i64::from(*d),
                (Logical::TimestampMillis, Value::Timestamp(us))
                | (Logical::LocalTimestampMillis, Value::LocalTimestamp(us)) => us.div_euclid(1000),
                (Logical::TimestampMicros, Value::Timestamp(us))
                | (Logical::LocalTimestampMicros, Value::LocalTimestamp(us)) => *us,
                _ => return Err(mismatch(node.type_name(), v)),
            };
            write_long(out, n);
        }
        (Kind::Float, Value::Float(x)) => out.extend_from_slice(&(*x as f32).to_le_bytes()),
        (Kind::Double, Value::Float(x)) => out.extend_from_slice(&x.to_le_bytes()),
        (Kind::Bytes, Value::Bytes(b)) => write_bytes(out, b),
        (Kind::String, Value::Str(s)) => write_bytes(out, s.as_bytes()),
        (Kind::String, Value::Uuid(u)) if node.logical == Logical::Uuid => {
            write_bytes(out, uuid_text(*u).as_bytes())
        }
        (Kind::Fixed { size }, Value::Bytes(b)) if b.len() == *size => out.extend_from_slice(b),
        (Kind::Enum { symbols, .. }, Value::Enum(s)) => {
            let i = symbols
                .iter()
                .position(|x| x == s)
                .ok_or_else(|| Fail::error(ENCODE, format!("{s} is not a symbol of the enum")))?;
            write_long(out, i as i64);
        }
        (Kind::Array(items), Value::Array(xs)) => {
            if !xs.is_empty() {
                write_long(out, xs.len() as i64);
                for x in xs {
                    encode(schema, *items, x, out)?;
                }
            }
            out.push(0);
        }
        (Kind::Map(values), Value::Map(kvs)) => {
            if !kvs.is_empty() {
                write_long(out, kvs.len() as i64);
                for (k, v) in kvs {
                    write_bytes(out, k.as_bytes());
                    encode(schema, *values, v, out)?;
                }
            }
            out.push(0);
        }
        (Kind::Union(_), v) => {
            // only ["null", T] reaches here (the plan refuses wider unions)
            let inner = schema
                .nullable_branch(id)
                .ok_or_else(|| Fail::defer("a union of several types in the output"))?;
            let Kind::Union(branches) = &node.kind else {
                unreachable!()
            };
            let null_at = branches
                .iter()
                .position(|b| *b != inner)
                .expect("a null branch");
            if v.is_null() {
                write_long(out, null_at as i64);
            } else {
                write_long(out, (1 - null_at) as i64);
                encode(schema, inner, v, out)?;
            }
        }
        (Kind::Record { fields }, Value::Record(vs)) if fields.len() == vs.len() => {
            for (f, v) in fields.iter().zip(vs) {
                encode(schema, f.ty, v, out)?;
            }
        }
        (_, v) => return Err(mismatch(node.type_name(), v)),
    }
    Ok(())
}
