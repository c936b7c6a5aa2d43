//! Avro binary to `Value`, as fastavro's `schemaless_reader` decodes it: with the writer schema
//! alone, or resolved into the reader schema (fields by name, defaults, promotions, enum and
//! union resolution). A `Program` is built once per (writer, reader) pair.
//!
//! The core is at least as strict as fastavro: where fastavro would raise, so does the core
//! (`Fail::Error` with the class the hub's serde reports); where fastavro accepts something
//! odd (an overlong varint, a negative union index, which Python wraps around), the core does
//! not guess and defers the event to the Python engine.

use crate::civil::{MAX_DAYS, MAX_MICROS, MIN_DAYS, MIN_MICROS};
use crate::fail::{Fail, Result};
use crate::schema::{Kind, Logical, NodeId, Schema};
use crate::value::Value;
use std::borrow::Cow;

const DECODE: &str = "DecodeError";
const RESOLUTION: &str = "SchemaResolutionError";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conv {
    None,
    Date,
    TsMillis,
    TsMicros,
    LocalMillis,
    LocalMicros,
    TimeMillis,
    TimeMicros,
}

#[derive(Clone, Debug)]
pub enum Op {
    Null,
    Bool,
    Long(Conv),
    /// int or long read into a float or double (Python's `float(int)`)
    LongToFloat,
    /// a float read as a Python float (the double of the 32 bits)
    Float,
    Double,
    Bytes {
        decimal: bool,
    },
    BytesToStr,
    Str {
        uuid: bool,
    },
    StrToBytes,
    Fixed {
        size: usize,
        decimal: bool,
    },
    /// per writer symbol index: the symbol the record gets, or the resolution failure
    Enum(Vec<std::result::Result<String, String>>),
    Array(Box<Op>),
    Map(Box<Op>),
    /// per writer branch
    Union(Vec<Op>),
    Record {
        steps: Vec<Step>,
        width: usize,
        /// reader fields the writer lacks, filled with their (null) default
        nulls: Vec<usize>,
    },
    /// statically known to fail for any value reaching it
    Fail(&'static str, String),
    /// the core does not decode this shape exactly as fastavro does
    Defer(String),
}

#[derive(Clone, Debug)]
pub enum Step {
    Read { into: usize, op: Op },
    Skip(Skip),
}

/// fastavro's `skip_*`: what a writer-only field costs to pass over (it checks less than a read).
#[derive(Clone, Debug)]
pub enum Skip {
    Nothing,
    Byte,
    Long,
    Four,
    Eight,
    Sized,
    Fixed(usize),
    Array(Box<Skip>),
    Map(Box<Skip>),
    Union(Vec<Skip>),
    Record(Vec<Skip>),
}

pub struct Program {
    pub root: Op,
}

impl Program {
    /// The program reading `writer` bytes; into `reader` when given (the schemas differ).
    pub fn build(writer: &Schema, reader: Option<&Schema>) -> Program {
        let mut b = Builder {
            w: writer,
            r: reader,
            depth: 0,
        };
        let root = match reader {
            None => b.plain(writer.root),
            Some(r) => b.resolve(writer.root, r.root),
        };
        Program { root }
    }

    /// Decode one Avro body (no Confluent header); all bytes must be used.
    pub fn decode<'a>(&'a self, body: &'a [u8]) -> Result<Value<'a>> {
        let mut input = Input { buf: body, at: 0 };
        let value = read(&self.root, &mut input)?;
        if input.at != body.len() {
            return Err(Fail::error(
                DECODE,
                format!("{} trailing bytes after the record", body.len() - input.at),
            ));
        }
        Ok(value)
    }
}

// --- building -----------------------------------------------------------------------------

struct Builder<'s> {
    w: &'s Schema,
    r: Option<&'s Schema>,
    depth: usize,
}

const MAX_DEPTH: usize = 64; // deeper (or recursive) schemas are the Python engine's

fn conv_of(logical: Logical) -> Conv {
    match logical {
        Logical::Date => Conv::Date,
        Logical::TimestampMillis => Conv::TsMillis,
        Logical::TimestampMicros => Conv::TsMicros,
        Logical::LocalTimestampMillis => Conv::LocalMillis,
        Logical::LocalTimestampMicros => Conv::LocalMicros,
        Logical::TimeMillis => Conv::TimeMillis,
        Logical::TimeMicros => Conv::TimeMicros,
        _ => Conv::None,
    }
}

