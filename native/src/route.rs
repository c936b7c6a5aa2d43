//! One batch of one source partition through every agreement on the topic: decode once, then
//! per agreement filter, transform, encode. The output mirrors `consumers.router.process`:
//! deliveries in event order (agreement order within an event), counts per agreement, one
//! event time per event that delivered anything.
//!
//! An event on which anything fails is handed back whole ("rerun"): the router routes it with
//! the Python engine, which writes the dead letters (their reasons are the Python engine's
//! words, byte for byte) and decides whatever the core deferred.

use crate::account::{fingerprint, Measured, Quality, Receipts};
use crate::decode::Program;
use crate::encode::{encode, write_long};
use crate::fail::{Fail, Result};
use crate::plan::{missing, Agreement, OutField, Refusal, What};
use crate::schema::{Kind, NodeId, Schema};
use crate::transforms::Context;
use crate::tz::Zone;
use crate::value::Value;
use std::collections::HashMap;

pub const MAGIC_BYTE: u8 = 0;

/// A delivery's key (None: no key) and framed value.
type Encoded = (Option<Vec<u8>>, Vec<u8>);
pub const HEADER_SIZE: usize = 5;

pub struct Route {
    pub agreement: Agreement,
    pub schema_id: u32,
}

pub struct Source {
    pub reader: Schema,
    pub zone: Zone,
    pub event_time: Option<usize>,
    pub routes: Vec<Route>,
    pub receipts: Option<Receipts>,
    pub quality: Option<Quality>,
    writers: HashMap<u32, Program>,
}

/// One event of the batch, its bytes borrowed from the batch's buffer.
pub struct EventIn<'a> {
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    pub timestamp_ms: i64,
    /// the `ce_id` and `ce_hubquality` headers, when the quality is measured
    pub ce_id: Option<&'a [u8]>,
    pub flags: Option<&'a [u8]>,
}

pub struct Delivery {
    pub route: usize,
    pub event: usize,
    pub key: Option<Vec<u8>>,
    pub value: Vec<u8>,
}

/// An event the Python engine routes instead.
#[derive(Debug)]
pub struct Rerun {
    pub event: usize,
    /// where its deliveries and event time go in the batch's lists
    pub delivery_at: usize,
    pub event_time_at: usize,
    /// what the core saw: (route index or None for the whole event, the failure)
    pub failures: Vec<(Option<usize>, Fail)>,
}

#[derive(Default)]
pub struct BatchOut {
    pub deliveries: Vec<Delivery>,
    pub event_times: Vec<f64>,
    /// the events of `event_times`, by index in the batch
    pub timed: Vec<usize>,
    pub delivered: Vec<u64>,
    pub filtered: Vec<u64>,
    pub reruns: Vec<Rerun>,
    /// per route: chunks of (entries, their encoded items) of at most the receipts' chunk
    /// size each, when receipts are written
    pub receipts: Vec<Vec<(u64, Vec<u8>)>>,
    /// quality figures of the decoded events, when measured
    pub measured: Option<Measured>,
    pub fingerprints: Vec<u64>,
    /// `ce_hubquality` values and how many events carried each
    pub flags: HashMap<Vec<u8>, u64>,
}

impl Source {
    pub fn new(reader: Schema, zone: Zone) -> std::result::Result<Source, Refusal> {
        let event_time = crate::plan::event_time_field(&reader)?;
        Ok(Source {
            reader,
            zone,
            event_time,
            routes: Vec::new(),
            receipts: None,
            quality: None,
            writers: HashMap::new(),
        })
    }

    /// Make a writer schema known; `same_as_reader`: the serde would read it without
    /// resolution (their canonical forms are equal).
    pub fn add_writer(&mut self, schema_id: u32, writer: &Schema, same_as_reader: bool) {
        let program = if same_as_reader {
            Program::build(writer, None)
        } else {
            Program::build(writer, Some(&self.reader))
        };
        self.writers.insert(schema_id, program);
    }

    pub fn knows_writer(&self, schema_id: u32) -> bool {
        self.writers.contains_key(&schema_id)
    }

