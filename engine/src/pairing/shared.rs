//! Pairing itself, on records of either kind of address (text or numbers).

use std::cmp::Ordering;

use super::records::emit;
pub(super) use super::records::emit_alone;
pub use super::records::{Address, Flow, FlowSink, Rec};

/// A one-way record as the sort sees it: everything the sort compares is in the entry
/// (a comparison that read the record would cost a cache miss).
#[derive(Clone, Copy)]
struct Entry {
    /// The connection's key, hashed.
    hash: u64,
    first_us: i64,
    /// The record's place as if held records came before fresh ones: breaks ties, so
    /// that equal records pair the same way whichever side keeps them where.
    rank: u32,
    index: u32,
    from_lower: bool,
}

impl Entry {
    fn key(&self) -> Key {
        Key {
            hash: self.hash,
            from_lower: self.from_lower,
        }
    }

    fn order(&self, other: &Self) -> Ordering {
        (self.hash, self.first_us, self.rank).cmp(&(other.hash, other.first_us, other.rank))
    }
}

/// Memory pairing reuses from one batch to the next (fresh memory costs page faults).
#[derive(Default)]
pub(super) struct Scratch {
    order: Vec<Entry>,
    sorted: Vec<Entry>,
    counts: Vec<usize>,
    /// By record: its key when it is left alone (what a held record keeps, and which end
    /// sent it, for emitting it alone without working that out again).
    alone: Vec<Option<Key>>,
    lower: Vec<Entry>,
    higher: Vec<Entry>,
}

/// What pairing computes of a one-way record once: its connection key's hash and whether
/// the lower end sent it. Kept with a held record, so that the next batch does not hash
/// it again (most records of a one-way export are held once).
#[derive(Clone, Copy)]
pub struct Key {
    hash: u64,
    pub(super) from_lower: bool,
}

/// A batch's records as pairing numbers them: the fresh ones, then those held from before
/// (two slices: joining them would copy the batch).
#[derive(Clone, Copy)]
pub struct Both<'a, A> {
    pub fresh: &'a [Rec<A>],
    pub held: &'a [Rec<A>],
}

impl<'a, A> Both<'a, A> {
    fn len(&self) -> usize {
        self.fresh.len() + self.held.len()
    }

    fn get(&self, i: usize) -> &'a Rec<A> {
        match self.fresh.get(i) {
            Some(r) => r,
            None => &self.held[i - self.fresh.len()],
        }
    }

    fn iter(&self) -> impl Iterator<Item = &'a Rec<A>> {
        self.fresh.iter().chain(self.held)
    }
}

/// Pair `records` (the fresh ones first, below `fresh`, then those held from before) into
/// `out`, biflow records as they are. Returns the indices of the fresh records left alone,
/// to be held, with their keys; when there are more than `max_held` of them, none is held
/// and all go out alone. `held_keys`, when given, are the keys of the held records
/// (`records.held`) as an earlier call returned them.
///
/// One connection's records are those of one key; its k-th record from each end (by
/// start) pair up. They are found by sorting entries by (hashed key, start): the sort
/// compares numbers in the entries only, and keys are compared (reading the records) only
/// where two entries share a hash, that is where pairing may happen.
pub(super) fn pair_into<A: Address, S: FlowSink<A>>(
    records: Both<'_, A>,
    held_keys: Option<&[Key]>,
    max_held: usize,
    out: &mut S,
    scratch: &mut Scratch,
) -> Vec<(usize, Key)> {
    let (n, fresh) = (records.len(), records.fresh.len());
    assert!(n < u32::MAX as usize, "a batch of fewer than 2^32 records");
    let held_before = n - fresh;
    let hasher = ahash::RandomState::with_seeds(1, 2, 3, 4);
    let order = &mut scratch.order;
    order.clear();
    order.reserve(n);
    let alone = &mut scratch.alone;
    alone.clear();
    alone.resize(n, None);
    for (i, r) in records.iter().enumerate() {
        match r.reverse {
            Some((packets, bytes)) => {
                let back = Rec {
                    packets,
                    bytes,
                    tcp_flags: 0,
                    ..*r
                };
                out.flow(Flow::of(Some(r), Some(&back)));
            }
            None => {
                let known = held_keys.and_then(|k| k.get(i.checked_sub(fresh)?));
                let key = known.copied().unwrap_or_else(|| Key {
                    hash: hasher.hash_one(r.key()),
                    from_lower: r.sent_by_lower(),
                });
                order.push(Entry {
                    hash: key.hash,
                    first_us: r.first_us,
                    rank: (if i < fresh {
                        i + held_before
                    } else {
                        i - fresh
                    }) as u32,
                    index: i as u32,
                    from_lower: key.from_lower,
                })
            }
        }
    }
    let order = sort(order, &mut scratch.sorted, &mut scratch.counts);
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && order[end].hash == order[start].hash {
            end += 1;
        }
        let run = &mut order[start..end];
        if run.len() == 1 {
            alone[run[0].index as usize] = Some(run[0].key());
        } else {
            let key = |e: &Entry| records.get(e.index as usize).key();
            // Keys compared knowing each record's direction (cheaper than `key()`, which
            // works it out again): replayed and re-exported connections make long runs.
            let same = |a: &Entry, b: &Entry| {
                let (ra, rb) = (records.get(a.index as usize), records.get(b.index as usize));
                ra.same_connection(a.from_lower, rb, b.from_lower)
            };
            if run.iter().any(|e| !same(e, &run[0])) {
                // Two keys of one hash (rare): each key's records together, by start as
                // before (a stable sort).
                run.sort_by_key(key);
            }
            let mut from = 0;
            while from < run.len() {
                let mut to = from + 1;
                while to < run.len() && same(&run[to], &run[from]) {
                    to += 1;
                }
                connection(
                    records,
                    &run[from..to],
                    (&mut scratch.lower, &mut scratch.higher),
                    alone,
                    out,
                );
                from = to;
            }
        }
        start = end;
    }
    let fresh_alone = alone[..fresh].iter().filter(|a| a.is_some()).count();
    let hold = fresh_alone <= max_held;
    let mut held = Vec::new();
    for (i, key) in alone.iter().enumerate() {
        let Some(key) = *key else { continue };
        if hold && i < fresh {
            held.push((i, key));
        } else {
            emit_alone(out, records.get(i), key.from_lower);
        }
    }
    held
}

