"""The behavioural model: does a long connection whose payload we cannot read (TLS, an
unknown binary protocol) move like a mining session?

Stratum has a shape that encryption keeps: the client sends shares, all of nearly the
same length, as a Poisson process whose rate the difficulty sets, and the pool answers
each at once with a shorter "accepted" and pushes new jobs at its own cadence; keepalives
tick like a clock and people type in bursts. The features below measure that shape from
the engine's burst counters (engine/src/bursts.rs). The model is a logistic regression
over them inside an envelope of what the protocols fix, trained by
`scripts/train_behaviour.py` on the real captures and the corpora of `corpus/` (real
servers and clients, real miners against our pool) and stored in `data/behaviour.json`
with its held-out evaluation and calibration; scoring is vectorised over the flow table,
never a loop per flow. Protocols the engine names (SSH, MQTT, XMPP, IMAP, ...) are not
judged, nor a connection with fewer than MIN_MESSAGES client messages.

Flow exports (NetFlow, IPFIX, nfdump, Zeek) have no bursts, only packets, bytes and
times per direction. A second model judges their records (FLOW below,
`data/behaviour_flow.json`): the envelope of real mining sessions, i.e. the range of each
counter-derived feature over them. A record inside every range is mining-like. Weaker
again, since a record says nothing about message sizes; it speaks only for flows to ports
pools use.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "FEATURES",
    "FLOW",
    "PACKET",
    "FeatureSet",
    "USUAL_POOL_PORTS",
    "on_pool_port",
    "MIN_BURSTS",
    "MIN_DURATION_S",
    "BehaviourModel",
    "EnvelopeModel",
    "Model",
    "eligible",
    "feature_matrix",
    "load_model",
    "MAX_FLOW_MODEL_RATE",
    "sampling_rates",
    "behaviour_strength",
    "long_tcp",
]

Matrix = npt.NDArray[np.float64]

# A connection shorter than this, or with fewer bursts either way, has too little shape
# to judge: it is not scored at all (and is not counted among the "long flows").
MIN_DURATION_S = 60.0
MIN_BURSTS = 5
# The amount of evidence behind a verdict: client messages after the opening ones. Three
# keepalives look like anything; a score needs this many messages and their answers.
MIN_MESSAGES = 6
# Applications whose payload the engine reads: if a mining protocol were there, the
# dissectors would have said so, so timing is not asked. The named long-lived protocols
# (engine/src/apps.rs) are not mining either, and are not "unreadable".
_READABLE = ("json", "http", "dns", "sv2")
NAMED = ("ssh", "mqtt", "xmpp", "imap", "pop3", "smtp", "rdp", "postgresql", "redis")

# Chosen by held-out evaluation on the corpora (scripts/train_behaviour.py).
FEATURES = (
    # Client bursts answered at once with fewer bytes than they sent (share -> "accepted").
    "small_answer_share",
    # Spread of client burst sizes: share submissions are nearly all the same length.
    "c2s_burst_cv",
    # Shares are a Poisson process (gaps with a spread near their mean, cv ~ 1); a
    # keepalive is a clockwork (cv ~ 0) and a person's messages come in bursts (cv >> 1):
    # |ln cv| is 0 for Poisson.
    "c2s_gap_poisson_distance",
    # Periodicity: the share of client gaps in the busiest two sqrt(2)-wide bins.
    "c2s_gap_peak",
    # Pools push new jobs unprompted, after a silence.
    "s2c_push_share",
    # Size relation: server bursts (jobs, "accepted") against client bursts (shares).
    "s2c_to_c2s_size_log",
    # A share names a job, a nonce and a result: some 100 bytes or more, where keepalives
    # (MQTT PINGREQ, HTTP/2 PING, XMPP whitespace) are a few dozen.
    "c2s_size_log",
    # Pools push jobs at their own clock: the server's gaps have a period too.
    "s2c_gap_peak",
)
# The packet model's envelope (BehaviourModel): per feature, which side the mining
# protocols bound, and the share of real mining sessions kept inside on that side.
ENVELOPE = {
    "c2s_burst_cv": "high",
    "c2s_gap_poisson_distance": "high",
    "small_answer_share": "low",
    "c2s_size_log": "low",
    # A pool pushes new jobs unprompted: a session long enough to judge has some (a
    # protocol fact, not a quantile: more than none).
    "s2c_push_share": "positive",
}
ENVELOPE_KEEP = 0.99

# Flow records: sizes and rates that survive encryption and sampling-free export.
FLOW_FEATURES = (
    # Mean bytes per packet each way (shares and replies are small; downloads are not).
    "c2s_bytes_per_packet_log",
    "s2c_bytes_per_packet_log",
    # Packets per minute, both ways: a miner talks steadily but slowly.
    "packets_per_minute_log",
    # Balance of the two directions, in packets and in bytes.
    "packet_ratio_log",
    "byte_ratio_log",
)
# A flow record with fewer packets either way has too little to judge.
MIN_FLOW_PACKETS = 10
# Sampled flow records (sampling_rate N > 1, counts scaled by N): the flow model was fitted
# on unsampled sessions. Scaled counts keep the ratios in expectation but not their spread,
# so a sampled record is judged only if it holds MIN_FLOW_PACKETS sampled packets each way,
# and not at all beyond 1 in MAX_FLOW_MODEL_RATE. Not measured with rate variants yet: a
# conservative bound. The packet model never judges a sampled record.
MAX_FLOW_MODEL_RATE = 100.0


def sampling_rates(flows: pa.Table) -> Matrix:
    """Each record's sampling rate N (1 where the column is absent or null)."""
    if "sampling_rate" not in flows.column_names:
        return np.ones(flows.num_rows)
    return np.maximum(_col(flows, "sampling_rate", 1.0), 1.0)


