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
import json
import tempfile
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy import optimize, stats

from minewatch.detect.behaviour import FLOW, PACKET, BehaviourModel, EnvelopeModel, FeatureSet, Model
from minewatch.errors import CaptureReadError
from minewatch.scan import dissect_messages, messages_by_conn
from minewatch.sources.base import EngineOptions
from minewatch.sources.pcap import read_tables
from minewatch.synth.packets import write_pcap
from minewatch.synth.variants import AppMessage, TlsVariant, app_messages, tls_session

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


def _features(fs: FeatureSet, flows: pa.Table) -> tuple[np.ndarray, np.ndarray]:
    """Features of the flows the model judges, and whether each passes the set's gate."""
    if fs is FLOW:
        flows = _as_export(flows)
    judged = flows.filter(fs.eligible(flows))
    gate = np.ones(judged.num_rows, bool) if fs.gate is None else np.asarray(fs.gate(judged), bool)
    return fs.matrix(judged), gate


@dataclass
class Samples:
    x: np.ndarray
    y: np.ndarray
    group: list[str]
    gate: np.ndarray  # whether the detector would judge it at all (FeatureSet.gate)

    def where(self, keep: np.ndarray) -> Samples:
        groups = [g for g, k in zip(self.group, keep, strict=True) if k]
        return Samples(self.x[keep], self.y[keep], groups, self.gate[keep])

    def __add__(self, other: Samples) -> Samples:
        return Samples(
            np.vstack([self.x, other.x]),
            np.concatenate([self.y, other.y]),
            self.group + other.group,
            np.concatenate([self.gate, other.gate]),
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
    return _features(fs, flows)


def _derived(
    fs: FeatureSet, captures: Path, names: tuple[str, ...], only_mining: bool, label: int, work: Path
) -> Samples:
    xs, gates, groups = [], [], []
    for name in names:
        for conn, own, messages in _sessions(captures / name, only_mining):
            port = own["server_port"][0].as_py()
            x, gate = _variant_features(fs, messages, port, zlib.crc32(f"{name}#{conn}".encode()), work)
            if fs is FLOW:  # the session as an exporter sees it, besides its TLS variants
                x0, gate0 = _features(fs, own)
                x, gate = np.vstack([x0, x]), np.concatenate([gate0, gate])
            xs.append(x)
            gates.append(gate)
            groups += [f"{name}#{conn}"] * len(x)
    x = np.vstack(xs) if xs else np.zeros((0, len(fs.features)))
    gate = np.concatenate(gates) if gates else np.zeros(0, bool)
    return Samples(x, np.full(len(x), label), groups, gate)


def _negatives(fs: FeatureSet, captures: Path) -> Samples:
    xs, gates, groups = [], [], []
    for d in NEGATIVE_DIRS:
        for path in sorted((captures / d).glob("*.pcap*")):
            if path.name in NOT_NEGATIVE or f"{d}/{path.name}" in POSITIVE_CAPTURES:
                continue
            try:
                flows, _, _ = read_tables(path, ENGINE)
            except CaptureReadError:  # a corrupt public capture is skipped, as scan reports it
                continue
            x, gate = _features(fs, flows)
            xs.append(x)
            gates.append(gate)
            groups += [f"{d}/{path.name}"] * len(x)
    x = np.vstack(xs)
    return Samples(x, np.zeros(len(x)), groups, np.concatenate(gates))


def _weights(s: Samples) -> np.ndarray:
    """Each mining session weighs the same, and all positives weigh as all negatives."""
    pos = s.y == 1
    per_session = Counter(g for g, p in zip(s.group, pos, strict=True) if p)
    w = np.array([1.0 / per_session[g] if p else 1.0 for g, p in zip(s.group, pos, strict=True)])
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
    # little) and rounded outwards.
    return EnvelopeModel(
        fs.features,
        tuple(np.floor((pos.min(axis=0) - ENVELOPE_MARGIN) * 1e6) / 1e6),
        tuple(np.ceil((pos.max(axis=0) + ENVELOPE_MARGIN) * 1e6) / 1e6),
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
    return BehaviourModel(
        fs.features,
        tuple(mean.round(6)),
        tuple(scale.round(6)),
        tuple(result.x[1:].round(6)),
        round(float(result.x[0]), 6),
        fs.threshold,
        training or {},
    )


def _upper95(k: int, n: int) -> float:
    """Clopper-Pearson one-sided 95% upper bound on a rate seen k times in n."""
    return 1.0 if n == 0 or k == n else float(stats.beta.ppf(0.95, k + 1, n - k))


def evaluate(fs: FeatureSet, pos: Samples, neg: Samples) -> dict[str, object]:
    """Held-out recall (leave one mining session out) and false positives (2-fold by
    capture file), with the model's threshold and gate."""
    recall_by: dict[str, tuple[int, int]] = {}
    for g in sorted(set(pos.group)):
        model = fit(fs, pos.where(np.array([x != g for x in pos.group])) + neg)
        held = pos.where(np.array([x == g for x in pos.group]))
        recall_by[g] = (int(((model.score(held.x) >= fs.threshold) & held.gate).sum()), len(held.y))
    fold = np.array([zlib.crc32(g.split("#")[0].encode()) % 2 for g in neg.group])
    flagged: list[str] = []
    ungated_fp = 0  # what the model alone would flag, without the gate
    for f in (0, 1):
        model = fit(fs, pos + neg.where(fold != f))
        test = neg.where(fold == f)
        scored = model.score(test.x) >= fs.threshold
        hits = scored & test.gate
        flagged += [g for g, h in zip(test.group, hits, strict=True) if h]
        ungated_fp += int(scored.sum())
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
        "false_positives_without_gate": ungated_fp,
        "precision_at_equal_counts": round(
            (detected / total) / ((detected / total) + len(flagged) / len(neg.y) + 1e-12), 4
        ),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kind", choices=sorted(KINDS), default="packet", help="which model")
    parser.add_argument("--captures", type=Path, default=ROOT.parent / "shared/captures")
    parser.add_argument("--write", action="store_true", help="store the model trained on everything")
    parser.add_argument("--out", type=Path, help="where --write stores it (default: the package's file)")
    args = parser.parse_args()
    fs = KINDS[args.kind]
    out = args.out or DATA / fs.model_file
    missing = [n for n in (*POSITIVE_CAPTURES, *HARD_NEGATIVE_CAPTURES) if not (args.captures / n).is_file()]
    if missing:
        parser.error(f"--captures {args.captures}: not the shared captures folder (no {missing[0]})")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        pos = _derived(fs, args.captures, POSITIVE_CAPTURES, True, 1, work)
        hard = _derived(fs, args.captures, HARD_NEGATIVE_CAPTURES, False, 0, work)
    neg = _negatives(fs, args.captures) + hard
    report = evaluate(fs, pos, neg)
    print(json.dumps(report, indent=1))
    command = "scripts/train_behaviour.py" + ("" if fs is PACKET else f" --kind {fs.name}")
    model = fit(fs, pos + neg, {"evaluation": report, "threshold": fs.threshold, "command": command})
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
