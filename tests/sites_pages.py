"""Generated web pages for `minewatch sites check`: each class in English and Chinese, and
hard negatives (Bitcoin news, a bank, a blockchain research lab, a GPU shop, a price
tracker), from templates and varied vocabulary. Two seeds make two sets: TUNING (the
weights in sites/data were adjusted looking at these only) and HELD_OUT (never looked at
while tuning; bench/sites.py reports its confusion matrix).

    python -m tests.sites_pages OUT_DIR [--set held-out]   writes the pages as files
"""

from __future__ import annotations

import random
import sys
from dataclasses import dataclass
from pathlib import Path

import base58
import bech32
from Crypto.Hash import keccak

TUNING_SEED, HELD_OUT_SEED = 18_2, 18_9
TUNING_PER_KIND, HELD_OUT_PER_KIND = 5, 9


@dataclass(frozen=True)
class GenPage:
    name: str  # path on the test server, e.g. /exchange-zh-3.html
    expected: str  # the SiteClass value
    kind: str  # the template family (a class, or a hard negative's name)
    lang: str
    html: str


# --- valid wallet addresses -------------------------------------------------------------


def btc_address(rng: random.Random) -> str:
    return base58.b58encode_check(bytes([rng.choice((0, 5))]) + rng.randbytes(20)).decode()


def bech32_address(rng: random.Random) -> str:
    return str(bech32.encode("bc", 0, list(rng.randbytes(20))))


def eth_address(rng: random.Random) -> str:
    body = rng.randbytes(20).hex()
    digest = keccak.new(digest_bits=256, data=body.encode()).hexdigest()
    return "0x" + "".join(c.upper() if int(h, 16) >= 8 else c for c, h in zip(body, digest[:40], strict=True))


def xmr_address(rng: random.Random) -> str:
    raw = bytes([18]) + rng.randbytes(64)
    raw += keccak.new(digest_bits=256, data=raw).digest()[:4]
    sizes = {8: 11, 5: 7}
    out = []
    for start in range(0, len(raw), 8):
        block = raw[start : start + 8]
        value, chars = int.from_bytes(block), []
        for _ in range(sizes[len(block)]):
            value, digit = divmod(value, 58)
            chars.append(base58.BITCOIN_ALPHABET[digit : digit + 1].decode())
        out.append("".join(reversed(chars)))
    return "".join(out)


# --- vocabulary ------------------------------------------------------------------------

COINS = ["BTC", "ETH", "LTC", "XMR", "DOGE", "SOL", "TRX", "BCH"]
BRANDS = ["Nova", "Apex", "Orion", "Zenith", "Helix", "Vertex", "Lumen", "Atlas", "Quark", "Polar"]
BRANDS_ZH = ["火星", "星链", "金牛", "天枢", "云图", "北辰", "鲸鱼", "飞鹰", "红杉", "极光"]
POOL_HOSTS = ["stratum.{b}pool.net", "eu1.{b}mine.io", "asia.{b}hash.com", "pool.{b}.org"]
PORTS = [3333, 4444, 5555, 14444, 9999]

