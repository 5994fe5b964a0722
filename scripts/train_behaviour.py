"""Train and evaluate the behavioural model (src/minewatch/detect/data/behaviour.json).

    .venv/bin/python scripts/train_behaviour.py [--kind packet|flow] [--captures DIR] [--write]

`--kind packet` (the default) is the model over the engine's burst counters for packet
captures; `--kind flow` the model over flow-export counters (packets, bytes and times per
direction), for NetFlow/IPFIX/nfdump/Zeek records. Both learn from the same samples.

Labelled data, all real traffic or derived from it:
- positives: every dissected mining session of the plaintext mining captures, as TLS
  variants (minewatch.synth.variants: same messages and moments, TLS record sizes, three
  round-trip times, three time scales, long sessions cut into 300 s windows);
- negatives: every long TCP flow of the public non-mining captures whose payload the
  engine cannot read, and TLS variants of the real Electrum-style JSON-RPC session (a
  server that pushes, like a pool, but is no pool).
The real TLS mining capture (real-miners/sv1_cpuminer_sha256d_tls_t1) is never used
here: it is the held-out test of tests/test_behaviour.py.

Evaluation on data held out from training: recall leaving one mining session (with all
its variants) out at a time; false positives in two folds of negative captures, each
scored by a model that never saw that fold. Prints the figures; --write stores the
model trained on everything, with the figures in its "training" block.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy import optimize, stats

from minewatch.detect.behaviour import (
    ENVELOPE,
    ENVELOPE_KEEP,
    FLOW,
    PACKET,
    BehaviourModel,
    EnvelopeModel,
    FeatureSet,
    Model,
    long_tcp,
)
from minewatch.errors import CaptureReadError
from minewatch.scan import dissect_messages, messages_by_conn
from minewatch.sources.base import EngineOptions
from minewatch.sources.pcap import read_tables
from minewatch.synth.packets import write_pcap
from minewatch.synth.variants import AppMessage, TlsVariant, app_messages, rate_variant, tls_session

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "src/minewatch/detect"
POSITIVE_CAPTURES = (
    "real-miners/sv1_cpuminer_sha256d_t1.pcap",
    "real-miners/sv1_cpuminer_scrypt_t1.pcap",
    "real-miners/xmr_xmrig_rx0_tcp_t1.pcap",
    "real-miners/xmr_xmrig_cnr_diffchange_t1.pcap",
    "ndpi/pcap/mining.pcapng",
    "zeek-cryptomining/bitcoin-mining.pcap",
    "zeek-cryptomining/bitcoin-mining-in-progress.pcap",
    "zeek-cryptomining/coinhive-stratum.pcap",
)
HARD_NEGATIVE_CAPTURES = ("real-miners/neg_jsonrpc_tcp_electrum.pcap",)
NEGATIVE_DIRS = ("ndpi/pcap", "real-miners")
# Not negatives: mining, or (coinhive.pcap) a page whose web-miner talks to its pool.
NOT_NEGATIVE = {"mining.pcapng", "coinhive.pcap", "sv1_cpuminer_sha256d_tls_t1.pcap"}
RTTS = (0.0005, 0.04, 0.15)
SCALES = (0.5, 1.0, 2.0)
WINDOW_S = 300.0
L2 = 1.0
MIN_THRESHOLD = 0.9
# The share of long connections with unreadable payloads that are mining, in the networks
# minewatch watches: a stated assumption (one in a thousand), not a measurement; the
# strength of behavioural evidence is the posterior at this prior (see `calibration`).
PRIOR_MINING = 0.001
# The share of steady long connections to the ports pools use that are mining: assumed.
PRIOR_POOL_PORT = 0.1
UNBOUNDED_ABOVE = ("packets_per_minute_log",)
NO_CEILING = 9.0  # log10: a billion packets a minute
# Share rates of the rate variants (flow model): one CPU thread's to a farm proxy's.
RATE_FACTORS = (1, 3, 10, 30, 100, 300)
ENVELOPE_MARGIN = 0.05  # log10 units: about 12% either side of the range seen
ENGINE = EngineOptions(workers=1)
KINDS = {"packet": PACKET, "flow": FLOW}


def _as_export(flows: pa.Table) -> pa.Table:
    """What a flow exporter would say of these flows: counters and times; no bursts, and
    no application (an exporter does not read payload)."""
    for name in ("c2s_bursts", "s2c_bursts", "application"):
        index = flows.schema.get_field_index(name)
        flows = flows.set_column(index, name, pa.nulls(len(flows), flows.schema.field(name).type))
    return flows


def _features(fs: FeatureSet, flows: pa.Table) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Features of the flows the model judges, whether each passes the set's gate, and
    their connections."""
    if fs is FLOW:
        flows = _as_export(flows)
    judged = flows.filter(fs.eligible(flows))
    gate = np.ones(judged.num_rows, bool) if fs.gate is None else np.asarray(fs.gate(judged), bool)
    return fs.matrix(judged), gate, judged["conn_id"].to_pylist()


