//! The Python binding, and nothing else: objects in, the engine's work without the GIL,
//! objects out. `hub_core.Source` is one source schema with the agreements on its topic.

use crate::plan::{Agreement, PlanJson};
use crate::route::{EventIn, Route, Source};
use crate::schema::Schema;
use crate::tz::Zone;
use pyo3::create_exception;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};
use std::sync::Arc;

use crate::pyintake::PyArrived;
use crate::pysend::{Names, PyDeliveries};

create_exception!(
    hub_core,
    Refused,
    PyValueError,
    "The core does not apply this plan exactly as the Python engine does (the reason says why)."
);

create_exception!(
    hub_core,
    AvroError,
    PyValueError,
    "Bytes a Decoder cannot decode: args (class, message, index) as the serde would raise \
     (class DecodeError), index the item of decode_many (None for decode)."
);

create_exception!(
    hub_core,
    Deferred,
    PyValueError,
    "The core cannot tell exactly what fastavro makes of these bytes (a negative union index, \
     an array block with a byte size, ...): args (reason, index); decode them with fastavro."
);

#[pyclass(name = "Source", module = "hub_core")]
struct PySource {
    inner: Source,
    names: Arc<Names>,
}

/// Where one event's bytes sit in the batch buffer.
struct Span {
    key: Option<(usize, usize)>,
    value: Option<(usize, usize)>,
    timestamp_ms: i64,
    ce_id: Option<(usize, usize)>,
    flags: Option<(usize, usize)>,
}

