//! The `minewatch._engine` Python module.

use std::path::PathBuf;

use arrow_array::RecordBatch;
use arrow_pyarrow::ToPyArrow;
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyRuntimeError};
use pyo3::prelude::*;

use crate::collector::Collector as UdpCollector;
use crate::flow::FlowOptions;
use crate::netflow::{Decoder, DecoderCounters, ExporterState};
use crate::reader::{open_and_scan, ReadError, ScanOutput, ScanStats};

create_exception!(
    _engine,
    CaptureError,
    PyException,
    "A capture or interface that cannot be read."
);

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
            return Err(pyo3::exceptions::PyValueError::new_err(
                "timeouts must be positive",
            ));
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
        let target = if kind == "flows" {
            &mut flows
        } else {
            &mut messages
        };
        target.push(batch_to_py(py, &batch)?);
    }
    Ok((flows, messages, out.stats.into()))
}

fn batch_to_py<'py>(py: Python<'py>, b: &RecordBatch) -> PyResult<Bound<'py, PyAny>> {
    b.to_pyarrow(py)
}

type Batch = (&'static str, RecordBatch);

/// One capture file being scanned on an engine thread, read as an iterator of
/// ("flows" | "messages", RecordBatch) while the scan goes on. At most a few batches wait
/// in between, so memory follows the flows open at once, not the length of the file.
/// After the last batch, `stats` holds the counters; a file that cannot be read at all
/// raises CaptureError from the iteration.
#[pyclass(module = "minewatch._engine")]
pub struct Scan {
    batches: Option<crossbeam_channel::Receiver<Batch>>,
    worker: Option<std::thread::JoinHandle<Result<ScanOutput, ReadError>>>,
    stats: Option<ScanStats>,
}

#[pymethods]
impl Scan {
    #[new]
    #[pyo3(signature = (path, options, workers=1))]
    fn new(path: PathBuf, options: &Options, workers: usize) -> Self {
        let (tx, rx) = crossbeam_channel::bounded::<Batch>(4);
        let opts = options.inner.clone();
        let worker = std::thread::spawn(move || open_and_scan(&path, &opts, workers, Some(tx)));
        Scan {
            batches: Some(rx),
            worker: Some(worker),
            stats: None,
        }
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(
        &mut self,
        py: Python<'py>,
    ) -> PyResult<Option<(&'static str, Bound<'py, PyAny>)>> {
        if let Some(rx) = self.batches.as_ref() {
            if let Ok((kind, batch)) = py.detach(|| rx.recv()) {
                return Ok(Some((kind, batch_to_py(py, &batch)?)));
            }
        }
        // Every sender is gone: the scan has ended, one way or the other.
        self.batches = None;
        if let Some(worker) = self.worker.take() {
            match py.detach(|| worker.join()) {
                Ok(Ok(out)) => self.stats = Some(out.stats),
                Ok(Err(e)) => return Err(CaptureError::new_err(e.to_string())),
                Err(_) => return Err(PyRuntimeError::new_err("the engine thread panicked")),
            }
        }
        Ok(None)
    }

    /// The scan's counters, once every batch has been read; None before.
    #[getter]
    fn stats(&self) -> Option<Stats> {
        self.stats.clone().map(Stats::from)
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
    let result = py.detach(move || {
        crate::live::capture(
            &interface,
            duration_s,
            &opts,
            bpf_filter.as_deref(),
            snaplen,
        )
    });
    match result {
        Ok(out) => to_python(py, out),
        Err(e) => Err(CaptureError::new_err(e)),
    }
}

/// One exporter's stream (address, NetFlow version, observation domain or source id).
#[pyclass(frozen, get_all, module = "minewatch._engine")]
pub struct Exporter {
    address: String,
    version: u16,
    domain: u32,
    datagrams: u64,
    records: u64,
    missing: u64,
    resets: u64,
    no_template: u64,
    malformed: u64,
    last_heard_ms: i64,
}

impl From<&ExporterState> for Exporter {
    fn from(s: &ExporterState) -> Self {
        Exporter {
            address: s.address.clone(),
            version: s.version,
            domain: s.domain,
            datagrams: s.datagrams,
            records: s.records,
            missing: s.missing,
            resets: s.resets,
            no_template: s.no_template,
            malformed: s.malformed,
            last_heard_ms: s.last_heard_ms,
        }
    }
}

/// Totals of a decoder since it started.
#[pyclass(frozen, get_all, module = "minewatch._engine")]
pub struct DecoderTotals {
    datagrams: u64,
    bytes: u64,
    records: u64,
    malformed: u64,
    no_template: u64,
    untimed: u64,
    log_dropped: u64,
    overflow: u64,
    direct: u64,
}

impl From<&DecoderCounters> for DecoderTotals {
    fn from(c: &DecoderCounters) -> Self {
        DecoderTotals {
            datagrams: c.datagrams,
            bytes: c.bytes,
            records: c.records,
            malformed: c.malformed,
            no_template: c.no_template,
            untimed: c.untimed,
            log_dropped: c.log_dropped,
            overflow: c.overflow,
            direct: c.direct,
        }
    }
}

fn exporters_of(d: &Decoder) -> Vec<Exporter> {
    let mut v: Vec<Exporter> = d.exporters().map(Exporter::from).collect();
    v.sort_by(|a, b| (&a.address, a.version, a.domain).cmp(&(&b.address, b.version, b.domain)));
    v
}

/// A collector's assumed rate for exporters that announce none, checked: 1 to MAX_RATE.
fn unannounced(rate: f64) -> PyResult<f64> {
    if rate.is_finite() && (1.0..=crate::sampling::MAX_RATE).contains(&rate) {
        Ok(rate)
    } else {
        Err(pyo3::exceptions::PyValueError::new_err(format!(
            "unannounced_rate: a sampling rate is 1 in N with N from 1 to {}, not {rate}",
            crate::sampling::MAX_RATE
        )))
    }
}

/// NetFlow v5/v9/IPFIX datagrams to unidirectional records, fed by the caller (files of
/// datagrams, tests). Template and sequence state is kept per exporter and domain.
#[pyclass(module = "minewatch._engine")]
pub struct FlowDecoder {
    inner: Decoder,
}

#[pymethods]
impl FlowDecoder {
    /// `direct`: v9 and IPFIX data sets of templates the parser has accepted are read without
    /// the parser (the default; False for comparing the two). `unannounced_rate`: the
    /// sampling rate N (1 in N) of exporters that announce none (nfcapd's `-s N`).
    #[new]
    #[pyo3(signature = (direct = true, unannounced_rate = 1.0))]
    fn new(direct: bool, unannounced_rate: f64) -> PyResult<Self> {
        let mut inner = Decoder::new();
        inner.read_directly = direct;
        inner.unannounced_rate = unannounced(unannounced_rate)?;
        Ok(FlowDecoder { inner })
    }

    /// Decode one datagram sent from `host`:`port`, received at `now_ms`.
    fn feed(&mut self, host: &str, port: u16, data: &[u8], now_ms: i64) -> PyResult<()> {
        let ip: std::net::IpAddr = host.parse().map_err(|_| {
            pyo3::exceptions::PyValueError::new_err(format!("not an address: {host}"))
        })?;
        self.inner
            .feed(std::net::SocketAddr::new(ip, port), data, now_ms);
        Ok(())
    }

    /// The records decoded since the last call.
    fn take<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        batch_to_py(py, &self.inner.take())
    }

    fn drain_log(&mut self) -> Vec<String> {
        self.inner.drain_log()
    }

    fn exporters(&self) -> Vec<Exporter> {
        exporters_of(&self.inner)
    }

    #[getter]
    fn totals(&self) -> DecoderTotals {
        DecoderTotals::from(&self.inner.counters)
    }
}

/// Dotted-quad text to uint32 (null for IPv6, null or malformed text), for the store's
/// numeric address columns.
#[pyfunction]
fn ipv4_numbers<'py>(py: Python<'py>, text: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    use arrow_array::cast::AsArray;
    use arrow_array::{Array, UInt32Array};
    use arrow_pyarrow::{FromPyArrow, ToPyArrow};
    let data = arrow_array::make_array(arrow_data::ArrayData::from_pyarrow_bound(text)?);
    let strings = data.as_string_opt::<i32>().ok_or_else(|| {
        pyo3::exceptions::PyTypeError::new_err("ipv4_numbers wants a string array")
    })?;
    let out: UInt32Array = (0..strings.len())
        .map(|i| {
            if strings.is_null(i) {
                return None;
            }
            strings
                .value(i)
                .parse::<std::net::Ipv4Addr>()
                .ok()
                .map(u32::from)
        })
        .collect();
    out.to_data().to_pyarrow(py)
}

/// One-way flow-export records to two-way flows (engine/src/pairing.rs).
#[pyclass(module = "minewatch._engine")]
pub struct Pairer {
    inner: crate::pairing::Pairer,
}

#[pymethods]
impl Pairer {
    #[new]
    #[pyo3(signature = (max_held=1048576))]
    fn new(max_held: usize) -> Self {
        Pairer {
            inner: crate::pairing::Pairer::new(max_held),
        }
    }

    /// Pair a batch of one-way records (with what was held); returns the flows ready.
    fn push<'py>(
        &mut self,
        py: Python<'py>,
        batch: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        use arrow_pyarrow::FromPyArrow;
        let batch = RecordBatch::from_pyarrow_bound(batch)?;
        let inner = &mut self.inner;
        let out = py.detach(|| {
            crate::pairing::records_from_batch(&batch).map(|records| inner.push(&records))
        });
        let out = out.map_err(pyo3::exceptions::PyValueError::new_err)?;
        batch_to_py(py, &out)
    }

    /// Everything still held, alone.
    fn flush<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        batch_to_py(py, &self.inner.flush())
    }

    #[getter]
    fn held(&self) -> usize {
        self.inner.held()
    }
}

