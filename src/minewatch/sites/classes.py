"""The kinds of site `minewatch sites check` tells apart."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["SiteClass"]


class SiteClass(StrEnum):
    EXCHANGE = "exchange"
    OTC = "otc"  # over-the-counter and peer-to-peer trading
    POOL = "pool"
    CLOUD_MINING = "cloud-mining"  # hashrate rental and hosted mining contracts
    WEB_MINER = "web-miner"
    WALLET = "wallet"
    PROMOTION = "promotion"  # ICO, token sale, airdrop
    UNRELATED = "unrelated"
