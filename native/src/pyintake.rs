//! Consumed records into the core without a Python object per record.
//!
//! confluent-kafka's `Consumer.consume` returns `Message` objects; building the router's
//! `Record` from each (seven method calls, a list of header tuples) and reading it back in the
//! core was the per-event Python left on the native path. `hub_core.Intake.gather` reads the
//! messages' fields where confluent-kafka keeps them (its `Message` struct, confluent_kafka.h
//! of 2.x) and their headers through librdkafka (`rd_kafka_header_get_all`, the library
//! confluent-kafka loaded), groups them per partition and copies their bytes into one buffer
//! per partition: an `Arrived`, which `Source.route` reads directly. Python sees an `Arrived`
//! as a sequence of records (built on demand, for the Python engine and the batch's offsets).
//!
//! Before it trusts the layout, each call checks its first message against the methods'
//! answers (type, partition, offset, timestamp, key, value, headers); anything unexpected is
//! `Refused`, and the router then builds its records in Python as before.

use crate::python::Refused;
use crate::sender::symbol;
use pyo3::exceptions::PyIndexError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PySlice, PyString, PyTuple, PyType};
use std::ffi::{c_char, c_int, c_void, CStr, CString};

/// `rd_kafka_header_get_all(hdrs, idx, &name, &value, &size)`: 0, or `_NOENT` past the end.
type HeaderGetAll = unsafe extern "C" fn(
    *const c_void,
    usize,
    *mut *const c_char,
    *mut *const c_void,
    *mut usize,
) -> c_int;

/// confluent-kafka 2.x's `Message` (confluent_kafka.h): the object header, then these.
#[repr(C)]
struct MessageFields {
    ob_refcnt: isize,
    ob_type: *mut c_void,
    topic: *mut ffi::PyObject,
    value: *mut ffi::PyObject,
    key: *mut ffi::PyObject,
    headers: *mut ffi::PyObject,
    c_headers: *const c_void,
    error: *mut ffi::PyObject,
    partition: i32,
    offset: i64,
    leader_epoch: i32,
    timestamp: i64,
}

type Range = (usize, usize); // (start, length) in an Arrived's buffer
/// A gather's result: per partition (topic, partition, records), and the messages in error.
type Gathered = (Vec<(Py<PyString>, i32, Py<PyArrived>)>, Vec<PyObject>);

/// One consumed event: where its bytes sit, its offset and timestamp, its headers' span.
pub(crate) struct Event {
    pub key: Option<Range>,
    pub value: Option<Range>,
    pub offset: i64,
    pub timestamp_ms: i64,
    pub headers: (usize, usize), // [start, end) in `Arrived::headers`
}

/// `hub_core.Arrived`: one partition's consumed records, in offset order.
#[pyclass(name = "Arrived", module = "hub_core", frozen, sequence)]
pub(crate) struct PyArrived {
    topic: Py<PyString>,
    partition: i32,
    messages: Vec<PyObject>,
    record: PyObject, // the router's Record type: Record(message)
    pub buffer: Vec<u8>,
    pub events: Vec<Event>,
    pub headers: Vec<(Range, Option<Range>)>, // (name, value)
}

impl PyArrived {
    pub fn bytes(&self, range: Range) -> &[u8] {
        &self.buffer[range.0..range.0 + range.1]
    }

    /// The headers of event `i`: (name, value), in their order.
    pub fn headers_of(&self, i: usize) -> impl Iterator<Item = (&[u8], Option<&[u8]>)> {
        let (start, end) = self.events[i].headers;
        self.headers[start..end]
            .iter()
            .map(|(name, value)| (self.bytes(*name), value.map(|v| self.bytes(v))))
    }

    fn place(&mut self, bytes: &[u8]) -> Range {
        let at = self.buffer.len();
        self.buffer.extend_from_slice(bytes);
        (at, bytes.len())
    }

    fn record(&self, py: Python<'_>, i: usize) -> PyResult<PyObject> {
        self.record.call1(py, (self.messages[i].clone_ref(py),))
    }
}

#[pymethods]
impl PyArrived {
    #[getter]
    fn topic(&self, py: Python<'_>) -> Py<PyString> {
        self.topic.clone_ref(py)
    }

    #[getter]
    fn partition(&self) -> i32 {
        self.partition
    }

    fn __len__(&self) -> usize {
        self.events.len()
    }

    /// A record (an int index) or a list of them (a slice), made from the messages.
    fn __getitem__(&self, py: Python<'_>, index: &Bound<'_, PyAny>) -> PyResult<PyObject> {
        if let Ok(slice) = index.downcast::<PySlice>() {
            let s = slice.indices(self.events.len() as isize)?;
            let list = PyList::empty(py);
            let mut i = s.start;
            for _ in 0..s.slicelength {
                list.append(self.record(py, i as usize)?)?;
                i += s.step;
            }
            return Ok(list.into_any().unbind());
        }
        let n = self.events.len() as isize;
        let mut i: isize = index.extract()?;
        if i < 0 {
            i += n;
        }
        if i < 0 || i >= n {
            return Err(PyIndexError::new_err("Arrived index out of range"));
        }
        self.record(py, i as usize)
    }

