//! The Python side of a batch's deliveries: `hub_core.Deliveries` keeps them in Rust until
//! they are produced, through `hub_core.Sender` (the router's producer, borrowed) or, where no
//! sender could be attached, as the `(topic, key, value, headers)` tuples of the Python engine.

use crate::route::Delivery;
use crate::sender::{Message, Sender, QUEUE_FULL};
use pyo3::create_exception;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString, PyTuple};
use std::ffi::{c_void, CStr, CString};
use std::sync::Arc;

create_exception!(
    hub_core,
    ProduceError,
    PyRuntimeError,
    "librdkafka refused a delivery: args (code, message, fatal), as its error says."
);

/// What every delivery of a source's routes is named by: topics, headers, id prefixes.
pub(crate) struct Names {
    pub topics: Vec<(Py<PyString>, CString)>,
    /// per route: the agreement header tuple, and its name and value
    pub agreement: Vec<(Py<PyTuple>, CString, Vec<u8>)>,
    pub prefixes: Vec<Vec<u8>>,
    pub passthrough: Vec<(String, Py<PyString>, CString)>,
    pub delivery: (Py<PyString>, CString),
}

fn c_name(name: &str) -> PyResult<CString> {
    CString::new(name).map_err(|_| pyo3::exceptions::PyValueError::new_err("a NUL in a name"))
}

impl Names {
    pub fn new(py: Python<'_>, passthrough: &[String], delivery_header: &str) -> PyResult<Self> {
        Ok(Names {
            topics: Vec::new(),
            agreement: Vec::new(),
            prefixes: Vec::new(),
            passthrough: passthrough
                .iter()
                .map(|p| Ok((p.clone(), PyString::new(py, p).unbind(), c_name(p)?)))
                .collect::<PyResult<_>>()?,
            delivery: (
                PyString::new(py, delivery_header).unbind(),
                c_name(delivery_header)?,
            ),
        })
    }

    pub fn add_route(
        &mut self,
        py: Python<'_>,
        topic: &str,
        agreement_header: Bound<'_, PyTuple>,
        prefix: Vec<u8>,
    ) -> PyResult<()> {
        let name: String = agreement_header.get_item(0)?.extract()?;
        let value: Vec<u8> = agreement_header.get_item(1)?.extract()?;
        self.topics
            .push((PyString::new(py, topic).unbind(), c_name(topic)?));
        self.agreement
            .push((agreement_header.unbind(), c_name(&name)?, value));
        self.prefixes.push(prefix);
        Ok(())
    }

    /// The index of a passthrough header, if `name` is one.
    pub fn passthrough_index(&self, name: &str) -> Option<usize> {
        self.passthrough.iter().position(|(p, _, _)| p == name)
    }

    /// A copy for a source that changes while batches of the old one are still alive.
    pub fn clone_ref(&self, py: Python<'_>) -> Self {
        Names {
            topics: self
                .topics
                .iter()
                .map(|(p, c)| (p.clone_ref(py), c.clone()))
                .collect(),
            agreement: self
                .agreement
                .iter()
                .map(|(t, c, v)| (t.clone_ref(py), c.clone(), v.clone()))
                .collect(),
            prefixes: self.prefixes.clone(),
            passthrough: self
                .passthrough
                .iter()
                .map(|(s, p, c)| (s.clone(), p.clone_ref(py), c.clone()))
                .collect(),
            delivery: (self.delivery.0.clone_ref(py), self.delivery.1.clone()),
        }
    }
}

/// One batch's deliveries, in order: what `Source.route(..., lazy=True)` returns first.
#[pyclass(name = "Deliveries", module = "hub_core", frozen)]
pub(crate) struct PyDeliveries {
    pub names: Arc<Names>,
    pub items: Vec<Delivery>,
    /// per event: its passthrough headers (index into `names.passthrough`, value)
    pub envelopes: Vec<Vec<(usize, Option<Vec<u8>>)>>,
    pub offsets: Vec<i64>,
    pub origin: Vec<u8>,
}

impl PyDeliveries {
    fn delivery_id(&self, d: &Delivery, id: &mut Vec<u8>) {
        id.clear();
        id.extend_from_slice(&self.names.prefixes[d.route]);
        id.extend_from_slice(&self.origin);
        id.extend_from_slice(self.offsets[d.event].to_string().as_bytes());
    }
}

#[pymethods]
impl PyDeliveries {
    fn __len__(&self) -> usize {
        self.items.len()
    }

