//! Where a template's fields are in a record and how each value is made: the parser's
//! own `from_field_type`, or for numbers and addresses the same values read here.

use std::net::IpAddr;

use netflow_parser::variable_versions::field_value::{FieldDataType, FieldValue};

use crate::netflow::{RawRecord, Slot};

/// Where a template's fields are in a record, and what each means.
#[derive(Debug)]
pub(crate) struct Layout {
    pub(super) record_len: usize,
    /// All the template's fields, for the parser's value budget.
    pub(super) field_count: usize,
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
    pub(super) fn of(
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
    pub(super) fn read(&self, body: &[u8], each: &mut dyn FnMut(RawRecord)) {
        for record in body.chunks_exact(self.record_len) {
            let mut raw = RawRecord::default();
            if !self.fields.iter().all(|f| f.set(record, &mut raw)) {
                return;
            }
            each(raw);
        }
    }
}