    fn __iter__(&self, py: Python<'_>) -> PyResult<PyObject> {
        let list = PyList::empty(py);
        for i in 0..self.events.len() {
            list.append(self.record(py, i)?)?;
        }
        Ok(list.try_iter()?.into_any().unbind())
    }
}

/// `hub_core.Intake(message_type, library, record)`: gathers confluent-kafka's `Message`s
/// (of `message_type`) through the loaded librdkafka at `library`; `record` makes the router's
/// record of a message where Python needs one.
#[pyclass(name = "Intake", module = "hub_core", frozen)]
pub(crate) struct PyIntake {
    message_type: Py<PyType>,
    record: PyObject,
    header_get_all: HeaderGetAll,
}

fn refused(why: impl Into<String>) -> PyErr {
    Refused::new_err(format!(
        "confluent-kafka's Message is not laid out as the intake reads it: {}",
        why.into()
    ))
}

#[pymethods]
impl PyIntake {
    #[new]
    fn new(message_type: Bound<'_, PyType>, library: &str, record: PyObject) -> PyResult<Self> {
        let path = CString::new(library).map_err(|_| refused("a NUL in the library path"))?;
        // SAFETY: dlopen/dlsym on a library already loaded (RTLD_NOLOAD: never a second copy).
        let header_get_all = unsafe {
            let lib = libc::dlopen(path.as_ptr(), libc::RTLD_NOW | libc::RTLD_NOLOAD);
            if lib.is_null() {
                return Err(Refused::new_err(format!(
                    "{library} is not loaded in this process"
                )));
            }
            let found = symbol::<HeaderGetAll>(lib, "rd_kafka_header_get_all");
            libc::dlclose(lib); // confluent-kafka keeps it loaded
            found.map_err(Refused::new_err)?
        };
        Ok(PyIntake {
            message_type: message_type.unbind(),
            record,
            header_get_all,
        })
    }

