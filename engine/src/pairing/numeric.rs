//! Pairing of numeric records (the store-first collector): the same pairing as the text
//! `Pairer`, without text.

use std::net::IpAddr;

use super::shared::{emit_alone, pair_into, Flow, Scratch};
use super::Rec;

pub struct NumericPairer {
    held: Vec<Rec<IpAddr>>,
    max_held: usize,
    /// Kept from one push to the next: fresh memory costs page faults at every batch.
    scratch: Scratch,
}

impl NumericPairer {
    pub fn new(max_held: usize) -> Self {
        NumericPairer {
            held: Vec::new(),
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
        // The held records after the fresh ones: copying the few held beats copying the
        // whole batch behind them (pairing orders them as if they came first).
        let fresh = records.len();
        records.append(&mut self.held);
        let keep = pair_into(&records, fresh, self.max_held, out, &mut self.scratch);
        self.held.extend(keep.iter().map(|&i| records[i]));
        records.clear();
        records
    }

    /// Everything still held, alone, into `out`.
    pub fn flush(&mut self, out: &mut Vec<Flow<IpAddr>>) {
        for r in std::mem::take(&mut self.held) {
            emit_alone(out, &r);
        }
    }
}
