//! The `minewatch._engine` Python module.

use std::path::PathBuf;

use arrow_array::RecordBatch;
use arrow_pyarrow::ToPyArrow;
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

use crate::flow::FlowOptions;
use crate::reader::{open_and_scan, ScanOutput, ScanStats};

create_exception!(_engine, CaptureError, PyException, "A capture or interface that cannot be read.");

/// Flow-table settings, from Python (`minewatch.sources.pcap.EngineOptions`).
#[pyclass(frozen, skip_from_py_object, module = "minewatch._engine")]
#[derive(Clone)]
pub struct Options {
    inner: FlowOptions,
}

#[pymethods]
impl Options {
    #[new]
    #[pyo3(signature = (idle_timeout_s=300.0, active_timeout_s=3600.0, max_message_bytes=65536, max_messages_per_flow=50000, max_stream_bytes_per_flow=16777216, batch_rows=65536))]
    fn new(
        idle_timeout_s: f64,
        active_timeout_s: f64,
        max_message_bytes: usize,
        max_messages_per_flow: u32,
        max_stream_bytes_per_flow: u64,
        batch_rows: usize,
    ) -> PyResult<Self> {
        if !(idle_timeout_s > 0.0 && active_timeout_s > 0.0) {
            return Err(pyo3::exceptions::PyValueError::new_err("timeouts must be positive"));
        }
        Ok(Options {
            inner: FlowOptions {
                idle_timeout_us: (idle_timeout_s * 1e6) as i64,
                active_timeout_us: (active_timeout_s * 1e6) as i64,
                max_message_bytes: max_message_bytes.max(256),
                max_messages_per_flow,
                max_stream_bytes_per_flow,
                batch_rows: batch_rows.max(1),
            },
        })
    }
}

/// Counters of one scan. `warning` is set when a file was cut short or corrupt part-way.
#[pyclass(frozen, get_all, module = "minewatch._engine")]
pub struct Stats {
    format: String,
    packets: u64,
    wire_bytes: u64,
    captured_bytes: u64,
    skipped_not_ip: u64,
    skipped_malformed: u64,
    skipped_fragments: u64,
    unknown_linktypes: Vec<(u32, u64)>,
    first_us: Option<i64>,
    last_us: Option<i64>,
    warning: Option<String>,
}

impl From<ScanStats> for Stats {
    fn from(s: ScanStats) -> Self {
        Stats {
            format: s.format.to_string(),
            packets: s.packets,
            wire_bytes: s.wire_bytes,
            captured_bytes: s.captured_bytes,
            skipped_not_ip: s.skipped_not_ip,
            skipped_malformed: s.skipped_malformed,
            skipped_fragments: s.skipped_fragments,
            unknown_linktypes: s.unknown_linktypes,
            first_us: s.first_us,
            last_us: s.last_us,
            warning: s.warning,
        }
    }
}

type Batches<'py> = (Vec<Bound<'py, PyAny>>, Vec<Bound<'py, PyAny>>, Stats);

fn to_python<'py>(py: Python<'py>, out: ScanOutput) -> PyResult<Batches<'py>> {
    let mut flows = Vec::new();
    let mut messages = Vec::new();
    for (kind, batch) in out.batches {
        let target = if kind == "flows" { &mut flows } else { &mut messages };
        target.push(batch_to_py(py, &batch)?);
    }
    Ok((flows, messages, out.stats.into()))
}

fn batch_to_py<'py>(py: Python<'py>, b: &RecordBatch) -> PyResult<Bound<'py, PyAny>> {
    b.to_pyarrow(py)
}

/// Scan one capture file: returns (flow batches, message batches, stats). Raises
/// CaptureError when the file cannot be read at all.
#[pyfunction]
#[pyo3(signature = (path, options, workers=1))]
fn scan_file<'py>(py: Python<'py>, path: PathBuf, options: &Options, workers: usize) -> PyResult<Batches<'py>> {
    let opts = options.inner.clone();
    let result = py.detach(move || open_and_scan(&path, &opts, workers));
    match result {
        Ok(out) => to_python(py, out),
        Err(e) => Err(CaptureError::new_err(e.to_string())),
    }
}

/// Empty flow and message batches: the schemas, for code that has no capture yet.
#[pyfunction]
fn schemas<'py>(py: Python<'py>) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    let f = RecordBatch::new_empty(crate::out::flow_schema());
    let m = RecordBatch::new_empty(crate::out::message_schema());
    Ok((batch_to_py(py, &f)?, batch_to_py(py, &m)?))
}

#[cfg(feature = "live")]
#[pyfunction]
#[pyo3(signature = (interface, duration_s, options, bpf_filter=None, snaplen=65535))]
fn capture_live<'py>(
    py: Python<'py>,
    interface: String,
    duration_s: f64,
    options: &Options,
    bpf_filter: Option<String>,
    snaplen: i32,
) -> PyResult<Batches<'py>> {
    let opts = options.inner.clone();
    let result = py.detach(move || crate::live::capture(&interface, duration_s, &opts, bpf_filter.as_deref(), snaplen));
    match result {
        Ok(out) => to_python(py, out),
        Err(e) => Err(CaptureError::new_err(e)),
    }
}

#[pymodule]
fn _engine(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Options>()?;
    m.add_class::<Stats>()?;
    m.add_function(wrap_pyfunction!(scan_file, m)?)?;
    m.add_function(wrap_pyfunction!(schemas, m)?)?;
    #[cfg(feature = "live")]
    m.add_function(wrap_pyfunction!(capture_live, m)?)?;
    m.add("CaptureError", m.py().get_type::<CaptureError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
