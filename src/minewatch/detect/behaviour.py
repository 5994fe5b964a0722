"""The behavioural model: does a long connection whose payload we cannot read (TLS, an
unknown binary protocol) move like a mining session?

Stratum has a shape that encryption keeps: the client sends shares, all of nearly the
same length, and the pool answers each at once with a shorter "accepted" (most protocols
answer a request with more than it asked). The features below measure that shape from
the engine's burst counters (engine/src/bursts.rs). The model is a logistic regression
over them, trained by `scripts/train_behaviour.py` on the real captures and stored in
`data/behaviour.json` with its training summary; scoring is vectorised over the flow
table, never a loop per flow.
"""

from __future__ import annotations

import json
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
    "MIN_BURSTS",
    "MIN_DURATION_S",
    "BehaviourModel",
    "eligible",
    "feature_matrix",
    "load_model",
]

Matrix = npt.NDArray[np.float64]

# A connection shorter than this, or with fewer bursts either way, has too little shape
# to judge: it is not scored at all (and is not counted among the "long flows").
MIN_DURATION_S = 60.0
MIN_BURSTS = 5
# Applications whose payload the engine reads: if a mining protocol were there, the
# dissectors would have said so, so timing is not asked.
_READABLE = ("json", "http", "dns", "sv2")

# Chosen by held-out evaluation (scripts/train_behaviour.py): richer sets of timing and
# size features overfit the few real sessions and flagged more of the public captures.
FEATURES = (
    # Client bursts answered at once with fewer bytes than they sent (share -> "accepted").
    "small_answer_share",
    # Spread of client burst sizes: share submissions are nearly all the same length.
    "c2s_burst_cv",
)


def _col(flows: pa.Table, name: str) -> Matrix:
    return np.asarray(pc.fill_null(flows[name].cast(pa.float64()), 0.0).to_numpy(), dtype=np.float64)


def eligible(flows: pa.Table) -> pa.ChunkedArray:
    """Flow records the model may judge: TCP, long, with bursts both ways, not dissected,
    and not of an application whose payload was read. Flow exports (null burst counts)
    are not eligible for this packet model."""
    duration = pc.subtract(flows["last_seen"], flows["first_seen"])
    long = pc.greater_equal(duration, pa.scalar(int(MIN_DURATION_S * 1e6), pa.duration("us")))
    mask = pc.and_(pc.equal(flows["ip_proto"], 6), long)
    for name in ("c2s_bursts", "s2c_bursts"):
        mask = pc.and_(mask, pc.fill_null(pc.greater_equal(flows[name], MIN_BURSTS), False))
    unread = pc.invert(pc.fill_null(pc.is_in(flows["application"], pa.array(_READABLE)), False))
    mask = pc.and_(mask, unread)
    if "mining" in flows.column_names:
        mask = pc.and_(mask, pc.is_null(flows["mining"]))
    return mask


def feature_matrix(flows: pa.Table) -> Matrix:
    """One row per flow record, one column per name in FEATURES."""
    if flows.num_rows == 0:
        return np.zeros((0, len(FEATURES)))
    answered = np.maximum(_col(flows, "c2s_bursts") - 2.0, 1.0)  # the opening bursts are not sized
    columns = (
        np.clip(_col(flows, "small_answers") / answered, 0.0, 1.0),
        np.clip(_col(flows, "c2s_burst_cv"), 0.0, 3.0),
    )
    return np.column_stack(columns)


@dataclass(frozen=True)
class BehaviourModel:
    """Standardised logistic regression: p = 1 / (1 + exp(-(b + w . (x - mean) / scale)))."""

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float
    threshold: float
    training: dict[str, Any]

    def score(self, x: Matrix) -> Matrix:
        """Probability of mining per row of a feature matrix."""
        z = (x - np.asarray(self.mean)) / np.asarray(self.scale)
        return np.asarray(1.0 / (1.0 + np.exp(-(self.bias + z @ np.asarray(self.weights)))))

    def to_json(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "mean": list(self.mean),
            "scale": list(self.scale),
            "weights": list(self.weights),
            "bias": self.bias,
            "threshold": self.threshold,
            "training": self.training,
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> BehaviourModel:
        features = tuple(doc["features"])
        if features != FEATURES:
            raise ValueError(f"behaviour model features {features} do not match the code's {FEATURES}")
        return cls(
            features,
            tuple(map(float, doc["mean"])),
            tuple(map(float, doc["scale"])),
            tuple(map(float, doc["weights"])),
            float(doc["bias"]),
            float(doc["threshold"]),
            dict(doc.get("training", {})),
        )


@cache
def load_model() -> BehaviourModel:
    """The model shipped in the package (data/behaviour.json)."""
    text = resources.files("minewatch.detect").joinpath("data/behaviour.json").read_text()
    return BehaviourModel.from_json(json.loads(text))