fn bytes_of(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Option<Vec<u8>>> {
    if obj.is_none() {
        return Ok(None);
    }
    match obj.downcast::<PyBytes>() {
        Ok(b) => Ok(Some(b.as_bytes().to_vec())),
        Err(_) => Err(PyTypeError::new_err(format!(
            "a record's {what} must be bytes or None"
        ))),
    }
}

#[pymethods]
impl PySource {
    /// `Source(reader_schema_json, tzif, passthrough_headers, agreement_header, delivery_header)`
    #[new]
    fn new(
        py: Python<'_>,
        reader: &str,
        tzif: &[u8],
        passthrough: Vec<String>,
        agreement_header: String,
        delivery_header: String,
    ) -> PyResult<Self> {
        let schema =
            Schema::parse(reader).map_err(|e| Refused::new_err(format!("source schema: {e}")))?;
        let zone =
            Zone::from_tzif(tzif).map_err(|e| Refused::new_err(format!("time zone: {}", e.0)))?;
        let inner = Source::new(schema, zone).map_err(|e| Refused::new_err(e.0))?;
        let _ = agreement_header; // kept by the Python side in each route's header tuple
        Ok(PySource {
            inner,
            names: Arc::new(Names::new(py, &passthrough, &delivery_header)?),
        })
    }

    /// Bind an agreement's plan; `Refused` says why the core will not apply it.
    fn add_route(
        &mut self,
        py: Python<'_>,
        plan: &str,
        schema_id: u32,
        topic: &str,
        agreement_header: Bound<'_, PyTuple>,
    ) -> PyResult<()> {
        let json: PlanJson =
            serde_json::from_str(plan).map_err(|e| Refused::new_err(format!("plan: {e}")))?;
        let agreement =
            Agreement::bind(&json, &self.inner.reader).map_err(|e| Refused::new_err(e.0))?;
        let prefix = format!("{}/", agreement.id).into_bytes();
        if Arc::get_mut(&mut self.names).is_none() {
            // batches of the routes so far are still alive: they keep the names they had
            self.names = Arc::new(self.names.clone_ref(py));
        }
        let names = Arc::get_mut(&mut self.names).expect("not shared now");
        names.add_route(py, topic, agreement_header, prefix)?;
        self.inner.routes.push(Route {
            agreement,
            schema_id,
        });
        Ok(())
    }

    /// Make a writer schema known (its id as the registry gave it).
    fn add_writer(&mut self, schema_id: u32, schema: &str, same_as_reader: bool) -> PyResult<()> {
        let writer =
            Schema::parse(schema).map_err(|e| Refused::new_err(format!("writer schema: {e}")))?;
        self.inner.add_writer(schema_id, &writer, same_as_reader);
        Ok(())
    }

    /// Write receipt entries: the direct identifiers at `paths`, hashed under `key`, in
    /// chunks of at most `chunk_bytes` per route.
    fn set_receipts(&mut self, key: &[u8], paths: Vec<String>, chunk_bytes: usize) -> PyResult<()> {
        let receipts = crate::account::Receipts::new(&self.inner.reader, key, &paths, chunk_bytes)
            .map_err(|e| Refused::new_err(e.0))?;
        self.inner.receipts = Some(receipts);
        Ok(())
    }

    /// Measure quality: null shares of the `optional` fields, events late by more than
    /// `late_after_us`, ce_id fingerprints and `ce_hubquality` flags.
    fn set_quality(&mut self, optional: Vec<String>, late_after_us: i64) -> PyResult<()> {
        let quality = crate::account::Quality::new(&self.inner.reader, &optional, late_after_us)
            .map_err(|e| Refused::new_err(e.0))?;
        self.inner.quality = Some(quality);
        Ok(())
    }

    fn knows_writer(&self, schema_id: u32) -> bool {
        self.inner.knows_writer(schema_id)
    }

    /// The schema ids of `records`' values (Confluent framing) that the core does not know.
    fn unknown_ids(&self, py: Python<'_>, records: Bound<'_, PyAny>) -> PyResult<Vec<u32>> {
        let mut out: Vec<u32> = Vec::new();
        if let Ok(arrived) = records.downcast::<PyArrived>() {
            let arrived = arrived.get();
            for event in &arrived.events {
                if let Some(b) = event.value.map(|v| arrived.bytes(v)) {
                    if b.len() >= crate::route::HEADER_SIZE && b[0] == crate::route::MAGIC_BYTE {
                        let id = u32::from_be_bytes(b[1..5].try_into().expect("4 bytes"));
                        if !self.inner.knows_writer(id) && !out.contains(&id) {
                            out.push(id);
                        }
                    }
                }
            }
            return Ok(out);
        }
        for record in records.try_iter()? {
            let value = record?.getattr(intern!(py, "value"))?;
            if let Ok(b) = value.downcast::<PyBytes>() {
                let b = b.as_bytes();
                if b.len() >= crate::route::HEADER_SIZE && b[0] == crate::route::MAGIC_BYTE {
                    let id = u32::from_be_bytes(b[1..5].try_into().expect("4 bytes"));
                    if !self.inner.knows_writer(id) && !out.contains(&id) {
                        out.push(id);
                    }
                }
            }
        }
        Ok(out)
    }

    /// Nanoseconds of decode, filter + transform and encode over `values` (framed Avro
    /// bytes, keys `keys`), summed: (events, deliveries, decode_ns, transform_ns, encode_ns).
    fn _profile(
        &self,
        py: Python<'_>,
        keys: Vec<Option<Vec<u8>>>,
        values: Vec<Vec<u8>>,
    ) -> (u64, u64, u64, u64, u64) {
        let inner = &self.inner;
        py.allow_threads(|| {
            let events: Vec<EventIn<'_>> = keys
                .iter()
                .zip(&values)
                .map(|(k, v)| EventIn {
                    key: k.as_deref(),
                    value: Some(v),
                    timestamp_ms: 0,
                    ce_id: None,
                    flags: None,
                })
                .collect();
            let p = inner.profile(&events);
            (
                p.events,
                p.deliveries,
                p.decode_ns,
                p.transform_ns,
                p.encode_ns,
            )
        })
    }

    #[getter]
    fn route_count(&self) -> usize {
        self.inner.routes.len()
    }

    /// Route `records` (one partition's, in offset order) through the routes flagged in
    /// `active`. `origin` is b"<topic>/<partition>/" of the delivery ids. Returns
    /// (deliveries, event_times, delivered, filtered, reruns, timed, receipts, measured):
    /// `timed` are the indices of the events with an event time; `receipts` per route
    /// (entries, encoded items) or None; `measured` (late, nulls per optional field,
    /// ce_id fingerprints, {ce_hubquality value: events}) or None. A route's receipts are a
    /// list of chunks (entries, encoded items).
    /// With `lazy`, deliveries is a `Deliveries` (kept in Rust until produced), else a list.
    #[pyo3(signature = (records, active, origin, max_delivery, lazy=false))]
    fn route(
        &self,
        py: Python<'_>,
        records: Bound<'_, PyAny>,
        active: Vec<bool>,
        origin: &[u8],
        max_delivery: usize,
        lazy: bool,
    ) -> PyResult<PyObject> {
        if active.len() != self.inner.routes.len() {
            return Err(PyValueError::new_err("one active flag per route"));
        }
        let mut buffer: Vec<u8> = Vec::new();
        let mut spans: Vec<Span> = Vec::new();
        let mut offsets: Vec<i64> = Vec::new();
        let mut envelopes: Vec<Vec<(usize, Option<Vec<u8>>)>> = Vec::new();
        let measuring = self.inner.quality.is_some();
        let place = |b: Option<Vec<u8>>, buffer: &mut Vec<u8>| {
            b.map(|b| {
                let at = buffer.len();
                buffer.extend_from_slice(&b);
                (at, b.len())
            })
        };
        let arrived = records.downcast::<PyArrived>().ok().map(|a| a.get());
        if let Some(arrived) = arrived {
            // Consumed by the intake: the bytes are in its buffer already.
            for (i, event) in arrived.events.iter().enumerate() {
                offsets.push(event.offset);
                let mut envelope = Vec::new();
                let (mut ce_id, mut flags) = (None, None);
                let (start, _) = event.headers;
                for (j, (name, value)) in arrived.headers_of(i).enumerate() {
                    if measuring && (name == b"ce_id" || name == b"ce_hubquality") {
                        let at = arrived.headers[start + j].1;
                        if name == b"ce_id" {
                            ce_id = at;
                        } else {
                            flags = at;
                        }
                    }
                    let index = std::str::from_utf8(name)
                        .ok()
                        .and_then(|n| self.names.passthrough_index(n));
                    if let Some(index) = index {
                        envelope.push((index, value.map(<[u8]>::to_vec)));
                    }
                }
                envelopes.push(envelope);
                spans.push(Span {
                    key: event.key,
                    value: event.value,
                    timestamp_ms: event.timestamp_ms,
                    ce_id,
                    flags,
                });
            }
        }
        // (an Arrived is never iterated: that would make a Python record of each event)
        let iterated = if arrived.is_none() {
            Some(records.try_iter()?)
        } else {
            None
        };
        for record in iterated.into_iter().flatten() {
            let record = record?;
            let key = bytes_of(&record.getattr(intern!(py, "key"))?, "key")?;
            let value = bytes_of(&record.getattr(intern!(py, "value"))?, "value")?;
            let timestamp_ms: i64 = record.getattr(intern!(py, "timestamp"))?.extract()?;
            offsets.push(record.getattr(intern!(py, "offset"))?.extract()?);
            let mut envelope = Vec::new();
            let (mut ce_id, mut flags) = (None, None);
            for header in record.getattr(intern!(py, "headers"))?.try_iter()? {
                let header = header?;
                let k = header.get_item(0)?;
                let name: &str = k.downcast::<PyString>()?.to_str()?;
                if measuring && (name == "ce_id" || name == "ce_hubquality") {
                    let v = bytes_of(&header.get_item(1)?, "header")?;
                    if name == "ce_id" {
                        ce_id = v;
                    } else {
                        flags = v;
                    }
                }
                if let Some(i) = self.names.passthrough_index(name) {
                    envelope.push((i, bytes_of(&header.get_item(1)?, "header")?));
                }
            }
            envelopes.push(envelope);
            spans.push(Span {
                key: place(key, &mut buffer),
                value: place(value, &mut buffer),
                timestamp_ms,
                ce_id: place(ce_id, &mut buffer),
                flags: place(flags, &mut buffer),
            });
        }
        let inner = &self.inner;
        let buffer: &[u8] = match arrived {
            Some(arrived) => &arrived.buffer,
            None => &buffer,
        };
        let out = py.allow_threads(|| {
            let slice = |s: Option<(usize, usize)>| s.map(|(at, n)| &buffer[at..at + n]);
            let events: Vec<EventIn<'_>> = spans
                .iter()
                .map(|s| EventIn {
                    key: slice(s.key),
                    value: slice(s.value),
                    timestamp_ms: s.timestamp_ms,
                    ce_id: slice(s.ce_id),
                    flags: slice(s.flags),
                })
                .collect();
            inner.route(&events, &offsets, &active, max_delivery)
        });
        let batch = PyDeliveries {
            names: Arc::clone(&self.names),
            items: out.deliveries,
            envelopes,
            offsets,
            origin: origin.to_vec(),
        };
        let deliveries: PyObject = if lazy {
            Bound::new(py, batch)?.into_any().unbind()
        } else {
            batch.to_list(py)?.into_any().unbind()
        };
        let reruns = PyList::empty(py);
        for r in &out.reruns {
            let failures = PyList::empty(py);
            for (route, fail) in &r.failures {
                let (kind, class, message) = match fail {
                    crate::fail::Fail::Error { class, message } => {
                        ("error", *class, message.as_str())
                    }
                    crate::fail::Fail::Defer(reason) => ("defer", "", reason.as_str()),
                };
                failures.append((*route, kind, class, message))?;
            }
            reruns.append((r.event, r.delivery_at, r.event_time_at, failures))?;
        }
        let receipts: PyObject = if self.inner.receipts.is_some() {
            let list = PyList::empty(py);
            for chunks in &out.receipts {
                let route = PyList::empty(py);
                for (count, items) in chunks {
                    route.append((*count, PyBytes::new(py, items)))?;
                }
                list.append(route)?;
            }
            list.into_any().unbind()
        } else {
            py.None()
        };
        let measured: PyObject = match &out.measured {
            Some(m) => {
                let flags = pyo3::types::PyDict::new(py);
                for (value, n) in &out.flags {
                    flags.set_item(PyBytes::new(py, value), *n)?;
                }
                (m.late, m.nulls.clone(), out.fingerprints.clone(), flags)
                    .into_pyobject(py)?
                    .into_any()
                    .unbind()
            }
            None => py.None(),
        };
        let result = (
            deliveries,
            PyList::new(py, &out.event_times)?,
            out.delivered,
            out.filtered,
            reruns,
            out.timed,
            receipts,
            measured,
        );
        Ok(result.into_pyobject(py)?.into_any().unbind())
    }
}

// --- Decoder: Avro bytes to the objects fastavro's schemaless_reader returns ------------------

/// `hub_core.Decoder(writer_schema_json, reader_schema_json=None)`: decodes Avro bodies into
/// what fastavro's `schemaless_reader(fo, writer, reader)` returns. `Refused` (with the reason)
/// when the core would not decode the schema pair exactly as fastavro does.
#[pyclass(name = "Decoder", module = "hub_core", frozen)]
struct PyDecoder {
    program: crate::records::Program,
    keys: Vec<Vec<Py<PyString>>>,
    symbols: Vec<Py<PyString>>,
    /// one object per default, handed out as it is (fastavro hands out the schema's object)
    defaults: Vec<PyObject>,
    datetime: PyObject,
    date: PyObject,
    time: PyObject,
    utc: PyObject,
    uuid: PyObject,
    context: PyObject,
    from_bytes: PyObject,
}

fn json_to_py<'py>(py: Python<'py>, json: &serde_json::Value) -> PyResult<Bound<'py, PyAny>> {
    use serde_json::Value as J;
    Ok(match json {
        J::Null => py.None().into_bound(py),
        J::Bool(b) => b.into_pyobject(py)?.to_owned().into_any(),
        J::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => i.into_pyobject(py)?.into_any(),
            (None, Some(f)) => f.into_pyobject(py)?.into_any(),
            _ => {
                return Err(PyValueError::new_err(format!(
                    "a number beyond 64 bits: {n}"
                )))
            }
        },
        J::String(s) => PyString::new(py, s).into_any(),
        J::Array(a) => {
            let items = a
                .iter()
                .map(|x| json_to_py(py, x))
                .collect::<PyResult<Vec<_>>>()?;
            PyList::new(py, items)?.into_any()
        }
        J::Object(o) => {
            let d = PyDict::new(py);
            for (k, v) in o {
                d.set_item(k, json_to_py(py, v)?)?;
            }
            d.into_any()
        }
    })
}