/// A UDP flow collector bound to one address, receiving on its own thread.
#[pyclass(module = "minewatch._engine")]
pub struct Collector {
    inner: UdpCollector,
}

#[pymethods]
impl Collector {
    #[new]
    #[pyo3(signature = (host, port, recv_buffer=8388608, max_pending=1048576, unannounced_rate=1.0))]
    fn new(
        host: &str,
        port: u16,
        recv_buffer: usize,
        max_pending: usize,
        unannounced_rate: f64,
    ) -> PyResult<Self> {
        let rate = unannounced(unannounced_rate)?;
        let ip: std::net::IpAddr = host.parse().map_err(|_| {
            pyo3::exceptions::PyValueError::new_err(format!("not an address: {host}"))
        })?;
        let mut decoder = Decoder::new();
        decoder.unannounced_rate = rate;
        let inner = UdpCollector::bind(
            std::net::SocketAddr::new(ip, port),
            recv_buffer,
            max_pending,
            decoder,
        )
        .map_err(|e| {
            pyo3::exceptions::PyOSError::new_err(format!("cannot listen on {host}:{port}: {e}"))
        })?;
        Ok(Collector { inner })
    }

    /// The port actually bound (useful with port 0).
    #[getter]
    fn port(&self) -> u16 {
        self.inner.local_addr().port()
    }

