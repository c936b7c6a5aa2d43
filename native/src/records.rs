//! Avro binary to the objects fastavro's `schemaless_reader` returns (dicts, lists, str,
//! bytes, int, float, bool, None, enum symbols as str, and its logical types), for the Python
//! consumers of deliveries (the subscriber SDK, the feature pipeline) rather than the router.
//!
//! A `Program` is built once per (writer, reader) pair; building refuses (with the reason)
//! whatever the core cannot decode exactly as fastavro does, and whatever fastavro would
//! fail on at read time (the caller keeps fastavro for those schemas). Reading drives a
//! `Sink` that makes the objects (Python objects in `python.rs`, a plain tree in the tests).
//! Record keys come in fastavro's order: the fields read, in the writer's order, then the
//! reader's defaulted fields in its order; a default is the reader field's JSON value as it
//! stands (fastavro does not convert it).

use crate::civil::{civil_from_days, Civil, MAX_DAYS, MAX_MICROS, MIN_DAYS, MIN_MICROS};
use crate::decode::{skip_value, utf8, Input, Skip};
use crate::fail::{Fail, Result};
use crate::schema::{Kind, Logical, NodeId, Schema};
use serde_json::Value as Json;

const DECODE: &str = "DecodeError";
const MAX_DEPTH: usize = 64;

#[derive(Clone, Debug)]
pub enum Op {
    Null,
    Bool,
    Int,
    /// int or long read into a float or double: `float(n)`
    LongToFloat,
    /// a float: the double of its 32 bits
    Float,
    Double,
    Bytes,
    Str,
    /// a string read as bytes: its UTF-8
    StrToBytes,
    /// bytes read as a string (must be UTF-8)
    BytesToStr,
    Fixed(usize),
    Date,
    Timestamp {
        micros: bool,
        aware: bool,
    },
    Time {
        micros: bool,
    },
    Uuid,
    Decimal {
        fixed: Option<usize>,
        precision: i64,
        scale: i64,
    },
    /// per writer symbol index: the index of the symbol the record gets in `Program::symbols`
    Enum(Vec<usize>),
    Array(Box<Op>),
    Map(Box<Op>),
    /// per writer branch
    Union(Vec<Op>),
    /// `keys` indexes `Program::records`: the record's keys, the read fields first
    Record {
        keys: usize,
        steps: Vec<Step>,
        /// indices into `Program::defaults`, after the fields read
        defaults: Vec<usize>,
    },
}

#[derive(Clone, Debug)]
pub enum Step {
    Read(Op),
    Skip(Skip),
}

pub struct Program {
    pub root: Op,
    /// the keys of each record type, in the order a record's dict gets them
    pub records: Vec<Vec<String>>,
    /// reader defaults filling fields the writer lacks (raw JSON, as fastavro hands them out)
    pub defaults: Vec<Json>,
    pub symbols: Vec<String>,
}

/// What turns decoded Avro into objects.
pub trait Sink {
    type V;
    fn null(&mut self) -> Result<Self::V>;
    fn bool(&mut self, b: bool) -> Result<Self::V>;
    fn int(&mut self, n: i64) -> Result<Self::V>;
    fn float(&mut self, x: f64) -> Result<Self::V>;
    fn bytes(&mut self, b: &[u8]) -> Result<Self::V>;
    fn str(&mut self, s: &str) -> Result<Self::V>;
    /// `Program::symbols[i]`
    fn symbol(&mut self, i: usize) -> Result<Self::V>;
    /// a date (year, month, day), within 1..9999
    fn date(&mut self, y: i64, m: u32, d: u32) -> Result<Self::V>;
    /// a datetime of civil fields; `aware`: in UTC
    fn datetime(&mut self, c: &Civil, aware: bool) -> Result<Self::V>;
    fn time(&mut self, h: i64, m: i64, s: i64, us: i64) -> Result<Self::V>;
    fn uuid(&mut self, text: &str) -> Result<Self::V>;
    /// the big-endian two's complement unscaled value
    fn decimal(&mut self, unscaled: &[u8], precision: i64, scale: i64) -> Result<Self::V>;
    fn array(&mut self, items: Vec<Self::V>) -> Result<Self::V>;
    /// entries in the order read (a repeated key: a dict keeps its first place, the last value)
    fn map(&mut self, entries: Vec<(&str, Self::V)>) -> Result<Self::V>;
    /// `Program::records[keys]` zipped with `values`
    fn record(&mut self, keys: usize, values: Vec<Self::V>) -> Result<Self::V>;
    /// `Program::defaults[i]`
    fn default(&mut self, i: usize) -> Result<Self::V>;
}