SENTENCES: dict[tuple[str, str], list[str]] = {
    ("exchange", "en"): [
        "Spot trading on {n} markets with low maker fee and taker fee.",
        "Open the order book for {c}/USDT and place a limit order or a market order.",
        "Deposit {c} in minutes; withdrawal is processed 24/7.",
        "Margin trading up to 10x and perpetual futures on {c}.",
        "Candlestick charts, depth and open orders on one screen.",
        "Buy BTC and sell BTC instantly; trading fees from 0.1%.",
    ],
    ("exchange", "zh"): [
        "币币交易支持{c}/USDT等{n}个交易对。",
        "盘口深度实时更新，支持限价单和市价单。",
        "充币即时到账，提币24小时处理。",
        "永续合约与杠杆交易，最高10倍。",
        "当前委托与历史委托一目了然，K线图多周期切换。",
        "全球领先的数字资产交易所，手续费低至0.1%。",
    ],
    ("otc", "en"): [
        "P2P trading: buy USDT from verified merchants with bank transfer.",
        "Pay with Alipay or WeChat Pay; coins are held in escrow until you confirm.",
        "Peer-to-peer {c} market with {n} merchant ads online.",
        "OTC desk for large orders above 100,000 USDT.",
        "Zero-fee P2P trading, release after payment.",
    ],
    ("otc", "zh"): [
        "法币交易：向认证商家购买USDT，支持银行卡、支付宝、微信支付。",
        "C2C场外交易，平台担保，放币后完成。",
        "承兑商{n}家在线，大额场外交易专人服务。",
        "一键买币，收款方式支持支付宝。",
        "商家保证金制度，安全快速。",
    ],
    ("pool", "en"): [
        "Connect your miner: stratum+tcp://{h}:{p}",
        "PPLNS and FPPS payout schemes, pool fee 1%.",
        "{n} miners online, pool hashrate 1.2 EH/s, blocks found today: 3.",
        "Set your worker name as wallet.worker; minimum payout 0.005 {c}.",
        "Mining pool for {c} with servers in Asia and Europe: {h}:{p}",
    ],
    ("pool", "zh"): [
        "矿机配置：stratum+tcp://{h}:{p}，矿工名为子账户.矿工编号。",
        "矿池费率1%，支持PPS+和FPPS结算。",
        "当前算力1.2 EH/s，在线矿工{n}台。",
        "{c}挖矿收益每日结算，支持子账户管理。",
        "全球节点：{h}:{p}",
    ],
    ("cloud-mining", "en"): [
        "Cloud mining made easy: rent hashrate from our farm.",
        "Hashrate rental from 10 TH/s, mining contract for 180 days.",
        "Daily return credited to your balance, no hardware needed.",
        "Buy a {c} cloud mining plan, start earning today.",
        "Our mining contract pays out every 24 hours.",
    ],
    ("cloud-mining", "zh"): [
        "云算力租赁，无需矿机，日收益自动到账。",
        "算力合约180天，购买即挖，静态收益稳定。",
        "矿机托管服务，电费低至0.3元。",
        "云挖矿平台，{c}算力随买随挖。",
        "购买算力合约，享受每日收益。",
    ],
    ("web-miner", "en"): [
        "Monetize your traffic with browser mining instead of ads.",
        "Our javascript miner lets visitors mine Monero while they read.",
        "Paste your site key below and mine Monero in the browser.",
        "Browser mining with adjustable throttle.",
    ],
    ("web-miner", "zh"): [
        "网页挖矿：用访客的浏览器挖矿代替广告。",
        "浏览器挖矿脚本，一行代码接入。",
        "站长工具：浏览器挖矿，收益按日结算。",
    ],
    ("wallet", "en"): [
        "A non-custodial multi-chain wallet for {c} and tokens.",
        "Write down your seed phrase; we never see your private key.",
        "Self-custody made simple: back up the recovery phrase offline.",
        "Pair with a hardware wallet for cold storage.",
        "Receive {c} at your address: {a}",
    ],
    ("wallet", "zh"): [
        "去中心化钱包，支持多链资产管理。",
        "请抄写助记词，私钥只保存在您的设备上。",
        "冷钱包离线签名，安全存储{c}。",
        "多链钱包，一键转账。",
        "收款地址：{a}",
    ],
    ("promotion", "en"): [
        "Token sale is live: presale price 0.01 USDT, whitelist open.",
        "Join the airdrop and claim 500 {b} tokens.",
        "Read the whitepaper and tokenomics; 100x potential.",
        "ICO round two ends in 3 days, referral bonus 10%.",
        "Early presale buyers get a bonus airdrop.",
    ],
    ("promotion", "zh"): [
        "{b}币私募认购火热进行中，白皮书已发布。",
        "空投活动：注册即送500枚代币，邀请奖励10%。",
        "首次代币发行第二轮即将结束，百倍潜力。",
        "代币发行认购通道开启，名额有限。",
        "参与空投，领取{b}代币。",
    ],
    # Hard negatives: unrelated sites that talk about the same things.
    ("news", "en"): [
        "Bitcoin rose 5% on Tuesday, according to data from several exchanges, analysts said.",
        "The reporter visited a mining farm that closed after the 2021 ban.",
        "Regulators warned investors about airdrop scams and token sale fraud, according to the notice.",
        "Analysts expect hashrate to keep rising after the halving.",
        "Our reporter asked how a hardware wallet protects a private key.",
    ],
    ("news", "zh"): [
        "记者报道，比特币周二上涨5%，分析师称交易所成交量上升。",
        "据报道，多地清理整顿虚拟货币挖矿活动，矿机陆续关停。",
        "分析师提醒投资者警惕空投骗局和代币发行诈骗。",
        "记者走访了一家已关停的矿场。",
        "报道称，监管部门约谈了多家虚拟货币资讯平台。",
    ],
    ("bank", "en"): [
        "Open a savings account and earn 2.1% interest.",
        "Mortgage rates from 3.9%; apply online.",
        "Deposit cheques with the mobile app; withdrawal limits apply.",
        "Download our app from the App Store or Google Play.",
        "Our bank never asks for your password or private key by email.",
    ],
    ("bank", "zh"): [
        "储蓄存款利率上调，欢迎办理。",
        "个人住房贷款，线上申请快速审批。",
        "下载APP，随时查询账户与转账。",
        "银行卡挂失与补办，请携带身份证。",
        "警惕虚拟货币交易诈骗，保护好您的资金。",
    ],
    ("lab", "en"): [
        "The lab does research on consensus protocols and blockchain scalability.",
        "Publications: a study of mining pool centralisation and selfish mining.",
        "Our research covers wallet security, seed phrase usability and private key storage.",
        "We measure hashrate distribution across pools for our publications.",
        "PhD positions in research on cryptography are open.",
    ],
    ("lab", "zh"): [
        "本实验室从事区块链共识协议研究。",
        "论文：矿池中心化与自私挖矿的实证研究。",
        "研究方向包括钱包安全、助记词可用性与密码学。",
        "实验室招收博士研究生，方向为密码学研究。",
        "我们发表了关于算力分布的论文。",
    ],
    ("shop", "en"): [
        "RTX graphics card with 24 GB, free shipping. Add to cart.",
        "Graphics card bundle for gaming and rendering, add to cart today.",
        "Power supply 1200 W, free shipping over $99.",
        "Benchmarks: hashrate and gaming FPS of each graphics card.",
        "Reviews from {n} buyers; add to cart.",
    ],
    ("shop", "zh"): [
        "RTX显卡24GB，全国包邮，加入购物车。",
        "显卡整机套装，游戏渲染两相宜，加入购物车。",
        "电源1200W，满99元包邮。",
        "各型号显卡的算力与游戏帧数评测。",
        "{n}位买家好评，立即加入购物车。",
    ],
    ("tracker", "en"): [
        "{c}/USDT price today, market cap and 24h volume.",
        "Top {n} coins by market cap; candlestick chart for each.",
        "Live prices from the major exchanges; 24h volume ranking.",
        "Market cap of {c} passed $1 trillion, analysts said.",
        "Price chart: K-line, 1h/4h/1d.",
    ],
    ("tracker", "zh"): [
        "{c}/USDT实时行情，市值与24小时成交量。",
        "市值排名前{n}的币种，K线图一览。",
        "行情数据来自各大交易所。",
        "{c}市值突破万亿美元，分析师称。",
        "行情中心：K线、深度、市值。",
    ],
}