def long_sessions(flows: pa.Table, port: int | None = None) -> pa.Table:
    """Connections as long as the models ask over TCP (to `port`): the sessions an
    evaluation counts, judged or not (too few messages, a protocol the engine names)."""
    mask = long_tcp(flows)
    if port is not None:
        mask = pc.and_(mask, pc.equal(flows["server_port"], port))
    return flows.filter(mask)


def _long_sessions(flows: pa.Table, port: int | None = None) -> set[int]:
    return set(long_sessions(flows, port)["conn_id"].to_pylist())


@dataclass
class Samples:
    """Feature rows with their label, the family they are held out with (a program, a
    capture, a real session and its variants) and the session they belong to."""

    x: np.ndarray
    y: np.ndarray
    group: list[str]  # the family
    gate: np.ndarray  # whether the detector would judge it at all (FeatureSet.gate)
    session: list[str] = field(default_factory=list)
    tls: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))  # real TLS mining

    def __post_init__(self) -> None:
        if not self.session:
            self.session = list(self.group)
        if len(self.tls) != len(self.y):
            self.tls = np.zeros(len(self.y), bool)

    def where(self, keep: np.ndarray) -> Samples:
        pick = [i for i, k in enumerate(keep) if k]
        return Samples(
            self.x[keep],
            self.y[keep],
            [self.group[i] for i in pick],
            self.gate[keep],
            [self.session[i] for i in pick],
            self.tls[keep],
        )

    def __add__(self, other: Samples) -> Samples:
        return Samples(
            np.vstack([self.x, other.x]),
            np.concatenate([self.y, other.y]),
            self.group + other.group,
            np.concatenate([self.gate, other.gate]),
            self.session + other.session,
            np.concatenate([self.tls, other.tls]),
        )


def _sessions(path: Path, only_mining: bool) -> Iterator[tuple[int, pa.Table, list[AppMessage]]]:
    """Application messages per connection, with its own flow records: the mining
    sessions, or every connection."""
    flows, messages, _ = read_tables(path, ENGINE)
    mining = dissect_messages(messages) if only_mining else None
    for conn in messages_by_conn(messages):
        conn_id = conn[0].conn_id
        if mining is None or conn_id in mining:
            own = flows.filter(pc.equal(flows["conn_id"], conn_id))
            yield conn_id, own, app_messages(conn)


def _windows(messages: list[AppMessage]) -> Iterator[list[AppMessage]]:
    span = messages[-1].t - messages[0].t
    if span < WINDOW_S + 100:
        yield messages
        return
    start = messages[0].t
    while start < messages[-1].t - 100:
        part = [m for m in messages if start <= m.t < start + WINDOW_S]
        if part:
            yield part
        start += WINDOW_S


def _variant_features(
    fs: FeatureSet, messages: list[AppMessage], port: int, seed: int, work: Path
) -> tuple[np.ndarray, np.ndarray]:
    """Features of every TLS variant of one session, through the real engine. The packet
    model's variants go to 443; the flow model's keep the session's own server port,
    since it judges by port as well."""
    packets = []
    i = 0
    for part in _windows(messages):
        for rtt in RTTS:
            for scale in SCALES:
                variant = TlsVariant(rtt, scale, "1.3" if i % 2 else "1.2", seed * 1000 + i)
                client = f"10.1.{i // 200}.{i % 200 + 2}"
                port_kw = {} if fs is PACKET else {"port": port}
                packets.extend(tls_session(part, variant, client=client, **port_kw))
                i += 1
    path = work / f"variants-{seed}.pcap"
    with path.open("wb") as out:
        write_pcap(out, sorted(packets, key=lambda p: p[0]))
    flows, _, _ = read_tables(path, ENGINE)
    x, gate, _ = _features(fs, flows)
    return x, gate


