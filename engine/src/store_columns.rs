//! The columns of the store's flow files that a flow export fills, built from paired
//! flows in one pass (store.rs writes them; the rest of the stored schema is null there).

use std::fmt::Write as _;
use std::net::IpAddr;
use std::sync::Arc;

use arrow_array::builder::{StringBuilder, UInt32Builder};
use arrow_array::{
    ArrayRef, Float64Array, StringArray, TimestampMicrosecondArray, UInt16Array, UInt64Array,
    UInt8Array,
};
use arrow_buffer::{OffsetBuffer, ScalarBuffer};
use arrow_schema::ArrowError;

use crate::pairing::Flow;

/// The columns a flow export fills, built in one pass over the rows (a pass per column
/// would read every flow twenty times).
pub(crate) struct Columns {
    id_values: Vec<u64>,
    ids: Option<ArrayRef>,
    first: Vec<i64>,
    last: Vec<i64>,
    proto: Vec<u8>,
    flags: Vec<u8>,
    client_port: Vec<u16>,
    server_port: Vec<u16>,
    counts: [Vec<u64>; 4],
    rate: Vec<f64>,
    client: AddressText,
    server: AddressText,
    client_ip4: UInt32Builder,
    server_ip4: UInt32Builder,
    client_ip6: StringBuilder,
    server_ip6: StringBuilder,
}

impl Columns {
    pub(crate) fn of(rows: &[(u64, &Flow<IpAddr>)]) -> Self {
        let n = rows.len();
        let mut c = Columns {
            id_values: Vec::with_capacity(n),
            ids: None,
            first: Vec::with_capacity(n),
            last: Vec::with_capacity(n),
            proto: Vec::with_capacity(n),
            flags: Vec::with_capacity(n),
            client_port: Vec::with_capacity(n),
            server_port: Vec::with_capacity(n),
            counts: std::array::from_fn(|_| Vec::with_capacity(n)),
            rate: Vec::with_capacity(n),
            client: AddressText::with_capacity(n),
            server: AddressText::with_capacity(n),
            client_ip4: UInt32Builder::with_capacity(n),
            server_ip4: UInt32Builder::with_capacity(n),
            client_ip6: StringBuilder::new(),
            server_ip6: StringBuilder::new(),
        };
        for &(id, f) in rows {
            c.id_values.push(id);
            c.first.push(f.first_us);
            c.last.push(f.last_us);
            c.proto.push(f.proto);
            c.flags.push(f.tcp_flags);
            c.client_port.push(f.client_port);
            c.server_port.push(f.server_port);
            let counts = [f.c2s_packets, f.s2c_packets, f.c2s_bytes, f.s2c_bytes];
            for (column, value) in c.counts.iter_mut().zip(counts) {
                column.push(value);
            }
            c.rate.push(f.sampling_rate);
            address(
                f.client,
                &mut c.client,
                &mut c.client_ip4,
                &mut c.client_ip6,
            );
            address(
                f.server,
                &mut c.server,
                &mut c.server_ip4,
                &mut c.server_ip6,
            );
        }
        c
    }

    /// The column of the stored schema called `name` (taken out), for these rows; None
    /// for a column with one value in every row (FlowFiles::same_in_every_row).
    pub(crate) fn take(&mut self, name: &str) -> Result<Option<ArrayRef>, ArrowError> {
        let utc = |v: &mut Vec<i64>| {
            Arc::new(TimestampMicrosecondArray::from(std::mem::take(v)).with_timezone("UTC"))
                as ArrayRef
        };
        let u64s = |v: &mut Vec<u64>| Arc::new(UInt64Array::from(std::mem::take(v))) as ArrayRef;
        Ok(Some(match name {
            // Both the same ids: one buffer.
            "flow_id" | "conn_id" => Arc::clone(self.ids.get_or_insert_with(|| {
                Arc::new(UInt64Array::from(std::mem::take(&mut self.id_values))) as ArrayRef
            })),
            "first_seen" => utc(&mut self.first),
            "last_seen" => utc(&mut self.last),
            "ip_proto" => Arc::new(UInt8Array::from(std::mem::take(&mut self.proto))),
            "tcp_flags" => Arc::new(UInt8Array::from(std::mem::take(&mut self.flags))),
            "client_ip" => Arc::new(std::mem::take(&mut self.client).finish()?),
            "server_ip" => Arc::new(std::mem::take(&mut self.server).finish()?),
            "client_port" => Arc::new(UInt16Array::from(std::mem::take(&mut self.client_port))),
            "server_port" => Arc::new(UInt16Array::from(std::mem::take(&mut self.server_port))),
            "c2s_packets" => u64s(&mut self.counts[0]),
            "s2c_packets" => u64s(&mut self.counts[1]),
            "c2s_bytes" => u64s(&mut self.counts[2]),
            "s2c_bytes" => u64s(&mut self.counts[3]),
            "sampling_rate" => Arc::new(Float64Array::from(std::mem::take(&mut self.rate))),
            // The store's second form of each address: IPv4 as a number, IPv6 as text.
            "client_ip4" => Arc::new(self.client_ip4.finish()),
            "server_ip4" => Arc::new(self.server_ip4.finish()),
            "client_ip6" => Arc::new(self.client_ip6.finish()),
            "server_ip6" => Arc::new(self.server_ip6.finish()),
            _ => return Ok(None),
        }))
    }
}