impl Program {
    /// The program reading `writer` bytes, into `reader` when given; Err: why the core will
    /// not (fastavro decodes those).
    pub fn build(writer: &Schema, reader: Option<&Schema>) -> std::result::Result<Program, String> {
        let mut b = Builder {
            w: writer,
            r: reader,
            depth: 0,
            records: Vec::new(),
            defaults: Vec::new(),
            symbols: Vec::new(),
        };
        let root = match reader {
            None => b.plain(writer.root)?,
            Some(r) => b.resolve(writer.root, r.root)?,
        };
        Ok(Program {
            root,
            records: b.records,
            defaults: b.defaults,
            symbols: b.symbols,
        })
    }

    /// Decode one Avro body (no Confluent header); all bytes must be used.
    pub fn decode<S: Sink>(&self, body: &[u8], sink: &mut S) -> Result<S::V> {
        let mut input = Input { buf: body, at: 0 };
        let value = read(&self.root, &mut input, sink)?;
        if input.at != body.len() {
            return Err(Fail::error(
                DECODE,
                format!("{} trailing bytes after the record", body.len() - input.at),
            ));
        }
        Ok(value)
    }
}

struct Builder<'s> {
    w: &'s Schema,
    r: Option<&'s Schema>,
    depth: usize,
    records: Vec<Vec<String>>,
    defaults: Vec<Json>,
    symbols: Vec<String>,
}

type Built<T> = std::result::Result<T, String>;

impl<'s> Builder<'s> {
    fn symbol(&mut self, s: &str) -> usize {
        match self.symbols.iter().position(|x| x == s) {
            Some(i) => i,
            None => {
                self.symbols.push(s.to_string());
                self.symbols.len() - 1
            }
        }
    }

    fn enter(&mut self) -> Built<()> {
        if self.depth > MAX_DEPTH {
            return Err("schema nested too deeply (or recursive)".into());
        }
        self.depth += 1;
        Ok(())
    }

    /// The op of a non-composite writer type read as itself (its logical type applied).
    fn leaf(&self, schema: &Schema, id: NodeId) -> Built<Option<Op>> {
        let node = schema.node(id);
        Ok(Some(match (&node.kind, node.logical) {
            (Kind::Null, _) => Op::Null,
            (Kind::Boolean, _) => Op::Bool,
            (Kind::Int, Logical::Date) => Op::Date,
            (Kind::Int, Logical::TimeMillis) => Op::Time { micros: false },
            (Kind::Long, Logical::TimeMicros) => Op::Time { micros: true },
            (Kind::Long, l) if l.is_timestamp() => Op::Timestamp {
                micros: matches!(l, Logical::TimestampMicros | Logical::LocalTimestampMicros),
                aware: !l.is_local_timestamp(),
            },
            (Kind::Int | Kind::Long, _) => Op::Int,
            (Kind::Float, _) => Op::Float,
            (Kind::Double, _) => Op::Double,
            (Kind::Bytes | Kind::Fixed { .. }, Logical::Decimal) => {
                let fixed = match node.kind {
                    Kind::Fixed { size } => Some(size),
                    _ => None,
                };
                match node.decimal {
                    Some((Some(precision), scale)) if precision > 0 && scale >= 0 => Op::Decimal {
                        fixed,
                        precision,
                        scale,
                    },
                    _ => return Err("a decimal without a valid precision and scale".into()),
                }
            }
            (Kind::Bytes, _) => Op::Bytes,
            (Kind::Fixed { size }, _) => Op::Fixed(*size),
            (Kind::String, Logical::Uuid) => Op::Uuid,
            (Kind::String, _) => Op::Str,
            _ => return Ok(None),
        }))
    }

