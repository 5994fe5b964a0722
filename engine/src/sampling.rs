//! Packet and flow sampling announced by NetFlow v9 and IPFIX exporters.
//!
//! A sampling exporter counts 1 in N packets (or exports 1 in N flows), so its packets and
//! bytes are N times too low until scaled. Exporters say N in one of these ways:
//! - v9 (Cisco NetFlow v9 field types): SAMPLING_INTERVAL (34) and SAMPLING_ALGORITHM (35),
//!   or a sampler: FLOW_SAMPLER_ID (48), FLOW_SAMPLER_MODE (49),
//!   FLOW_SAMPLER_RANDOM_INTERVAL (50); data records name their sampler with field 48.
//! - IPFIX (RFC 7270 for 34/35/48/49/50, deprecated but common; RFC 5477 PSAMP): a
//!   selector (selectorId 302) with selectorAlgorithm (304) and its parameters:
//!   samplingPacketInterval/Space (305/306, systematic count-based: N = (I + S) / I),
//!   samplingTimeInterval/Space (307/308, systematic time-based, the same ratio in time),
//!   samplingSize/Population (309/310, random n-out-of-N: N / n), samplingProbability
//!   (311, uniform probabilistic: 1 / p); and flow sampling samplingFlowInterval/Spacing
//!   (RFC 7270, 396/397), which multiplies with packet sampling.
//!
//! Options records set a sampler's rate (named by 48 or 302) or, naming none, the
//! exporter's own rate for that observation domain. A flow record takes, in order: the
//! sampling fields it carries itself; the rate of the sampler it names; the exporter's
//! rate; the rate of the samplers the exporter has described, if they all say the same; else
//! the rate the collector was told to assume for exporters that announce none (1 unless
//! told). Records that come before an exporter's options take that assumed rate too.
//! Fields that say nothing usable (a selector's or flow sampling's interval of 0, n greater
//! than N, a probability out of (0, 1]; not SAMPLING_INTERVAL 0, which means unsampled)
//! are counted as malformed and passed over: a record takes the next rate in
//! that order, and an options record leaves the rate it would have set as it was.

use std::collections::HashMap;

/// Samplers remembered per exporter (address, version, domain); a router has a handful,
/// so more than this is a hostile or broken exporter and the rest are ignored.
pub const MAX_SAMPLERS: usize = 256;
/// The largest rate believed. Routers sample at most 1 in 65,535 (Cisco's random sampler
/// limit) and carriers rarely beyond 1 in 10,000; a larger value is capped here and counted
/// as malformed.
pub const MAX_RATE: f64 = 1_000_000.0;

/// One field of an options or flow record that bears on sampling.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SamplingField {
    /// SAMPLING_INTERVAL / samplingInterval (34), FLOW_SAMPLER_RANDOM_INTERVAL /
    /// samplerRandomInterval (50): N directly.
    Interval,
    /// FLOW_SAMPLER_ID / samplerId (48), selectorId (302).
    SamplerId,
    /// selectorAlgorithm (304); 35 and 49 only say deterministic or random, which does not
    /// change N, so they are not read.
    Algorithm,
    PacketInterval,
    PacketSpace,
    TimeInterval,
    TimeSpace,
    Size,
    Population,
    Probability,
    FlowInterval,
    FlowSpace,
}

/// The sampling fields of one record, as given.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SamplingFields {
    interval: Option<u64>,
    sampler_id: Option<u64>,
    algorithm: Option<u64>,
    packet_interval: Option<u64>,
    packet_space: Option<u64>,
    time_interval: Option<u64>,
    time_space: Option<u64>,
    size: Option<u64>,
    population: Option<u64>,
    probability: Option<f64>,
    flow_interval: Option<u64>,
    flow_space: Option<u64>,
}

/// What a record's or options record's sampling fields say.
enum Announced {
    Nothing,
    /// Fields, all of them malformed: no rate.
    Unusable,
    Rate(Rate),
}

/// A rate read from fields: None when the fields say nothing about N.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rate {
    pub value: f64,
    /// The fields were out of range (capped, or contradictory and ignored).
    pub malformed: bool,
}

/// `(interval + space) / interval`, the share of a systematic selector; an interval of 0
/// selects nothing, which no exporter means: malformed.
fn spaced(interval: u64, space: u64) -> Option<f64> {
    (interval > 0).then(|| (interval as f64 + space as f64) / interval as f64)
}

impl SamplingFields {
    pub fn is_empty(&self) -> bool {
        *self == SamplingFields::default()
    }

    pub fn sampler_id(&self) -> Option<u64> {
        self.sampler_id
    }