def _derived(
    fs: FeatureSet, captures: Path, names: tuple[str, ...], only_mining: bool, label: int, work: Path
) -> Samples:
    """TLS variants of the real sessions of the shared captures; a capture is one family,
    each variant its own session (variants are what the model would meet on the wire)."""
    parts = []
    for name in names:
        for conn, own, messages in _sessions(captures / name, only_mining):
            port = own["server_port"][0].as_py()
            x, gate = _variant_features(fs, messages, port, zlib.crc32(f"{name}#{conn}".encode()), work)
            if fs is FLOW:  # the session as an exporter sees it, and as a busier rig's or a proxy's
                x0, gate0, _ = _features(fs, own)
                x1, gate1 = _rate_features(fs, messages, port, zlib.crc32(f"{name}#{conn}".encode()), work)
                x, gate = np.vstack([x0, x, x1]), np.concatenate([gate0, gate, gate1])
            sessions = [f"{name}#{conn}~{i}" for i in range(len(x))]
            parts.append(Samples(x, np.full(len(x), label), [_family(name)] * len(x), gate, sessions))
    return _concat(fs, parts)


def _rate_features(
    fs: FeatureSet, messages: list[AppMessage], port: int, seed: int, work: Path
) -> tuple[np.ndarray, np.ndarray]:
    """Features of the session's rate variants (RATE_FACTORS), as exported records."""
    if len(messages) < 10:
        return np.zeros((0, len(fs.features))), np.zeros(0, bool)
    packets = []
    for i, factor in enumerate(RATE_FACTORS[1:]):
        variant = TlsVariant(RTTS[i % len(RTTS)], 1.0, "1.2" if i % 2 else "1.3", seed + i)
        packets.extend(
            tls_session(rate_variant(messages, factor, seed + i), variant, client=f"10.3.{i}.2", port=port)
        )
    path = work / f"rates-{seed}.pcap"
    with path.open("wb") as out:
        write_pcap(out, sorted(packets, key=lambda p: p[0]))
    flows, _, _ = read_tables(path, ENGINE)
    x, gate, _ = _features(fs, flows)
    return x, gate


def _family(capture: str) -> str:
    """What a shared capture is held out with: its program's family when a corpus has the
    same program (holding out "xmrig" must hold out every XMRig session), else itself."""
    for program in ("cpuminer", "xmrig"):
        if program in capture:
            return f"mining:{program}"
    return f"shared:{capture}"


def _concat(fs: FeatureSet, parts: list[Samples]) -> Samples:
    empty = Samples(np.zeros((0, len(fs.features))), np.zeros(0), [], np.zeros(0, bool))
    out = empty
    for part in parts:
        out = out + part
    return out


def _negatives(fs: FeatureSet, captures: Path) -> tuple[Samples, Counter[str]]:
    """Every judged flow of the public non-mining captures (a capture is a family), and
    how many long TCP sessions each holds."""
    parts, long_total = [], Counter[str]()
    for d in NEGATIVE_DIRS:
        for path in sorted((captures / d).glob("*.pcap*")):
            if path.name in NOT_NEGATIVE or f"{d}/{path.name}" in POSITIVE_CAPTURES:
                continue
            try:
                flows, _, _ = read_tables(path, ENGINE)
            except CaptureReadError:  # a corrupt public capture is skipped, as scan reports it
                continue
            family = f"public:{d}/{path.name}"
            long_total[family] += len(_long_sessions(flows))
            x, gate, conns = _features(fs, flows)
            sessions = [f"{family}#{c}" for c in conns]
            parts.append(Samples(x, np.zeros(len(x)), [family] * len(x), gate, sessions))
    return _concat(fs, parts), long_total


@dataclass(frozen=True)
class CorpusCapture:
    """One capture of a corpus made by corpus/benign.py or corpus/mining.py."""

    path: Path
    family: str  # the program (benign) or miner that made it: held out together
    server_port: int | None  # the pool's port (mining); None: every connection counts
    tls: bool