    /// Read with the writer schema alone.
    fn plain(&mut self, id: NodeId) -> Built<Op> {
        self.enter()?;
        let w = self.w;
        let op = match self.leaf(w, id)? {
            Some(op) => op,
            None => match &w.node(id).kind {
                Kind::Enum { symbols, .. } => {
                    Op::Enum(symbols.iter().map(|s| self.symbol(s)).collect())
                }
                Kind::Array(items) => Op::Array(Box::new(self.plain(*items)?)),
                Kind::Map(values) => Op::Map(Box::new(self.plain(*values)?)),
                Kind::Union(branches) => Op::Union(
                    branches
                        .iter()
                        .map(|b| self.plain(*b))
                        .collect::<Built<_>>()?,
                ),
                Kind::Record { fields } => {
                    let keys = fields.iter().map(|f| f.name.clone()).collect();
                    let steps = fields
                        .iter()
                        .map(|f| self.plain(f.ty).map(Step::Read))
                        .collect::<Built<_>>()?;
                    self.records.push(keys);
                    Op::Record {
                        keys: self.records.len() - 1,
                        steps,
                        defaults: Vec::new(),
                    }
                }
                _ => unreachable!("leaf() covers the other kinds"),
            },
        };
        self.depth -= 1;
        Ok(op)
    }