    /// Wait up to `wait_s` seconds or until `max_records` are decoded (without the GIL),
    /// then return what has been decoded as one batch.
    #[pyo3(signature = (wait_s, max_records=65536))]
    fn poll<'py>(
        &self,
        py: Python<'py>,
        wait_s: f64,
        max_records: usize,
    ) -> PyResult<Bound<'py, PyAny>> {
        let wait = std::time::Duration::from_secs_f64(wait_s.clamp(0.0, 3600.0));
        let inner = &self.inner;
        let batch = py.detach(|| inner.poll(wait, max_records.max(1)));
        batch_to_py(py, &batch)
    }

    fn drain_log(&self) -> Vec<String> {
        self.inner.decoder().drain_log()
    }

    fn exporters(&self) -> Vec<Exporter> {
        exporters_of(&self.inner.decoder())
    }

    #[getter]
    fn totals(&self) -> DecoderTotals {
        DecoderTotals::from(&self.inner.decoder().counters)
    }
}

/// The store-first collector (engine/src/storefirst.rs): bound here, receiving, pairing
/// and writing the store's flow files on its own threads from `start` to `stop`.
#[pyclass(module = "minewatch._engine")]
pub struct StoreCollector {
    inner: crate::storefirst::StoreCollector,
}

#[pymethods]
impl StoreCollector {
    #[new]
    #[pyo3(signature = (host, port, recv_buffer=8388608, unannounced_rate=1.0))]
    fn new(host: &str, port: u16, recv_buffer: usize, unannounced_rate: f64) -> PyResult<Self> {
        let rate = unannounced(unannounced_rate)?;
        let ip: std::net::IpAddr = host.parse().map_err(|_| {
            pyo3::exceptions::PyValueError::new_err(format!("not an address: {host}"))
        })?;
        let mut decoder = Decoder::numeric();
        decoder.unannounced_rate = rate;
        let inner = crate::storefirst::StoreCollector::bind(
            std::net::SocketAddr::new(ip, port),
            recv_buffer,
            decoder,
        )
        .map_err(|e| {
            pyo3::exceptions::PyOSError::new_err(format!("cannot listen on {host}:{port}: {e}"))
        })?;
        Ok(StoreCollector { inner })
    }

    #[getter]
    fn port(&self) -> u16 {
        self.inner.local_addr().port()
    }