def corpus_captures(root: Path) -> tuple[str, list[CorpusCapture]]:
    """The captures a corpus manifest lists, with the kind of corpus ("benign", "mining")."""
    manifest = json.loads((root / "manifest.json").read_text())
    kind = manifest["kind"]
    out = []
    for c in manifest["captures"]:
        family = c["program"] if kind == "benign" else c["miner"].split("-")[0]
        port = None if kind == "benign" else int(c["pool_port"])
        out.append(CorpusCapture(root / c["file"], family, port, c.get("transport") == "tls"))
    return kind, out


def _corpus(fs: FeatureSet, root: Path) -> tuple[Samples, Counter[str]]:
    """Samples of a corpus and the number of long sessions of each family ("mining-tls":
    the real TLS mining sessions)."""
    kind, captures = corpus_captures(root)
    label = 0 if kind == "benign" else 1
    parts, long_total = [], Counter[str]()
    for c in captures:
        try:
            flows, _, _ = read_tables(c.path, ENGINE)
        except CaptureReadError as exc:
            print(f"skipped {c.path}: {exc}")
            continue
        if c.server_port is not None:
            flows = flows.filter(pc.equal(flows["server_port"], c.server_port))
        family = f"{kind}:{c.family}"
        n = len(_long_sessions(flows))
        long_total[family] += n
        if c.tls and label == 1:
            long_total["mining-tls"] += n
        x, gate, conns = _features(fs, flows)
        sessions = [f"{c.path.name}#{conn}" for conn in conns]
        tls = np.full(len(x), c.tls and label == 1)
        parts.append(Samples(x, np.full(len(x), label), [family] * len(x), gate, sessions, tls))
    return _concat(fs, parts), long_total


def _weights(s: Samples) -> np.ndarray:
    """Each family weighs the same within its class (thousands of MQTT sessions do not
    outvote one miner), and all positives weigh as all negatives."""
    w = np.ones(len(s.y))
    for label in (0, 1):
        members = s.y == label
        per_family = Counter(g for g, m in zip(s.group, members, strict=True) if m)
        for i in np.flatnonzero(members):
            w[i] = 1.0 / per_family[s.group[i]]
        w[members] *= members.sum() / max(w[members].sum(), 1e-9)
    pos = s.y == 1
    w[pos] *= (~pos).sum() / max(w[pos].sum(), 1e-9)
    return w


def fit(fs: FeatureSet, s: Samples, training: dict[str, object] | None = None) -> Model:
    """The packet model: a logistic regression; the flow model: an envelope."""
    if fs is FLOW:
        return fit_envelope(fs, s, training)
    return fit_logistic(fs, s, training)


def fit_envelope(fs: FeatureSet, s: Samples, training: dict[str, object] | None = None) -> EnvelopeModel:
    """The range of each feature over the mining samples; negatives are never looked at,
    so every negative is held out."""
    pos = s.x[s.y == 1]
    # Widened by ENVELOPE_MARGIN (exporters round times to the second, so rates move a
    # little) and rounded outwards. The rate has no ceiling: a farm's proxy sends the
    # shares of hundreds of rigs down one connection, so a miner may talk at any rate
    # above the slowest real session's.
    high = np.ceil((pos.max(axis=0) + ENVELOPE_MARGIN) * 1e6) / 1e6
    for name in UNBOUNDED_ABOVE:
        high[fs.features.index(name)] = NO_CEILING
    return EnvelopeModel(
        fs.features,
        tuple(np.floor((pos.min(axis=0) - ENVELOPE_MARGIN) * 1e6) / 1e6),
        tuple(high),
        fs.threshold,
        training or {},
    )


def fit_logistic(fs: FeatureSet, s: Samples, training: dict[str, object] | None = None) -> BehaviourModel:
    """Weighted, L2-regularised logistic regression on standardised features."""
    mean, scale = s.x.mean(axis=0), s.x.std(axis=0)
    scale[scale == 0] = 1.0
    z = (s.x - mean) / scale
    w = _weights(s)
    w = w / w.sum()

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        b, coef = theta[0], theta[1:]
        m = b + z @ coef
        p = 1.0 / (1.0 + np.exp(-m))
        nll = np.sum(w * (np.logaddexp(0.0, m) - s.y * m))
        reg = L2 * 0.5 * coef @ coef / len(s.y)
        g = w * (p - s.y)
        return nll + reg, np.concatenate([[g.sum()], z.T @ g + L2 * coef / len(s.y)])

    result = optimize.minimize(loss, np.zeros(len(fs.features) + 1), jac=True, method="L-BFGS-B")
    low, high = _protocol_envelope(fs, s)
    return BehaviourModel(
        fs.features,
        tuple(mean.round(6)),
        tuple(scale.round(6)),
        tuple(result.x[1:].round(6)),
        round(float(result.x[0]), 6),
        fs.threshold,
        training or {},
        low,
        high,
    )