    /// Route `events` through the routes whose flag in `active` is set.
    /// `offsets`: each event's source offset (receipt entries name them).
    pub fn route(
        &self,
        events: &[EventIn<'_>],
        offsets: &[i64],
        active: &[bool],
        max_delivery: usize,
    ) -> BatchOut {
        let mut out = BatchOut {
            delivered: vec![0; self.routes.len()],
            filtered: vec![0; self.routes.len()],
            ..BatchOut::default()
        };
        if self.receipts.is_some() {
            out.receipts = vec![Vec::new(); self.routes.len()];
        }
        let mut measured = self.quality.as_ref().map(Quality::start);
        let mut staged: Vec<Delivery> = Vec::new();
        let mut staged_filtered: Vec<usize> = Vec::new();
        let mut entry: Vec<u8> = Vec::new();
        for (i, event) in events.iter().enumerate() {
            staged.clear();
            staged_filtered.clear();
            if measured.is_some() {
                if let Some(id) = event.ce_id {
                    out.fingerprints.push(fingerprint(id));
                }
                if let Some(flags) = event.flags.filter(|f| !f.is_empty()) {
                    *out.flags.entry(flags.to_vec()).or_insert(0) += 1;
                }
            }
            let mut failures: Vec<(Option<usize>, Fail)> = Vec::new();
            match self.decode(event) {
                Err(fail) => failures.push((None, fail)),
                Ok(record) => {
                    let event_us = self.event_micros(&record);
                    if let (Some(q), Some(m)) = (&self.quality, measured.as_mut()) {
                        q.count(&record, event_us, event.timestamp_ms, m);
                    }
                    for (r, route) in self.routes.iter().enumerate() {
                        if !active[r] {
                            continue;
                        }
                        match self.apply(route, event, &record, max_delivery) {
                            Ok(None) => staged_filtered.push(r),
                            Ok(Some((key, value))) => staged.push(Delivery {
                                route: r,
                                event: i,
                                key,
                                value,
                            }),
                            Err(fail) => failures.push((Some(r), fail)),
                        }
                    }
                    if failures.is_empty() {
                        if !staged.is_empty() {
                            out.event_times.push(self.event_seconds(&record, event));
                            out.timed.push(i);
                        }
                        for &r in &staged_filtered {
                            out.filtered[r] += 1;
                        }
                        if let (Some(receipts), false) = (&self.receipts, staged.is_empty()) {
                            entry.clear();
                            let millis =
                                event_us.map_or(event.timestamp_ms, |us| us.div_euclid(1000));
                            receipts.entry(&record, offsets[i], millis, &mut entry);
                            for d in &staged {
                                let chunks = &mut out.receipts[d.route];
                                let full = chunks.last().is_none_or(|(_, items)| {
                                    items.len() + entry.len() > receipts.chunk_bytes
                                });
                                if full {
                                    chunks.push((0, Vec::new()));
                                }
                                let (count, items) = chunks.last_mut().expect("a chunk");
                                *count += 1;
                                items.extend_from_slice(&entry);
                            }
                        }
                        for d in staged.drain(..) {
                            out.delivered[d.route] += 1;
                            out.deliveries.push(d);
                        }
                        continue;
                    }
                }
            }
            out.reruns.push(Rerun {
                event: i,
                delivery_at: out.deliveries.len(),
                event_time_at: out.event_times.len(),
                failures,
            });
        }
        out.measured = measured;
        out
    }

    /// `occurred_at` in microseconds, when it is a UTC timestamp.
    fn event_micros(&self, record: &Value<'_>) -> Option<i64> {
        if let (Some(i), Value::Record(fields)) = (self.event_time, record) {
            if let Some(Value::Timestamp(us)) = fields.get(i) {
                return Some(*us);
            }
        }
        None
    }

    fn decode<'a>(&'a self, event: &EventIn<'a>) -> Result<Value<'a>> {
        let Some(value) = event.value else {
            return Err(Fail::error(
                "EmptyValueError",
                "the event has no value (tombstone)",
            ));
        };
        if value.len() < HEADER_SIZE {
            return Err(Fail::error(
                "MagicByteError",
                format!(
                    "payload of {} bytes is shorter than the 5-byte Confluent header",
                    value.len()
                ),
            ));
        }
        if value[0] != MAGIC_BYTE {
            return Err(Fail::error(
                "MagicByteError",
                format!(
                    "unknown magic byte {} (expected {MAGIC_BYTE}): not Confluent wire format",
                    value[0]
                ),
            ));
        }
        let id = u32::from_be_bytes(value[1..HEADER_SIZE].try_into().expect("4 bytes"));
        let program = self
            .writers
            .get(&id)
            // the router teaches the core every id its serde knows; an id the core lacks is
            // one the router could not fetch either (or the core refused): Python decides
            .ok_or_else(|| Fail::defer(format!("writer schema {id} not known to the core")))?;
        program.decode(&value[HEADER_SIZE..])
    }

    /// `_event_seconds`: occurred_at when it is a datetime, else the Kafka timestamp.
    fn event_seconds(&self, record: &Value<'_>, event: &EventIn<'_>) -> f64 {
        if let (Some(i), Value::Record(fields)) = (self.event_time, record) {
            if let Some(Value::Timestamp(us)) = fields.get(i) {
                return micros_to_seconds(*us);
            }
        }
        event.timestamp_ms as f64 / 1000.0
    }

    /// One agreement on one decoded event: None when filtered out, else (key, value bytes).
    fn apply<'a>(
        &'a self,
        route: &'a Route,
        event: &EventIn<'a>,
        record: &Value<'a>,
        max_delivery: usize,
    ) -> Result<Option<Encoded>> {
        let a = &route.agreement;
        if let Some(filter) = &a.filter {
            if !filter.matches(record)? {
                return Ok(None);
            }
        }
        let key = a.key.apply(&a.keys, event.key);
        let cx = Context {
            keys: &a.keys,
            zone: &self.zone,
            key: event.key,
            record,
        };
        let mut value = Vec::with_capacity(128);
        value.push(MAGIC_BYTE);
        value.extend_from_slice(&route.schema_id.to_be_bytes());
        write_level(&a.output, a.output.root, &a.fields, record, &cx, &mut value)?;
        if value.len() > max_delivery {
            return Err(Fail::error(
                "DeliveryTooLargeError",
                format!(
                    "the delivery would be {} bytes; at most {max_delivery}",
                    value.len()
                ),
            ));
        }
        Ok(Some((key, value)))
    }
}