    /// Start: flows of `schema` (a pyarrow schema, the store's) at `version` into the
    /// store at `root`, files named by `tag`, every row's source `source`; `on_flushed`
    /// is called (from the writing thread) with (records taken, flows written) after each
    /// flush.
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (root, tag, schema, version, source, on_flushed, max_records, max_pending, flush_s))]
    fn start(
        &mut self,
        root: PathBuf,
        tag: String,
        schema: &Bound<'_, PyAny>,
        version: u32,
        source: String,
        on_flushed: Py<PyAny>,
        max_records: usize,
        max_pending: usize,
        flush_s: f64,
    ) -> PyResult<()> {
        use arrow_pyarrow::FromPyArrow;
        let schema = arrow_schema::Schema::from_pyarrow_bound(schema)?;
        let files = crate::store::FlowFiles::new(root, tag, &schema, version, source)
            .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))?;
        let settings = crate::storefirst::Settings {
            files,
            max_records,
            max_pending,
            flush: std::time::Duration::from_secs_f64(flush_s.clamp(0.01, 86_400.0)),
        };
        let report: crate::storefirst::OnFlushed = Box::new(move |taken, flows| {
            Python::attach(|py| {
                on_flushed
                    .call1(py, (taken, flows))
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            })
        });
        self.inner
            .start(settings, report)
            .map_err(|e| PyRuntimeError::new_err(format!("cannot start the collector: {e}")))
    }

    /// Stop receiving, write what was received, and wait for that (without the GIL).
    fn stop(&mut self, py: Python<'_>) {
        let inner = &mut self.inner;
        py.detach(|| inner.stop());
    }

    fn drain_log(&self) -> Vec<String> {
        self.inner.decoder().drain_log()
    }

    fn exporters(&self) -> Vec<Exporter> {
        exporters_of(&self.inner.decoder())
    }

    #[getter]
    fn totals(&self) -> DecoderTotals {
        DecoderTotals::from(&self.inner.decoder().counters)
    }

    /// (records taken, records held, flows paired, flows written, files written, flows
    /// that could not be written)
    #[getter]
    fn progress(&self) -> (u64, usize, u64, u64, u64, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        let p = &self.inner.progress;
        (
            p.taken.load(Relaxed),
            p.held.load(Relaxed),
            p.flows.load(Relaxed),
            p.written.load(Relaxed),
            p.files.load(Relaxed),
            p.unwritten.load(Relaxed),
        )
    }

    /// The first error of writing or of `on_flushed`, if any.
    #[getter]
    fn error(&self) -> Option<String> {
        self.inner
            .progress
            .error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// The store-first path without a socket, for tests and benchmarks: `datagrams` (each
/// from 127.0.0.1:`port`) decoded, paired in one batch (and the records left alone then),
/// written as the store's flow files. Returns (records, flows, files).
#[allow(clippy::too_many_arguments)]
#[pyfunction]
#[pyo3(signature = (datagrams, root, tag, schema, version, source, port=9995, max_held=0))]
fn store_datagrams(
    py: Python<'_>,
    datagrams: Vec<Vec<u8>>,
    root: PathBuf,
    tag: String,
    schema: &Bound<'_, PyAny>,
    version: u32,
    source: String,
    port: u16,
    max_held: usize,
) -> PyResult<(usize, usize, usize)> {
    use arrow_pyarrow::FromPyArrow;
    let schema = arrow_schema::Schema::from_pyarrow_bound(schema)?;
    let files = crate::store::FlowFiles::new(root, tag, &schema, version, source)
        .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))?;
    let from = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    py.detach(|| {
        let mut decoder = Decoder::numeric();
        for d in &datagrams {
            decoder.feed(from, d, 0);
        }
        let records = decoder.take_numeric();
        let n = records.len();
        let mut pairer = crate::pairing::NumericPairer::new(max_held);
        let mut flows = Vec::new();
        let _ = pairer.push(records, &mut flows);
        pairer.flush(&mut flows);
        let written = files.write(&flows, 0)?;
        Ok((n, flows.len(), written.len()))
    })
    .map_err(|e: std::io::Error| pyo3::exceptions::PyOSError::new_err(e.to_string()))
}

#[pymodule]
fn _engine(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Options>()?;
    m.add_class::<Stats>()?;
    m.add_class::<Scan>()?;
    m.add_class::<FlowDecoder>()?;
    m.add_class::<Pairer>()?;
    m.add_class::<Collector>()?;
    m.add_class::<StoreCollector>()?;
    m.add_class::<Exporter>()?;
    m.add_class::<DecoderTotals>()?;
    m.add_function(wrap_pyfunction!(schemas, m)?)?;
    m.add_function(wrap_pyfunction!(ipv4_numbers, m)?)?;
    m.add_function(wrap_pyfunction!(store_datagrams, m)?)?;
    #[cfg(feature = "live")]
    m.add_function(wrap_pyfunction!(capture_live, m)?)?;
    m.add("CaptureError", m.py().get_type::<CaptureError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