EXTRAS: dict[str, list[str]] = {
    "web-miner": [
        '<script src="https://coinhive.com/lib/coinhive.min.js"></script>'
        "<script>var m = new CoinHive.Anonymous('{k}'); m.start();</script>",
        '<script src="/js/cryptoloot.min.js"></script><script>var m=new CRLT.Anonymous("{k}");</script>',
        "<script src=\"https://www.webminepool.com/lib/base.js\"></script><script>WMP.Anonymous('{k}')</script>",
        '<script>var miner = new Client.Anonymous("{k}"); miner.setThrottle(0.2);</script>',
    ],
    "exchange": ['<a href="https://example.test/app/{b}.apk">Android APK</a>', ""],
    "wallet": ['<a href="https://apps.apple.com/app/id{n}">App Store</a>', ""],
    "bank": ['<a href="https://play.google.com/store/apps/details?id=com.bank.app">Google Play</a>'],
}
HARD_NEGATIVES = ("news", "bank", "lab", "shop", "tracker")
FILLER = {
    "en": ["Contact us.", "Terms of service.", "Privacy policy.", "Help centre.", "About us."],
    "zh": ["联系我们。", "服务条款。", "隐私政策。", "帮助中心。", "关于我们。"],
}


def _fill(text: str, rng: random.Random, lang: str) -> str:
    brand = rng.choice(BRANDS_ZH if lang == "zh" else BRANDS)
    host = rng.choice(POOL_HOSTS).format(b=rng.choice(BRANDS).lower())
    address = rng.choice([btc_address, bech32_address, eth_address, xmr_address])(rng)
    return text.format(
        c=rng.choice(COINS),
        n=rng.randint(20, 900),
        h=host,
        p=rng.choice(PORTS),
        b=brand,
        a=address,
        k=rng.randbytes(16).hex(),
    )


def page(kind: str, lang: str, index: int, rng: random.Random) -> GenPage:
    """One page of `kind` (a class or a hard negative) in `lang`."""
    pool = SENTENCES[(kind, lang)]
    chosen = rng.sample(pool, k=min(len(pool), rng.randint(2, 4)))
    body = [_fill(s, rng, lang) for s in chosen] + rng.sample(FILLER[lang], 2)
    rng.shuffle(body)
    extra = _fill(rng.choice(EXTRAS[kind]), rng, lang) if kind in EXTRAS else ""
    title = _fill("{b}", rng, lang)
    paragraphs = "\n".join(f"<p>{s}</p>" for s in body)
    html = (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title></head>'
        f"<body><nav><a href='/'>{title}</a></nav>\n{paragraphs}\n{extra}</body></html>"
    )
    expected = "unrelated" if kind in HARD_NEGATIVES else kind
    return GenPage(f"/{kind}-{lang}-{index}.html", expected, kind, lang, html)


def pages(seed: int, per_kind: int) -> list[GenPage]:
    """`per_kind` pages of every (kind, language), from `seed`."""
    rng = random.Random(seed)
    kinds = sorted({k for k, _ in SENTENCES})
    return [page(k, lang, i, rng) for k in kinds for lang in ("en", "zh") for i in range(per_kind)]


def tuning() -> list[GenPage]:
    return pages(TUNING_SEED, TUNING_PER_KIND)


def held_out() -> list[GenPage]:
    return pages(HELD_OUT_SEED, HELD_OUT_PER_KIND)


if __name__ == "__main__":
    out = Path(sys.argv[1])
    chosen = held_out() if "--set" in sys.argv and sys.argv[-1] == "held-out" else tuning()
    out.mkdir(parents=True, exist_ok=True)
    for p in chosen:
        (out / p.name.lstrip("/")).write_text(p.html, encoding="utf-8")
    print(f"{len(chosen)} pages in {out}")
