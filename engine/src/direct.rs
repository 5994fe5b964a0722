//! NetFlow v9 and IPFIX data sets read straight from the datagram, without the parser's
//! records.
//!
//! Carriers' routers export v9 and IPFIX, and the parser makes each data record a vector
//! of (field, value) pairs: ~400 ns a record against ~30 for NetFlow v5 (`bench_stages`
//! `decode_costs`). Here the parser stays the authority: a template is read this way only
//! after the parser has accepted it (it is learnt from the parser's own output), every
//! value is made by the parser's own `FieldValue::from_field_type`, and a message is read
//! here only when every set in it is a data set of such a template and within the
//! parser's limits. Template and options sets, unknown templates, odd framing: the whole
//! message goes to the parser, as before.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;

use netflow_parser::variable_versions::field_value::{FieldDataType, FieldValue};
use netflow_parser::variable_versions::ipfix::FlowSetBody as IpfixBody;
use netflow_parser::variable_versions::v9::FlowSetBody as V9Body;
use netflow_parser::{
    DEFAULT_MAX_DECODED_FIELD_VALUES_PER_MESSAGE, DEFAULT_MAX_RECORDS_PER_FLOWSET,
    DEFAULT_MAX_V9_FRAME_SIZE_BYTES,
};

use crate::netflow::{ipfix_slot, v9_slot, RawRecord, Slot};

/// Template ids one exporter may define before its messages all go to the parser: well
/// below the parser's cache of 512 a kind, so that the parser never evicts a template
/// that is read here (reads here do not refresh its cache).
const MAX_DEFINED: usize = 256;

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

    fn header(self) -> usize {
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

/// Where a template's fields are in a record, and what each means.
#[derive(Debug)]
pub(crate) struct Layout {
    record_len: usize,
    /// All the template's fields, for the parser's value budget.
    field_count: usize,
    /// The fields minewatch keeps, in template order.
    fields: Vec<Field>,
}

#[derive(Debug)]
struct Field {
    offset: usize,
    len: u16,
    slot: Slot,
    data_type: FieldDataType,
    kind: Kind,
}

/// How a field's value is made: the common cases read here, to the parser's values (a
/// test compares them on random bytes); the rest by the parser's `from_field_type`.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    /// An unsigned number (DataNumber) or milliseconds (Duration) of 1, 2, 4 or 8 bytes.
    Number,
    Ip4,
    Ip6,
    Parser,
}

impl Kind {
    fn of(data_type: FieldDataType, len: u16) -> Kind {
        use FieldDataType as T;
        match (data_type, len) {
            (T::UnsignedDataNumber, 1 | 2 | 4 | 8) | (T::DurationMillis, 2 | 4 | 8) => Kind::Number,
            (T::Ip4Addr, 4) => Kind::Ip4,
            (T::Ip6Addr, 16) => Kind::Ip6,
            _ => Kind::Parser,
        }
    }
}

impl Field {
    /// This field of `record` into `raw`; false where the parser would stop reading.
    fn set(&self, record: &[u8], raw: &mut RawRecord) -> bool {
        let bytes = &record[self.offset..self.offset + usize::from(self.len)];
        match self.kind {
            Kind::Number => {
                let n = bytes.iter().fold(0u64, |n, &b| n << 8 | u64::from(b));
                raw.set_number(self.slot, Some(n));
            }
            Kind::Ip4 => {
                let a: [u8; 4] = bytes.try_into().expect("4 bytes");
                raw.set_address(self.slot, IpAddr::from(a));
            }
            Kind::Ip6 => {
                let a: [u8; 16] = bytes.try_into().expect("16 bytes");
                raw.set_address(self.slot, IpAddr::from(a));
            }
            Kind::Parser => match FieldValue::from_field_type(bytes, self.data_type, self.len) {
                Ok((_, value)) => raw.set(self.slot, &value),
                Err(_) => return false,
            },
        }
        true
    }
}

impl Layout {
    /// None when a record of a template of `fields` (what each means, the parser's type
    /// of its value, its length) could be read differently here than by the parser: a
    /// field of variable length, an empty record, or a field the parser cannot make a
    /// value of at its length (it would stop reading the set there).
    fn of(
        fields: impl ExactSizeIterator<Item = (Option<Slot>, FieldDataType, u16)>,
    ) -> Option<Layout> {
        let zeros = [0u8; 64];
        let field_count = fields.len();
        let mut offset = 0;
        let mut kept = Vec::new();
        for (slot, data_type, len) in fields {
            if len == u16::MAX {
                return None;
            }
            let sample = zeros.get(..usize::from(len))?;
            match FieldValue::from_field_type(sample, data_type, len) {
                Ok(([], _)) => {}
                _ => return None,
            }
            if let Some(slot) = slot {
                kept.push(Field {
                    offset,
                    len,
                    slot,
                    data_type,
                    kind: Kind::of(data_type, len),
                });
            }
            offset += usize::from(len);
        }
        (offset > 0).then_some(Layout {
            record_len: offset,
            field_count,
            fields: kept,
        })
    }