def _col(flows: pa.Table, name: str, missing: float = 0.0) -> Matrix:
    return np.asarray(pc.fill_null(flows[name].cast(pa.float64()), missing).to_numpy(), dtype=np.float64)


def eligible(flows: pa.Table) -> pa.ChunkedArray:
    """Flow records the model may judge: TCP, long, with bursts both ways, not dissected,
    and not of an application whose payload was read. Flow exports (null burst counts)
    are not eligible for this packet model."""
    mask = long_tcp(flows)
    for name in ("c2s_bursts", "s2c_bursts"):
        mask = pc.and_(mask, pc.fill_null(pc.greater_equal(flows[name], MIN_BURSTS), False))
    enough = pc.greater_equal(flows["c2s_bursts"], MIN_MESSAGES + 2)  # + the opening bursts
    mask = pc.and_(mask, pc.fill_null(enough, False))
    unread = pc.invert(pc.fill_null(pc.is_in(flows["application"], pa.array(_READABLE + NAMED)), False))
    mask = pc.and_(mask, unread)
    if "mining" in flows.column_names:
        mask = pc.and_(mask, pc.is_null(flows["mining"]))
    # Burst timing and sizes of a sampled record are not what the model was trained on.
    return pc.and_(mask, pa.array(sampling_rates(flows) <= 1.0))


def long_tcp(flows: pa.Table) -> pa.ChunkedArray:
    duration = pc.subtract(flows["last_seen"], flows["first_seen"])
    long = pc.greater_equal(duration, pa.scalar(int(MIN_DURATION_S * 1e6), pa.duration("us")))
    return pc.and_(pc.equal(flows["ip_proto"], 6), long)


def flow_eligible(flows: pa.Table) -> pa.ChunkedArray:
    """Flow-export records the flow model may judge: TCP, long, packets both ways, no
    burst counts (a packet capture's flows go to the packet model), nothing read."""
    mask = pc.and_(long_tcp(flows), pc.is_null(flows["c2s_bursts"]))
    rates = sampling_rates(flows)
    for name in ("c2s_packets", "s2c_packets"):
        sampled_packets = _col(flows, name) / rates
        mask = pc.and_(mask, pa.array(sampled_packets >= MIN_FLOW_PACKETS))
    mask = pc.and_(mask, pa.array(rates <= MAX_FLOW_MODEL_RATE))
    unread = pc.invert(pc.fill_null(pc.is_in(flows["application"], pa.array(_READABLE + NAMED)), False))
    mask = pc.and_(mask, unread)
    if "mining" in flows.column_names:
        mask = pc.and_(mask, pc.is_null(flows["mining"]))
    return mask