/// Nanoseconds of each part of the work, summed over a batch (`Source::profile`).
#[derive(Debug, Default, Clone, Copy)]
pub struct Profile {
    pub events: u64,
    pub deliveries: u64,
    pub decode_ns: u64,
    pub transform_ns: u64,
    pub encode_ns: u64,
}

impl Source {
    /// Time decode, filter + transform (into values) and encode apart, for the benchmark; the
    /// router's path (`route`) encodes while it transforms and allocates no output values.
    pub fn profile(&self, events: &[EventIn<'_>]) -> Profile {
        use std::time::Instant;
        let mut p = Profile::default();
        for event in events {
            p.events += 1;
            let t0 = Instant::now();
            let Ok(record) = self.decode(event) else {
                continue;
            };
            p.decode_ns += t0.elapsed().as_nanos() as u64;
            for route in &self.routes {
                let a = &route.agreement;
                let t1 = Instant::now();
                if let Some(f) = &a.filter {
                    if !f.matches(&record).unwrap_or(false) {
                        p.transform_ns += t1.elapsed().as_nanos() as u64;
                        continue;
                    }
                }
                let cx = Context {
                    keys: &a.keys,
                    zone: &self.zone,
                    key: event.key,
                    record: &record,
                };
                let key = a.key.apply(&a.keys, event.key);
                let Ok(value) = build_level(&a.fields, &record, &cx) else {
                    continue;
                };
                let t2 = Instant::now();
                let mut out = Vec::with_capacity(128);
                out.push(MAGIC_BYTE);
                out.extend_from_slice(&route.schema_id.to_be_bytes());
                if encode(&a.output, a.output.root, &value, &mut out).is_ok() {
                    p.deliveries += 1;
                }
                let t3 = Instant::now();
                std::hint::black_box((key, out));
                p.transform_ns += (t2 - t1).as_nanos() as u64;
                p.encode_ns += (t3 - t2).as_nanos() as u64;
            }
        }
        p
    }
}

/// One output level as a value (the profile's transform step).
fn build_level<'a>(
    fields: &[OutField],
    source: &Value<'a>,
    cx: &Context<'_, 'a>,
) -> Result<Value<'a>> {
    let Value::Record(src) = source else {
        return Err(Fail::defer("the source level is not a record"));
    };
    let mut out = Vec::with_capacity(fields.len());
    for f in fields {
        let v = src.get(f.source).unwrap_or(&Value::Null);
        if v.is_null() {
            if !f.nullable {
                return Err(missing(&f.path));
            }
            out.push(Value::Null);
            continue;
        }
        out.push(match &f.what {
            What::Leaf(t) => t.apply(v, cx)?,
            What::Nested(sub) => build_level(sub, v, cx)?,
        });
    }
    Ok(Value::Record(out))
}

