//! Cases reviews of direct reads found, each held to what the parser gives: walking
//! templates as the parser does, counting what it installs, and keeping its caches (of
//! exporters and of templates) in the order they would have had it read everything.

use std::net::SocketAddr;

use super::tests::{
    addr, both, ipfix_from, message, outcome, records, set, template_record, Template,
};
use crate::direct::Format;
use crate::netflow::Decoder;

#[test]
fn an_options_withdrawal_is_walked_as_the_parser_reads_it() {
    // The parser reads an IPFIX options withdrawal with its scope count (6 bytes): here
    // that makes the next record an options template for 256, which replaces the data
    // template 256. A 4-byte step would walk other records and keep reading 256 as data.
    let fields: Template = vec![(8, None, 4), (12, None, 4), (1, None, 8)];
    let data = records(3, &fields, 3);
    let mut options = vec![0x03, 0xE7, 0, 0, 0x03, 0x00, 0x01, 0x00, 0, 2, 0, 1];
    options.extend_from_slice(&[0, 0x95, 0, 4, 0, 0x22, 0, 4]);
    options.resize(1034, 0);
    let messages = ipfix_from(
        addr(1),
        &[
            vec![set(2, &template_record(256, &fields)), set(256, &data)],
            vec![set(256, &data)],
            vec![set(3, &options)],
            vec![set(256, &data)],
        ],
    );
    let (mut direct, mut parsed) = both(&messages);
    assert_eq!(direct.counters.direct, 1);
    assert_eq!(outcome(&mut direct), outcome(&mut parsed));
}

#[test]
fn templates_before_a_record_cut_short_are_counted() {
    // 511 templates and a record cut short in one set: the parser installs the 511.
    let fields: Template = vec![(8, None, 4)];
    let mut defs: Vec<u8> = (1000..=1510u16)
        .flat_map(|id| template_record(id, &fields))
        .collect();
    defs.extend_from_slice(&[0x27, 0x10, 0, 1]);
    let data = records(5, &fields, 1);
    let all: Vec<Vec<u8>> = (1000..=1510u16).map(|id| set(id, &data)).collect();
    let messages = ipfix_from(
        addr(1),
        &[
            vec![set(2, &defs)],
            vec![set(2, &template_record(256, &fields)), set(256, &data)],
            all,
            vec![set(2, &template_record(257, &fields))],
            vec![set(256, &data)],
            vec![set(257, &data)],
        ],
    );
    let (mut direct, mut parsed) = both(&messages);
    assert_eq!(outcome(&mut direct), outcome(&mut parsed));
}

#[test]
fn more_exporters_than_the_parser_keeps_are_forgotten_alike() {
    // An exporter read directly, then 4,099 others (v5 and IPFIX) pushing it out of the
    // parser's sources and this decoder's exporters, then more of its data.
    let fields: Template = vec![(8, None, 4), (12, None, 4), (1, None, 8)];
    let data = records(11, &fields, 3);
    let define = |id| set(2, &template_record(id, &fields));
    let e = addr(0);
    let v5 = crate::bench_stages::v5_datagrams(30).remove(0);
    let mut messages = vec![
        (
            e,
            message(Format::Ipfix, 0, 0, &[define(256), set(256, &data)]),
        ),
        (e, message(Format::Ipfix, 0, 0, &[set(256, &data)])),
    ];
    for i in 1..4094 {
        messages.push((addr(i), v5.clone()));
    }
    messages.push((e, message(Format::Ipfix, 0, 0, &[set(256, &data)])));
    for i in 4094..4100 {
        messages.push((
            addr(i),
            message(Format::Ipfix, 0, 0, &[define(256), set(256, &data)]),
        ));
        messages.push((e, message(Format::Ipfix, 0, 0, &[set(256, &data)])));
    }
    let (mut direct, mut parsed) = both(&messages);
    assert!(direct.counters.direct >= 2);
    assert_eq!(outcome(&mut direct), outcome(&mut parsed));
}