impl<'s> Builder<'s> {
    /// Read with the writer schema alone.
    fn plain(&mut self, id: NodeId) -> Op {
        if self.depth > MAX_DEPTH {
            return Op::Defer("schema nested too deeply (or recursive)".into());
        }
        self.depth += 1;
        let node = self.w.node(id);
        let op = match &node.kind {
            Kind::Null => Op::Null,
            Kind::Boolean => Op::Bool,
            Kind::Int | Kind::Long => Op::Long(conv_of(node.logical)),
            Kind::Float => Op::Float,
            Kind::Double => Op::Double,
            Kind::Bytes => Op::Bytes {
                decimal: node.logical == Logical::Decimal,
            },
            Kind::String => Op::Str {
                uuid: node.logical == Logical::Uuid,
            },
            Kind::Fixed { size } => Op::Fixed {
                size: *size,
                decimal: node.logical == Logical::Decimal,
            },
            Kind::Enum { symbols, .. } => Op::Enum(symbols.iter().cloned().map(Ok).collect()),
            Kind::Array(items) => Op::Array(Box::new(self.plain(*items))),
            Kind::Map(values) => Op::Map(Box::new(self.plain(*values))),
            Kind::Union(branches) => Op::Union(branches.iter().map(|b| self.plain(*b)).collect()),
            Kind::Record { fields } => Op::Record {
                steps: fields
                    .iter()
                    .enumerate()
                    .map(|(i, f)| Step::Read {
                        into: i,
                        op: self.plain(f.ty),
                    })
                    .collect(),
                width: fields.len(),
                nulls: Vec::new(),
            },
        };
        self.depth -= 1;
        op
    }

    fn skip(&mut self, id: NodeId) -> Skip {
        if self.depth > MAX_DEPTH {
            return Skip::Nothing; // unreachable in practice: plain() defers such schemas
        }
        self.depth += 1;
        let out = match &self.w.node(id).kind {
            Kind::Null => Skip::Nothing,
            Kind::Boolean => Skip::Byte,
            Kind::Int | Kind::Long | Kind::Enum { .. } => Skip::Long,
            Kind::Float => Skip::Four,
            Kind::Double => Skip::Eight,
            Kind::Bytes | Kind::String => Skip::Sized,
            Kind::Fixed { size } => Skip::Fixed(*size),
            Kind::Array(i) => Skip::Array(Box::new(self.skip(*i))),
            Kind::Map(v) => Skip::Map(Box::new(self.skip(*v))),
            Kind::Union(b) => Skip::Union(b.iter().map(|x| self.skip(*x)).collect()),
            Kind::Record { fields } => {
                Skip::Record(fields.iter().map(|f| self.skip(f.ty)).collect())
            }
        };
        self.depth -= 1;
        out
    }

