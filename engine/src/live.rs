//! Live capture from an interface through libpcap (the `pcap` crate), for a bounded time.

use std::time::{Duration, Instant};

use crate::decode::decode;
use crate::flow::{FlowOptions, FlowTable};
use crate::reader::{ScanOutput, ScanStats};

/// Capture on `interface` for `duration_s` seconds. Errors are one readable sentence.
pub fn capture(
    interface: &str,
    duration_s: f64,
    opts: &FlowOptions,
    bpf_filter: Option<&str>,
    snaplen: i32,
) -> Result<ScanOutput, String> {
    let devices = pcap::Device::list().map_err(|e| format!("cannot list interfaces: {e}"))?;
    let Some(device) = devices.into_iter().find(|d| d.name == interface) else {
        return Err(format!("interface '{interface}' does not exist"));
    };
    let inactive =
        pcap::Capture::from_device(device).map_err(|e| format!("interface '{interface}': {e}"))?;
    let cap = inactive
        .promisc(true)
        .snaplen(snaplen)
        .timeout(100)
        .open()
        .map_err(|e| {
            let text = e.to_string();
            if text.contains("ermission") || text.contains("not permitted") {
                format!("interface '{interface}': capturing needs root or CAP_NET_RAW ({text})")
            } else {
                format!("interface '{interface}': {text}")
            }
        })?;
    // Non-blocking, so an idle interface cannot hold us past the deadline.
    let mut cap = cap
        .setnonblock()
        .map_err(|e| format!("interface '{interface}': {e}"))?;
    if let Some(f) = bpf_filter {
        cap.filter(f, true)
            .map_err(|e| format!("bad capture filter '{f}': {e}"))?;
    }
    let linktype = cap.get_datalink().0 as u32;
    let mut table = FlowTable::new(opts.clone(), 0, 1);
    let mut stats = ScanStats {
        format: "live",
        ..Default::default()
    };
    let deadline = Instant::now() + Duration::from_secs_f64(duration_s.max(0.0));
    while Instant::now() < deadline {
        match cap.next_packet() {
            Ok(p) => {
                let ts = p.header.ts.tv_sec * 1_000_000 + p.header.ts.tv_usec;
                stats.packets += 1;
                stats.wire_bytes += p.header.len as u64;
                stats.captured_bytes += p.data.len() as u64;
                stats.first_us.get_or_insert(ts);
                stats.last_us = Some(ts);
                if let Ok(m) = decode(linktype, p.data, ts) {
                    let start = m.payload_off as usize;
                    table.process(&m, &p.data[start..start + m.payload_len as usize]);
                }
            }
            Err(pcap::Error::TimeoutExpired) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => {
                stats.warning = Some(format!("capture on '{interface}' stopped: {e}"));
                break;
            }
        }
    }
    Ok(ScanOutput {
        batches: table.finish(),
        stats,
    })
}