    /// Record one field; `number` and `float` are the field's value read both ways.
    pub fn set(&mut self, field: SamplingField, number: Option<u64>, float: Option<f64>) {
        use SamplingField as F;
        match field {
            F::Interval => self.interval = number.or(self.interval),
            F::SamplerId => self.sampler_id = number,
            F::Algorithm => self.algorithm = number,
            F::PacketInterval => self.packet_interval = number,
            F::PacketSpace => self.packet_space = number,
            F::TimeInterval => self.time_interval = number,
            F::TimeSpace => self.time_space = number,
            F::Size => self.size = number,
            F::Population => self.population = number,
            F::Probability => self.probability = float,
            F::FlowInterval => self.flow_interval = number,
            F::FlowSpace => self.flow_space = number,
        }
    }

    /// The packet-selection factor: Some(None) when the fields name no packet sampling,
    /// None when they are malformed.
    fn packet_factor(&self) -> Option<Option<f64>> {
        if let Some(n) = self.interval {
            // Cisco and RFC 7270: 0 means not sampled.
            return Some(Some(n.max(1) as f64));
        }
        // RFC 5477 selectorAlgorithm (IANA PSAMP registry): 1 systematic count-based,
        // 2 systematic time-based, 3 random n-out-of-N, 4 uniform probabilistic; 5 and up
        // are filters and hashes, which do not select a known share of packets.
        let by_count = self
            .packet_interval
            .map(|i| spaced(i, self.packet_space.unwrap_or(0)));
        let by_time = self
            .time_interval
            .map(|i| spaced(i, self.time_space.unwrap_or(0)));
        let n_of_n = match (self.size, self.population) {
            (Some(n), Some(big)) if n > 0 && big >= n => Some(Some(big as f64 / n as f64)),
            (Some(_), Some(_)) => Some(None),
            _ => None,
        };
        let probability = self
            .probability
            .map(|p| (p.is_finite() && p > 0.0 && p <= 1.0).then(|| 1.0 / p));
        let chosen = match self.algorithm {
            Some(1) => by_count,
            Some(2) => by_time,
            Some(3) => n_of_n,
            Some(4) => probability,
            Some(_) => None,
            None => by_count.or(n_of_n).or(probability).or(by_time),
        };
        match chosen {
            Some(Some(f)) => Some(Some(f)),
            Some(None) => None,
            None => Some(None),
        }
    }

    /// The rate these fields announce (packet sampling times flow sampling), None when
    /// they announce none; fields that give no rate read as 1, malformed. For the tests:
    /// the decoder goes through `SamplerTable`, which passes such fields over.
    #[cfg(test)]
    fn rate(&self) -> Option<Rate> {
        match self.announced() {
            Announced::Nothing => None,
            Announced::Unusable => Some(Rate {
                value: 1.0,
                malformed: true,
            }),
            Announced::Rate(rate) => Some(rate),
        }
    }

    /// What these fields announce: a rate, nothing, or only fields that give no rate.
    fn announced(&self) -> Announced {
        let packet = self.packet_factor();
        let flow = self
            .flow_interval
            .map(|i| spaced(i, self.flow_space.unwrap_or(0)));
        let mut malformed = packet.is_none() || matches!(flow, Some(None));
        let (packet, flow) = (packet.flatten(), flow.flatten());
        if packet.is_none() && flow.is_none() {
            return if malformed {
                Announced::Unusable
            } else {
                Announced::Nothing
            };
        }
        let mut value = packet.unwrap_or(1.0) * flow.unwrap_or(1.0);
        if !value.is_finite() || value > MAX_RATE {
            value = MAX_RATE;
            malformed = true;
        }
        Announced::Rate(Rate {
            value: value.max(1.0),
            malformed,
        })
    }
}

/// The samplers one exporter has described, and its own rate.
#[derive(Clone, Debug, Default)]
pub struct SamplerTable {
    samplers: HashMap<u64, f64>,
    exporter_rate: Option<f64>,
    /// The rate every described sampler says, if they agree: kept as they are learnt, so
    /// that a record naming no sampler is not compared against each of them.
    agreed: Option<f64>,
}

/// What learning from one options record did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Learned {
    Nothing,
    Rate,
    Malformed,
    /// A new sampler beyond MAX_SAMPLERS, ignored.
    Full,
}

impl SamplerTable {
    /// Take the rate an options record announces, for its sampler or the whole exporter.
    pub fn learn(&mut self, fields: &SamplingFields) -> Learned {
        let rate = match fields.announced() {
            Announced::Nothing => return Learned::Nothing,
            Announced::Unusable => return Learned::Malformed,
            Announced::Rate(rate) => rate,
        };
        let Some(id) = fields.sampler_id else {
            self.exporter_rate = Some(rate.value);
            return if rate.malformed {
                Learned::Malformed
            } else {
                Learned::Rate
            };
        };
        if !self.samplers.contains_key(&id) && self.samplers.len() >= MAX_SAMPLERS {
            return Learned::Full;
        }
        self.samplers.insert(id, rate.value);
        let mut rates = self.samplers.values();
        let first = rates.next().copied();
        self.agreed = first.filter(|&f| rates.all(|&r| r == f));
        if rate.malformed {
            Learned::Malformed
        } else {
            Learned::Rate
        }
    }