    /// `messages` (a consume call's) per partition: ([(topic, partition, Arrived)], errors),
    /// the errors being the messages that carry one (for the caller to report).
    fn gather(&self, py: Python<'_>, messages: &Bound<'_, PyList>) -> PyResult<Gathered> {
        let mut parts: Vec<PyArrived> = Vec::new();
        let mut errors: Vec<PyObject> = Vec::new();
        let none = py.None();
        let mut checked = false;
        let mut verify_headers: Option<(usize, usize)> = None; // (part, event) checked below
        for message in messages.iter() {
            if !message.get_type().is(self.message_type.bind(py)) {
                return Err(refused(format!(
                    "a {} among the messages",
                    message.get_type()
                )));
            }
            // SAFETY: an object of confluent-kafka's Message type (checked just above); the
            // layout is checked against its methods on the first message of every call.
            let fields = unsafe { &*(message.as_ptr() as *const MessageFields) };
            if fields.error != none.as_ptr() {
                errors.push(message.clone().unbind());
                continue;
            }
            let first = !checked;
            if first {
                check(py, &message, fields)?;
                checked = true;
            }
            // SAFETY: the fields hold the message's own references (or NULL): topic a str,
            // key and value bytes, headers a list of (str, bytes | None) once converted.
            if fields.topic.is_null() {
                return Err(refused("a message without a topic"));
            }
            let topic = unsafe { Bound::from_borrowed_ptr(py, fields.topic) };
            let topic = topic.downcast::<PyString>()?;
            let at = match parts.iter().rposition(|p| {
                p.partition == fields.partition
                    && p.topic.bind(py).to_str().ok() == topic.to_str().ok()
            }) {
                Some(at) => at,
                None => {
                    parts.push(PyArrived {
                        topic: topic.clone().unbind(),
                        partition: fields.partition,
                        messages: Vec::new(),
                        record: self.record.clone_ref(py),
                        buffer: Vec::new(),
                        events: Vec::new(),
                        headers: Vec::new(),
                    });
                    parts.len() - 1
                }
            };
            let part = &mut parts[at];
            let key = unsafe { bytes_at(py, fields.key) }?.map(|b| part.place(b));
            let value = unsafe { bytes_at(py, fields.value) }?.map(|b| part.place(b));
            let start = part.headers.len();
            if !fields.headers.is_null() {
                let list = unsafe { Bound::from_borrowed_ptr(py, fields.headers) };
                for header in list.try_iter()? {
                    let header = header?;
                    let header = header.downcast::<PyTuple>()?;
                    let name = part.place(
                        header
                            .get_item(0)?
                            .downcast::<PyString>()?
                            .to_str()?
                            .as_bytes(),
                    );
                    let item = header.get_item(1)?;
                    let value = if item.is_none() {
                        None
                    } else {
                        Some(part.place(item.downcast::<PyBytes>()?.as_bytes()))
                    };
                    part.headers.push((name, value));
                }
            } else if !fields.c_headers.is_null() {
                let mut idx = 0;
                loop {
                    let (mut name, mut value, mut size) =
                        (std::ptr::null(), std::ptr::null(), 0usize);
                    // SAFETY: librdkafka's header list, owned by the message until converted.
                    let code = unsafe {
                        (self.header_get_all)(
                            fields.c_headers,
                            idx,
                            &mut name,
                            &mut value,
                            &mut size,
                        )
                    };
                    if code != 0 {
                        break;
                    }
                    let name = part.place(unsafe { CStr::from_ptr(name) }.to_bytes());
                    let value =
                        if value.is_null() {
                            None
                        } else {
                            Some(part.place(unsafe {
                                std::slice::from_raw_parts(value as *const u8, size)
                            }))
                        };
                    part.headers.push((name, value));
                    idx += 1;
                }
            }
            part.events.push(Event {
                key,
                value,
                offset: fields.offset,
                timestamp_ms: fields.timestamp,
                headers: (start, part.headers.len()),
            });
            part.messages.push(message.clone().unbind());
            if first {
                verify_headers = Some((at, part.events.len() - 1));
            }
        }
        if let Some((at, i)) = verify_headers {
            // what was read, against what confluent-kafka makes of them (converting them)
            let part = &parts[at];
            let mine: Vec<(Vec<u8>, Option<Vec<u8>>)> = part
                .headers_of(i)
                .map(|(n, v)| (n.to_vec(), v.map(<[u8]>::to_vec)))
                .collect();
            let theirs = part.messages[i].call_method0(py, "headers")?;
            let theirs: Vec<(String, Option<Vec<u8>>)> = if theirs.is_none(py) {
                Vec::new()
            } else {
                theirs.extract(py)?
            };
            let theirs: Vec<(Vec<u8>, Option<Vec<u8>>)> = theirs
                .into_iter()
                .map(|(n, v)| (n.into_bytes(), v))
                .collect();
            if mine != theirs {
                return Err(refused("the headers read differ from the message's"));
            }
        }
        let parts = parts
            .into_iter()
            .map(|p| {
                let (topic, partition) = (p.topic.clone_ref(py), p.partition);
                Ok((topic, partition, Py::new(py, p)?))
            })
            .collect::<PyResult<_>>()?;
        Ok((parts, errors))
    }
}

/// The bytes of a field (NULL: none).
///
/// # Safety
/// `ptr` is NULL or a live object the message holds.
unsafe fn bytes_at<'py>(py: Python<'py>, ptr: *mut ffi::PyObject) -> PyResult<Option<&'py [u8]>> {
    if ptr.is_null() {
        return Ok(None);
    }
    let object = Bound::from_borrowed_ptr(py, ptr);
    let bytes = object
        .downcast_into::<PyBytes>()
        .map_err(|_| refused("a key or value that is not bytes"))?;
    // The message keeps the bytes alive for as long as the caller holds it.
    Ok(Some(std::slice::from_raw_parts(
        bytes.as_bytes().as_ptr(),
        bytes.as_bytes().len(),
    )))
}

/// The struct's fields against the methods' answers, for one message.
fn check(py: Python<'_>, message: &Bound<'_, PyAny>, fields: &MessageFields) -> PyResult<()> {
    let same = |method: &str, field: *mut ffi::PyObject| -> PyResult<bool> {
        let got = message.call_method0(method)?;
        Ok(if field.is_null() {
            got.is_none()
        } else {
            got.as_ptr() == field
        })
    };
    let partition: i32 = message.call_method0("partition")?.extract()?;
    let offset: i64 = message.call_method0("offset")?.extract()?;
    let timestamp: i64 = message.call_method0("timestamp")?.get_item(1)?.extract()?;
    let topic = message.call_method0("topic")?;
    if (partition, offset, timestamp) != (fields.partition, fields.offset, fields.timestamp) {
        return Err(refused(format!(
            "partition, offset, timestamp {:?} read as {:?}",
            (partition, offset, timestamp),
            (fields.partition, fields.offset, fields.timestamp)
        )));
    }
    if !same("value", fields.value)? || !same("key", fields.key)? || topic.as_ptr() != fields.topic
    {
        return Err(refused("the topic, key or value is elsewhere"));
    }
    if !fields.headers.is_null() && !same("headers", fields.headers)? {
        return Err(refused("the headers are elsewhere"));
    }
    let _ = py;
    Ok(())
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyIntake>()?;
    m.add_class::<PyArrived>()?;
    Ok(())
}