    fn reader(&self) -> &'s Schema {
        self.r.expect("resolving needs a reader schema")
    }

    /// fastavro's `match_types`: may a writer type be read as this reader type?
    fn match_types(&self, w: NodeId, r: NodeId) -> bool {
        let (wn, rn) = (self.w.node(w), self.reader().node(r));
        if matches!(wn.kind, Kind::Union(_)) || matches!(rn.kind, Kind::Union(_)) {
            return true;
        }
        match (&wn.kind, &rn.kind) {
            (Kind::Map(a), Kind::Map(b)) | (Kind::Array(a), Kind::Array(b)) => {
                self.match_types(*a, *b)
            }
            _ if wn.is_named() && rn.is_named() => {
                if let (Kind::Fixed { size: a }, Kind::Fixed { size: b }) = (&wn.kind, &rn.kind) {
                    if a != b {
                        return false;
                    }
                }
                wn.short_name() == rn.short_name()
            }
            _ => promotes(wn.type_name(), rn.type_name()),
        }
    }

    /// Read a writer type into a reader type (fastavro's `read_data` with a reader schema).
    fn resolve(&mut self, w: NodeId, r: NodeId) -> Op {
        if self.depth > MAX_DEPTH {
            return Op::Defer("schema nested too deeply (or recursive)".into());
        }
        self.depth += 1;
        let op = self.resolve_inner(w, r);
        self.depth -= 1;
        op
    }

    fn resolve_inner(&mut self, w: NodeId, r: NodeId) -> Op {
        let reader = self.reader();
        let writer: &'s Schema = self.w;
        let (wn, rn) = (writer.node(w), reader.node(r));
        if !rn.aliases.is_empty() {
            return Op::Defer("reader type with aliases".into());
        }
        // The writer is a union: each branch resolves on its own (read_union).
        if let Kind::Union(wb) = &wn.kind {
            let branches = wb.clone();
            let ops = branches
                .iter()
                .map(|&b| match &reader.node(r).kind {
                    Kind::Union(rb) => match rb.iter().copied().find(|&x| self.match_types(b, x)) {
                        Some(x) => self.resolve(b, x),
                        None => Op::Fail(
                            RESOLUTION,
                            "schema mismatch: writer branch not found in reader".into(),
                        ),
                    },
                    _ if self.match_types(b, r) => self.resolve(b, r),
                    _ => Op::Fail(
                        RESOLUTION,
                        "schema mismatch: writer branch not found in reader".into(),
                    ),
                })
                .collect();
            return Op::Union(ops);
        }
        // The reader is a union, the writer not: its first matching branch (match_schemas).
        if let Kind::Union(rb) = &rn.kind {
            let rb = rb.clone();
            return match rb.into_iter().find(|&x| self.match_types(w, x)) {
                Some(x) => self.resolve(w, x),
                None => Op::Fail(
                    RESOLUTION,
                    "Schema mismatch: writer type not in the reader union".into(),
                ),
            };
        }
        if !self.match_types(w, r) {
            return Op::Fail(
                RESOLUTION,
                "Schema mismatch: writer and reader types differ".into(),
            );
        }
        if wn.logical != rn.logical {
            // fastavro converts by the writer's logical type, which the reader then does not
            // describe: the record holds a value of another type than its schema says.
            return Op::Defer("logical types of writer and reader differ".into());
        }
        match (&wn.kind, &rn.kind) {
            (Kind::Record { fields: wf }, Kind::Record { fields: rf }) => {
                let mut taken = vec![false; rf.len()];
                let mut steps = Vec::with_capacity(wf.len());
                for f in wf {
                    let by_name = rf.iter().position(|x| x.name == f.name);
                    let by_alias = || rf.iter().position(|x| x.aliases.contains(&f.name));
                    match by_name.or_else(by_alias) {
                        Some(i) if taken[i] => {
                            return Op::Defer("two writer fields read into one reader field".into())
                        }
                        Some(i) => {
                            taken[i] = true;
                            let op = self.resolve(f.ty, rf[i].ty);
                            steps.push(Step::Read { into: i, op });
                        }
                        None => steps.push(Step::Skip(self.skip(f.ty))),
                    }
                }
                let mut nulls = Vec::new();
                for (i, f) in rf.iter().enumerate() {
                    if taken[i] {
                        continue;
                    }
                    match &f.default {
                        Some(serde_json::Value::Null) => nulls.push(i),
                        Some(_) => {
                            return Op::Defer(
                                "a reader field filled from a non-null default".into(),
                            )
                        }
                        None => {
                            return Op::Fail(
                                RESOLUTION,
                                format!("No default value for field {}", f.name),
                            )
                        }
                    }
                }
                Op::Record {
                    steps,
                    width: rf.len(),
                    nulls,
                }
            }
            (
                Kind::Enum { symbols: ws, .. },
                Kind::Enum {
                    symbols: rs,
                    default,
                },
            ) => {
                let out = ws
                    .iter()
                    .map(|s| {
                        if rs.contains(s) {
                            Ok(s.clone())
                        } else {
                            match default.as_deref() {
                                Some(d) if !d.is_empty() => Ok(d.to_string()),
                                _ => Err(format!("{s} not found in reader symbol list")),
                            }
                        }
                    })
                    .collect();
                Op::Enum(out)
            }
            (Kind::Array(a), Kind::Array(b)) => Op::Array(Box::new(self.resolve(*a, *b))),
            (Kind::Map(a), Kind::Map(b)) => Op::Map(Box::new(self.resolve(*a, *b))),
            (Kind::Fixed { size, .. }, Kind::Fixed { .. }) => Op::Fixed {
                size: *size,
                decimal: wn.logical == Logical::Decimal,
            },
            _ => match (wn.type_name(), rn.type_name()) {
                (a, b) if a == b => self.plain(w),
                ("int" | "long", "long") => Op::Long(Conv::None),
                ("int" | "long", "float" | "double") => Op::LongToFloat,
                ("float", "double") => Op::Float,
                ("string", "bytes") => Op::StrToBytes,
                ("bytes", "string") => Op::BytesToStr,
                _ => Op::Defer("an unknown promotion".into()),
            },
        }
    }
}