/// Write one output record level from the matching source level (`_level` in compile.py).
fn write_level<'a>(
    schema: &Schema,
    record_node: NodeId,
    fields: &[OutField],
    source: &Value<'a>,
    cx: &Context<'_, 'a>,
    out: &mut Vec<u8>,
) -> Result<()> {
    let Kind::Record { fields: out_fields } = &schema.node(record_node).kind else {
        return Err(Fail::defer("the output level is not a record"));
    };
    let Value::Record(src) = source else {
        return Err(Fail::defer("the source level is not a record"));
    };
    for (f, of) in fields.iter().zip(out_fields) {
        let v = src.get(f.source).unwrap_or(&Value::Null);
        let (_, inner) = schema.split_nullable(of.ty);
        if v.is_null() {
            if !f.nullable {
                return Err(missing(&f.path));
            }
            encode(schema, of.ty, &Value::Null, out)?;
            continue;
        }
        if f.nullable {
            write_branch(schema, of.ty, out);
        }
        match &f.what {
            What::Leaf(t) => {
                let value = t.apply(v, cx)?;
                encode(schema, inner, &value, out)?;
            }
            What::Nested(sub) => write_level(schema, inner, sub, v, cx, out)?,
        }
    }
    Ok(())
}

/// The index of the non-null branch of a ["null", T] union.
fn write_branch(schema: &Schema, union: NodeId, out: &mut Vec<u8>) {
    if let Kind::Union(branches) = &schema.node(union).kind {
        let inner = schema.nullable_branch(union).expect("a nullable union");
        let at = branches
            .iter()
            .position(|b| *b == inner)
            .expect("its branch");
        write_long(out, at as i64);
    }
}

/// `datetime.timestamp()` of a UTC datetime: microseconds / 10**6, correctly rounded (an
/// int divided by an int in Python), also beyond 2**53 microseconds.
pub fn micros_to_seconds(us: i64) -> f64 {
    let guess = us as f64 / 1e6;
    if us.unsigned_abs() < (1u64 << 53) {
        return guess; // both operands exact: one correctly rounded division
    }
    // pick the double nearest to us / 10^6 among the guess and its neighbours
    let target = i128::from(us);
    let mut best = guess;
    let mut best_err: Option<(i128, i128)> = None;
    for cand in [
        f64::from_bits(guess.to_bits() - 1),
        guess,
        f64::from_bits(guess.to_bits() + 1),
    ] {
        // |cand * 10^6 - us| as an exact rational with denominator 2^k
        let (m, e) = frexp_int(cand);
        let (num, den) = if e >= 0 {
            ((m << e) * 1_000_000 - target, 1i128)
        } else {
            (m * 1_000_000 - (target << -e), 1i128 << -e)
        };
        let err = (num.abs(), den);
        let better = match best_err {
            None => true,
            Some((bn, bd)) => {
                let (l, r) = (err.0 * bd, bn * err.1);
                l < r || (l == r && cand.to_bits() % 2 == 0)
            }
        };
        if better {
            best = cand;
            best_err = Some(err);
        }
    }
    best
}