    /// The records of a data set's body, each as the parser's values would set it, to
    /// `each`: padding after the last whole record is ignored and a record whose value
    /// the parser cannot make ends the set, as in the parser.
    fn read(&self, body: &[u8], each: &mut dyn FnMut(RawRecord)) {
        for record in body.chunks_exact(self.record_len) {
            let mut raw = RawRecord::default();
            if !self.fields.iter().all(|f| f.set(record, &mut raw)) {
                return;
            }
            each(raw);
        }
    }
}

/// The data sets of one message, each with its template's layout: what `Templates::plan`
/// found readable here.
pub(crate) struct Plan<'a> {
    sets: Vec<(Arc<Layout>, &'a [u8])>,
    /// The sets' ids, in order.
    ids: Vec<u16>,
}

impl Plan<'_> {
    /// `message` (the one planned) with every set emptied: what the parser must look at
    /// for its caches to stay as they would be had it read `message` (its exporter and
    /// each template used, in order), at no cost of records.
    pub(crate) fn empty_copy(&self, message: &[u8]) -> Vec<u8> {
        let format = if message.get(..2) == Some(&[0, 9]) {
            Format::V9
        } else {
            Format::Ipfix
        };
        let mut out = message[..format.header()].to_vec();
        for id in &self.ids {
            out.extend_from_slice(&id.to_be_bytes());
            out.extend_from_slice(&4u16.to_be_bytes());
        }
        if format == Format::Ipfix {
            let len = out.len() as u16;
            out[2..4].copy_from_slice(&len.to_be_bytes());
        }
        out
    }

    pub(crate) fn read(&self, each: &mut dyn FnMut(RawRecord)) {
        for (layout, body) in &self.sets {
            layout.read(body, each);
        }
    }
}

/// One exporter's templates as read here.
#[derive(Clone, Debug, Default)]
pub(crate) struct Templates {
    format: Format,
    layouts: HashMap<u16, Arc<Layout>>,
    /// Every template id the exporter has defined or withdrawn (bounded by MAX_DEFINED).
    defined: HashSet<u16>,
    /// Set once the exporter has defined too many templates: all its messages go to the
    /// parser from then on.
    off: bool,
}

impl Templates {
    pub(crate) fn new(format: Format) -> Self {
        Templates {
            format,
            ..Self::default()
        }
    }