struct PySink<'py, 'd> {
    py: Python<'py>,
    d: &'d PyDecoder,
}

/// A Python exception while making an object: the DecodeError the serde would report.
fn made(py: Python<'_>, e: PyErr) -> crate::fail::Fail {
    let class = e
        .get_type(py)
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "Exception".into());
    crate::fail::Fail::error("DecodeError", format!("{class}: {}", e.value(py)))
}

impl<'py> crate::records::Sink for PySink<'py, '_> {
    type V = Bound<'py, PyAny>;

    fn null(&mut self) -> crate::fail::Result<Self::V> {
        Ok(self.py.None().into_bound(self.py))
    }
    fn bool(&mut self, b: bool) -> crate::fail::Result<Self::V> {
        Ok(pyo3::types::PyBool::new(self.py, b).to_owned().into_any())
    }
    fn int(&mut self, n: i64) -> crate::fail::Result<Self::V> {
        Ok(n.into_pyobject(self.py).expect("infallible").into_any())
    }
    fn float(&mut self, x: f64) -> crate::fail::Result<Self::V> {
        Ok(pyo3::types::PyFloat::new(self.py, x).into_any())
    }
    fn bytes(&mut self, b: &[u8]) -> crate::fail::Result<Self::V> {
        Ok(PyBytes::new(self.py, b).into_any())
    }
    fn str(&mut self, s: &str) -> crate::fail::Result<Self::V> {
        Ok(PyString::new(self.py, s).into_any())
    }
    fn symbol(&mut self, i: usize) -> crate::fail::Result<Self::V> {
        Ok(self.d.symbols[i].bind(self.py).clone().into_any())
    }
    fn date(&mut self, y: i64, m: u32, d: u32) -> crate::fail::Result<Self::V> {
        self.d
            .date
            .bind(self.py)
            .call1((y, m, d))
            .map_err(|e| made(self.py, e))
    }
    fn datetime(&mut self, c: &crate::civil::Civil, aware: bool) -> crate::fail::Result<Self::V> {
        let cls = self.d.datetime.bind(self.py);
        let r = if aware {
            cls.call1((
                c.year,
                c.month,
                c.day,
                c.hour,
                c.minute,
                c.second,
                c.micro,
                self.d.utc.bind(self.py),
            ))
        } else {
            cls.call1((c.year, c.month, c.day, c.hour, c.minute, c.second, c.micro))
        };
        r.map_err(|e| made(self.py, e))
    }
    fn time(&mut self, h: i64, m: i64, s: i64, us: i64) -> crate::fail::Result<Self::V> {
        self.d
            .time
            .bind(self.py)
            .call1((h, m, s, us))
            .map_err(|e| made(self.py, e))
    }
    fn uuid(&mut self, text: &str) -> crate::fail::Result<Self::V> {
        self.d
            .uuid
            .bind(self.py)
            .call1((text,))
            .map_err(|e| made(self.py, e))
    }
    fn decimal(
        &mut self,
        unscaled: &[u8],
        precision: i64,
        scale: i64,
    ) -> crate::fail::Result<Self::V> {
        // fastavro: Context(prec=precision).create_decimal(int.from_bytes(b, "big", signed=True))
        // .scaleb(-scale, context)
        let py = self.py;
        let go = || -> PyResult<Bound<'py, PyAny>> {
            let kwargs = PyDict::new(py);
            kwargs.set_item("prec", precision)?;
            let context = self.d.context.bind(py).call((), Some(&kwargs))?;
            let kwargs = PyDict::new(py);
            kwargs.set_item("signed", true)?;
            let n = self
                .d
                .from_bytes
                .bind(py)
                .call((PyBytes::new(py, unscaled), "big"), Some(&kwargs))?;
            let d = context.call_method1("create_decimal", (n,))?;
            d.call_method1("scaleb", (-scale, context))
        };
        go().map_err(|e| made(py, e))
    }
    fn array(&mut self, items: Vec<Self::V>) -> crate::fail::Result<Self::V> {
        PyList::new(self.py, items)
            .map(|l| l.into_any())
            .map_err(|e| made(self.py, e))
    }
    fn map(&mut self, entries: Vec<(&str, Self::V)>) -> crate::fail::Result<Self::V> {
        let d = PyDict::new(self.py);
        for (k, v) in entries {
            d.set_item(k, v).map_err(|e| made(self.py, e))?;
        }
        Ok(d.into_any())
    }
    fn record(&mut self, keys: usize, values: Vec<Self::V>) -> crate::fail::Result<Self::V> {
        let d = PyDict::new(self.py);
        for (k, v) in self.d.keys[keys].iter().zip(values) {
            d.set_item(k.bind(self.py), v)
                .map_err(|e| made(self.py, e))?;
        }
        Ok(d.into_any())
    }
    fn default(&mut self, i: usize) -> crate::fail::Result<Self::V> {
        Ok(self.d.defaults[i].bind(self.py).clone())
    }
}

