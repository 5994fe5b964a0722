//! IPFIX data sets read straight from the message, without the parser's records.
//!
//! Carriers' routers export IPFIX, and the parser makes each data record a vector of
//! (field, value) pairs: ~430 ns a record against ~30 for NetFlow v5 (`bench_stages`
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
use netflow_parser::variable_versions::ipfix::{FlowSetBody, Template};
use netflow_parser::{
    DEFAULT_MAX_DECODED_FIELD_VALUES_PER_MESSAGE, DEFAULT_MAX_RECORDS_PER_FLOWSET,
};

use crate::netflow::{ipfix_slot, RawRecord, Slot};

/// Template ids one exporter may define before its messages all go to the parser: well
/// below the parser's cache of 512 a kind, so that the parser never evicts a template
/// that is read here (reads here do not refresh its cache).
const MAX_DEFINED: usize = 256;
const HEADER: usize = 16;

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
    /// None when a record of `t` could be read differently here than by the parser: a
    /// field of variable length, an empty record, or a field the parser cannot make a
    /// value of at its length (it would stop reading the set there).
    fn of(t: &Template) -> Option<Layout> {
        let zeros = [0u8; 64];
        let mut offset = 0;
        let mut fields = Vec::new();
        for f in &t.fields {
            let len = f.field_length;
            if len == u16::MAX {
                return None;
            }
            // No registered enterprise fields: the parser's type is the plain conversion.
            let data_type = FieldDataType::from(f.field_type);
            let sample = zeros.get(..usize::from(len))?;
            match FieldValue::from_field_type(sample, data_type, len) {
                Ok(([], _)) => {}
                _ => return None,
            }
            if let Some(slot) = ipfix_slot(&f.field_type) {
                fields.push(Field {
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
            field_count: t.fields.len(),
            fields,
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
}

impl Plan<'_> {
    pub(crate) fn read(&self, each: &mut dyn FnMut(RawRecord)) {
        for (layout, body) in &self.sets {
            layout.read(body, each);
        }
    }
}

/// One exporter's templates as read here.
#[derive(Clone, Debug, Default)]
pub(crate) struct Templates {
    layouts: HashMap<u16, Arc<Layout>>,
    /// Every template id the exporter has defined or withdrawn (bounded by MAX_DEFINED).
    defined: HashSet<u16>,
    /// Set once the exporter has defined too many templates: all its messages go to the
    /// parser from then on.
    off: bool,
}

impl Templates {
    /// Before the parser reads `message` (IPFIX): forget every template its template and
    /// options sets define or withdraw, and all of them if those sets cannot be walked.
    /// Whether the templates the parser accepts from it may be learnt (`learn_from`): not
    /// when it withdraws any (the parser's output does not say which, nor in what order).
    pub(crate) fn before_parser(&mut self, message: &[u8]) -> bool {
        let Some(sets) = sets(message) else {
            self.layouts.clear();
            return false;
        };
        let mut learn = true;
        for (id, body) in sets {
            match id {
                2 | 3 => match template_ids(id, body) {
                    Some(ids) => {
                        for (t, withdrawn) in ids {
                            if t == 2 || t == 3 {
                                self.layouts.clear(); // withdraw all
                            }
                            self.layouts.remove(&t);
                            self.note_defined(t);
                            learn &= !withdrawn;
                        }
                    }
                    None => {
                        self.layouts.clear();
                        learn = false;
                    }
                },
                // V9-style template sets in IPFIX, reserved ids: not walked here.
                0..=255 => {
                    self.layouts.clear();
                    learn = false;
                }
                _ => {}
            }
        }
        learn
    }

    /// What the parser accepted from a set of a message `before_parser` saw.
    pub(crate) fn learn_from(&mut self, body: &FlowSetBody) {
        match body {
            FlowSetBody::Template(t) => self.learn(t.template_id, Some(t)),
            FlowSetBody::Templates(ts) => {
                ts.iter().for_each(|t| self.learn(t.template_id, Some(t)))
            }
            FlowSetBody::OptionsTemplate(t) => self.learn(t.template_id, None),
            FlowSetBody::OptionsTemplates(ts) => {
                ts.iter().for_each(|t| self.learn(t.template_id, None))
            }
            FlowSetBody::V9Template(t) => self.learn(t.template_id, None),
            FlowSetBody::V9Templates(ts) => ts.iter().for_each(|t| self.learn(t.template_id, None)),
            FlowSetBody::V9OptionsTemplate(t) => self.learn(t.template_id, None),
            FlowSetBody::V9OptionsTemplates(ts) => {
                ts.iter().for_each(|t| self.learn(t.template_id, None))
            }
            _ => {}
        }
    }

    /// A template (or another kind of template, `template` None) the parser accepted.
    fn learn(&mut self, id: u16, template: Option<&Template>) {
        self.note_defined(id);
        self.layouts.remove(&id);
        if self.off {
            return;
        }
        if let Some(layout) = template.and_then(Layout::of) {
            self.layouts.insert(id, Arc::new(layout));
        }
    }

    fn note_defined(&mut self, id: u16) {
        if self.off {
            return;
        }
        self.defined.insert(id);
        if self.defined.len() > MAX_DEFINED {
            self.off = true;
            self.layouts.clear();
            self.defined.clear();
        }
    }

    /// How to read `message` here, when all of it can be; None sends it to the parser.
    pub(crate) fn plan<'a>(&self, message: &'a [u8]) -> Option<Plan<'a>> {
        if self.layouts.is_empty() {
            return None;
        }
        let mut values = 0;
        let mut plan = Plan { sets: Vec::new() };
        for (id, body) in sets(message)? {
            let layout = self.layouts.get(&id)?;
            let records = body.len() / layout.record_len;
            values += records * layout.field_count;
            if records > DEFAULT_MAX_RECORDS_PER_FLOWSET
                || values > DEFAULT_MAX_DECODED_FIELD_VALUES_PER_MESSAGE
            {
                return None;
            }
            plan.sets.push((layout.clone(), body));
        }
        Some(plan)
    }
}

/// The sets of an IPFIX message whose header length is the message's and whose sets
/// fill it exactly; None otherwise.
fn sets(message: &[u8]) -> Option<Vec<(u16, &[u8])>> {
    let be16 = |b: &[u8], at: usize| Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]));
    if be16(message, 0)? != 10 || usize::from(be16(message, 2)?) != message.len() {
        return None;
    }
    let mut out = Vec::new();
    let mut rest = message.get(HEADER..)?;
    while !rest.is_empty() {
        let (id, len) = (be16(rest, 0)?, usize::from(be16(rest, 2)?));
        if len < 4 || len > rest.len() {
            return None;
        }
        out.push((id, &rest[4..len]));
        rest = &rest[len..];
    }
    Some(out)
}

/// The template ids a template (2) or options template (3) set defines or withdraws (with
/// whether it withdraws); None if a record runs past the set (padding shorter than a
/// record header is allowed).
fn template_ids(set_id: u16, mut body: &[u8]) -> Option<Vec<(u16, bool)>> {
    let be16 = |b: &[u8], at: usize| Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]));
    let mut ids = Vec::new();
    while body.len() >= 4 {
        let (id, count) = (be16(body, 0)?, be16(body, 2)?);
        ids.push((id, count == 0));
        // A withdrawal is the id and a zero count; an options template has its scope
        // count after the field count.
        let mut at = if count > 0 && set_id == 3 { 6 } else { 4 };
        for _ in 0..count {
            let field = be16(body, at)?;
            at += if field & 0x8000 != 0 { 8 } else { 4 };
        }
        body = body.get(at..)?;
    }
    Some(ids)
}

#[cfg(test)]
pub(crate) fn set_ids(data: &[u8]) -> Option<Vec<(u16, usize)>> {
    Some(sets(data)?.iter().map(|(id, b)| (*id, b.len())).collect())
}

#[cfg(test)]
#[path = "ipfix_direct_tests.rs"]
mod tests;