def flow_feature_matrix(flows: pa.Table) -> Matrix:
    """One row per flow record, one column per name in FLOW_FEATURES."""
    if flows.num_rows == 0:
        return np.zeros((0, len(FLOW_FEATURES)))
    cp, sp = np.maximum(_col(flows, "c2s_packets"), 1.0), np.maximum(_col(flows, "s2c_packets"), 1.0)
    cb, sb = np.maximum(_col(flows, "c2s_bytes"), 1.0), np.maximum(_col(flows, "s2c_bytes"), 1.0)
    duration = pc.subtract(flows["last_seen"], flows["first_seen"]).cast(pa.int64())
    minutes = np.maximum(np.asarray(duration.to_numpy(), dtype=np.float64) / 60e6, 1.0)
    return np.column_stack(
        (
            np.log10(cb / cp),
            np.log10(sb / sp),
            np.log10((cp + sp) / minutes),
            np.log10(sp / cp),
            np.log10(sb / cb),
        )
    )


def feature_matrix(flows: pa.Table) -> Matrix:
    """One row per flow record, one column per name in FEATURES."""
    if flows.num_rows == 0:
        return np.zeros((0, len(FEATURES)))
    answered = np.maximum(_col(flows, "c2s_bursts") - 2.0, 1.0)  # the opening bursts are not sized
    gap_cv = np.clip(_col(flows, "c2s_gap_cv", 0.0), 0.05, 20.0)
    client_mean = np.maximum(_col(flows, "c2s_burst_mean", 1.0), 1.0)
    server_mean = np.maximum(_col(flows, "s2c_burst_mean", 1.0), 1.0)
    columns = (
        np.clip(_col(flows, "small_answers") / answered, 0.0, 1.0),
        np.clip(_col(flows, "c2s_burst_cv"), 0.0, 3.0),
        np.abs(np.log(gap_cv)),
        _col(flows, "c2s_gap_peak", 1.0),
        np.clip(_col(flows, "s2c_pushes") / np.maximum(_col(flows, "s2c_bursts"), 1.0), 0.0, 1.0),
        np.clip(np.log10(server_mean / client_mean), -3.0, 3.0),
        np.log10(client_mean),
        _col(flows, "s2c_gap_peak", 1.0),
    )
    return np.column_stack(columns)


@dataclass(frozen=True)
class FeatureSet:
    """One behavioural model's inputs: which records it judges, their features, and the
    file its weights ship in."""

    name: str
    features: tuple[str, ...]
    eligible: Callable[[pa.Table], pa.ChunkedArray]
    matrix: Callable[[pa.Table], Matrix]
    model_file: str
    # Chosen by held-out evaluation (scripts/train_behaviour.py).
    threshold: float
    # Records the detector judges at all, beyond `eligible`; None for every one.
    gate: Callable[[pa.Table], pa.ChunkedArray] | None = None


def on_pool_port(flows: pa.Table) -> pa.ChunkedArray:
    """Server ports pools conventionally use (PROTOCOLS.md 1.9). A prior, not evidence:
    without payload or timing, a flow's counters alone do not tell mining from other
    steady long connections (see the flow model's evaluation), so the flow model speaks
    only for flows to these ports."""
    return pc.is_in(flows["server_port"], pa.array(USUAL_POOL_PORTS, pa.uint16()))


USUAL_POOL_PORTS = (3333, 3334, 3008, 3032, 3353, 4242, 4444, 5555, 8008, 8082, 9999, 14444, 20535, 34254)

PACKET = FeatureSet("packet", FEATURES, eligible, feature_matrix, "data/behaviour.json", 0.9)
FLOW = FeatureSet(
    "flow", FLOW_FEATURES, flow_eligible, flow_feature_matrix, "data/behaviour_flow.json", 1.0, on_pool_port
)
_SETS = {fs.name: fs for fs in (PACKET, FLOW)}