    /// Before the parser reads `message`: forget every template its template and options
    /// sets define or withdraw (as far as the parser will read them: it installs every
    /// whole record before a broken one, and every set before a broken one). Whether the
    /// templates the parser accepts from it may be learnt (`learn_ipfix`, `learn_v9`): not
    /// when it withdraws any (the parser's output does not say which, nor in what order)
    /// or is broken. A message whose templates cannot be counted (IPFIX messages joined in
    /// one datagram, V9-style template sets in IPFIX) ends direct reads for the exporter.
    pub(crate) fn before_parser(&mut self, message: &[u8]) -> bool {
        let Some((sets, whole)) = frame(self.format, message) else {
            // IPFIX messages joined in one datagram: the parser reads what follows the
            // first as further messages. Otherwise it reads nothing of it: v9 without
            // flowsets or over its limit, IPFIX longer than the datagram.
            let claimed = message
                .get(2..4)
                .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])));
            if self.format == Format::Ipfix && claimed.is_some_and(|n| n < message.len()) {
                self.switch_off();
            }
            return false;
        };
        let (template, options) = match self.format {
            Format::V9 => (0, 1),
            Format::Ipfix => (2, 3),
        };
        let mut learn = whole;
        for (id, body) in sets {
            if id != template && id != options {
                if self.format == Format::Ipfix && id <= 1 {
                    self.switch_off(); // V9-style templates in IPFIX: not walked here
                }
                continue;
            }
            let (ids, whole) = template_ids(self.format, id == options, body);
            learn &= whole;
            for (t, withdrawn) in ids {
                // IPFIX: withdrawing 2 or 3 withdraws all; other ids below 256 (zero
                // padding read as records) are no template's.
                if withdrawn && (t == 2 || t == 3) {
                    self.layouts.clear();
                    learn = false;
                }
                if t >= 256 {
                    self.layouts.remove(&t);
                    self.note_defined(t);
                    learn &= !withdrawn;
                }
            }
        }
        learn
    }

    /// Whether anything has been counted or decided for the exporter.
    pub(crate) fn counted_any(&self) -> bool {
        self.off || !self.defined.is_empty()
    }

    /// No more direct reads for this exporter: the parser may hold templates not counted
    /// here, so its cache could evict one that direct reads would still use.
    pub(crate) fn switch_off(&mut self) {
        self.off = true;
        self.layouts.clear();
        self.defined.clear();
    }

    /// What the parser accepted from a set of an IPFIX message `before_parser` saw.
    pub(crate) fn learn_ipfix(&mut self, body: &IpfixBody) {
        let fields = |t: &netflow_parser::variable_versions::ipfix::Template| {
            // No registered enterprise fields: the parser's type is the plain conversion.
            let fields = t.fields.iter().map(|f| {
                (
                    ipfix_slot(&f.field_type),
                    FieldDataType::from(f.field_type),
                    f.field_length,
                )
            });
            Layout::of(fields)
        };
        match body {
            IpfixBody::Template(t) => self.learn(t.template_id, fields(t)),
            IpfixBody::Templates(ts) => {
                ts.iter().for_each(|t| self.learn(t.template_id, fields(t)))
            }
            IpfixBody::OptionsTemplate(t) => self.learn(t.template_id, None),
            IpfixBody::OptionsTemplates(ts) => {
                ts.iter().for_each(|t| self.learn(t.template_id, None))
            }
            IpfixBody::V9Template(t) => self.learn(t.template_id, None),
            IpfixBody::V9Templates(ts) => ts.iter().for_each(|t| self.learn(t.template_id, None)),
            IpfixBody::V9OptionsTemplate(t) => self.learn(t.template_id, None),
            IpfixBody::V9OptionsTemplates(ts) => {
                ts.iter().for_each(|t| self.learn(t.template_id, None))
            }
            _ => {}
        }
    }

    /// What the parser accepted from a flowset of a v9 packet `before_parser` saw.
    pub(crate) fn learn_v9(&mut self, body: &V9Body) {
        match body {
            V9Body::Template(ts) => {
                for t in &ts.templates {
                    let fields = t.fields.iter().map(|f| {
                        (
                            v9_slot(&f.field_type),
                            FieldDataType::from(f.field_type),
                            f.field_length,
                        )
                    });
                    self.learn(t.template_id, Layout::of(fields));
                }
            }
            V9Body::OptionsTemplate(ts) => ts
                .templates
                .iter()
                .for_each(|t| self.learn(t.template_id, None)),
            _ => {}
        }
    }

    /// A template the parser accepted, with its layout when it can be read here (None
    /// for one that cannot, and for other kinds of template, which take the id).
    fn learn(&mut self, id: u16, layout: Option<Layout>) {
        self.note_defined(id);
        self.layouts.remove(&id);
        if self.off || id < 256 {
            return;
        }
        if let Some(layout) = layout {
            self.layouts.insert(id, Arc::new(layout));
        }
    }

    fn note_defined(&mut self, id: u16) {
        if self.off {
            return;
        }
        self.defined.insert(id);
        if self.defined.len() > MAX_DEFINED {
            self.switch_off();
        }
    }

    /// How to read `message` here, when all of it can be; None sends it to the parser.
    pub(crate) fn plan<'a>(&self, message: &'a [u8]) -> Option<Plan<'a>> {
        if self.layouts.is_empty() {
            return None;
        }
        let mut values = 0;
        let mut plan = Plan {
            sets: Vec::new(),
            ids: Vec::new(),
        };
        let (sets, true) = frame(self.format, message)? else {
            return None;
        };
        for (id, body) in sets {
            let layout = self.layouts.get(&id)?;
            let records = body.len() / layout.record_len;
            values += records * layout.field_count;
            if records > DEFAULT_MAX_RECORDS_PER_FLOWSET
                || values > DEFAULT_MAX_DECODED_FIELD_VALUES_PER_MESSAGE
            {
                return None;
            }
            plan.sets.push((layout.clone(), body));
            plan.ids.push(id);
        }
        Some(plan)
    }
}

/// The sets (flowsets) of a message of `format`, as far as they are framed, and whether
/// they fill it exactly. None when the parser would read no set of it: a v9 packet of no
/// flowsets or over the parser's frame limit, and for IPFIX a message whose header length
/// is not the datagram's (the parser would read what follows as further messages).
fn frame(format: Format, message: &[u8]) -> Option<(Vec<(u16, &[u8])>, bool)> {
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
fn template_ids(format: Format, options: bool, mut body: &[u8]) -> (Vec<(u16, bool)>, bool) {
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

#[cfg(test)]
#[path = "direct_tests.rs"]
mod tests;
