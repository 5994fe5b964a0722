//! The framing of v9 and IPFIX messages as the parser reads it: headers, sets, and the
//! template records in template and options template sets.

use netflow_parser::DEFAULT_MAX_V9_FRAME_SIZE_BYTES;

/// The two template-based export formats.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) enum Format {
    /// NetFlow v9 (RFC 3954): a 20-byte header, template flowset 0, options 1.
    V9,
    /// IPFIX (RFC 7011): a 16-byte header with the message length, template set 2,
    /// options 3.
    #[default]
    Ipfix,
}

impl Format {
    /// The format of an export version (9, else IPFIX).
    pub(crate) fn of(version: u16) -> Format {
        if version == 9 {
            Format::V9
        } else {
            Format::Ipfix
        }
    }

    pub(super) fn header(self) -> usize {
        match self {
            Format::V9 => 20,
            Format::Ipfix => 16,
        }
    }

    fn version(self) -> u16 {
        match self {
            Format::V9 => 9,
            Format::Ipfix => 10,
        }
    }
}

/// The sets (flowsets) of a message of `format`, as far as they are framed, and whether
/// they fill it exactly. None when the parser would read no set of it: a v9 packet of no
/// flowsets or over the parser's frame limit, and for IPFIX a message whose header length
/// is not the datagram's (the parser would read what follows as further messages).
pub(super) fn frame(format: Format, message: &[u8]) -> Option<(Vec<(u16, &[u8])>, bool)> {
    let be16 = |b: &[u8], at: usize| Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]));
    if be16(message, 0)? != format.version() {
        return None;
    }
    match format {
        Format::Ipfix if usize::from(be16(message, 2)?) != message.len() => return None,
        Format::V9
            if message.len() <= format.header()
                || message.len() > DEFAULT_MAX_V9_FRAME_SIZE_BYTES =>
        {
            return None
        }
        _ => {}
    }
    let mut out = Vec::new();
    let mut rest = message.get(format.header()..)?;
    while !rest.is_empty() {
        let (Some(id), Some(len)) = (be16(rest, 0), be16(rest, 2).map(usize::from)) else {
            return Some((out, false));
        };
        if len < 4 || len > rest.len() {
            return Some((out, false));
        }
        out.push((id, &rest[4..len]));
        rest = &rest[len..];
    }
    Some((out, true))
}

/// The template ids a template or options template set defines or withdraws (with
/// whether it withdraws: IPFIX only), record by record as the parser reads them, and
/// whether the set ends in padding (fewer bytes than a record header) rather than in a
/// record cut short.
pub(super) fn template_ids(
    format: Format,
    options: bool,
    mut body: &[u8],
) -> (Vec<(u16, bool)>, bool) {
    let be16 = |b: &[u8], at: usize| Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]));
    // The length of the record at the start of `b`, if whole.
    let record = |b: &[u8]| -> Option<(u16, u16, usize)> {
        let (id, count) = (be16(b, 0)?, be16(b, 2)?);
        let len = match (format, options) {
            // v9 options: scope and option lengths in bytes, fields of 4 bytes.
            (Format::V9, true) => 6 + usize::from(count / 4) * 4 + usize::from(be16(b, 4)? / 4) * 4,
            (Format::V9, false) => 4 + 4 * usize::from(count),
            // IPFIX: an options template always has its scope count (the parser reads it
            // for a withdrawal too); enterprise fields are 8 bytes.
            (Format::Ipfix, _) => {
                let mut at = if options { 6 } else { 4 };
                for _ in 0..count {
                    let field = be16(b, at)?;
                    at += if field & 0x8000 != 0 { 8 } else { 4 };
                }
                at
            }
        };
        (len <= b.len()).then_some((id, count, len))
    };
    // The shortest record the parser would try to read: options records carry a third
    // count (v9 scope length, IPFIX scope field count).
    let shortest = if options { 6 } else { 4 };
    let mut ids = Vec::new();
    while body.len() >= shortest {
        let Some((id, count, len)) = record(body) else {
            return (ids, false);
        };
        ids.push((id, format == Format::Ipfix && count == 0));
        body = &body[len..];
    }
    (ids, true)
}

#[cfg(test)]
pub(crate) fn set_ids(format: Format, data: &[u8]) -> Option<Vec<(u16, usize)>> {
    Some(
        frame(format, data)?
            .0
            .iter()
            .map(|(id, b)| (*id, b.len()))
            .collect(),
    )
}
