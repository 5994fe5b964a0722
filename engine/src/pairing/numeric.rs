//! Pairing of numeric records (the store-first collector): the same pairing as the text
//! `Pairer`, without text.

use std::net::IpAddr;

use super::shared::{emit_alone, pair_into, Both, Flow, Key, Scratch};
use super::Rec;

pub struct NumericPairer {
    held: Vec<Rec<IpAddr>>,
    /// The held records' keys, in the same order (not hashed again).
    held_keys: Vec<Key>,
    max_held: usize,
    /// Kept from one push to the next: fresh memory costs page faults at every batch.
    scratch: Scratch,
}

impl NumericPairer {
    pub fn new(max_held: usize) -> Self {
        NumericPairer {
            held: Vec::new(),
            held_keys: Vec::new(),
            max_held,
            scratch: Scratch::default(),
        }
    }

    pub fn held(&self) -> usize {
        self.held.len()
    }

    /// Pair the held records and `fresh` into `out`; `fresh`'s memory back, empty, for
    /// the next batch.
    pub fn push(
        &mut self,
        mut records: Vec<Rec<IpAddr>>,
        out: &mut Vec<Flow<IpAddr>>,
    ) -> Vec<Rec<IpAddr>> {
        out.reserve(records.len() + self.held.len());
        let both = Both {
            fresh: &records,
            held: &self.held,
        };
        let keep = pair_into(
            both,
            Some(&self.held_keys),
            self.max_held,
            out,
            &mut self.scratch,
        );
        // Only fresh records are kept (none is held twice): the held ones can go.
        self.held.clear();
        self.held.extend(keep.iter().map(|&(i, _)| records[i]));
        self.held_keys.clear();
        self.held_keys.extend(keep.iter().map(|&(_, key)| key));
        records.clear();
        records
    }

    /// Everything still held, alone, into `out`.
    pub fn flush(&mut self, out: &mut Vec<Flow<IpAddr>>) {
        for (r, key) in self.held.drain(..).zip(self.held_keys.drain(..)) {
            emit_alone(out, &r, key.from_lower);
        }
    }
}
