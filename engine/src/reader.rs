//! Capture files (pcap and pcapng, either byte order) read through pcap-parser from a
//! memory map, decoded, and spread over worker threads by flow hash.

use std::hash::{BuildHasher, Hash, Hasher};
use std::path::Path;

use arrow_array::RecordBatch;
use pcap_parser::pcap::{parse_pcap_frame, parse_pcap_frame_be, parse_pcap_header};
use pcap_parser::pcapng::{parse_block_be, parse_block_le, Block};
use pcap_parser::PcapError;

use crate::decode::{decode, PacketMeta, Skip};
use crate::dns::NameCache;
use crate::flow::{FlowOptions, FlowTable, Sink};

/// Why a capture could not be read at all.
#[derive(Debug)]
pub enum ReadError {
    Io(String),
    Empty,
    NotCapture(String),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Io(e) => write!(f, "{e}"),
            ReadError::Empty => write!(f, "empty file"),
            ReadError::NotCapture(e) => write!(f, "{e}"),
        }
    }
}

/// Counters of one scan, and the problem that stopped reading early, if any.
#[derive(Clone, Debug, Default)]
pub struct ScanStats {
    pub packets: u64,
    pub wire_bytes: u64,
    pub captured_bytes: u64,
    pub skipped_not_ip: u64,
    pub skipped_malformed: u64,
    pub skipped_fragments: u64,
    pub unknown_linktypes: Vec<(u32, u64)>,
    pub first_us: Option<i64>,
    pub last_us: Option<i64>,
    /// Set when the file is truncated or corrupt after some packets were read.
    pub warning: Option<String>,
    pub format: &'static str,
}

impl ScanStats {
    fn skipped(&mut self, s: Skip, linktype: u32) {
        match s {
            Skip::NotIp => self.skipped_not_ip += 1,
            Skip::Malformed => self.skipped_malformed += 1,
            Skip::Fragment => self.skipped_fragments += 1,
            Skip::UnknownLinktype => match self
                .unknown_linktypes
                .iter_mut()
                .find(|(l, _)| *l == linktype)
            {
                Some((_, n)) => *n += 1,
                None => self.unknown_linktypes.push((linktype, 1)),
            },
        }
    }

    fn saw(&mut self, ts: i64, wire: u32, captured: usize) {
        self.packets += 1;
        self.wire_bytes += wire as u64;
        self.captured_bytes += captured as u64;
        self.first_us = Some(self.first_us.map_or(ts, |f| f.min(ts)));
        self.last_us = Some(self.last_us.map_or(ts, |l| l.max(ts)));
    }
}

/// One packet record of a capture file.
pub struct Frame<'a> {
    pub ts_us: i64,
    pub linktype: u32,
    pub data: &'a [u8],
    pub wire_len: u32,
}

const PCAP_MAGICS: [[u8; 4]; 4] = [
    [0xd4, 0xc3, 0xb2, 0xa1],
    [0x4d, 0x3c, 0xb2, 0xa1],
    [0xa1, 0xb2, 0xc3, 0xd4],
    [0xa1, 0xb2, 0x3c, 0x4d],
];
const PCAPNG_MAGIC: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];
/// Largest packet record we accept; anything bigger is corruption (libpcap's limit is 256 KiB).
const MAX_RECORD: u32 = 256 * 1024;