def _protocol_envelope(fs: FeatureSet, s: Samples) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The bounds ENVELOPE names, at the ENVELOPE_KEEP quantile of the mining samples (each
    family weighing the same); negatives are never looked at."""
    pos = s.where(s.y == 1)
    per_family = Counter(pos.group)
    w = np.array([1.0 / per_family[g] for g in pos.group])
    low, high = [-1e9] * len(fs.features), [1e9] * len(fs.features)
    for name, side in ENVELOPE.items():
        i = fs.features.index(name)
        if side == "positive":
            low[i] = 1e-9
            continue
        order = np.argsort(pos.x[:, i])
        cum = np.cumsum(w[order]) / w.sum()
        q = ENVELOPE_KEEP if side == "high" else 1.0 - ENVELOPE_KEEP
        value = float(pos.x[order, i][min(np.searchsorted(cum, q), len(order) - 1)])
        if side == "high":
            high[i] = round(value + 1e-6, 6)
        else:
            low[i] = round(value - 1e-6, 6)
    return tuple(low), tuple(high)


def upper95(k: int, n: int) -> float:
    """Clopper-Pearson one-sided 95% upper bound on a rate seen k times in n."""
    return 1.0 if n == 0 or k == n else float(stats.beta.ppf(0.95, k + 1, n - k))


def pick_threshold(fs: FeatureSet, model: Model, train: Samples) -> float:
    """The packet model's threshold: just above every training negative's score (no false
    positive on what it learnt from), never below MIN_THRESHOLD. The envelope's is fixed."""
    if not isinstance(model, BehaviourModel):
        return fs.threshold
    neg = train.where((train.y == 0) & train.gate)
    top = float(model.score(neg.x).max()) if len(neg.y) else 0.0
    return round(min(max(MIN_THRESHOLD, top + 0.25 * (1.0 - top)), 0.9999), 6)


@dataclass
class HeldOut:
    """Every sample scored by the model fitted without its family, and that model's
    threshold."""

    samples: Samples
    scores: np.ndarray
    thresholds: np.ndarray

    @property
    def flagged(self) -> np.ndarray:
        return (self.scores >= self.thresholds) & self.samples.gate


def held_out(fs: FeatureSet, s: Samples) -> HeldOut:
    scores, thresholds = np.zeros(len(s.y)), np.zeros(len(s.y))
    families = np.array(s.group)
    for family in sorted(set(s.group)):
        test = families == family
        train = s.where(~test)
        model = fit(fs, train)
        scores[test] = model.score(s.x[test])
        thresholds[test] = pick_threshold(fs, model, train)
    return HeldOut(s, scores, thresholds)


def _sessions_flagged(h: HeldOut, label: int) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for fam, sess, y, f in zip(h.samples.group, h.samples.session, h.samples.y, h.flagged, strict=True):
        if y == label and f:
            out.setdefault(fam, set()).add(sess)
    return out


def calibration(fs: FeatureSet, h: HeldOut, benign_total: int) -> list[dict[str, float]]:
    """What a flag is worth, from held-out scores: the share of flags that would be mining
    at a stated prior. The held-out recall against the one-sided 95% upper bound of the
    false-positive rate over every long benign session gives a likelihood ratio; the
    posterior at the prior is the strength. (No score bin above the threshold holds a
    false positive either, so the corpus cannot rank them apart: one row.) A small corpus
    bounds the rate loosely, so its flags are worth little; the strength grows with it.

    The packet model: PRIOR_MINING among long unreadable sessions. The flow model judges
    only connections to pool ports, which the benign corpus does not use, so its gate
    would hide every false positive: its rate is taken without the gate, and the prior is
    PRIOR_POOL_PORT, the assumed share of steady long connections to pool ports that
    mine. What it adds to the port is then what the counters measure."""
    gated = fs.gate is None
    prior = PRIOR_MINING if gated else PRIOR_POOL_PORT
    judged = h.flagged if gated else (h.scores >= h.thresholds)
    tp = int((h.samples.y[judged] == 1).sum())
    fp_sessions = {x for x, y, a in zip(h.samples.session, h.samples.y, judged, strict=True) if a and y == 0}
    recall = tp / max(int((h.samples.y == 1).sum()), 1)
    fp_upper = upper95(len(fp_sessions), benign_total)
    ratio = recall / fp_upper
    strength = prior * ratio / (prior * ratio + 1.0 - prior)
    return [
        {
            "score_from": 0.0,
            "prior": prior,
            "recall": round(recall, 4),
            "fp_rate_upper95": round(fp_upper, 6),
            "likelihood_ratio": round(ratio, 3),
            "strength": round(strength, 3),
        }
    ]


