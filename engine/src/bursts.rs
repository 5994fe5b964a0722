//! The timing shape of a flow's payload, for the behavioural detector: payload "bursts"
//! (a message and its segments), who starts them, how regular they are, how big.
//!
//! A burst is a run of payload packets in one direction with no payload the other way
//! and no gap of `BURST_GAP_US` or more. Stratum sends one small burst per share and the
//! pool answers it at once, and pushes a job now and then after a long silence; a
//! download is one huge burst, a keep-alive a clockwork of tiny ones. These counters are
//! a few comparisons per payload packet and nothing per bare ACK.

/// Payload closer than this to the previous payload of the same direction continues
/// its burst (the segments of one message, a pipelined reply).
pub const BURST_GAP_US: i64 = 100_000;
/// A server burst that begins after this long with no payload either way answers no
/// request: the server pushed it.
pub const PUSH_QUIET_US: i64 = 1_000_000;

/// The first bursts of each direction open the session (a TLS handshake, a stratum
/// subscribe and authorize): they are left out of the burst sizes.
pub const OPENING_BURSTS: u32 = 2;

/// Running mean and spread (Welford).
#[derive(Clone, Copy, Debug, Default)]
struct Spread {
    n: u32,
    mean: f64,
    m2: f64,
}

impl Spread {
    fn push(&mut self, x: f64) {
        self.n += 1;
        let d = x - self.mean;
        self.mean += d / f64::from(self.n);
        self.m2 += d * (x - self.mean);
    }

    fn mean(&self) -> Option<f32> {
        (self.n >= 1).then_some(self.mean as f32)
    }

    /// Coefficient of variation (population), once there are two values to compare.
    fn cv(&self) -> Option<f32> {
        (self.n >= 2 && self.mean > 0.0)
            .then(|| ((self.m2 / f64::from(self.n)).sqrt() / self.mean) as f32)
    }
}

/// Times between burst starts in bins a factor of sqrt(2) wide from 0.25 s to about 17
/// minutes: enough to see a clockwork (a heartbeat's gaps fall in one or two bins) apart
/// from a Poisson process (a share's gaps spread over many), as periodicity is measured
/// in Koumar et al., CNSM 2023, in a few bytes per flow.
#[derive(Clone, Copy, Debug, Default)]
struct GapHistogram {
    bins: [u16; GAP_BINS],
    n: u32,
}

const GAP_BINS: usize = 24;
const GAP_FIRST_BIN_S: f64 = 0.25;
/// Fewer gaps than this say nothing about periodicity.
const MIN_GAPS_FOR_PEAK: u32 = 4;

impl GapHistogram {
    fn push(&mut self, gap_s: f64) {
        let bin = (2.0 * (gap_s.max(1e-6) / GAP_FIRST_BIN_S).log2())
            .floor()
            .clamp(0.0, (GAP_BINS - 1) as f64);
        let b = &mut self.bins[bin as usize];
        *b = b.saturating_add(1);
        self.n += 1;
    }

    /// The largest share of gaps in two neighbouring bins (a jittered period straddles a
    /// boundary): near 1 for a clockwork, about 0.3 to 0.45 for a Poisson process.
    fn peak(&self) -> Option<f32> {
        (self.n >= MIN_GAPS_FOR_PEAK).then(|| {
            let top = self
                .bins
                .windows(2)
                .map(|w| u32::from(w[0]) + u32::from(w[1]))
                .max()
                .unwrap_or(0);
            // Over the bins' own total: a bin that saturated (u16) is not a period.
            let total: u32 = self.bins.iter().map(|b| u32::from(*b)).sum();
            (f64::from(top) / f64::from(total.max(1))).min(1.0) as f32
        })
    }
}

/// What one flow record reports of its bursts.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BurstSummary {
    pub count: [u32; 2],
    pub pushes: u32,
    /// Client bursts after the opening ones that the server answered at once with fewer
    /// bytes than it was sent: a share and its "accepted". Most protocols answer a request
    /// with more than it asked.
    pub small_answers: u32,
    /// Mean bytes and their spread of the bursts after the opening ones, per direction.
    pub size_mean: [Option<f32>; 2],
    pub size_cv: [Option<f32>; 2],
    /// Spread of the times between the starts of successive bursts, per direction.
    pub gap_cv: [Option<f32>; 2],
    /// Periodicity of those times: the share of them in the busiest neighbouring bins.
    pub gap_peak: [Option<f32>; 2],
}

#[derive(Clone, Copy, Debug, Default)]
pub struct Bursts {
    count: [u32; 2],
    pushes: u32,
    small_answers: u32,
    current_bytes: u32,
    /// Bytes of the client burst the burst in progress answers, if it is an answer.
    answering: Option<u32>,
    /// Direction of the burst in progress; None before the first payload, which always
    /// opens a burst (so `last_us` is read only once it is set).
    dir: Option<usize>,
    last_us: i64,
    start_us: [i64; 2],
    gaps: [Spread; 2],
    gap_bins: [GapHistogram; 2],
    sizes: [Spread; 2],
}