    /// The deliveries as the Python engine lists them: (topic, key, value, headers).
    pub(crate) fn to_list<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let names = &self.names;
        let mut id = Vec::with_capacity(48);
        let mut out = Vec::with_capacity(self.items.len());
        for d in &self.items {
            self.delivery_id(d, &mut id);
            let envelope = &self.envelopes[d.event];
            let mut headers: Vec<Bound<'py, PyAny>> = Vec::with_capacity(envelope.len() + 2);
            for (i, value) in envelope {
                let name = names.passthrough[*i].1.bind(py).clone().into_any();
                let value = match value {
                    Some(v) => PyBytes::new(py, v).into_any(),
                    None => py.None().into_bound(py),
                };
                headers.push(PyTuple::new(py, [name, value])?.into_any());
            }
            headers.push(names.agreement[d.route].0.bind(py).clone().into_any());
            let delivery = [
                names.delivery.0.bind(py).clone().into_any(),
                PyBytes::new(py, &id).into_any(),
            ];
            headers.push(PyTuple::new(py, delivery)?.into_any());
            let key = match &d.key {
                Some(k) => PyBytes::new(py, k).into_any(),
                None => py.None().into_bound(py),
            };
            let item = [
                names.topics[d.route].0.bind(py).clone().into_any(),
                key,
                PyBytes::new(py, &d.value).into_any(),
                PyList::new(py, headers)?.into_any(),
            ];
            out.push(PyTuple::new(py, item)?);
        }
        PyList::new(py, out)
    }

    /// Produce the deliveries from `start` on through `sender`, without the GIL; returns the
    /// index of the first one not produced: `len(self)` when all are queued, less when
    /// librdkafka's queue is full (flush, then call again from there). `ProduceError` for
    /// any other refusal.
    fn produce(&self, py: Python<'_>, sender: &PySender, start: usize) -> PyResult<usize> {
        let names = &self.names;
        let result = py.allow_threads(|| {
            let mut vus = Vec::with_capacity(8);
            let mut id = Vec::with_capacity(48);
            for (at, d) in self.items.iter().enumerate().skip(start) {
                self.delivery_id(d, &mut id);
                let mut headers: Vec<(&CStr, Option<&[u8]>)> = Vec::with_capacity(8);
                for (i, value) in &self.envelopes[d.event] {
                    headers.push((names.passthrough[*i].2.as_c_str(), value.as_deref()));
                }
                let (_, agreement_name, agreement_value) = &names.agreement[d.route];
                headers.push((agreement_name.as_c_str(), Some(agreement_value)));
                headers.push((names.delivery.1.as_c_str(), Some(&id)));
                let message = Message {
                    topic: names.topics[d.route].1.as_c_str(),
                    key: d.key.as_deref(),
                    value: &d.value,
                    headers: &headers,
                };
                match sender.inner.produce(&message, &mut vus) {
                    Ok(()) => {}
                    Err(e) if e.code == QUEUE_FULL => return Ok(at),
                    Err(e) => return Err(e),
                }
            }
            Ok(self.items.len())
        });
        result.map_err(|e| ProduceError::new_err((e.code, e.message, e.fatal)))
    }
}

/// `hub_core.Sender(producer, library, client_id)`: the librdkafka handle of a confluent-kafka
/// `Producer` whose `client.id` is `client_id`, through `library` (the loaded librdkafka's
/// path). `Refused` when the handle is not what it should be.
#[pyclass(name = "Sender", module = "hub_core", frozen)]
pub(crate) struct PySender {
    inner: Sender,
    _producer: PyObject, // kept alive: the handle is the producer's
}

#[pymethods]
impl PySender {
    #[new]
    fn new(producer: Bound<'_, PyAny>, library: &str, client_id: &str) -> PyResult<Self> {
        // confluent-kafka's Handle: the object header (reference count, type), then rk.
        let rk = unsafe {
            let object = producer.as_ptr().cast::<u8>();
            let field = object.add(2 * std::mem::size_of::<usize>());
            *(field.cast::<*mut c_void>())
        };
        let inner = unsafe { Sender::attach(rk, library, client_id) }
            .map_err(crate::python::Refused::new_err)?;
        Ok(PySender {
            inner,
            _producer: producer.unbind(),
        })
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyDeliveries>()?;
    m.add_class::<PySender>()?;
    m.add("ProduceError", m.py().get_type::<ProduceError>())?;
    Ok(())
}