    fn skip(&mut self, id: NodeId) -> Built<Skip> {
        self.enter()?;
        let out = match &self.w.node(id).kind {
            Kind::Null => Skip::Nothing,
            Kind::Boolean => Skip::Byte,
            Kind::Int | Kind::Long | Kind::Enum { .. } => Skip::Long,
            Kind::Float => Skip::Four,
            Kind::Double => Skip::Eight,
            Kind::Bytes | Kind::String => Skip::Sized,
            Kind::Fixed { size } => Skip::Fixed(*size),
            Kind::Array(i) => Skip::Array(Box::new(self.skip(*i)?)),
            Kind::Map(v) => Skip::Map(Box::new(self.skip(*v)?)),
            Kind::Union(b) => Skip::Union(b.iter().map(|x| self.skip(*x)).collect::<Built<_>>()?),
            Kind::Record { fields } => Skip::Record(
                fields
                    .iter()
                    .map(|f| self.skip(f.ty))
                    .collect::<Built<_>>()?,
            ),
        };
        self.depth -= 1;
        Ok(out)
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

    fn resolve(&mut self, w: NodeId, r: NodeId) -> Built<Op> {
        self.enter()?;
        let op = self.resolve_inner(w, r)?;
        self.depth -= 1;
        Ok(op)
    }

    /// Read a writer type into a reader type, as fastavro's `read_data` with a reader schema.
    fn resolve_inner(&mut self, w: NodeId, r: NodeId) -> Built<Op> {
        let reader = self.reader();
        let writer: &'s Schema = self.w;
        let (wn, rn) = (writer.node(w), reader.node(r));
        if !rn.aliases.is_empty() {
            return Err("a reader type with aliases".into());
        }
        let mismatch =
            || "a writer type the reader schema cannot read (fastavro raises)".to_string();
        // The writer is a union: each branch resolves on its own (read_union).
        if let Kind::Union(wb) = &wn.kind {
            let mut ops = Vec::with_capacity(wb.len());
            for &b in wb {
                let target = match &rn.kind {
                    Kind::Union(rb) => rb.iter().copied().find(|&x| self.match_types(b, x)),
                    _ if self.match_types(b, r) => Some(r),
                    _ => None,
                };
                ops.push(self.resolve(b, target.ok_or_else(mismatch)?)?);
            }
            return Ok(Op::Union(ops));
        }
        // The reader is a union, the writer not: its first matching branch (match_schemas).
        if let Kind::Union(rb) = &rn.kind {
            let x = rb
                .iter()
                .copied()
                .find(|&x| self.match_types(w, x))
                .ok_or_else(mismatch)?;
            return self.resolve(w, x);
        }
        if !self.match_types(w, r) {
            return Err(mismatch());
        }
        if wn.logical != rn.logical {
            return Err("logical types of writer and reader differ".into());
        }
        Ok(match (&wn.kind, &rn.kind) {
            (Kind::Record { fields: wf }, Kind::Record { fields: rf }) => {
                let mut taken = vec![false; rf.len()];
                let mut steps = Vec::with_capacity(wf.len());
                let mut keys = Vec::with_capacity(rf.len());
                for f in wf {
                    let by_name = rf.iter().position(|x| x.name == f.name);
                    let by_alias = || rf.iter().position(|x| x.aliases.contains(&f.name));
                    match by_name.or_else(by_alias) {
                        Some(i) if taken[i] => {
                            return Err("two writer fields read into one reader field".into())
                        }
                        Some(i) => {
                            taken[i] = true;
                            steps.push(Step::Read(self.resolve(f.ty, rf[i].ty)?));
                            keys.push(rf[i].name.clone());
                        }
                        None => steps.push(Step::Skip(self.skip(f.ty)?)),
                    }
                }
                let mut defaults = Vec::new();
                for (i, f) in rf.iter().enumerate() {
                    if taken[i] {
                        continue;
                    }
                    match &f.default {
                        Some(d) => {
                            if !plain_json(d) {
                                return Err(format!(
                                    "the default of {} has a number beyond 64 bits or an \
                                     object of several keys",
                                    f.name
                                ));
                            }
                            self.defaults.push(d.clone());
                            defaults.push(self.defaults.len() - 1);
                            keys.push(f.name.clone());
                        }
                        None => {
                            return Err(format!(
                                "no default value for field {} (fastavro raises)",
                                f.name
                            ))
                        }
                    }
                }
                self.records.push(keys);
                Op::Record {
                    keys: self.records.len() - 1,
                    steps,
                    defaults,
                }
            }
            (
                Kind::Enum { symbols: ws, .. },
                Kind::Enum {
                    symbols: rs,
                    default,
                },
            ) => {
                let mut out = Vec::with_capacity(ws.len());
                for s in ws {
                    let got = if rs.contains(s) {
                        s.clone()
                    } else {
                        match default.as_deref() {
                            Some(d) if !d.is_empty() => d.to_string(),
                            _ => return Err(format!("writer symbol {s}: no reader symbol")),
                        }
                    };
                    out.push(self.symbol(&got));
                }
                Op::Enum(out)
            }
            (Kind::Array(a), Kind::Array(b)) => Op::Array(Box::new(self.resolve(*a, *b)?)),
            (Kind::Map(a), Kind::Map(b)) => Op::Map(Box::new(self.resolve(*a, *b)?)),
            (Kind::Fixed { .. }, Kind::Fixed { .. }) => {
                self.leaf(writer, w)?.expect("fixed is a leaf")
            }
            _ => match (wn.type_name(), rn.type_name()) {
                (a, b) if a == b => self.plain(w)?,
                ("int" | "long", "long") => Op::Int,
                ("int" | "long", "float" | "double") => Op::LongToFloat,
                ("float", "double") => Op::Float,
                ("string", "bytes") => Op::StrToBytes,
                ("bytes", "string") => Op::BytesToStr,
                _ => return Err("an unknown promotion".into()),
            },
        })
    }
}

/// Whether the core hands out `json` as Python's JSON reader made it: every number an i64 or
/// an f64, no object of several keys (the schema's JSON reaches the core with sorted keys).
fn plain_json(json: &Json) -> bool {
    match json {
        Json::Number(n) => n.is_i64() || n.is_f64(),
        Json::Array(a) => a.iter().all(plain_json),
        Json::Object(o) => o.len() <= 1 && o.values().all(plain_json),
        _ => true,
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

fn overflow() -> Fail {
    Fail::error(DECODE, "OverflowError: date value out of range")
}

/// Python's `int(a / b)` (float division, truncated) for the small values of a time of day.
fn trunc_div(a: i64, b: i64) -> i64 {
    (a as f64 / b as f64).trunc() as i64
}

fn read<S: Sink>(op: &Op, input: &mut Input<'_>, sink: &mut S) -> Result<S::V> {
    match op {
        Op::Null => sink.null(),
        Op::Bool => sink.bool(input.take(1)?[0] != 0),
        Op::Int => sink.int(input.long()?),
        Op::LongToFloat => sink.float(input.long()? as f64),
        Op::Float => {
            let b = input.take(4)?;
            sink.float(f64::from(f32::from_le_bytes(
                b.try_into().expect("4 bytes"),
            )))
        }
        Op::Double => {
            let b = input.take(8)?;
            sink.float(f64::from_le_bytes(b.try_into().expect("8 bytes")))
        }
        Op::Bytes | Op::StrToBytes => {
            let n = input.len()?;
            let b = input.take(n)?;
            if matches!(op, Op::StrToBytes) {
                utf8(b)?;
            }
            sink.bytes(b)
        }
        Op::Fixed(size) => {
            let b = input.take(*size)?;
            sink.bytes(b)
        }
        Op::Str | Op::BytesToStr => {
            let n = input.len()?;
            let s = utf8(input.take(n)?)?;
            sink.str(s)
        }
        Op::Uuid => {
            let n = input.len()?;
            let s = utf8(input.take(n)?)?;
            sink.uuid(s)
        }
        Op::Date => {
            let n = input.long()?;
            if !(MIN_DAYS..=MAX_DAYS).contains(&n) {
                return Err(Fail::error(
                    DECODE,
                    format!("ValueError: date of day {n} is out of range"),
                ));
            }
            let (y, m, d) = civil_from_days(n);
            sink.date(y, m, d)
        }
        Op::Timestamp { micros, aware } => {
            let n = input.long()?;
            let us = if *micros {
                i128::from(n)
            } else {
                i128::from(n) * 1000
            };
            if us < i128::from(MIN_MICROS) || us > i128::from(MAX_MICROS) {
                return Err(overflow());
            }
            sink.datetime(&Civil::of_micros(us as i64), *aware)
        }
        Op::Time { micros } => {
            let n = input.long()?;
            let (per_h, per_m, per_s) = if *micros {
                (3_600_000_000, 60_000_000, 1_000_000)
            } else {
                (3_600_000, 60_000, 1000)
            };
            let h = trunc_div(n, per_h);
            if !(0..24).contains(&h) {
                return Err(Fail::error(DECODE, "ValueError: hour must be in 0..23"));
            }
            let m = trunc_div(n, per_m).rem_euclid(60);
            let s = trunc_div(n, per_s).rem_euclid(60);
            let frac = n.rem_euclid(per_s);
            let us = if *micros { frac } else { frac * 1000 };
            sink.time(h, m, s, us)
        }
        Op::Decimal {
            fixed,
            precision,
            scale,
        } => {
            let b = match fixed {
                Some(size) => input.take(*size)?,
                None => {
                    let n = input.len()?;
                    input.take(n)?
                }
            };
            sink.decimal(b, *precision, *scale)
        }
        Op::Enum(symbols) => {
            let i = input.long()?;
            if i < 0 {
                return Err(Fail::defer(
                    "a negative enum index (Python counts from the end)",
                ));
            }
            match symbols.get(i as usize) {
                Some(&s) => sink.symbol(s),
                None => Err(Fail::error(
                    DECODE,
                    format!("IndexError: enum index {i} out of range"),
                )),
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
                    out.push(read(items, input, sink)?);
                }
            }
            sink.array(out)
        }
        Op::Map(values) => {
            let mut out = Vec::new();
            loop {
                let n = input.block()?;
                if n == 0 {
                    break;
                }
                for _ in 0..n {
                    let k = input.len()?;
                    let key = utf8(input.take(k)?)?;
                    out.push((key, read(values, input, sink)?));
                }
            }
            sink.map(out)
        }
        Op::Union(branches) => {
            let i = input.long()?;
            if i < 0 {
                return Err(Fail::defer(
                    "a negative union index (Python counts from the end)",
                ));
            }
            let branch = branches.get(i as usize).ok_or_else(|| {
                Fail::error(DECODE, format!("IndexError: union index {i} out of range"))
            })?;
            read(branch, input, sink)
        }
        Op::Record {
            keys,
            steps,
            defaults,
        } => {
            let mut values = Vec::with_capacity(steps.len() + defaults.len());
            for step in steps {
                match step {
                    Step::Read(op) => values.push(read(op, input, sink)?),
                    Step::Skip(skip) => skip_value(skip, input)?,
                }
            }
            for &d in defaults {
                values.push(sink.default(d)?);
            }
            sink.record(*keys, values)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A plain tree of what the Python objects would be.
    #[derive(Debug, PartialEq)]
    enum T {
        None,
        Bool(bool),
        Int(i64),
        Float(f64),
        Bytes(Vec<u8>),
        Str(String),
        Date(i64, u32, u32),
        DateTime(i64, bool),
        Time(i64, i64, i64, i64),
        Uuid(String),
        Decimal(Vec<u8>, i64, i64),
        List(Vec<T>),
        Dict(Vec<(String, T)>),
        Json(Json),
    }

    struct Tree<'p>(&'p Program);

    impl Sink for Tree<'_> {
        type V = T;
        fn null(&mut self) -> Result<T> {
            Ok(T::None)
        }
        fn bool(&mut self, b: bool) -> Result<T> {
            Ok(T::Bool(b))
        }
        fn int(&mut self, n: i64) -> Result<T> {
            Ok(T::Int(n))
        }
        fn float(&mut self, x: f64) -> Result<T> {
            Ok(T::Float(x))
        }
        fn bytes(&mut self, b: &[u8]) -> Result<T> {
            Ok(T::Bytes(b.to_vec()))
        }
        fn str(&mut self, s: &str) -> Result<T> {
            Ok(T::Str(s.into()))
        }
        fn symbol(&mut self, i: usize) -> Result<T> {
            Ok(T::Str(self.0.symbols[i].clone()))
        }
        fn date(&mut self, y: i64, m: u32, d: u32) -> Result<T> {
            Ok(T::Date(y, m, d))
        }
        fn datetime(&mut self, c: &Civil, aware: bool) -> Result<T> {
            Ok(T::DateTime(c.to_micros(), aware))
        }
        fn time(&mut self, h: i64, m: i64, s: i64, us: i64) -> Result<T> {
            Ok(T::Time(h, m, s, us))
        }
        fn uuid(&mut self, text: &str) -> Result<T> {
            Ok(T::Uuid(text.into()))
        }
        fn decimal(&mut self, b: &[u8], p: i64, s: i64) -> Result<T> {
            Ok(T::Decimal(b.to_vec(), p, s))
        }
        fn array(&mut self, items: Vec<T>) -> Result<T> {
            Ok(T::List(items))
        }
        fn map(&mut self, entries: Vec<(&str, T)>) -> Result<T> {
            let mut out: Vec<(String, T)> = Vec::new();
            for (k, v) in entries {
                match out.iter_mut().find(|(x, _)| x == k) {
                    Some(slot) => slot.1 = v,
                    None => out.push((k.into(), v)),
                }
            }
            Ok(T::Dict(out))
        }
        fn record(&mut self, keys: usize, values: Vec<T>) -> Result<T> {
            let names = &self.0.records[keys];
            Ok(T::Dict(names.iter().cloned().zip(values).collect()))
        }
        fn default(&mut self, i: usize) -> Result<T> {
            Ok(T::Json(self.0.defaults[i].clone()))
        }
    }

    fn zigzag(n: i64) -> Vec<u8> {
        let mut z = ((n << 1) ^ (n >> 63)) as u64;
        let mut out = Vec::new();
        loop {
            if z < 0x80 {
                out.push(z as u8);
                return out;
            }
            out.push((z as u8 & 0x7f) | 0x80);
            z >>= 7;
        }
    }

    fn schema(text: &str) -> Schema {
        Schema::parse(text).unwrap()
    }

    fn decode(p: &Program, body: &[u8]) -> Result<T> {
        p.decode(body, &mut Tree(p))
    }

    #[test]
    fn logical_types_as_fastavro_returns_them() {
        let s = schema(
            r#"{"type":"record","name":"R","fields":[
            {"name":"d","type":{"type":"int","logicalType":"date"}},
            {"name":"t","type":{"type":"long","logicalType":"timestamp-millis"}},
            {"name":"l","type":{"type":"long","logicalType":"local-timestamp-micros"}},
            {"name":"tm","type":{"type":"int","logicalType":"time-millis"}},
            {"name":"dec","type":{"type":"bytes","logicalType":"decimal","precision":4,"scale":2}},
            {"name":"e","type":{"type":"enum","name":"E","symbols":["A","B"]}},
            {"name":"n","type":["null","long"]}]}"#,
        );
        let p = Program::build(&s, None).unwrap();
        let v = decode(&p, &[2, 4, 1, 1, 2, 0xff, 2, 2, 3]).unwrap();
        assert_eq!(
            v,
            T::Dict(vec![
                ("d".into(), T::Date(1970, 1, 2)),
                ("t".into(), T::DateTime(2000, true)),
                ("l".into(), T::DateTime(-1, false)),
                // fastavro: time(0, 0, 0, 999000) for -1 ms
                ("tm".into(), T::Time(0, 0, 0, 999_000)),
                ("dec".into(), T::Decimal(vec![0xff], 4, 2)),
                ("e".into(), T::Str("B".into())),
                ("n".into(), T::Int(-2)),
            ])
        );
        assert!(matches!(
            decode(&p, &[2, 4]),
            Err(Fail::Error {
                class: "DecodeError",
                ..
            })
        ));
        let mut trailing = vec![2, 4, 1, 1, 2, 0xff, 2, 2, 3];
        trailing.push(0);
        assert_eq!(
            decode(&p, &trailing),
            Err(Fail::error(DECODE, "1 trailing bytes after the record"))
        );
    }