impl Bursts {
    /// Account one payload packet of `len` bytes in direction `dir` (0 client to server).
    pub fn payload(&mut self, ts_us: i64, dir: usize, len: u32) {
        let quiet = ts_us.saturating_sub(self.last_us);
        if self.dir != Some(dir) || quiet >= BURST_GAP_US {
            let asked = (self.dir == Some(0)
                && dir == 1
                && quiet < PUSH_QUIET_US
                && self.count[0] > OPENING_BURSTS)
                .then_some(self.current_bytes);
            self.close_burst();
            self.answering = asked;
            if self.count[dir] > 0 {
                let gap_s = (ts_us - self.start_us[dir]) as f64 / 1e6;
                self.gaps[dir].push(gap_s);
                self.gap_bins[dir].push(gap_s);
            }
            if dir == 1 && self.dir.is_some() && quiet >= PUSH_QUIET_US {
                self.pushes += 1;
            }
            self.count[dir] += 1;
            self.start_us[dir] = ts_us;
            self.current_bytes = 0;
            self.dir = Some(dir);
        }
        self.current_bytes = self.current_bytes.saturating_add(len);
        self.last_us = self.last_us.max(ts_us);
    }

    /// Count the size of the burst in progress, unless it is one of the opening ones.
    fn close_burst(&mut self) {
        if self
            .answering
            .take()
            .is_some_and(|asked| self.current_bytes < asked)
        {
            self.small_answers += 1;
        }
        if let Some(d) = self.dir {
            if self.count[d] > OPENING_BURSTS && self.current_bytes > 0 {
                self.sizes[d].push(f64::from(self.current_bytes));
            }
        }
        self.current_bytes = 0;
    }

    pub fn summary(&self) -> BurstSummary {
        let mut done = *self;
        done.close_burst();
        BurstSummary {
            count: self.count,
            pushes: self.pushes,
            small_answers: done.small_answers,
            size_mean: [done.sizes[0].mean(), done.sizes[1].mean()],
            size_cv: [done.sizes[0].cv(), done.sizes[1].cv()],
            gap_cv: [self.gaps[0].cv(), self.gaps[1].cv()],
            gap_peak: [self.gap_bins[0].peak(), self.gap_bins[1].peak()],
        }
    }

    /// Fresh counters for the next record of a long connection; the burst in progress
    /// and the time of the last payload carry over, so a push is still recognised.
    pub fn restart(&self) -> Bursts {
        Bursts {
            dir: self.dir,
            last_us: self.last_us,
            start_us: self.start_us,
            ..Bursts::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000;

    #[test]
    fn request_answer_and_push() {
        let mut b = Bursts::default();
        b.payload(0, 0, 100); // subscribe
        b.payload(1_000, 1, 300); // answer
        b.payload(2_000, 1, 1200); // same burst: notify right behind it
        b.payload(30 * S, 1, 900); // pushed job
        b.payload(40 * S, 0, 150); // share
        b.payload(40 * S + 500, 1, 40); // accepted
        b.payload(50 * S, 0, 150); // share
        b.payload(50 * S + 500, 1, 40); // accepted
        b.payload(60 * S, 0, 152); // share
        b.payload(60 * S + 500, 1, 40); // accepted
        let s = b.summary();
        assert_eq!(s.count, [4, 5]);
        assert_eq!(s.pushes, 1);
        assert_eq!(
            s.small_answers, 2,
            "the two shares after the opening were answered small"
        );
        // After the two opening bursts each way: shares of 150 and 152, answers of 40.
        assert_eq!(s.size_mean, [Some(151.0), Some(40.0)]);
        assert!(s.size_cv[0].unwrap() < 0.01 && s.size_cv[1] == Some(0.0));
    }

    #[test]
    fn segments_of_one_message_are_one_burst() {
        let mut b = Bursts::default();
        for i in 0..10 {
            b.payload(i * 1_000, 1, 1448);
        }
        let s = b.summary();
        assert_eq!(s.count, [0, 1]);
        assert_eq!(s.pushes, 0, "the first payload of a flow is no push");
        assert_eq!(s.size_mean[1], None, "an opening burst is not sized");
    }

    #[test]
    fn clockwork_gaps_have_no_spread_and_random_ones_do() {
        let mut tick = Bursts::default();
        for i in 0..20 {
            tick.payload(i * 10 * S, 0, 50);
        }
        assert!(tick.summary().gap_cv[0].unwrap() < 1e-6);
        assert_eq!(tick.summary().gap_peak[0], Some(1.0));
        let mut poisson = Bursts::default();
        for (i, t) in [0, 3, 4, 15, 16, 40, 41, 42, 70, 95].iter().enumerate() {
            poisson.payload(t * S + i as i64, 0, 50);
        }
        assert!(poisson.summary().gap_cv[0].unwrap() > 0.5);
        assert!(poisson.summary().gap_peak[0].unwrap() < 0.6);
        assert_eq!(Bursts::default().summary().gap_cv, [None, None]);
    }

    #[test]
    fn restart_keeps_the_quiet_clock() {
        let mut b = Bursts::default();
        b.payload(0, 0, 10);
        let mut next = b.restart();
        next.payload(5 * S, 1, 10);
        assert_eq!(next.summary().pushes, 1);
        assert_eq!(next.summary().count, [0, 1]);
    }
}