impl PyDecoder {
    fn one<'py>(
        &self,
        py: Python<'py>,
        data: &[u8],
        offset: usize,
    ) -> Result<Bound<'py, PyAny>, crate::fail::Fail> {
        let body = data
            .get(offset..)
            .ok_or_else(|| crate::fail::Fail::error("DecodeError", "truncated payload"))?;
        self.program.decode(body, &mut PySink { py, d: self })
    }
}

fn raise(fail: crate::fail::Fail, index: Option<usize>) -> PyErr {
    match fail {
        crate::fail::Fail::Error { class, message } => AvroError::new_err((class, message, index)),
        crate::fail::Fail::Defer(reason) => Deferred::new_err((reason, index)),
    }
}

#[pymethods]
impl PyDecoder {
    #[new]
    #[pyo3(signature = (writer, reader = None))]
    fn new(py: Python<'_>, writer: &str, reader: Option<&str>) -> PyResult<Self> {
        let w =
            Schema::parse(writer).map_err(|e| Refused::new_err(format!("writer schema: {e}")))?;
        let r = reader
            .map(Schema::parse)
            .transpose()
            .map_err(|e| Refused::new_err(format!("reader schema: {e}")))?;
        let program = crate::records::Program::build(&w, r.as_ref()).map_err(Refused::new_err)?;
        let keys = program
            .records
            .iter()
            .map(|ks| {
                ks.iter()
                    .map(|k| PyString::intern(py, k).unbind())
                    .collect()
            })
            .collect();
        let symbols = program
            .symbols
            .iter()
            .map(|s| PyString::intern(py, s).unbind())
            .collect();
        let defaults = program
            .defaults
            .iter()
            .map(|d| json_to_py(py, d).map(Bound::unbind))
            .collect::<PyResult<_>>()
            .map_err(|e| Refused::new_err(format!("a default: {e}")))?;
        let datetime = py.import("datetime")?;
        Ok(PyDecoder {
            program,
            keys,
            symbols,
            defaults,
            datetime: datetime.getattr("datetime")?.unbind(),
            date: datetime.getattr("date")?.unbind(),
            time: datetime.getattr("time")?.unbind(),
            utc: datetime.getattr("timezone")?.getattr("utc")?.unbind(),
            uuid: py.import("uuid")?.getattr("UUID")?.unbind(),
            context: py.import("decimal")?.getattr("Context")?.unbind(),
            from_bytes: py
                .import("builtins")?
                .getattr("int")?
                .getattr("from_bytes")?
                .unbind(),
        })
    }