/// A column of address text written straight into its buffers: IPv4 by a table of the
/// octets' digits (std's formatter, or a builder's per-value UTF-8 check, costs more than
/// the rest of a row); checked as UTF-8 once, at the end.
struct AddressText {
    values: Vec<u8>,
    /// Starts with 0: a column of no values is one offset.
    offsets: Vec<i32>,
}

impl Default for AddressText {
    fn default() -> Self {
        AddressText::with_capacity(0)
    }
}

impl AddressText {
    fn with_capacity(n: usize) -> Self {
        let mut offsets = Vec::with_capacity(n + 1);
        offsets.push(0);
        AddressText {
            values: Vec::with_capacity(n * 14),
            offsets,
        }
    }

    fn push_v4(&mut self, octets: [u8; 4]) {
        for (i, o) in octets.into_iter().enumerate() {
            if i > 0 {
                self.values.push(b'.');
            }
            let (digits, len) = OCTET_DIGITS[usize::from(o)];
            self.values.extend_from_slice(&digits[..usize::from(len)]);
        }
        self.end_value();
    }

    fn push_text(&mut self, a: IpAddr) {
        let _ = write!(Utf8Sink(&mut self.values), "{a}");
        self.end_value();
    }

    fn end_value(&mut self) {
        // A batch is at most a flush's records (far below 2 GiB of text).
        self.offsets.push(self.values.len() as i32);
    }

    fn finish(self) -> Result<StringArray, ArrowError> {
        let offsets = OffsetBuffer::new(ScalarBuffer::from(self.offsets));
        StringArray::try_new(offsets, self.values.into(), None)
    }
}

/// `fmt::Write` into a byte buffer (what `write!` gives is always UTF-8).
struct Utf8Sink<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for Utf8Sink<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// Each octet's decimal digits and how many there are.
static OCTET_DIGITS: [([u8; 3], u8); 256] = {
    let mut table = [([0u8; 3], 0u8); 256];
    let mut o = 0;
    while o < 256 {
        let (h, t, u) = ((o / 100) as u8, (o / 10 % 10) as u8, (o % 10) as u8);
        table[o] = if o >= 100 {
            ([b'0' + h, b'0' + t, b'0' + u], 3)
        } else if o >= 10 {
            ([b'0' + t, b'0' + u, 0], 2)
        } else {
            ([b'0' + u, 0, 0], 1)
        };
        o += 1;
    }
    table
};

/// One address in its three columns: text, IPv4 as a number, IPv6 as text (RFC 5952, as
/// std and the decoder's text path write it).
fn address(a: IpAddr, text: &mut AddressText, ip4: &mut UInt32Builder, ip6: &mut StringBuilder) {
    match a {
        IpAddr::V4(v4) => {
            text.push_v4(v4.octets());
            ip4.append_value(u32::from(v4));
            ip6.append_null();
        }
        IpAddr::V6(_) => {
            text.push_text(a);
            ip4.append_null();
            let _ = write!(ip6, "{a}");
            ip6.append_value("");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_text_is_what_std_writes() {
        let mut text = AddressText::with_capacity(0);
        let mut expected = Vec::new();
        for v in [
            0u32,
            1,
            0x0a00_0009,
            0x0a00_000a,
            0x6464_6464,
            0xffff_ffff,
            0xc0a8_0001,
        ]
        .into_iter()
        .chain((0..=255).map(|o| o * 0x0101_0101))
        {
            let ip = std::net::Ipv4Addr::from(v);
            text.push_v4(ip.octets());
            expected.push(ip.to_string());
        }
        for v6 in ["::1", "2001:db8::5", "::ffff:10.0.0.1", "fe80::1:2:3:4"] {
            let ip: IpAddr = v6.parse().unwrap();
            text.push_text(ip);
            expected.push(ip.to_string());
        }
        let column = text.finish().unwrap();
        let got: Vec<&str> = column.iter().map(|v| v.unwrap()).collect();
        assert_eq!(got, expected);
    }
}
