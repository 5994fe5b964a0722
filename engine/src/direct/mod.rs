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
use std::sync::Arc;

use netflow_parser::variable_versions::field_value::FieldDataType;
use netflow_parser::variable_versions::ipfix::FlowSetBody as IpfixBody;
use netflow_parser::variable_versions::v9::FlowSetBody as V9Body;
use netflow_parser::{
    DEFAULT_MAX_DECODED_FIELD_VALUES_PER_MESSAGE, DEFAULT_MAX_RECORDS_PER_FLOWSET,
};

use crate::netflow::{ipfix_slot, v9_slot, RawRecord};

mod layout;
mod wire;

use layout::Layout;
#[cfg(test)]
pub(crate) use wire::set_ids;
pub(crate) use wire::Format;
use wire::{frame, template_ids};

/// Template ids one exporter may define before its messages all go to the parser: well
/// below the parser's cache of 512 a kind, so that the parser never evicts a template
/// that is read here (reads here do not refresh its cache).
const MAX_DEFINED: usize = 256;

/// The data sets of one message, each with its id and its template's layout: what
/// `Templates::plan` found readable here.
pub(crate) struct Plan<'a> {
    format: Format,
    sets: Vec<(u16, Arc<Layout>, &'a [u8])>,
}

impl Plan<'_> {
    /// `message` (the one planned) with every set emptied, into `out`: what the parser
    /// must look at for its caches to stay as they would be had it read `message` (its
    /// exporter and each template used, in order), at no cost of records.
    pub(crate) fn empty_copy(&self, message: &[u8], out: &mut Vec<u8>) {
        out.clear();
        out.extend_from_slice(&message[..self.format.header()]);
        for (id, _, _) in &self.sets {
            out.extend_from_slice(&id.to_be_bytes());
            out.extend_from_slice(&4u16.to_be_bytes());
        }
        if self.format == Format::Ipfix {
            let len = out.len() as u16;
            out[2..4].copy_from_slice(&len.to_be_bytes());
        }
    }

    pub(crate) fn read(&self, each: &mut dyn FnMut(RawRecord)) {
        for (_, layout, body) in &self.sets {
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
            format: self.format,
            sets: Vec::new(),
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
            plan.sets.push((id, layout.clone(), body));
        }
        Some(plan)
    }
}

#[cfg(test)]
mod cases;
#[cfg(test)]
mod tests;