def evaluate(fs: FeatureSet, s: Samples, long_sessions: dict[str, int]) -> tuple[dict[str, object], HeldOut]:
    """Held out by family (a program, a miner, a capture): recall over sessions, false
    positives over every long benign session (judged or not), and the calibration."""
    h = held_out(fs, s)
    pos_found = _sessions_flagged(h, 1)
    neg_flagged = _sessions_flagged(h, 0)
    benign_total = sum(n for k, n in long_sessions.items() if k.startswith(("benign:", "public:")))
    fp = sum(len(v) for v in neg_flagged.values())
    by_family: dict[str, str] = {}
    for fam in sorted(set(s.group)):
        label = 1 if fam.startswith(("mining:", "shared:")) else 0
        found = len((pos_found if label else neg_flagged).get(fam, set()))
        judged = len({x for g, x in zip(s.group, s.session, strict=True) if g == fam})
        by_family[fam] = f"{found} of {long_sessions.get(fam, judged)} sessions flagged ({judged} judged)"
    tls_found = {x for x, t, f in zip(s.session, s.tls, h.flagged, strict=True) if t and f}
    tls_judged = {x for x, t in zip(s.session, s.tls, strict=True) if t}
    tls_total = long_sessions.get("mining-tls", 0)
    ungated = (h.scores >= h.thresholds) & (h.samples.y == 0)
    report: dict[str, object] = {
        "held_out_by": "family: each benign program, each miner program, each shared capture",
        "real_tls_mining_sessions": tls_total,
        "real_tls_recall": round(len(tls_found) / tls_total, 4) if tls_total else None,
        # Sessions with MIN_MESSAGES client messages or more: the ones the model judges.
        "real_tls_sessions_judged": len(tls_judged),
        "real_tls_recall_judged": round(len(tls_found) / len(tls_judged), 4) if tls_judged else None,
        "benign_long_sessions": benign_total,
        "false_positive_sessions": fp,
        "fp_per_10k": round(1e4 * fp / max(benign_total, 1), 2),
        "fp_per_10k_upper95": round(1e4 * upper95(fp, benign_total), 2),
        "false_positive_sessions_without_gate": len(
            {x for x, u in zip(s.session, ungated, strict=True) if u}
        ),
        "false_positives": sorted(f"{fam}: {x}" for fam, v in neg_flagged.items() for x in v)[:50],
        "thresholds_held_out": [round(float(t), 4) for t in sorted(set(h.thresholds.round(4)))],
        "by_family": by_family,
    }
    return report, h


def rate_recall(fs: FeatureSet, captures: Path, samples: Samples, work: Path) -> dict[str, str]:
    """Recall of the flow model over rate variants of the real mining sessions, by packets
    a minute (both ways), as an exporter would count them; each capture's variants are
    judged by the model fitted without that capture."""
    bands = ((0, 112), (112, 300), (300, 1000), (1000, 3000), (3000, 10**9))
    found: Counter[tuple[int, int]] = Counter()
    total: Counter[tuple[int, int]] = Counter()
    for name in POSITIVE_CAPTURES:
        model = fit(fs, samples.where(np.array([g != _family(name) for g in samples.group])))
        for conn, own, messages in _sessions(captures / name, True):
            if len(messages) < 10:
                continue
            port = own["server_port"][0].as_py()
            packets = []
            for i, factor in enumerate(RATE_FACTORS):
                seed = zlib.crc32(f"{name}#{conn}#{factor}".encode())
                variant = TlsVariant(RTTS[i % len(RTTS)], 1.0, "1.3", seed)
                client = f"10.2.{i}.2"
                packets.extend(
                    tls_session(rate_variant(messages, factor, seed), variant, client=client, port=port)
                )
            path = work / "rates.pcap"
            with path.open("wb") as out:
                write_pcap(out, sorted(packets, key=lambda p: p[0]))
            flows, _, _ = read_tables(path, ENGINE)
            flows = _as_export(flows)
            judged = flows.filter(fs.eligible(flows))
            x = fs.matrix(judged)
            hit = model.score(x) >= model.threshold
            if fs.gate is not None:
                hit &= np.asarray(fs.gate(judged), bool)
            per_minute = 10 ** x[:, fs.features.index("packets_per_minute_log")]
            for rate, h in zip(per_minute, hit, strict=True):
                band = next(b for b in bands if b[0] <= rate < b[1])
                total[band] += 1
                found[band] += int(h)
    return {
        f"{lo}-{hi if hi < 10**9 else 'more'} packets/min": f"{found[b]} of {total[b]}"
        for b in bands
        for lo, hi in [b]
        if total[b]
    }