/// `entries` in order (into `sorted`): first by the hash's top bits into buckets small
/// enough for the cache, then each bucket by itself. A sort of the whole batch at once
/// would go over memory larger than the cache at each of its levels.
fn sort<'a>(
    entries: &[Entry],
    sorted: &'a mut Vec<Entry>,
    counts: &mut Vec<usize>,
) -> &'a mut [Entry] {
    // About 128 entries a bucket.
    let bits = (usize::BITS - (entries.len() / 128).leading_zeros()).clamp(1, 16);
    let bucket = |e: &Entry| (e.hash >> (64 - bits)) as usize;
    counts.clear();
    counts.resize((1 << bits) + 1, 0);
    for e in entries {
        counts[bucket(e) + 1] += 1;
    }
    for b in 1..counts.len() {
        counts[b] += counts[b - 1];
    }
    sorted.clear();
    sorted.resize(
        entries.len(),
        Entry {
            hash: 0,
            first_us: 0,
            rank: 0,
            index: 0,
            from_lower: false,
        },
    );
    let mut next = counts.clone();
    for e in entries {
        let b = bucket(e);
        sorted[next[b]] = *e;
        next[b] += 1;
    }
    for b in 0..(1 << bits) {
        sorted[counts[b]..counts[b + 1]].sort_unstable_by(Entry::order);
    }
    sorted
}

/// One connection's records (sorted by start): the k-th from each end pair up, the rest
/// are marked alone.
fn connection<A: Address, S: FlowSink<A>>(
    records: Both<'_, A>,
    entries: &[Entry],
    (lower, higher): (&mut Vec<Entry>, &mut Vec<Entry>),
    alone: &mut [Option<Key>],
    out: &mut S,
) {
    lower.clear();
    higher.clear();
    for e in entries {
        if e.from_lower {
            lower.push(*e)
        } else {
            higher.push(*e)
        }
    }
    for (a, b) in lower.iter().zip(higher.iter()) {
        emit(
            out,
            Some(records.get(a.index as usize)),
            Some(records.get(b.index as usize)),
        );
    }
    let paired = lower.len().min(higher.len());
    for e in lower[paired..].iter().chain(&higher[paired..]) {
        alone[e.index as usize] = Some(e.key());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(src: &'static str, dst: &'static str, first: i64, packets: u64) -> Rec<&'static str> {
        let (sport, dport) = if src < dst {
            (40000, 3333)
        } else {
            (3333, 40000)
        };
        Rec {
            exporter: "e",
            first_us: first,
            last_us: first + 10,
            proto: 6,
            src,
            src_port: sport,
            dst,
            dst_port: dport,
            packets,
            bytes: packets,
            tcp_flags: 0,
            reverse: None,
            sampling_rate: 1.0,
        }
    }

    #[test]
    fn ties_pair_held_first_then_in_arrival_order() {
        // Three records from the client starting in the same microsecond (the last one
        // held from before), two from the server: the held one and the first fresh one pair.
        let (c, s) = ("10.0.0.1", "10.0.0.2");
        let records = [
            rec(c, s, 5, 1),
            rec(s, c, 5, 10),
            rec(c, s, 5, 2),
            rec(s, c, 5, 20),
            rec(c, s, 5, 3),
        ];
        let mut out: Vec<Flow<&str>> = Vec::new();
        let both = Both {
            fresh: &records[..4],
            held: &records[4..],
        };
        let held = pair_into(both, None, 10, &mut out, &mut Scratch::default());
        let pairs: Vec<(u64, u64)> = out.iter().map(|f| (f.c2s_packets, f.s2c_packets)).collect();
        assert_eq!(pairs, vec![(3, 10), (1, 20)]);
        assert_eq!(held.iter().map(|(i, _)| *i).collect::<Vec<_>>(), vec![2]);
    }
}