    /// The record in `data[offset:]` (an Avro body; offset 5 skips a Confluent header).
    /// `AvroError` for bytes that do not decode, `Deferred` for bytes fastavro should judge.
    #[pyo3(signature = (data, offset = 0))]
    fn decode<'py>(
        &self,
        py: Python<'py>,
        data: &[u8],
        offset: usize,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.one(py, data, offset).map_err(|f| raise(f, None))
    }

    /// The records of `items` (a list of bytes, each decoded from `offset`); the first that
    /// fails raises, its index the error's last argument.
    #[pyo3(signature = (items, offset = 0))]
    fn decode_many<'py>(
        &self,
        py: Python<'py>,
        items: &Bound<'py, PyList>,
        offset: usize,
    ) -> PyResult<Bound<'py, PyList>> {
        let out = PyList::empty(py);
        for (i, item) in items.iter().enumerate() {
            let b = item.downcast::<PyBytes>().map_err(|_| {
                PyTypeError::new_err(format!("item {i} of decode_many is not bytes"))
            })?;
            out.append(
                self.one(py, b.as_bytes(), offset)
                    .map_err(|f| raise(f, Some(i)))?,
            )?;
        }
        Ok(out)
    }
}

/// `repr(x)` as the core writes it (tests compare it with Python's).
#[pyfunction]
fn _float_repr(x: f64) -> String {
    crate::pyfmt::float_repr(x)
}