fn promotes(w: &str, r: &str) -> bool {
    w == r
        || (w == "int" && matches!(r, "long" | "float" | "double"))
        || (w == "long" && matches!(r, "float" | "double"))
        || (w == "float" && r == "double")
        || (w == "string" && r == "bytes")
        || (w == "bytes" && r == "string")
}

// --- reading --------------------------------------------------------------------------------

pub(crate) struct Input<'a> {
    pub(crate) buf: &'a [u8],
    pub(crate) at: usize,
}

fn truncated() -> Fail {
    Fail::error(DECODE, "truncated payload")
}

impl<'a> Input<'a> {
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or_else(truncated)?;
        let out = &self.buf[self.at..end];
        self.at = end;
        Ok(out)
    }

    pub(crate) fn long(&mut self) -> Result<i64> {
        let mut n: u64 = 0;
        let mut shift = 0u32;
        loop {
            let b = *self.buf.get(self.at).ok_or_else(truncated)?;
            self.at += 1;
            if shift == 63 && b > 1 {
                return Err(Fail::defer("a varint beyond 64 bits"));
            }
            n |= u64::from(b & 0x7F) << shift;
            if b & 0x80 == 0 {
                break;
            }
            shift += 7;
            if shift > 63 {
                return Err(Fail::defer("a varint beyond 64 bits"));
            }
        }
        Ok(((n >> 1) as i64) ^ -((n & 1) as i64))
    }

    pub(crate) fn len(&mut self) -> Result<usize> {
        let n = self.long()?;
        usize::try_from(n).map_err(|_| Fail::error(DECODE, format!("negative length {n}")))
    }

    /// Items of the next block of an array or map; 0 at the end.
    pub(crate) fn block(&mut self) -> Result<usize> {
        let n = self.long()?;
        if n < 0 {
            // fastavro reads (and may skip by) the block's byte size: not worth guessing
            return Err(Fail::defer("an array or map block with a byte size"));
        }
        let n = n as usize;
        // every item takes at least a byte except nulls; this bounds what a bad count allocates
        if n > self.buf.len() - self.at + 1_000_000 {
            return Err(Fail::defer("an array or map block longer than the record"));
        }
        Ok(n)
    }
}