    #[test]
    fn resolution_orders_keys_as_fastavro_and_fills_defaults() {
        let w = schema(
            r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int"},{"name":"x","type":"string"},{"name":"z","type":"int"}]}"#,
        );
        let r = schema(
            r#"{"type":"record","name":"R","fields":[{"name":"b","type":"long","default":5},
            {"name":"z","type":"long"},{"name":"a","type":"double"},
            {"name":"c","type":["null","string"],"default":null}]}"#,
        );
        let p = Program::build(&w, Some(&r)).unwrap();
        let v = decode(&p, &[4, 2, b'q', 6]).unwrap();
        assert_eq!(
            v,
            T::Dict(vec![
                ("a".into(), T::Float(2.0)),
                ("z".into(), T::Int(3)),
                ("b".into(), T::Json(Json::from(5))),
                ("c".into(), T::Json(Json::Null)),
            ])
        );
    }

    #[test]
    fn refuses_what_fastavro_would_fail_on() {
        let w = schema(r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int"}]}"#);
        let no_default =
            schema(r#"{"type":"record","name":"R","fields":[{"name":"b","type":"int"}]}"#);
        assert!(Program::build(&w, Some(&no_default))
            .err()
            .unwrap()
            .contains("no default value for field b"));
        let string =
            schema(r#"{"type":"record","name":"R","fields":[{"name":"a","type":"string"}]}"#);
        assert!(Program::build(&w, Some(&string)).is_err());
        let enum_w = schema(r#"{"type":"enum","name":"E","symbols":["A","B"]}"#);
        let enum_r = schema(r#"{"type":"enum","name":"E","symbols":["A"]}"#);
        assert!(Program::build(&enum_w, Some(&enum_r)).is_err());
        let enum_d = schema(r#"{"type":"enum","name":"E","symbols":["A"],"default":"A"}"#);
        let p = Program::build(&enum_w, Some(&enum_d)).unwrap();
        assert_eq!(decode(&p, &[2]).unwrap(), T::Str("A".into()));
        let bad_decimal = schema(r#"{"type":"bytes","logicalType":"decimal","scale":2}"#);
        assert!(Program::build(&bad_decimal, None).is_err());
    }

    #[test]
    fn bad_bytes_fail_or_defer() {
        let s = schema(r#"{"type":"array","items":["null","string"]}"#);
        let p = Program::build(&s, None).unwrap();
        assert_eq!(
            decode(&p, &[2, 4, 0]).unwrap_err(),
            Fail::error(DECODE, "IndexError: union index 2 out of range")
        );
        assert!(matches!(decode(&p, &[2, 1, 0]), Err(Fail::Defer(_))));
        assert!(matches!(decode(&p, &[1, 4, 0]), Err(Fail::Defer(_))));
        assert!(matches!(
            decode(&p, &[2, 2, 2, 0xff, 0]),
            Err(Fail::Error {
                class: "DecodeError",
                ..
            })
        ));
        let t = schema(r#"{"type":"int","logicalType":"time-millis"}"#);
        let p = Program::build(&t, None).unwrap();
        assert!(decode(&p, &zigzag(86_400_000)).is_err()); // hour 24
        assert_eq!(
            decode(&p, &zigzag(86_399_999)).unwrap(),
            T::Time(23, 59, 59, 999_000)
        );
    }
}