/// A finite double as m × 2^e with an integer m (sign included).
fn frexp_int(x: f64) -> (i128, i32) {
    let bits = x.to_bits();
    let sign = if bits >> 63 == 1 { -1 } else { 1 };
    let exp = ((bits >> 52) & 0x7FF) as i32;
    let frac = (bits & ((1u64 << 52) - 1)) as i128;
    if exp == 0 {
        (sign * frac, -1074)
    } else {
        (sign * (frac | (1i128 << 52)), exp - 1075)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_of_micros() {
        assert_eq!(micros_to_seconds(1_700_000_000_123_000), 1_700_000_000.123);
        let big = 253_402_300_799_999_999i64; // 9999-12-31T23:59:59.999999
        let exact = 253_402_300_799.999_999f64;
        assert!((micros_to_seconds(big) - exact).abs() <= f64::EPSILON * exact);
    }
}

#[cfg(test)]
mod plan_tests {
    use super::*;
    use crate::plan::{Agreement, PlanJson};
    use crate::schema::Schema;

    /// UTC all year: a TZif v2 file with no transitions and the footer "UTC0".
    fn utc_zone() -> Zone {
        let mut f = Vec::new();
        for version in [b'2', b'2'] {
            f.extend_from_slice(b"TZif");
            f.push(version);
            f.extend_from_slice(&[0; 15]);
            for count in [0u32, 0, 0, 0, 1, 4] {
                f.extend_from_slice(&count.to_be_bytes());
            }
            if f.len() < 60 {
                f.extend_from_slice(&[0, 0, 0, 0, 0, 0]); // v1 data: one type
                f.extend_from_slice(b"UTC\0");
            }
        }
        f.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
        f.extend_from_slice(b"UTC\0");
        f.extend_from_slice(b"\nUTC0\n");
        Zone::from_tzif(&f).expect("a zone")
    }

    #[test]
    fn a_plan_routes_an_event_and_a_bad_one_is_handed_back() {
        let reader = Schema::parse(
            r#"{"type":"record","name":"R","fields":[
                {"name":"id","type":"string"},{"name":"city","type":"string"},
                {"name":"n","type":"long"}]}"#,
        )
        .unwrap();
        let plan: PlanJson = serde_json::from_str(
            r#"{"agreement":"a","key_id":"abcd1234","pseudonym_key":"00ff","shift_key":"01",
                "key":{"kind":"drop"},
                "where":{"path":"city","op":"eq","operand":{"str":"Hamm"}},
                "fields":[{"name":"id","path":"id","nullable":false,"transform":{"kind":"mask","n":1}},
                          {"name":"n","path":"n","nullable":false,"transform":{"kind":"bucket","width":{"int":"10"}}}],
                "output_schema":{"type":"record","name":"O","fields":[
                    {"name":"id","type":"string"},{"name":"n","type":"string"}]}}"#,
        )
        .unwrap();
        let mut source = Source::new(reader.clone(), utc_zone()).unwrap();
        source.routes.push(Route {
            agreement: Agreement::bind(&plan, &reader).unwrap(),
            schema_id: 7,
        });
        source.add_writer(1, &reader, true);
        let event = |city: &str, n: u8| {
            let mut v = vec![0, 0, 0, 0, 1, 6, b'R', b'-', b'1'];
            v.push((city.len() * 2) as u8);
            v.extend_from_slice(city.as_bytes());
            v.push(n);
            v
        };
        let (hamm, unna, bad) = (event("Hamm", 46), event("Unna", 2), vec![0, 0, 0, 0, 1, 7]);
        let events: Vec<EventIn<'_>> = [&hamm, &unna, &bad]
            .iter()
            .map(|v| EventIn {
                key: Some(b"k"),
                value: Some(v),
                timestamp_ms: 0,
                ce_id: None,
                flags: None,
            })
            .collect();
        let out = source.route(&events, &[0, 1, 2], &[true], 1 << 20);
        assert_eq!(
            (out.delivered.clone(), out.filtered.clone()),
            (vec![1], vec![1])
        );
        // "**1" and "[20, 30)" (23 is 46 zig-zagged) under schema id 7, no key
        let mut expected = vec![0, 0, 0, 0, 7, 6, b'*', b'*', b'1', 16];
        expected.extend_from_slice(b"[20, 30)");
        assert_eq!(out.deliveries[0].value, expected);
        assert_eq!(out.deliveries[0].key, None);
        assert_eq!(out.reruns.len(), 1);
        assert_eq!(out.reruns[0].event, 2);
        assert!(matches!(
            out.reruns[0].failures[0],
            (
                None,
                Fail::Error {
                    class: "DecodeError",
                    ..
                }
            )
        ));
    }
}
