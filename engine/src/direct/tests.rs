//! Reading v9 and IPFIX directly must give what the parser gives: the same records,
//! counters, exporter state and log, on streams of generated templates (numbers of every
//! length, addresses, times, reverse and enterprise fields, strings, variable-length
//! fields), redefinitions, withdrawals, options templates, padding, and broken messages.

use std::net::SocketAddr;

use crate::direct::Format;
use crate::netflow::Decoder;

pub(super) struct Rng(pub(super) u64);

impl Rng {
    pub(super) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub(super) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    pub(super) fn pick<T: Copy>(&mut self, from: &[T]) -> T {
        from[self.below(from.len() as u64) as usize]
    }
    pub(super) fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// (element id, enterprise number, lengths it may be sent with).
const ELEMENTS: &[(u16, Option<u32>, &[u16])] = &[
    (8, None, &[4, 4, 4, 3]),           // sourceIPv4Address (and an odd length)
    (12, None, &[4, 4, 4, 16]),         // destinationIPv4Address
    (27, None, &[16, 16, 4]),           // sourceIPv6Address
    (28, None, &[16]),                  // destinationIPv6Address
    (7, None, &[2, 2, 1, 4]),           // sourceTransportPort
    (11, None, &[2]),                   // destinationTransportPort
    (4, None, &[1, 1, 2]),              // protocolIdentifier
    (6, None, &[1, 2]),                 // tcpControlBits
    (1, None, &[8, 4, 2, 1, 3, 5]),     // octetDeltaCount, reduced sizes
    (2, None, &[8, 4, 2, 1, 3]),        // packetDeltaCount
    (85, None, &[8, 4]),                // octetTotalCount
    (86, None, &[8, 4]),                // packetTotalCount
    (152, None, &[8, 4, 2, 3]),         // flowStartMilliseconds
    (153, None, &[8, 4]),               // flowEndMilliseconds
    (150, None, &[4, 8]),               // flowStartSeconds
    (154, None, &[8, 4]),               // flowStartMicroseconds (NTP)
    (22, None, &[4, 2]),                // flowStartSysUpTime
    (21, None, &[4]),                   // flowEndSysUpTime
    (160, None, &[8]),                  // systemInitTimeMilliseconds
    (34, None, &[4, 2]),                // samplingInterval
    (302, None, &[8, 4, 2, 1]),         // selectorId
    (311, None, &[8, 4]),               // samplingProbability (float)
    (10, None, &[4, 2]),                // ingressInterface
    (82, None, &[8, 8, 8, 65535]),      // interfaceName (string, variable length)
    (95, None, &[4, 1]),                // applicationId
    (1, Some(29305), &[8, 4]),          // reverseOctetDeltaCount
    (2, Some(29305), &[8, 4]),          // reversePacketDeltaCount
    (1000, Some(9), &[4, 2, 4, 65535]), // an enterprise field nobody registered
    (48, None, &[1, 2]),                // v9 FLOW_SAMPLER_ID
];

pub(super) fn set(id: u16, body: &[u8]) -> Vec<u8> {
    let mut s = id.to_be_bytes().to_vec();
    s.extend_from_slice(&((body.len() + 4) as u16).to_be_bytes());
    s.extend_from_slice(body);
    s
}

pub(super) fn message(format: Format, domain: u32, seq: u32, sets: &[Vec<u8>]) -> Vec<u8> {
    let body = sets.concat();
    let mut d = Vec::new();
    match format {
        Format::Ipfix => {
            d.extend_from_slice(&10u16.to_be_bytes());
            d.extend_from_slice(&((16 + body.len()) as u16).to_be_bytes());
        }
        Format::V9 => {
            d.extend_from_slice(&9u16.to_be_bytes());
            d.extend_from_slice(&(sets.len() as u16).to_be_bytes());
            d.extend_from_slice(&4_000_000u32.to_be_bytes());
        }
    }
    d.extend_from_slice(&1_790_000_000u32.to_be_bytes());
    d.extend_from_slice(&seq.to_be_bytes());
    d.extend_from_slice(&domain.to_be_bytes());
    d.extend_from_slice(&body);
    d
}

pub(super) type Template = Vec<(u16, Option<u32>, u16)>;

pub(super) fn template_record(id: u16, fields: &Template) -> Vec<u8> {
    let mut r = id.to_be_bytes().to_vec();
    r.extend_from_slice(&(fields.len() as u16).to_be_bytes());
    for &(element, pen, len) in fields {
        r.extend_from_slice(&(element | if pen.is_some() { 0x8000 } else { 0 }).to_be_bytes());
        r.extend_from_slice(&len.to_be_bytes());
        if let Some(pen) = pen {
            r.extend_from_slice(&pen.to_be_bytes());
        }
    }
    r
}

pub(super) fn data_record(rng: &mut Rng, fields: &Template) -> Vec<u8> {
    let mut r = Vec::new();
    for &(_, _, len) in fields {
        if len == 65535 {
            let n = rng.below(6) as u8;
            r.push(n);
            r.extend(rng.bytes(usize::from(n)));
        } else {
            r.extend(rng.bytes(usize::from(len)));
        }
    }
    r
}

/// A stream of messages from two exporters (two domains each) exercising what a
/// template's life can be.
fn stream(rng: &mut Rng, format: Format) -> Vec<(SocketAddr, Vec<u8>)> {
    let (template_set, options_set) = match format {
        Format::V9 => (0, 1),
        Format::Ipfix => (2, 3),
    };
    // v9 has no enterprise fields.
    let elements: Vec<_> = ELEMENTS
        .iter()
        .filter(|(_, pen, _)| format == Format::Ipfix || pen.is_none())
        .copied()
        .collect();
    let exporters: [SocketAddr; 2] = [
        "10.0.0.1:4739".parse().unwrap(),
        "10.0.0.2:4739".parse().unwrap(),
    ];
    let mut templates: Vec<((SocketAddr, u32), u16, Template)> = Vec::new();
    let mut out = Vec::new();
    let mut seq = 0u32;
    for _ in 0..100 {
        let from = rng.pick(&exporters);
        let domain = rng.below(2) as u32;
        let mut sets = Vec::new();
        for _ in 0..1 + rng.below(3) {
            match rng.below(24) {
                0 | 1 => {
                    let id = 256 + rng.below(4) as u16;
                    let fields: Template = (0..1 + rng.below(14))
                        .map(|_| {
                            let (e, pen, lens) = rng.pick(&elements);
                            (e, pen, rng.pick(lens))
                        })
                        .collect();
                    let mut body = template_record(id, &fields);
                    if rng.below(6) == 0 {
                        // A record cut short after it: template 263 of 3 fields, 1 given.
                        body.extend_from_slice(&[1, 7, 0, 3, 0, 8, 0, 4]);
                    }
                    sets.push(set(template_set, &body));
                    templates.retain(|(at, t, _)| (*at, *t) != ((from, domain), id));
                    templates.push(((from, domain), id, fields));
                }
                2 => {
                    // A withdrawal, of one template or (id 2) of all (v9 has none: a
                    // template of no fields, which the parser refuses).
                    let id = if rng.below(4) == 0 {
                        2
                    } else {
                        256 + rng.below(4) as u16
                    };
                    let mut body = id.to_be_bytes().to_vec();
                    body.extend_from_slice(&[0, 0]);
                    if rng.below(3) == 0 {
                        // Of an options template: the parser reads a scope count too.
                        body.extend(rng.bytes(2));
                        sets.push(set(options_set, &body));
                    } else {
                        sets.push(set(template_set, &body));
                    }
                }
                3 => {
                    // An options template taking a data template's id: samplingInterval,
                    // scoped to the observation domain (IPFIX) or the system (v9).
                    let id = 256 + rng.below(4) as u16;
                    let mut body = id.to_be_bytes().to_vec();
                    body.extend_from_slice(match format {
                        Format::Ipfix => &[0, 2, 0, 1, 0, 149, 0, 4, 0, 34, 0, 4],
                        Format::V9 => &[0, 4, 0, 4, 0, 1, 0, 4, 0, 34, 0, 4],
                    });
                    sets.push(set(options_set, &body));
                }
                _ => {
                    // Data for a template this stream defined, mostly for this exporter
                    // and domain (perhaps withdrawn since), some padding after it.
                    let here = rng.below(4) != 0;
                    let known: Vec<_> = templates
                        .iter()
                        .filter(|(at, _, _)| !here || *at == (from, domain))
                        .collect();
                    let Some((_, id, fields)) = (!known.is_empty())
                        .then(|| known[rng.below(known.len() as u64) as usize].clone())
                    else {
                        continue;
                    };
                    let mut body = Vec::new();
                    for _ in 0..rng.below(30) {
                        body.extend(data_record(rng, &fields));
                    }
                    body.extend(std::iter::repeat_n(0, rng.below(4) as usize));
                    if body.len() < 60_000 {
                        sets.push(set(id, &body));
                    }
                }
            }
        }
        seq = seq.wrapping_add(rng.below(40) as u32);
        let mut m = message(format, domain, seq, &sets);
        if m.len() > 65_000 {
            continue;
        }
        match rng.below(60) {
            0 => m.truncate(rng.below(m.len() as u64) as usize),
            1 => {
                let n = 1 + rng.below(8) as usize;
                m.extend(rng.bytes(n));
            }
            2 => {
                let again = m.clone();
                m.extend(again);
            }
            3 if m.len() > 20 => {
                let at = 16 + rng.below(4) as usize;
                m[at] ^= 1 + rng.below(255) as u8;
            }
            _ => {}
        }
        out.push((from, m));
    }
    out
}

/// Everything a decoder shows after a stream, as lines of text.
pub(super) fn outcome(dec: &mut Decoder) -> Vec<String> {
    let mut lines: Vec<String> = dec
        .take_numeric()
        .iter()
        .map(|r| format!("{r:?}"))
        .collect();
    let mut counters = dec.counters.clone();
    counters.direct = 0;
    let mut exporters: Vec<String> = dec
        .exporters()
        .map(|e| {
            format!(
                "{} v{} d{}: {} datagrams {} records {} missing {} resets {} no template {} malformed {} samplers",
                e.address, e.version, e.domain, e.datagrams, e.records, e.missing, e.resets,
                e.no_template, e.malformed, e.samplers()
            )
        })
        .collect();
    exporters.sort();
    lines.push(format!("{counters:?}"));
    lines.extend(exporters);
    lines.extend(dec.drain_log());
    lines
}

#[test]
fn direct_reading_gives_what_the_parser_gives() {
    for format in [Format::Ipfix, Format::V9] {
        let mut direct_messages = 0;
        let mut records = 0;
        for case in 0..400u64 {
            let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ case.wrapping_mul(0x2545_F491_4F6C_DD1D));
            let messages = stream(&mut rng, format);
            let (mut direct, mut parsed) = (Decoder::numeric(), Decoder::numeric());
            parsed.read_directly = false;
            for (k, (from, m)) in messages.iter().enumerate() {
                direct.feed(*from, m, 0);
                parsed.feed(*from, m, 0);
                let (a, b) = (direct.take_numeric(), parsed.take_numeric());
                assert!(
                    format!("{a:?}") == format!("{b:?}"),
                    "{format:?} case {case}, message {k} from {from} ({} bytes, sets {:?}): {} records read directly, {} parsed",
                    m.len(),
                    crate::direct::set_ids(format, m),
                    a.len(),
                    b.len()
                );
            }
            direct_messages += direct.counters.direct;
            records += direct.counters.records;
            assert_eq!(parsed.counters.direct, 0);
            let (a, b) = (outcome(&mut direct), outcome(&mut parsed));
            if let Some(at) = (0..a.len().max(b.len())).find(|&i| a.get(i) != b.get(i)) {
                panic!(
                    "{format:?} case {case}: direct and parsed differ at line {at} of {}/{}:\n{:?}\n{:?}",
                    a.len(),
                    b.len(),
                    a.get(at),
                    b.get(at)
                );
            }
        }
        // Not vacuous: many messages were read directly.
        assert!(
            direct_messages > 2000,
            "{format:?}: {direct_messages} messages read directly"
        );
        assert!(records > 100_000, "{format:?}: {records} records");
    }
}