/// (utcoffset seconds, fold) of a UTC instant in the zone of a TZif file (tests).
#[pyfunction]
fn _zone_from_utc(tzif: &[u8], ts: i64, utc_year: i64) -> PyResult<(i64, bool)> {
    let zone = Zone::from_tzif(tzif).map_err(|e| PyValueError::new_err(e.0))?;
    Ok(zone.from_utc(ts, utc_year))
}

/// utcoffset seconds of a wall time with a fold (tests).
#[pyfunction]
fn _zone_utc_offset(tzif: &[u8], local_ts: i64, local_year: i64, fold: bool) -> PyResult<i64> {
    let zone = Zone::from_tzif(tzif).map_err(|e| PyValueError::new_err(e.0))?;
    Ok(zone.utc_offset(local_ts, local_year, fold))
}

/// The H3 cell of a point as the core computes it (tests).
#[pyfunction]
fn _h3_cell(lat: f64, lon: f64, res: u8) -> PyResult<String> {
    let res = h3o::Resolution::try_from(res).map_err(|e| PyValueError::new_err(e.to_string()))?;
    let point = h3o::LatLng::new(lat, lon).map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok(point.to_cell(res).to_string())
}

#[pymodule]
fn hub_core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PySource>()?;
    crate::pysend::register(m)?;
    crate::pyseen::register(m)?;
    crate::pyintake::register(m)?;
    m.add("Refused", m.py().get_type::<Refused>())?;
    m.add_class::<PyDecoder>()?;
    m.add("AvroError", m.py().get_type::<AvroError>())?;
    m.add("Deferred", m.py().get_type::<Deferred>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(_float_repr, m)?)?;
    m.add_function(wrap_pyfunction!(_zone_from_utc, m)?)?;
    m.add_function(wrap_pyfunction!(_zone_utc_offset, m)?)?;
    m.add_function(wrap_pyfunction!(_h3_cell, m)?)?;
    Ok(())
}