def _load(fs: FeatureSet, args: argparse.Namespace) -> tuple[Samples, dict[str, int]]:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        pos = _derived(fs, args.captures, POSITIVE_CAPTURES, True, 1, work)
        hard = _derived(fs, args.captures, HARD_NEGATIVE_CAPTURES, False, 0, work)
    hard.group = ["public:" + g.removeprefix("shared:") for g in hard.group]
    public, long_sessions = _negatives(fs, args.captures)
    # The hard negatives' real sessions count once each, not once per variant (their
    # capture's own long sessions are already counted among the public ones).
    originals = Counter(
        g for g, _ in {(g, x.split("~")[0]) for g, x in zip(hard.group, hard.session, strict=True)}
    )
    for fam, n in originals.items():
        long_sessions[fam] = max(long_sessions[fam], n)
    samples = pos + hard + public
    for root in args.corpus:
        part, counts = _corpus(fs, root)
        samples = samples + part
        long_sessions.update(counts)
    return samples, dict(long_sessions)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kind", choices=sorted(KINDS), default="packet", help="which model")
    parser.add_argument("--captures", type=Path, default=ROOT.parent / "shared/captures")
    parser.add_argument(
        "--corpus",
        type=Path,
        action="append",
        default=[],
        help="a corpus made by corpus/benign.py or corpus/mining.py (repeatable)",
    )
    parser.add_argument("--write", action="store_true", help="store the model trained on everything")
    parser.add_argument("--out", type=Path, help="where --write stores it (default: the package's file)")
    args = parser.parse_args()
    fs = KINDS[args.kind]
    out = args.out or DATA / fs.model_file
    missing = [n for n in (*POSITIVE_CAPTURES, *HARD_NEGATIVE_CAPTURES) if not (args.captures / n).is_file()]
    if missing:
        parser.error(f"--captures {args.captures}: not the shared captures folder (no {missing[0]})")
    for root in args.corpus:
        if not (root / "manifest.json").is_file():
            parser.error(
                f"--corpus {root}: no manifest.json (make it with corpus/benign.py or corpus/mining.py)"
            )
    samples, long_sessions = _load(fs, args)
    report, h = evaluate(fs, samples, long_sessions)
    print(json.dumps(report, indent=1))
    command = "scripts/train_behaviour.py" + ("" if fs is PACKET else f" --kind {fs.name}")
    command += "".join(f" --corpus {r}" for r in args.corpus)
    model = fit(fs, samples)
    threshold = pick_threshold(fs, model, samples)
    training = {
        "evaluation": report,
        "calibration": calibration(fs, h, int(report["benign_long_sessions"])),  # type: ignore[call-overload]
        "threshold": threshold,
        "command": command,
    }
    if fs is FLOW:
        with tempfile.TemporaryDirectory() as tmp:
            report["recall_by_rate"] = rate_recall(fs, args.captures, samples, Path(tmp))
        print(json.dumps(report["recall_by_rate"], indent=1))
    model = dataclasses.replace(model, threshold=threshold, training=training)
    print(json.dumps({"calibration": training["calibration"], "threshold": threshold}, indent=1))
    if isinstance(model, BehaviourModel):
        print(json.dumps(dict(zip(fs.features, model.weights, strict=True)), indent=1))
    else:
        print(
            json.dumps(dict(zip(fs.features, zip(model.low, model.high, strict=True), strict=True)), indent=1)
        )
    if args.write:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(model.to_json(), indent=1) + "\n")
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