@dataclass(frozen=True)
class BehaviourModel:
    """Standardised logistic regression, p = 1 / (1 + exp(-(b + w . (x - mean) / scale))),
    inside an envelope: a record outside [low, high] on any feature scores 0.

    The envelope holds what the mining protocols fix (ENVELOPE: shares of near-equal size,
    sent as a Poisson process, answered at once, big enough to carry a nonce and a
    result), at the range of most real mining sessions; it is fitted on mining sessions
    only, so it holds for programs no corpus has seen, where a regression fitted against
    the negatives it knows may not."""

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float
    threshold: float
    training: dict[str, Any]
    low: tuple[float, ...] = ()
    high: tuple[float, ...] = ()

    def score(self, x: Matrix) -> Matrix:
        """Probability of mining per row of a feature matrix (0 outside the envelope)."""
        z = (x - np.asarray(self.mean)) / np.asarray(self.scale)
        p = np.asarray(1.0 / (1.0 + np.exp(-(self.bias + z @ np.asarray(self.weights)))))
        if self.low:
            inside = np.all((x >= np.asarray(self.low)) & (x <= np.asarray(self.high)), axis=1)
            p = np.where(inside, p, 0.0)
        return p

    def to_json(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "mean": list(self.mean),
            "scale": list(self.scale),
            "weights": list(self.weights),
            "bias": self.bias,
            "low": list(self.low),
            "high": list(self.high),
            "threshold": self.threshold,
            "training": self.training,
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any], expected: tuple[str, ...] = FEATURES) -> BehaviourModel:
        features = tuple(doc["features"])
        if features != expected:
            raise ValueError(f"behaviour model features {features} do not match the code's {expected}")
        return cls(
            features,
            tuple(map(float, doc["mean"])),
            tuple(map(float, doc["scale"])),
            tuple(map(float, doc["weights"])),
            float(doc["bias"]),
            float(doc["threshold"]),
            dict(doc.get("training", {})),
            tuple(map(float, doc.get("low", ()))),
            tuple(map(float, doc.get("high", ()))),
        )


@dataclass(frozen=True)
class EnvelopeModel:
    """The range [low, high] of each feature over the real mining sessions. Its score is
    the share of features inside their range; a record is mining-like at 1 (all)."""

    features: tuple[str, ...]
    low: tuple[float, ...]
    high: tuple[float, ...]
    threshold: float
    training: dict[str, Any]

    def score(self, x: Matrix) -> Matrix:
        inside = (x >= np.asarray(self.low)) & (x <= np.asarray(self.high))
        return np.asarray(inside.mean(axis=1) if len(x) else np.zeros(0))

    def to_json(self) -> dict[str, Any]:
        return {
            "model": "envelope",
            "features": list(self.features),
            "low": list(self.low),
            "high": list(self.high),
            "threshold": self.threshold,
            "training": self.training,
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any], expected: tuple[str, ...]) -> EnvelopeModel:
        features = tuple(doc["features"])
        if features != expected:
            raise ValueError(f"behaviour model features {features} do not match the code's {expected}")
        return cls(
            features,
            tuple(map(float, doc["low"])),
            tuple(map(float, doc["high"])),
            float(doc["threshold"]),
            dict(doc.get("training", {})),
        )


Model = BehaviourModel | EnvelopeModel


def behaviour_strength(model: Model, score: float) -> float:
    """What a flagged record's evidence is worth: the share of such flags that are mining,
    from the model's calibration table (held-out recall against the false-positive
    rate's upper bound on the corpus, at a stated prior; scripts/train_behaviour.py),
    else a fixed weak value."""
    table = model.training.get("calibration") or []
    strength = 0.3
    for row in table:  # ascending score bins: the last one at or below the score
        if score >= float(row["score_from"]):
            strength = float(row["strength"])
    return round(strength, 3)


@cache
def load_model(kind: str = "packet") -> Model:
    """A model shipped in the package: "packet" (data/behaviour.json, a logistic
    regression) or "flow" (data/behaviour_flow.json, an envelope)."""
    fs = _SETS[kind]
    doc = json.loads(resources.files("minewatch.detect").joinpath(fs.model_file).read_text())
    if doc.get("model") == "envelope":
        return EnvelopeModel.from_json(doc, fs.features)
    return BehaviourModel.from_json(doc, fs.features)
