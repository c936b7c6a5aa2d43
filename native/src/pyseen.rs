//! The Python side of `seen`: `hub_core.SeenIds` (a partition's duplicate window) and
//! `hub_core.lag_buckets`, so that the router does no per-event Python for either.

use crate::seen::{lag_buckets, Window};
use pyo3::prelude::*;

/// `hub_core.SeenIds(limit)`: the `ce_id` fingerprints seen last on one partition.
#[pyclass(name = "SeenIds", module = "hub_core")]
pub(crate) struct PySeenIds {
    window: Window,
    limit: usize,
}

/// The fingerprints a batch saw first, to `admit` once its transaction committed.
#[pyclass(name = "FreshIds", module = "hub_core", frozen)]
pub(crate) struct PyFreshIds {
    ids: Vec<u64>,
}

#[pymethods]
impl PyFreshIds {
    fn __len__(&self) -> usize {
        self.ids.len()
    }
}

#[pymethods]
impl PySeenIds {
    #[new]
    fn new(limit: usize) -> Self {
        PySeenIds {
            window: Window::default(),
            limit,
        }
    }

    /// (how many of `ids` were seen before or earlier among them, the new ones)
    fn duplicates(&self, py: Python<'_>, ids: Vec<u64>) -> (usize, PyFreshIds) {
        let (duplicates, ids) = py.allow_threads(|| self.window.duplicates(&ids));
        (duplicates, PyFreshIds { ids })
    }

    /// The batch that found `fresh` committed: they count as seen from now on.
    fn admit(&mut self, fresh: &PyFreshIds) {
        self.window.admit(&fresh.ids, self.limit);
    }
}

/// `lag_buckets(bounds, now, times)`: (count per bucket, sum) of `max(0, now - t)`, each in
/// the first bucket whose bound is at or above it, as `Histogram.observe` records it.
#[pyfunction(name = "lag_buckets")]
fn py_lag_buckets(bounds: Vec<f64>, now: f64, times: Vec<f64>) -> (Vec<u64>, f64) {
    lag_buckets(&bounds, now, &times)
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PySeenIds>()?;
    m.add_class::<PyFreshIds>()?;
    m.add_function(wrap_pyfunction!(py_lag_buckets, m)?)?;
    Ok(())
}
