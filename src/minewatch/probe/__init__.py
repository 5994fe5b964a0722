"""Active confirmation: connect to a suspected pool, speak the mining protocols (Stratum V1
subscribe, XMRig login, EthereumStratum/1.0.0 subscribe, Stratum V2 SetupConnection),
plain and over TLS, and classify the answer. Opt-in (`minewatch probe`, `--confirm`),
within a policy (exclusions; private ranges only when asked), limits (per target and in
total) and a cache of results with their time.

One job per module: `greetings` (what is sent), `classify` (what the answer means),
`client` (one bounded connection), `policy`, `limits`, `cache`, `prober` (the plan per
target), `confirm` (findings), `result` (the values).
"""

from minewatch.probe.cache import CACHE_FILE, ProbeCache
from minewatch.probe.client import Bounds
from minewatch.probe.confirm import Confirmation, Confirmer, Rejection
from minewatch.probe.limits import LimitSettings
from minewatch.probe.policy import Policy, parse_exclusions
from minewatch.probe.prober import Prober
from minewatch.probe.result import Certificate, Dialect, ProbeResult, Target, Transport, Verdict

__all__ = [
    "CACHE_FILE",
    "Bounds",
    "Certificate",
    "Confirmation",
    "Confirmer",
    "Dialect",
    "LimitSettings",
    "Policy",
    "ProbeCache",
    "ProbeResult",
    "Prober",
    "Rejection",
    "Target",
    "Transport",
    "Verdict",
    "parse_exclusions",
]