/// Walk every packet record of a capture in `data`, calling `f` for each. Returns the
/// problem that ended the walk early, if any (truncation or corruption after byte N).
pub fn walk(
    data: &[u8],
    f: &mut dyn FnMut(Frame<'_>),
) -> Result<(&'static str, Option<String>), ReadError> {
    if data.is_empty() {
        return Err(ReadError::Empty);
    }
    if data.len() >= 4 && PCAP_MAGICS.contains(&[data[0], data[1], data[2], data[3]]) {
        return walk_pcap(data, f).map(|w| ("pcap", w));
    }
    if data.starts_with(&PCAPNG_MAGIC) {
        return walk_pcapng(data, f).map(|w| ("pcapng", w));
    }
    let shown: Vec<String> = data.iter().take(4).map(|b| format!("{b:02x}")).collect();
    Err(ReadError::NotCapture(format!(
        "not a pcap or pcapng file (starts with {})",
        shown.join(" ")
    )))
}

fn walk_pcap(data: &[u8], f: &mut dyn FnMut(Frame<'_>)) -> Result<Option<String>, ReadError> {
    let (mut rest, header) = parse_pcap_header(data).map_err(|_| {
        ReadError::NotCapture(format!(
            "truncated pcap header ({} bytes, need 24)",
            data.len()
        ))
    })?;
    let big_endian = header.magic_number == 0xd4c3_b2a1 || header.magic_number == 0x4d3c_b2a1;
    let nanos = header.magic_number == 0xa1b2_3c4d || header.magic_number == 0x4d3c_b2a1;
    let linktype = header.network.0 as u32;
    while !rest.is_empty() {
        let offset = data.len() - rest.len();
        if rest.len() >= 16 {
            let raw = [rest[8], rest[9], rest[10], rest[11]];
            let caplen = if big_endian {
                u32::from_be_bytes(raw)
            } else {
                u32::from_le_bytes(raw)
            };
            // Larger than any capture allows: corruption, even when the file also ends early.
            if caplen > MAX_RECORD.max(header.snaplen) {
                return Ok(Some(format!("corrupt packet record at byte {offset} (length {caplen}); rest of file skipped")));
            }
        }
        let parsed = if big_endian {
            parse_pcap_frame_be(rest)
        } else {
            parse_pcap_frame(rest)
        };
        match parsed {
            Ok((next, frame)) => {
                let frac = if nanos {
                    frame.ts_usec as i64 / 1000
                } else {
                    frame.ts_usec as i64
                };
                let ts_us = frame.ts_sec as i64 * 1_000_000 + frac;
                f(Frame {
                    ts_us,
                    linktype,
                    data: frame.data,
                    wire_len: frame.origlen.max(frame.caplen),
                });
                rest = next;
            }
            Err(_) => return Ok(Some(truncation(offset, data.len()))),
        }
    }
    Ok(None)
}

fn truncation(offset: usize, len: usize) -> String {
    format!("truncated: packet record at byte {offset} is cut short (file ends at byte {len}); packets before it were read")
}

struct Interface {
    linktype: u32,
    units_per_sec: u64,
    offset_s: i64,
}

fn walk_pcapng(data: &[u8], f: &mut dyn FnMut(Frame<'_>)) -> Result<Option<String>, ReadError> {
    let mut rest = data;
    let mut big_endian = false;
    let mut ifaces: Vec<Interface> = Vec::new();
    while !rest.is_empty() {
        let offset = data.len() - rest.len();
        // A section header announces its own byte order; other blocks follow it.
        if rest.starts_with(&PCAPNG_MAGIC) && rest.len() >= 12 {
            big_endian = rest[8..12] == [0x1a, 0x2b, 0x3c, 0x4d];
        }
        let parsed = if big_endian {
            parse_block_be(rest)
        } else {
            parse_block_le(rest)
        };
        let (next, block) = match parsed {
            Ok(v) => v,
            Err(pcap_parser::nom::Err::Incomplete(_)) => {
                return Ok(Some(truncation(offset, data.len())))
            }
            Err(pcap_parser::nom::Err::Error(e)) | Err(pcap_parser::nom::Err::Failure(e)) => {
                if offset == 0 {
                    return Err(ReadError::NotCapture(format!(
                        "corrupt pcapng section header: {}",
                        describe(&e)
                    )));
                }
                // pcap-parser reports a block cut by end of file as an error too.
                if rest.len() < 12 || block_len(rest, big_endian) > rest.len() {
                    return Ok(Some(truncation(offset, data.len())));
                }
                return Ok(Some(format!(
                    "corrupt block at byte {offset} ({}); rest of file skipped",
                    describe(&e)
                )));
            }
        };
        match block {
            Block::SectionHeader(_) => ifaces.clear(),
            Block::InterfaceDescription(idb) => ifaces.push(Interface {
                linktype: idb.linktype.0 as u32,
                units_per_sec: idb.ts_resolution().unwrap_or(1_000_000).max(1),
                offset_s: idb.ts_offset(),
            }),
            Block::EnhancedPacket(epb) => {
                if let Some(i) = ifaces.get(epb.if_id as usize) {
                    let ts = ((epb.ts_high as u64) << 32) | epb.ts_low as u64;
                    let ts_us = (ts as u128 * 1_000_000 / i.units_per_sec as u128) as i64
                        + i.offset_s * 1_000_000;
                    f(Frame {
                        ts_us,
                        linktype: i.linktype,
                        data: epb.data,
                        wire_len: epb.origlen.max(epb.caplen),
                    });
                }
            }
            Block::SimplePacket(spb) => {
                if let Some(i) = ifaces.first() {
                    f(Frame {
                        ts_us: 0,
                        linktype: i.linktype,
                        data: spb.data,
                        wire_len: spb.origlen,
                    });
                }
            }
            _ => {}
        }
        rest = next;
    }
    Ok(None)
}

fn block_len(rest: &[u8], big_endian: bool) -> usize {
    let b = [rest[4], rest[5], rest[6], rest[7]];
    (if big_endian {
        u32::from_be_bytes(b)
    } else {
        u32::from_le_bytes(b)
    }) as usize
}

fn describe(e: &PcapError<&[u8]>) -> String {
    match e {
        PcapError::HeaderNotRecognized => "header not recognised".into(),
        PcapError::NomError(_, kind) => format!("{kind:?}"),
        other => format!("{other:?}").chars().take(80).collect(),
    }
}

/// A decoded packet and where its bytes are in the capture.
#[derive(Clone, Copy)]
struct Work {
    meta: PacketMeta,
    data_off: usize,
}

const BATCH: usize = 2048;

fn flow_hash(m: &PacketMeta, state: &ahash::RandomState) -> u64 {
    let mut h = state.build_hasher();
    let (a, b) = if (m.src, m.sport) <= (m.dst, m.dport) {
        ((m.src, m.sport), (m.dst, m.dport))
    } else {
        ((m.dst, m.dport), (m.src, m.sport))
    };
    (a, b, m.proto, m.vlan).hash(&mut h);
    h.finish()
}

/// Everything a scan produced: Arrow batches tagged "flows" or "messages", and counters.
pub struct ScanOutput {
    pub batches: Vec<(&'static str, RecordBatch)>,
    pub stats: ScanStats,
}

fn decode_frame(fr: Frame<'_>, base: usize, stats: &mut ScanStats) -> Option<Work> {
    stats.saw(fr.ts_us, fr.wire_len, fr.data.len());
    match decode(fr.linktype, fr.data, fr.ts_us) {
        Ok(meta) => Some(Work {
            meta,
            data_off: fr.data.as_ptr() as usize - base,
        }),
        Err(skip) => {
            stats.skipped(skip, fr.linktype);
            None
        }
    }
}

fn payload<'a>(data: &'a [u8], w: &Work) -> &'a [u8] {
    let start = w.data_off + w.meta.payload_off as usize;
    &data[start..start + w.meta.payload_len as usize]
}

/// Scan a capture held in memory, using `workers` flow tables on as many threads. With a
/// `sink`, batches stream out through it as they fill and `ScanOutput.batches` is empty.
pub fn scan_bytes(
    data: &[u8],
    opts: &FlowOptions,
    workers: usize,
    sink: Option<Sink>,
) -> Result<ScanOutput, ReadError> {
    let workers = workers.max(1);
    let base = data.as_ptr() as usize;
    let mut stats = ScanStats::default();
    if workers == 1 {
        let mut table = FlowTable::new(opts.clone(), 0, 1).with_sink(sink);
        let (format, warning) = walk(data, &mut |fr| {
            if let Some(w) = decode_frame(fr, base, &mut stats) {
                table.process(&w.meta, payload(data, &w));
            }
        })?;
        stats.format = format;
        stats.warning = warning;
        return Ok(ScanOutput {
            batches: table.finish(),
            stats,
        });
    }
    let names = NameCache::default();
    let (format, warning, batches) = std::thread::scope(|s| {
        let mut senders = Vec::with_capacity(workers);
        let mut handles = Vec::with_capacity(workers);
        for w in 0..workers {
            let (tx, rx) = crossbeam_channel::bounded::<Vec<Work>>(16);
            senders.push(tx);
            let opts = opts.clone();
            let sink = sink.clone();
            let names = names.clone();
            handles.push(s.spawn(move || {
                let mut table = FlowTable::new(opts, w as u64, workers as u64)
                    .with_sink(sink)
                    .with_names(names);
                for batch in rx {
                    for work in &batch {
                        table.process(&work.meta, payload(data, work));
                    }
                }
                table.finish()
            }));
        }
        let hasher = ahash::RandomState::with_seeds(0x6d69, 0x6e65, 0x7761, 0x7463);
        let mut pending: Vec<Vec<Work>> = (0..workers).map(|_| Vec::with_capacity(BATCH)).collect();
        let walked = walk(data, &mut |fr| {
            if let Some(w) = decode_frame(fr, base, &mut stats) {
                let i = (flow_hash(&w.meta, &hasher) % workers as u64) as usize;
                pending[i].push(w);
                if pending[i].len() >= BATCH {
                    let full = std::mem::replace(&mut pending[i], Vec::with_capacity(BATCH));
                    let _ = senders[i].send(full);
                }
            }
        });
        for (i, rest) in pending.into_iter().enumerate() {
            if !rest.is_empty() {
                let _ = senders[i].send(rest);
            }
        }
        drop(senders);
        let mut batches = Vec::new();
        for h in handles {
            batches.extend(h.join().expect("flow worker panicked"));
        }
        walked.map(|(f, w)| (f, w, batches))
    })?;
    stats.format = format;
    stats.warning = warning;
    Ok(ScanOutput { batches, stats })
}

pub fn open_and_scan(
    path: &Path,
    opts: &FlowOptions,
    workers: usize,
    sink: Option<Sink>,
) -> Result<ScanOutput, ReadError> {
    let file = std::fs::File::open(path).map_err(|e| ReadError::Io(io_reason(&e)))?;
    let meta = file.metadata().map_err(|e| ReadError::Io(io_reason(&e)))?;
    if meta.is_dir() {
        return Err(ReadError::Io("is a directory".into()));
    }
    if meta.len() == 0 {
        return Err(ReadError::Empty);
    }
    // SAFETY: the map is read-only; a capture being appended to while we read it is fine,
    // one truncated under us would fault, as it would for any mmap reader.
    let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| ReadError::Io(io_reason(&e)))?;
    scan_bytes(&map, opts, workers, sink)
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}