#[test]
fn a_carrier_export_is_read_directly_after_its_template() {
    for grams in [
        crate::bench_stages::ipfix_datagrams(9_000, 25),
        crate::bench_stages::v9_datagrams(9_000, 25),
    ] {
        let (mut direct, mut parsed) = (Decoder::numeric(), Decoder::numeric());
        parsed.read_directly = false;
        let from: SocketAddr = "10.0.0.1:4739".parse().unwrap();
        for g in &grams {
            direct.feed(from, g, 0);
            parsed.feed(from, g, 0);
        }
        assert_eq!(direct.counters.direct as usize, grams.len() - 1);
        assert_eq!(direct.counters.records, 9_000);
        assert_eq!(outcome(&mut direct), outcome(&mut parsed));
    }
}

#[test]
fn an_exporter_with_more_templates_than_the_parser_keeps_is_left_to_the_parser() {
    // 700 templates: the parser's cache (512) evicts the oldest, which must then not be
    // read directly either.
    for format in [Format::Ipfix, Format::V9] {
        let template_set = if format == Format::V9 { 0 } else { 2 };
        let fields: Template = vec![(8, None, 4), (12, None, 4), (1, None, 8)];
        let from: SocketAddr = "10.0.0.1:4739".parse().unwrap();
        let mut rng = Rng(7);
        let mut messages = Vec::new();
        for id in 256..956u16 {
            let data: Vec<u8> = (0..3)
                .flat_map(|_| data_record(&mut rng, &fields))
                .collect();
            let define = set(template_set, &template_record(id, &fields));
            messages.push(message(format, 0, 0, &[define, set(id, &data)]));
            messages.push(message(format, 0, 0, &[set(id, &data)]));
            // A template defined 520 templates ago, unused since: evicted by the parser.
            let old = (id - 256).saturating_sub(520) + 256;
            messages.push(message(format, 0, 0, &[set(old, &data)]));
        }
        let (mut direct, mut parsed) = (Decoder::numeric(), Decoder::numeric());
        parsed.read_directly = false;
        for m in &messages {
            direct.feed(from, m, 0);
            parsed.feed(from, m, 0);
        }
        assert!(direct.counters.direct > 0);
        assert!(
            parsed.counters.no_template > 0,
            "{format:?}: the parser forgot templates"
        );
        assert_eq!(outcome(&mut direct), outcome(&mut parsed));
    }
}