    /// The rate of a flow record with these sampling fields (see the module's order);
    /// `unannounced` where nothing announces one.
    pub fn rate_of(&self, fields: &SamplingFields, unannounced: f64) -> Rate {
        let malformed = match fields.announced() {
            Announced::Rate(own) => return own,
            Announced::Unusable => true,
            Announced::Nothing => false,
        };
        // Malformed own fields are still counted, whichever rate is taken.
        let taken = |value| Rate { value, malformed };
        if let Some(rate) = fields.sampler_id.and_then(|id| self.samplers.get(&id)) {
            return taken(*rate);
        }
        if let Some(rate) = self.exporter_rate {
            return taken(rate);
        }
        // Samplers described and none named: theirs if they all say the same rate.
        taken(self.agreed.unwrap_or(unannounced))
    }

    pub fn len(&self) -> usize {
        self.samplers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.samplers.is_empty() && self.exporter_rate.is_none()
    }
}

/// A count scaled by a rate, saturating: an estimate of what the exporter saw.
pub fn scale(count: u64, rate: f64) -> u64 {
    if rate <= 1.0 {
        return count;
    }
    let scaled = (count as f64 * rate).round();
    if scaled >= u64::MAX as f64 {
        u64::MAX
    } else {
        scaled as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use SamplingField as F;

    fn fields(pairs: &[(SamplingField, u64)]) -> SamplingFields {
        let mut f = SamplingFields::default();
        for &(k, v) in pairs {
            f.set(k, Some(v), None);
        }
        f
    }

    #[test]
    fn rates_from_each_way_of_saying_n() {
        let cases: &[(&[(SamplingField, u64)], Option<f64>)] = &[
            (&[], None),
            (&[(F::Interval, 10)], Some(10.0)),
            (&[(F::Interval, 0)], Some(1.0)),
            (
                &[
                    (F::Algorithm, 1),
                    (F::PacketInterval, 1),
                    (F::PacketSpace, 99),
                ],
                Some(100.0),
            ),
            (&[(F::PacketInterval, 2), (F::PacketSpace, 3)], Some(2.5)),
            (
                &[(F::Algorithm, 3), (F::Size, 1), (F::Population, 512)],
                Some(512.0),
            ),
            (
                &[(F::Algorithm, 2), (F::TimeInterval, 1), (F::TimeSpace, 9)],
                Some(10.0),
            ),
            (
                &[(F::FlowInterval, 1), (F::FlowSpace, 3), (F::Interval, 10)],
                Some(40.0),
            ),
            // Hash-based filtering (6) selects no known share: no rate.
            (
                &[
                    (F::Algorithm, 6),
                    (F::PacketInterval, 1),
                    (F::PacketSpace, 9),
                ],
                None,
            ),
        ];
        for (given, want) in cases {
            assert_eq!(fields(given).rate().map(|r| r.value), *want, "{given:?}");
        }
    }

    #[test]
    fn hostile_values_are_capped_or_ignored_and_counted() {
        let huge = fields(&[(F::Interval, u64::MAX)]).rate().unwrap();
        assert_eq!((huge.value, huge.malformed), (MAX_RATE, true));
        let zero_interval = fields(&[(F::PacketInterval, 0), (F::PacketSpace, 9)])
            .rate()
            .unwrap();
        assert_eq!((zero_interval.value, zero_interval.malformed), (1.0, true));
        let inverted = fields(&[(F::Size, 10), (F::Population, 2)]).rate().unwrap();
        assert!(inverted.malformed);
        for p in [0.0, -1.0, 2.0, f64::NAN, f64::INFINITY] {
            let mut f = SamplingFields::default();
            f.set(F::Probability, None, Some(p));
            let r = f.rate().unwrap();
            assert_eq!((r.value, r.malformed), (1.0, true), "p = {p}");
        }
        let mut tiny = SamplingFields::default();
        tiny.set(F::Probability, None, Some(1e-12));
        assert_eq!(tiny.rate().unwrap().value, MAX_RATE);
    }

    #[test]
    fn records_take_own_then_sampler_then_exporter_then_assumed_rate() {
        // `assumed`: the collector's rate for what announces none (1 unless told).
        for assumed in [1.0, 50.0] {
            let mut t = SamplerTable::default();
            let rate = |t: &SamplerTable, f: &[(F, u64)]| t.rate_of(&fields(f), assumed).value;
            assert_eq!(rate(&t, &[]), assumed);
            assert_eq!(
                rate(&t, &[(F::Interval, 1)]),
                1.0,
                "an announced 1 is announced"
            );
            t.learn(&fields(&[(F::SamplerId, 1), (F::Interval, 10)]));
            // One sampler described and the record names none: that sampler.
            assert_eq!(rate(&t, &[]), 10.0);
            t.learn(&fields(&[(F::SamplerId, 2), (F::Interval, 100)]));
            assert_eq!(rate(&t, &[(F::SamplerId, 2)]), 100.0);
            assert_eq!(rate(&t, &[(F::SamplerId, 1)]), 10.0);
            assert_eq!(rate(&t, &[]), assumed, "samplers that differ, none named");
            // Samplers that come to agree (one changing its rate) give that rate.
            t.learn(&fields(&[(F::SamplerId, 2), (F::Interval, 10)]));
            assert_eq!(rate(&t, &[]), 10.0, "samplers that agree, none named");
            t.learn(&fields(&[(F::Interval, 1000)]));
            assert_eq!(rate(&t, &[]), 1000.0);
            assert_eq!(rate(&t, &[(F::SamplerId, 9)]), 1000.0);
            assert_eq!(
                rate(&t, &[(F::SamplerId, 1), (F::Interval, 5)]),
                5.0,
                "a record's own fields first"
            );
        }
    }

    /// Fields that give no rate are counted and passed over: a record takes the next rate
    /// in the order (not 1, which would leave its counts N times low), and options leave
    /// the rate they would have set as it was.
    #[test]
    fn fields_that_give_no_rate_are_passed_over() {
        let unusable: [&[(F, u64)]; 3] = [
            &[(F::Size, 10), (F::Population, 2)],
            &[(F::PacketInterval, 0), (F::PacketSpace, 9)],
            &[(F::FlowInterval, 0)],
        ];
        for bad in unusable {
            for assumed in [1.0, 50.0] {
                let mut t = SamplerTable::default();
                let r = t.rate_of(&fields(bad), assumed);
                assert_eq!((r.value, r.malformed), (assumed, true), "{bad:?}");
                t.learn(&fields(&[(F::SamplerId, 1), (F::Interval, 10)]));
                let mut named = bad.to_vec();
                named.push((F::SamplerId, 1));
                let r = t.rate_of(&fields(&named), assumed);
                assert_eq!((r.value, r.malformed), (10.0, true), "{bad:?}");
                let mut options = bad.to_vec();
                options.push((F::SamplerId, 1));
                assert_eq!(t.learn(&fields(&options)), Learned::Malformed);
                assert_eq!(
                    t.rate_of(&fields(&[(F::SamplerId, 1)]), assumed).value,
                    10.0
                );
                // The samplers' agreed rate, then the exporter's.
                let r = t.rate_of(&fields(bad), assumed);
                assert_eq!((r.value, r.malformed), (10.0, true), "{bad:?}");
                t.learn(&fields(&[(F::Interval, 1000)]));
                assert_eq!(t.learn(&fields(bad)), Learned::Malformed);
                assert_eq!(t.rate_of(&fields(&[]), assumed).value, 1000.0);
                let r = t.rate_of(&fields(bad), assumed);
                assert_eq!((r.value, r.malformed), (1000.0, true), "{bad:?}");
            }
        }
        // A usable part is kept, and the rest still counted.
        let half = fields(&[(F::Interval, 10), (F::FlowInterval, 0)])
            .rate()
            .unwrap();
        assert_eq!((half.value, half.malformed), (10.0, true));
        let half = fields(&[
            (F::PacketInterval, 0),
            (F::FlowInterval, 1),
            (F::FlowSpace, 3),
        ]);
        let r = SamplerTable::default().rate_of(&half, 50.0);
        assert_eq!((r.value, r.malformed), (4.0, true));
    }

    #[test]
    fn sampler_table_is_bounded() {
        let mut t = SamplerTable::default();
        for id in 0..(MAX_SAMPLERS as u64 + 10) {
            t.learn(&fields(&[(F::SamplerId, id), (F::Interval, 10)]));
        }
        assert_eq!(t.len(), MAX_SAMPLERS);
        assert_eq!(
            t.learn(&fields(&[(F::SamplerId, 1 << 40), (F::Interval, 10)])),
            Learned::Full
        );
        // A known sampler may still change its rate.
        assert_eq!(
            t.learn(&fields(&[(F::SamplerId, 0), (F::Interval, 20)])),
            Learned::Rate
        );
        assert_eq!(t.rate_of(&fields(&[(F::SamplerId, 0)]), 1.0).value, 20.0);
    }

    #[test]
    fn scaling_saturates() {
        assert_eq!(scale(7, 10.0), 70);
        assert_eq!(scale(7, 1.0), 7);
        assert_eq!(scale(u64::MAX / 2, MAX_RATE), u64::MAX);
    }
}
