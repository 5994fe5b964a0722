"""Train and evaluate the behavioural model (src/minewatch/detect/data/behaviour.json).

    .venv/bin/python scripts/train_behaviour.py [--captures ../shared/captures] [--write]

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
import json
import tempfile
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import optimize, stats

from minewatch.detect.behaviour import FEATURES, BehaviourModel, eligible, feature_matrix
from minewatch.errors import CaptureReadError
from minewatch.scan import dissect_messages, messages_by_conn
from minewatch.sources.base import EngineOptions
from minewatch.sources.pcap import read_tables
from minewatch.synth.packets import write_pcap
from minewatch.synth.variants import AppMessage, TlsVariant, app_messages, tls_session

ROOT = Path(__file__).resolve().parent.parent
MODEL_PATH = ROOT / "src/minewatch/detect/data/behaviour.json"
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
THRESHOLD = 0.9
ENGINE = EngineOptions(workers=1)


@dataclass
class Samples:
    x: np.ndarray
    y: np.ndarray
    group: list[str]

    def where(self, keep: np.ndarray) -> Samples:
        return Samples(self.x[keep], self.y[keep], [g for g, k in zip(self.group, keep, strict=True) if k])

    def __add__(self, other: Samples) -> Samples:
        return Samples(
            np.vstack([self.x, other.x]), np.concatenate([self.y, other.y]), self.group + other.group
        )


def _sessions(path: Path, only_mining: bool) -> Iterator[tuple[int, list[AppMessage]]]:
    """Application messages per connection: the mining sessions, or every connection."""
    _, messages, _ = read_tables(path, ENGINE)
    mining = dissect_messages(messages) if only_mining else None
    for conn in messages_by_conn(messages):
        conn_id = conn[0].conn_id
        if mining is None or conn_id in mining:
            yield conn_id, app_messages(conn)


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


def _variant_features(messages: list[AppMessage], seed: int, work: Path) -> np.ndarray:
    """Features of every TLS variant of one session, through the real engine."""
    packets = []
    i = 0
    for part in _windows(messages):
        for rtt in RTTS:
            for scale in SCALES:
                variant = TlsVariant(rtt, scale, "1.3" if i % 2 else "1.2", seed * 1000 + i)
                packets.extend(tls_session(part, variant, client=f"10.1.{i // 200}.{i % 200 + 2}"))
                i += 1
    path = work / f"variants-{seed}.pcap"
    with path.open("wb") as out:
        write_pcap(out, sorted(packets, key=lambda p: p[0]))
    flows, _, _ = read_tables(path, ENGINE)
    return feature_matrix(flows.filter(eligible(flows)))


def _derived(captures: Path, names: tuple[str, ...], only_mining: bool, label: int, work: Path) -> Samples:
    xs, groups = [], []
    for name in names:
        for conn, messages in _sessions(captures / name, only_mining):
            x = _variant_features(messages, zlib.crc32(f"{name}#{conn}".encode()), work)
            xs.append(x)
            groups += [f"{name}#{conn}"] * len(x)
    x = np.vstack(xs) if xs else np.zeros((0, len(FEATURES)))
    return Samples(x, np.full(len(x), label), groups)


def _negatives(captures: Path) -> Samples:
    xs, groups = [], []
    for d in NEGATIVE_DIRS:
        for path in sorted((captures / d).glob("*.pcap*")):
            if path.name in NOT_NEGATIVE:
                continue
            try:
                flows, _, _ = read_tables(path, ENGINE)
            except CaptureReadError:  # a corrupt public capture is skipped, as scan reports it
                continue
            x = feature_matrix(flows.filter(eligible(flows)))
            xs.append(x)
            groups += [f"{d}/{path.name}"] * len(x)
    x = np.vstack(xs)
    return Samples(x, np.zeros(len(x)), groups)


def _weights(s: Samples) -> np.ndarray:
    """Each mining session weighs the same, and all positives weigh as all negatives."""
    pos = s.y == 1
    per_session = Counter(g for g, p in zip(s.group, pos, strict=True) if p)
    w = np.array([1.0 / per_session[g] if p else 1.0 for g, p in zip(s.group, pos, strict=True)])
    w[pos] *= (~pos).sum() / max(w[pos].sum(), 1e-9)
    return w


def fit(s: Samples, training: dict[str, object] | None = None) -> BehaviourModel:
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

    result = optimize.minimize(loss, np.zeros(len(FEATURES) + 1), jac=True, method="L-BFGS-B")
    return BehaviourModel(
        FEATURES,
        tuple(mean.round(6)),
        tuple(scale.round(6)),
        tuple(result.x[1:].round(6)),
        round(float(result.x[0]), 6),
        THRESHOLD,
        training or {},
    )


def _upper95(k: int, n: int) -> float:
    """Clopper-Pearson one-sided 95% upper bound on a rate seen k times in n."""
    return 1.0 if n == 0 or k == n else float(stats.beta.ppf(0.95, k + 1, n - k))


def evaluate(pos: Samples, neg: Samples) -> dict[str, object]:
    """Held-out recall (leave one mining session out) and false positives (2-fold by
    capture file), with the model's threshold."""
    recall_by: dict[str, tuple[int, int]] = {}
    for g in sorted(set(pos.group)):
        model = fit(pos.where(np.array([x != g for x in pos.group])) + neg)
        held = pos.where(np.array([x == g for x in pos.group]))
        recall_by[g] = (int((model.score(held.x) >= THRESHOLD).sum()), len(held.y))
    fold = np.array([zlib.crc32(g.split("#")[0].encode()) % 2 for g in neg.group])
    flagged: list[str] = []
    for f in (0, 1):
        model = fit(pos + neg.where(fold != f))
        test = neg.where(fold == f)
        hits = model.score(test.x) >= THRESHOLD
        flagged += [g for g, h in zip(test.group, hits, strict=True) if h]
    detected = sum(k for k, _ in recall_by.values())
    total = sum(n for _, n in recall_by.values())
    sessions_found = sum(1 for k, n in recall_by.values() if n and k / n >= 0.5)
    return {
        "positive_sessions": len(recall_by),
        "positive_samples": total,
        "recall": round(detected / total, 4),
        "sessions_mostly_found": sessions_found,
        "recall_by_session": {g: f"{k}/{n}" for g, (k, n) in recall_by.items()},
        "negative_long_flows": len(neg.y),
        "false_positives": len(flagged),
        "false_positive_flows": sorted(flagged),
        "fp_per_10k": round(1e4 * len(flagged) / len(neg.y), 1),
        "fp_per_10k_upper95": round(1e4 * _upper95(len(flagged), len(neg.y)), 1),
        "precision_at_equal_counts": round(
            (detected / total) / ((detected / total) + len(flagged) / len(neg.y) + 1e-12), 4
        ),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--captures", type=Path, default=ROOT.parent / "shared/captures")
    parser.add_argument("--write", action="store_true", help="store the model trained on everything")
    parser.add_argument("--out", type=Path, default=MODEL_PATH, help="where --write stores it")
    args = parser.parse_args()
    missing = [n for n in (*POSITIVE_CAPTURES, *HARD_NEGATIVE_CAPTURES) if not (args.captures / n).is_file()]
    if missing:
        parser.error(f"--captures {args.captures}: not the shared captures folder (no {missing[0]})")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        pos = _derived(args.captures, POSITIVE_CAPTURES, True, 1, work)
        hard = _derived(args.captures, HARD_NEGATIVE_CAPTURES, False, 0, work)
    neg = _negatives(args.captures) + hard
    report = evaluate(pos, neg)
    print(json.dumps(report, indent=1))
    model = fit(
        pos + neg, {"evaluation": report, "threshold": THRESHOLD, "command": "scripts/train_behaviour.py"}
    )
    print(json.dumps(dict(zip(FEATURES, model.weights, strict=True)), indent=1))
    if args.write:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(model.to_json(), indent=1) + "\n")
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