fn read<'a>(op: &'a Op, input: &mut Input<'a>) -> Result<Value<'a>> {
    Ok(match op {
        Op::Null => Value::Null,
        Op::Bool => Value::Bool(input.take(1)?[0] != 0),
        Op::Long(conv) => convert(input.long()?, *conv)?,
        Op::LongToFloat => Value::Float(input.long()? as f64),
        Op::Float => {
            let b = input.take(4)?;
            Value::Float(f64::from(f32::from_le_bytes(
                b.try_into().expect("4 bytes"),
            )))
        }
        Op::Double => {
            let b = input.take(8)?;
            Value::Float(f64::from_le_bytes(b.try_into().expect("8 bytes")))
        }
        Op::Bytes { decimal } => {
            let n = input.len()?;
            let b = input.take(n)?;
            if *decimal {
                Value::Opaque(b)
            } else {
                Value::Bytes(Cow::Borrowed(b))
            }
        }
        Op::BytesToStr | Op::Str { uuid: false } => {
            let n = input.len()?;
            Value::Str(Cow::Borrowed(utf8(input.take(n)?)?))
        }
        Op::Str { uuid: true } => {
            let n = input.len()?;
            Value::Uuid(parse_uuid(utf8(input.take(n)?)?)?)
        }
        Op::StrToBytes => {
            let n = input.len()?;
            let b = input.take(n)?;
            utf8(b)?;
            Value::Bytes(Cow::Borrowed(b))
        }
        Op::Fixed { size, decimal } => {
            let b = input.take(*size)?;
            if *decimal {
                Value::Opaque(b)
            } else {
                Value::Bytes(Cow::Borrowed(b))
            }
        }
        Op::Enum(symbols) => {
            let i = input.long()?;
            if i < 0 {
                return Err(Fail::defer(
                    "a negative enum index (Python counts from the end)",
                ));
            }
            match symbols.get(i as usize) {
                Some(Ok(s)) => Value::Enum(s),
                Some(Err(m)) => return Err(Fail::error(RESOLUTION, m.clone())),
                None => return Err(Fail::error(DECODE, format!("enum index {i} out of range"))),
            }
        }
        Op::Array(items) => {
            let mut out = Vec::new();
            loop {
                let n = input.block()?;
                if n == 0 {
                    break;
                }
                out.reserve(n.min(4096));
                for _ in 0..n {
                    out.push(read(items, input)?);
                }
            }
            Value::Array(out)
        }
        Op::Map(values) => {
            let mut out: Vec<(Cow<'a, str>, Value<'a>)> = Vec::new();
            loop {
                let n = input.block()?;
                if n == 0 {
                    break;
                }
                for _ in 0..n {
                    let k = input.len()?;
                    let key = utf8(input.take(k)?)?;
                    let value = read(values, input)?;
                    // a dict: a repeated key keeps its first place and takes the last value
                    match out.iter_mut().find(|(k, _)| k == key) {
                        Some(slot) => slot.1 = value,
                        None => out.push((Cow::Borrowed(key), value)),
                    }
                }
            }
            Value::Map(out)
        }
        Op::Union(branches) => {
            let i = input.long()?;
            if i < 0 {
                return Err(Fail::defer(
                    "a negative union index (Python counts from the end)",
                ));
            }
            let branch = branches
                .get(i as usize)
                .ok_or_else(|| Fail::error(DECODE, format!("union index {i} out of range")))?;
            read(branch, input)?
        }
        Op::Record {
            steps,
            width,
            nulls,
        } => {
            let mut fields = vec![Value::Null; *width];
            for step in steps {
                match step {
                    Step::Read { into, op } => fields[*into] = read(op, input)?,
                    Step::Skip(skip) => skip_value(skip, input)?,
                }
            }
            debug_assert!(nulls.iter().all(|&i| fields[i].is_null()));
            Value::Record(fields)
        }
        Op::Fail(class, message) => return Err(Fail::error(class, message.clone())),
        Op::Defer(reason) => return Err(Fail::defer(reason.clone())),
    })
}

pub(crate) fn skip_value(skip: &Skip, input: &mut Input<'_>) -> Result<()> {
    match skip {
        Skip::Nothing => {}
        Skip::Byte => {
            input.take(1)?;
        }
        Skip::Long => {
            input.long()?;
        }
        Skip::Four => {
            input.take(4)?;
        }
        Skip::Eight => {
            input.take(8)?;
        }
        Skip::Sized => {
            let n = input.len()?;
            input.take(n)?;
        }
        Skip::Fixed(n) => {
            input.take(*n)?;
        }
        Skip::Array(items) => loop {
            let n = input.block()?;
            if n == 0 {
                break;
            }
            for _ in 0..n {
                skip_value(items, input)?;
            }
        },
        Skip::Map(values) => loop {
            let n = input.block()?;
            if n == 0 {
                break;
            }
            for _ in 0..n {
                let k = input.len()?;
                input.take(k)?;
                skip_value(values, input)?;
            }
        },
        Skip::Union(branches) => {
            let i = input.long()?;
            if i < 0 {
                return Err(Fail::defer(
                    "a negative union index (Python counts from the end)",
                ));
            }
            let b = branches
                .get(i as usize)
                .ok_or_else(|| Fail::error(DECODE, format!("union index {i} out of range")))?;
            skip_value(b, input)?;
        }
        Skip::Record(fields) => {
            for f in fields {
                skip_value(f, input)?;
            }
        }
    }
    Ok(())
}

pub(crate) fn utf8(b: &[u8]) -> Result<&str> {
    std::str::from_utf8(b).map_err(|e| Fail::error(DECODE, format!("invalid UTF-8: {e}")))
}

fn out_of_range() -> Fail {
    Fail::error(DECODE, "OverflowError: date value out of range")
}