/// `n` records of `fields` with random values, one after another: a data set's body.
pub(super) fn records(seed: u64, fields: &Template, n: usize) -> Vec<u8> {
    let mut rng = Rng(seed);
    (0..n).flat_map(|_| data_record(&mut rng, fields)).collect()
}

/// IPFIX messages (domain 0, sequence 0) of the given sets, each from `from`.
pub(super) fn ipfix_from(
    from: SocketAddr,
    messages: &[Vec<Vec<u8>>],
) -> Vec<(SocketAddr, Vec<u8>)> {
    messages
        .iter()
        .map(|sets| (from, message(Format::Ipfix, 0, 0, sets)))
        .collect()
}

/// The two decoders fed the same datagrams (with increasing receive times, so that no two
/// exporters tie for the least recently heard), and what each shows.
pub(super) fn both(messages: &[(SocketAddr, Vec<u8>)]) -> (Decoder, Decoder) {
    let (mut direct, mut parsed) = (Decoder::numeric(), Decoder::numeric());
    parsed.read_directly = false;
    for (t, (from, m)) in messages.iter().enumerate() {
        direct.feed(*from, m, t as i64);
        parsed.feed(*from, m, t as i64);
    }
    (direct, parsed)
}

pub(super) fn addr(i: u32) -> SocketAddr {
    SocketAddr::from((std::net::Ipv4Addr::from(0x0A00_0000 + i), 4739))
}
