"""The regional bulletin: the figures of report/figures.py over the store's mining
episodes and their attribution, with the method notes a reader needs to trust them, in
the reader's language, and the change against the period of the same length before."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import UTC, datetime, tzinfo

from minewatch.model.findings import Finding
from minewatch.report.figures import AlgorithmFigure, Count, Figures, change, compute, in_region

__all__ = ["NOTES", "AlgorithmFigure", "Bulletin", "Count", "in_region", "make_bulletin"]

# The bulletin is the figures with their period, place and notes.
Bulletin = Figures

NOTES = {
    "en": (
        "Mining hosts are distinct addresses with a mining finding in the period; a host seen in many "
        "windows (a collector writes one a minute, an import one a file) is merged into one episode and "
        "counts once, its bytes once.",
        "Traffic while mining adds each host's bytes over the time from its first to its last sight: the "
        "rate of the miners at work. Traffic over the period spreads the same bytes over the whole period. "
        "Flow exports that sample packets under-count both.",
        "Hashrate is measured only where a pool accepted shares on a readable session, from all the shares "
        "of the host's windows together; totals add the hosts' estimates per algorithm and never across "
        "algorithms, with a joint 95% interval. Hosts found only by intel, timing or flow counters have no "
        "hashrate.",
        "Energy assumes each host mines all day at its observed rate (machine power only); bounds add the "
        "hosts' bounds. Energy and CO2 bounds pair the low hashrate with the most efficient hardware and "
        "the high one with the least efficient; CO2 uses the grid factor in each finding.",
        "Owner, sector and place come from the address-space inventory, else from the ASN and RIR sources "
        "supplied; 'likely compromised' marks miners on government, education, healthcare and enterprise "
        "machines, which have no business mining.",
    ),
    "zh": (
        "挖矿主机数为时段内有挖矿发现的不同地址数；同一主机在多个时间窗内的发现（采集器每分钟一条、导入每个文件一条）"
        "合并为一个事件，只计一次，字节也只计一次。",
        "挖矿时流量为各主机字节数除以其首次到末次被观测的时长之和，即挖矿主机工作时的速率；时段平均流量为同样的字节数"
        "除以整个时段。对报文抽样的流记录会低估两者。",
        "算力只在矿池接受份额且会话可读时，由主机各时间窗的全部份额合并测得；总数按算法分别相加，不跨算法相加，"
        "并给出联合95%区间。仅由情报、时序或流计数发现的主机没有算力数据。",
        "耗电按各主机以观测到的算力全天挖矿计算（仅矿机功率），区间为各主机区间之和。耗电与二氧化碳的区间把算力下限配最节能的设备、上限配最耗能的设备；二氧化碳按各发现中的电网排放因子计算。",
        "归属单位、行业和地区来自地址资产清单，清单未覆盖时来自所提供的ASN与RIR数据；“疑似被入侵”指政府、教育、"
        "医疗和企业机器上的挖矿，这些机器本不应挖矿。",
    ),
}


def make_bulletin(
    episodes: Iterable[Finding],
    since: datetime | None = None,
    until: datetime | None = None,
    region: str | None = None,
    lang: str = "en",
    tz: tzinfo = UTC,
    previous: Iterable[Finding] | None = None,
) -> Bulletin:
    """The bulletin over host episodes (with their attribution); `region` keeps only hosts
    whose place path mentions it (e.g. 江苏 or 江苏省); `previous` are the episodes of the
    period of the same length before, for the comparison."""
    episodes = list(episodes)
    figures = compute(episodes, since, until, region, tz)
    notes = list(NOTES[lang])
    if figures.attributed < figures.mining_hosts:
        missing = figures.mining_hosts - figures.attributed
        notes.append(
            f"{missing} of {figures.mining_hosts} mining hosts could not be attributed."
            if lang == "en"
            else f"{figures.mining_hosts}个挖矿主机中有{missing}个无法确定归属。"
        )
    before = None
    if previous is not None and since is not None and until is not None:
        before = change(compute(previous, since - (until - since), since, region, tz))
    return dataclasses.replace(figures, notes=tuple(notes), previous=before)