/// fastavro's logical readers: the Python object a long or int becomes.
fn convert(n: i64, conv: Conv) -> Result<Value<'static>> {
    Ok(match conv {
        Conv::None => Value::Int(n),
        Conv::Date => {
            if !(MIN_DAYS..=MAX_DAYS).contains(&n) {
                return Err(out_of_range());
            }
            Value::Date(n as i32)
        }
        Conv::TsMillis | Conv::LocalMillis => {
            let us = i128::from(n) * 1000;
            if us < i128::from(MIN_MICROS) || us > i128::from(MAX_MICROS) {
                return Err(out_of_range());
            }
            if conv == Conv::TsMillis {
                Value::Timestamp(us as i64)
            } else {
                Value::LocalTimestamp(us as i64)
            }
        }
        Conv::TsMicros | Conv::LocalMicros => {
            if !(MIN_MICROS..=MAX_MICROS).contains(&n) {
                return Err(out_of_range());
            }
            if conv == Conv::TsMicros {
                Value::Timestamp(n)
            } else {
                Value::LocalTimestamp(n)
            }
        }
        // time(h, m, s, us) with h = int(n / MS_PER_HOUR): valid for -1 h < n < 24 h
        Conv::TimeMillis => {
            if !(-3_600_000 < n && n < 86_400_000) {
                return Err(Fail::error(DECODE, "ValueError: hour must be in 0..23"));
            }
            Value::Int(n)
        }
        Conv::TimeMicros => {
            if !(-3_600_000_000 < n && n < 86_400_000_000) {
                return Err(Fail::error(DECODE, "ValueError: hour must be in 0..23"));
            }
            Value::Int(n)
        }
    })
}

/// `uuid.UUID(text)` for the forms it surely accepts; anything else is for Python to judge.
fn parse_uuid(text: &str) -> Result<u128> {
    // the canonical form, without allocating
    let b = text.as_bytes();
    if b.len() == 36 && [8, 13, 18, 23].iter().all(|&i| b[i] == b'-') {
        let mut n: u128 = 0;
        let mut ok = true;
        for (i, &c) in b.iter().enumerate() {
            if matches!(i, 8 | 13 | 18 | 23) {
                continue;
            }
            match (c as char).to_digit(16) {
                Some(d) => n = n << 4 | u128::from(d),
                None => ok = false,
            }
        }
        if ok {
            return Ok(n);
        }
    }
    let t = text.replace("urn:", "").replace("uuid:", "");
    let t = t.trim_matches(|c| c == '{' || c == '}').replace('-', "");
    if t.chars().count() != 32 {
        return Err(Fail::error(
            DECODE,
            "ValueError: badly formed hexadecimal UUID string",
        ));
    }
    if !t.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Fail::defer("a UUID that int(hex, 16) may or may not read"));
    }
    Ok(u128::from_str_radix(&t, 16).expect("32 hex digits"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(text: &str) -> Schema {
        Schema::parse(text).unwrap()
    }

    #[test]
    fn plain_record_with_logical_types() {
        let s = schema(
            r#"{"type":"record","name":"R","fields":[
            {"name":"s","type":"string"},{"name":"d","type":{"type":"int","logicalType":"date"}},
            {"name":"t","type":{"type":"long","logicalType":"timestamp-millis"}},
            {"name":"n","type":["null","long"]}]}"#,
        );
        let p = Program::build(&s, None);
        let v = p.decode(&[4, b'h', b'i', 2, 4, 2, 3]).unwrap();
        assert_eq!(
            v,
            Value::Record(vec![
                Value::Str("hi".into()),
                Value::Date(1),
                Value::Timestamp(2000),
                Value::Int(-2)
            ])
        );
        assert!(matches!(
            p.decode(&[4, b'h']),
            Err(Fail::Error {
                class: "DecodeError",
                ..
            })
        ));
        assert!(matches!(
            p.decode(&[0, 0, 0, 0, 0]),
            Err(Fail::Error { .. })
        ));
    }

    #[test]
    fn resolution_skips_writer_fields_and_fills_null_defaults() {
        let w = schema(
            r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int"},{"name":"x","type":"string"}]}"#,
        );
        let r = schema(
            r#"{"type":"record","name":"R","fields":[{"name":"b","type":["null","string"],"default":null},{"name":"a","type":"double"}]}"#,
        );
        let p = Program::build(&w, Some(&r));
        let v = p.decode(&[4, 2, b'z']).unwrap();
        assert_eq!(v, Value::Record(vec![Value::Null, Value::Float(2.0)]));
    }
}