#[test]
fn a_v9_frame_over_the_parsers_limit_is_left_to_it() {
    let fields: Template = (0..16)
        .map(|i| (if i < 2 { 8 + 4 * i } else { 1 }, None, 4))
        .collect();
    let data = records(13, &fields, 1000);
    let messages = vec![
        (
            addr(1),
            message(Format::V9, 0, 0, &[set(0, &template_record(256, &fields))]),
        ),
        (
            addr(1),
            message(Format::V9, 0, 1, &[set(256, &data), set(256, &data)]),
        ),
        (
            addr(1),
            message(Format::V9, 0, 2, &[set(256, &data[..640])]),
        ),
    ];
    let (mut direct, mut parsed) = both(&messages);
    assert_eq!(direct.counters.direct, 1);
    assert_eq!(direct.counters.malformed, 1);
    assert_eq!(outcome(&mut direct), outcome(&mut parsed));
}

#[test]
fn templates_read_directly_stay_as_recently_used_in_the_parser() {
    // 256 is used (directly), 257 not; then 511 more templates fill the parser's cache:
    // it must evict 257 in both modes, and data for 256 still decode.
    let fields: Template = vec![(8, None, 4)];
    let data = records(17, &fields, 1);
    let defs: Vec<u8> = (258..=768u16)
        .flat_map(|id| template_record(id, &fields))
        .collect();
    let messages = ipfix_from(
        addr(1),
        &[
            vec![set(2, &template_record(256, &fields))],
            vec![set(2, &template_record(257, &fields))],
            vec![set(256, &data)],
            vec![set(2, &defs)],
            vec![set(256, &data)],
            vec![set(257, &data)],
        ],
    );
    let (mut direct, mut parsed) = both(&messages);
    assert_eq!(direct.counters.direct, 1);
    assert_eq!(parsed.counters.no_template, 1, "257 evicted");
    assert_eq!(outcome(&mut direct), outcome(&mut parsed));
}

#[test]
fn exporters_heard_in_one_millisecond_are_forgotten_alike() {
    // 4,097 IPFIX exporters at time 0: which is forgotten must not depend on map order.
    let fields: Template = vec![(8, None, 4), (1, None, 8)];
    let data = records(19, &fields, 1);
    let define = set(2, &template_record(256, &fields));
    let mut messages = Vec::new();
    for i in 0..4097 {
        messages.push((addr(i), message(Format::Ipfix, 0, 0, &[define.clone()])));
        messages.push((addr(i), message(Format::Ipfix, 0, 0, &[set(256, &data)])));
    }
    for i in 0..4097 {
        messages.push((addr(i), message(Format::Ipfix, 0, 0, &[set(256, &data)])));
    }
    let (mut direct, mut parsed) = (Decoder::numeric(), Decoder::numeric());
    parsed.read_directly = false;
    for (from, m) in &messages {
        direct.feed(*from, m, 0);
        parsed.feed(*from, m, 0);
    }
    assert!(direct.counters.direct > 4000);
    assert_eq!(outcome(&mut direct), outcome(&mut parsed));
}

#[test]
fn odd_but_harmless_packets_do_not_end_direct_reads() {
    // A truncated datagram (header longer than it), zero padding after a template, and
    // an options set with a few bytes of padding: the parser installs nothing from them
    // beyond the templates given, so data after them are still read directly.
    let fields: Template = vec![(8, None, 4), (1, None, 8)];
    let data = records(23, &fields, 1);
    let mut padded = template_record(256, &fields);
    padded.extend_from_slice(&[0; 8]);
    let options = [1, 44, 0, 2, 0, 1, 0, 149, 0, 4, 0, 34, 0, 4, 0, 0, 0, 0];
    let whole = message(Format::Ipfix, 0, 0, &[set(256, &data)]);
    let messages: Vec<(SocketAddr, Vec<u8>)> = vec![
        (
            addr(1),
            message(Format::Ipfix, 0, 0, &[set(2, &padded), set(3, &options)]),
        ),
        (addr(1), whole.clone()),
        (addr(1), whole[..whole.len() - 3].to_vec()),
        (addr(1), whole.clone()),
    ];
    let (mut direct, mut parsed) = both(&messages);
    assert_eq!(direct.counters.direct, 2);
    assert_eq!(outcome(&mut direct), outcome(&mut parsed));
}
