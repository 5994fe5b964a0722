# ruff: noqa: E501  (page text: long literal lines are the data)
"""Blind corpus hard negatives, part one: pages that talk about crypto, mining, deposits or
wallets without being any of the seven classes (news, a bank, a research lab, a GPU shop,
a price tracker, a forum thread, a cryptography course)."""

from __future__ import annotations

import random

from tests.sites_blind_exchange import COINS
from tests.sites_blind_kit import Builder, Draft, btc_address, paragraphs, pick, some, table, txid

__all__ = ["KINDS"]


def news(rng: random.Random, lang: str) -> Draft:
    zh = lang == "zh"
    brand = rng.choice(("The Ledger Times", "CoinWire Daily", "Block Report", "链闻", "财经快讯", "区块周刊"))
    en = (
        f"Bitcoin rose {rng.uniform(1, 9):.1f}% on Tuesday as spot ETF inflows reached ${rng.randrange(100, 900)} million, the largest since March.",
        "The network hashrate hit a record after the halving cut the block reward to 3.125 BTC, squeezing miners with older machines.",
        "Analysts at a major bank said mining pools in Texas curtailed power during the heat wave, earning demand-response credits.",
        "Regulators said exchanges must segregate customer deposits and publish audited reserves.",
        "Publicly listed miners sold more of their production in the quarter to fund new data centres for AI workloads.",
        "Crypto-related hacks cost users $1.4 billion in the first half of the year, a blockchain analytics firm said.",
        "The Federal Reserve held rates steady; risk assets including Bitcoin traded sideways.",
        "Ethereum developers scheduled the next upgrade for the first quarter, pending testnet results.",
    )
    zh_t = (
        f"周二比特币上涨{rng.uniform(1, 9):.1f}%，现货ETF单日净流入{rng.randrange(1, 9)}亿美元，创三月以来新高。",
        "减半后区块奖励降至3.125枚，全网算力却创出新高，老旧矿机收益承压。",
        "分析人士指出，得州多家矿场在高温期间主动限电，获得电网需求响应补偿。",
        "监管机构要求交易平台隔离客户资产，并定期公布经审计的储备证明。",
        "多家上市矿企本季度出售更多比特币，用于建设面向人工智能的数据中心。",
        "区块链安全公司统计，上半年加密领域黑客攻击造成损失约14亿美元。",
        "美联储维持利率不变，比特币等风险资产窄幅震荡。",
        "以太坊开发者将下一次升级定于明年一季度。",
    )
    byline = f"<p class='byline'>{'记者' if zh else 'By'} {rng.choice(('Sarah Lin', 'Tom Becker', '王晓', '李明'))} · 2025-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}</p>"
    title = "比特币走高，ETF资金持续流入" if zh else "Bitcoin climbs as ETF inflows accelerate"
    related = (
        "<aside><h3>"
        + ("相关阅读" if zh else "Related")
        + "</h3><ul>"
        + "".join(
            f"<li><a href='/n/{i}'>{t[:30]}…</a></li>" for i, t in enumerate(some(rng, zh_t if zh else en, 3))
        )
        + "</ul></aside>"
    )
    ad = "<div class='ad'>Advertisement</div>" if rng.random() < 0.5 else ""
    return Draft(
        brand,
        f"{title} | {brand}",
        title,
        ("快讯", "行情", "深度", "政策", "专栏")
        if zh
        else ("Markets", "Policy", "Tech", "Opinion", "Podcasts"),
        (
            f"<article><h1>{title}</h1>{byline}"
            + paragraphs(rng, zh_t if zh else en, rng.randrange(5, 9), lang)
            + "</article>",
            ad,
            related,
        ),
        socials=("X", "LinkedIn", "RSS"),
    )


def bank(rng: random.Random, lang: str) -> Draft:
    zh = lang == "zh"
    brand = rng.choice(
        (
            "Harbor National Bank",
            "First Union Savings",
            "Crestview Bank",
            "兴华银行",
            "长江农商银行",
            "平和银行",
        )
    )
    en = (
        "Open a checking account online in 10 minutes. No monthly fee with a $500 direct deposit.",
        "Savings accounts: 4.10% APY on balances over $10,000.",
        "Send money with Zelle, pay bills and deposit checks from the mobile app.",
        "Foreign exchange: order euros, pounds and yen for delivery or branch pickup at today's exchange rate.",
        "Withdraw cash fee-free at 40,000 ATMs nationwide.",
        "Deposits are FDIC-insured up to $250,000 per depositor.",
        "Mortgage rates today: 30-year fixed 6.49% APR.",
        "Beware of scams: we will never ask for your PIN or one-time passcode.",
    )
    zh_t = (
        "个人存款：整存整取三年期年利率1.75%。",
        "外汇牌价：美元、欧元、日元现汇买入价、卖出价实时更新。",
        "手机银行转账汇款免手续费，支持跨行实时到账。",
        "大额存单20万元起存，利率优惠。",
        "全国ATM取现，本行卡免费。",
        "存款保险保障，最高偿付限额50万元。",
        "个人住房贷款、消费贷款在线申请。",
        "防范电信诈骗：银行工作人员不会索要您的验证码和密码。",
    )
    rates = table(
        ("币种", "现汇买入价", "现汇卖出价") if zh else ("Currency", "We buy", "We sell"),
        [
            (c, f"{r * 0.99:.4f}", f"{r * 1.01:.4f}")
            for c, r in (
                ("USD", 7.19 if zh else 1.0),
                ("EUR", 7.81 if zh else 1.08),
                ("JPY", 0.048 if zh else 0.0066),
                ("HKD", 0.92 if zh else 0.128),
            )
        ],
        "fx",
    )
    app = (
        "<p>下载手机银行APP：<a href='/app.apk'>安卓</a> <a href='https://apps.apple.com/app/id1'>iPhone</a></p>"
        if zh
        else "<p>Get the app: <a href='https://apps.apple.com/app/id1'>App Store</a> <a href='https://play.google.com/store/apps/details?id=com.bank'>Google Play</a></p>"
    )
    return Draft(
        brand,
        brand + (" - 个人银行" if zh else " | Personal Banking"),
        en[0] if not zh else zh_t[0],
        ("个人业务", "公司业务", "信用卡", "理财", "网点查询")
        if zh
        else ("Checking", "Savings", "Credit Cards", "Mortgages", "Locations"),
        (f"<h1>{brand}</h1>", paragraphs(rng, zh_t if zh else en, 5, lang), rates, app),
    )


def lab(rng: random.Random, lang: str) -> Draft:
    zh = lang == "zh"
    brand = rng.choice(
        (
            "Distributed Ledger Systems Lab",
            "Cryptoeconomics Research Group",
            "区块链与隐私计算实验室",
            "可信计算研究中心",
        )
    )
    en = (
        "We study consensus protocols, from proof-of-work and Nakamoto consensus to BFT protocols with asynchronous safety.",
        "Recent work: an empirical measurement of mining pool centralisation and selfish-mining detection from block timestamps.",
        "Our group builds zero-knowledge proof systems for private smart contracts.",
        "We are hiring two PhD students and a postdoc (funded, start in September).",
        "Paper accepted at IEEE S&P: “Front-running on decentralised exchanges: a measurement study”.",
        "Seminar on Thursdays 14:00 in Room 3.21; all welcome.",
        "The lab is funded by the national science foundation and an industry consortium.",
    )
    zh_t = (
        "实验室研究方向包括共识协议（工作量证明、权益证明、拜占庭容错）、密码学与隐私计算。",
        "近期工作：矿池集中度的实证测量，以及基于区块时间戳的自私挖矿检测。",
        "我们研发面向隐私智能合约的零知识证明系统。",
        "招收博士研究生2名、博士后1名，欢迎联系。",
        "论文被CCS录用：《去中心化交易所抢跑交易测量研究》。",
        "每周四下午两点在信息楼321举办组会。",
        "实验室承担国家重点研发计划“区块链”重点专项。",
    )
    pubs = (
        "<ol class='pubs'>"
        + "".join(
            f"<li>{p} ({y})</li>"
            for p, y in zip(
                some(
                    rng,
                    (
                        "On the Security of Proof-of-Stake Longest-Chain Protocols",
                        "Measuring Miner Extractable Value",
                        "Stratum Protocol Hijacking Revisited",
                        "Fair Ordering for Layer-2 Rollups",
                        "A Survey of Blockchain Sharding",
                        "Privacy of Light Clients",
                    ),
                    4,
                ),
                (2021, 2022, 2023, 2024),
                strict=False,
            )
        )
        + "</ol>"
    )
    return Draft(
        brand,
        brand,
        en[0],
        ("成员", "论文", "项目", "招生") if zh else ("People", "Publications", "Projects", "Join us"),
        (
            f"<h1>{brand}</h1>",
            paragraphs(rng, zh_t if zh else en, 5, lang),
            "<h2>" + ("代表性论文" if zh else "Selected publications") + "</h2>" + pubs,
        ),
    )


def gpu_shop(rng: random.Random, lang: str) -> Draft:
    zh = lang == "zh"
    brand = rng.choice(("PixelForge PC", "GPU Depot", "NeoComputer", "京选电脑", "极客装机", "硬件之家"))
    cards = (
        ("GeForce RTX 4090 24GB", 1799),
        ("GeForce RTX 4070 SUPER 12GB", 599),
        ("Radeon RX 7900 XTX 24GB", 949),
        ("Radeon RX 7600 8GB", 269),
        ("GeForce RTX 4060 Ti 16GB", 449),
        ("Intel Arc A770 16GB", 289),
    )
    rows = [
        (
            n,
            f"{'¥' if zh else '$'}{p * (7 if zh else 1) * rng.uniform(0.95, 1.05):,.0f}",
            pick(rng, ("有货", "预订", "缺货") if zh else ("In stock", "Pre-order", "Sold out")),
            "<button>" + ("加入购物车" if zh else "Add to cart") + "</button>",
        )
        for n, p in some(rng, cards, rng.randrange(4, 7))
    ]
    en = (
        "Free shipping on orders over $99. 30-day returns.",
        "All cards are brand new, retail boxed, with full manufacturer warranty — no ex-mining or refurbished stock.",
        "Benchmarks: 4K gaming at 120 fps in most titles with DLSS 3.",
        "Need help choosing a power supply? Use our PSU calculator.",
        "Build your own PC with our configurator.",
        "Students save 5% with a valid .edu email.",
    )
    zh_t = (
        "满299元包邮，七天无理由退换。",
        "全新正品行货，全国联保，非矿卡、非翻新。",
        "4K游戏实测：开启DLSS 3平均帧率120帧以上。",
        "不知道选多大电源？试试电源功率计算器。",
        "DIY装机配置单，整机三年质保。",
        "以旧换新：旧显卡可抵扣。",
    )
    return Draft(
        brand,
        ("显卡 - " if zh else "Graphics cards - ") + brand,
        "Buy graphics cards" if not zh else "显卡专卖",
        ("显卡", "CPU", "主板", "电源", "整机")
        if zh
        else ("Graphics Cards", "CPUs", "Motherboards", "Power Supplies", "Prebuilt"),
        (
            f"<h1>{'显卡' if zh else 'Graphics Cards'}</h1>",
            table(
                ("商品", "价格", "库存", "") if zh else ("Product", "Price", "Availability", ""),
                rows,
                "products",
            ),
            paragraphs(rng, zh_t if zh else en, 4, lang),
        ),
        ('<script src="/js/cart.js"></script>',),
    )


def _usd(x: float) -> str:
    return f"${x:,.2f}" if x >= 1 else f"${x:.4g}"


def tracker(rng: random.Random, lang: str) -> Draft:
    zh = lang == "zh"
    brand = rng.choice(("CoinMetricsView", "CryptoRank Pro", "币价网", "非小号行情", "MarketPulse"))
    rows = [
        (
            str(i + 1),
            f"{n} ({c})",
            _usd(p * rng.uniform(0.97, 1.03)),
            f"{rng.uniform(-8, 8):+.2f}%",
            f"${rng.uniform(1, 1300):.1f}B",
            f"${rng.uniform(0.1, 40):.1f}B",
        )
        for i, (c, n, p) in enumerate(some(rng, COINS, rng.randrange(7, 12)))
    ]
    head = (
        ("#", "名称", "价格", "24h涨跌", "市值", "24h成交额")
        if zh
        else ("#", "Name", "Price", "24h %", "Market Cap", "Volume(24h)")
    )
    en = (
        "Prices are volume-weighted averages across 300 exchanges. We do not offer trading.",
        "Add coins to your watchlist to follow them.",
        "Global crypto market cap: $2.4T. BTC dominance: 54.1%.",
        "Data via public APIs; delayed up to 60 seconds.",
        "The Fear & Greed Index reads 63 (Greed).",
    )
    zh_t = (
        "价格为全球300家交易平台成交量加权均价，本站不提供交易服务。",
        "添加自选，随时关注。",
        "全球加密货币总市值2.4万亿美元，比特币市值占比54.1%。",
        "数据来自公开接口，最多延迟60秒。",
        "恐慌与贪婪指数：63（贪婪）。",
    )
    return Draft(
        brand,
        brand + (" - 加密货币行情" if zh else " - Cryptocurrency prices"),
        en[0] if not zh else zh_t[0],
        ("行情", "交易所排行", "新闻", "自选")
        if zh
        else ("Cryptocurrencies", "Exchanges", "News", "Watchlist"),
        (
            f"<h1>{'今日加密货币价格' if zh else 'Today’s Cryptocurrency Prices'}</h1>",
            table(head, rows, "coins"),
            paragraphs(rng, zh_t if zh else en, 3, lang),
        ),
    )


def forum(rng: random.Random, lang: str) -> Draft:
    zh = lang == "zh"
    brand = rng.choice(
        (
            "HardwareTalk Forums",
            "r/personalfinance mirror",
            "TechSupport Community",
            "数码之家论坛",
            "百度贴吧·显卡吧",
            "矿渣社区",
        )
    )
    posts_en = (
        "My electricity bill doubled this month and I found my son's PC running something called xmrig at 100% CPU. How do I remove it?",
        "Is it worth buying a used RX 580 from a mining farm for gaming? The fans look worn.",
        "Reply: Check Task Manager for high CPU when idle, run an antivirus scan, and change your passwords.",
        "Reply: Ex-mining cards are usually fine if the thermal paste is replaced.",
        "I lost money to a 'cloud mining' site that stopped paying after two weeks. Is there any way to get it back?",
        "Reply: Report it to the police and your bank. Those sites are Ponzi schemes.",
        "Mod note: no referral links, no selling hashrate or coins in this subforum.",
    )
    posts_zh = (
        "这个月电费翻倍了，发现孩子电脑上有个xmrig进程CPU占用100%，怎么彻底删除？",
        "二手矿卡RX 580买来打游戏靠谱吗？风扇看起来磨损挺严重。",
        "回复：闲置时看任务管理器CPU占用，全盘杀毒，然后改密码。",
        "回复：矿卡换个硅脂一般还能用，注意显存温度。",
        "被一个“云算力”网站骗了，两周后就不返钱了，还能追回吗？",
        "回复：赶紧报警，这种都是资金盘。",
        "版主提醒：本版禁止发布推广链接、买卖算力和币。",
    )
    posts = some(rng, posts_zh if zh else posts_en, rng.randrange(4, 7))
    body = "".join(
        f"<div class='post'><div class='author'>{pick(rng, ('gpu_guy', 'lin99', 'Neo', '老张', 'kk'))} · {rng.randrange(1, 50)} {'楼' if zh else 'posts'}</div><p>{p}</p></div>"
        for p in posts
    )
    title = posts[0][:40]
    return Draft(
        brand,
        f"{title}… - {brand}",
        title,
        ("首页", "版块", "搜索", "发帖") if zh else ("Forums", "What's new", "Search", "Post thread"),
        (f"<h1>{title}</h1>", body),
    )


def course(rng: random.Random, lang: str) -> Draft:
    zh = lang == "zh"
    code = rng.choice(("CS 255", "COMP 6441", "6.5610", "CS 161", "信息安全导论", "密码学原理"))
    en = (
        "Topics: block ciphers, hash functions (SHA-256, SHA-3), MACs, public-key encryption (RSA, ElGamal), digital signatures, elliptic curves.",
        "Week 9 covers proof-of-work puzzles, Merkle trees and how Bitcoin uses them; Week 10 covers zero-knowledge proofs.",
        "Homework 3: implement a birthday attack on a truncated hash and report the number of hash evaluations.",
        "Prerequisites: discrete mathematics and probability. Grading: 40% homework, 20% midterm, 40% final.",
        "Office hours: Tuesday 3-5pm, Gates 4B. Textbook: Boneh & Shoup, A Graduate Course in Applied Cryptography.",
        "Academic integrity: you may discuss problems but must write your own solutions.",
    )
    zh_t = (
        "课程内容：分组密码、哈希函数（SHA-256、SM3）、消息认证码、公钥密码（RSA、SM2）、数字签名、椭圆曲线。",
        "第9周讲解工作量证明、默克尔树及其在比特币中的应用；第10周讲零知识证明。",
        "作业三：对截断哈希实现生日攻击，统计哈希计算次数。",
        "先修课程：离散数学、概率论。成绩构成：作业40%，期中20%，期末40%。",
        "答疑时间：周二下午3-5点，理科楼B座402。",
        "学术诚信：可讨论但须独立完成作业。",
    )
    sched = table(
        ("周次", "内容") if zh else ("Week", "Topic"),
        [
            (str(i + 1), t)
            for i, t in enumerate(
                (
                    "Intro",
                    "Stream ciphers",
                    "Block ciphers",
                    "Hash functions",
                    "MACs",
                    "RSA",
                    "Signatures",
                    "Elliptic curves",
                    "Blockchains & PoW",
                    "Zero knowledge",
                )
            )
        ],
    )
    return Draft(
        code,
        f"{code}: {'密码学' if zh else 'Cryptography'} ({'2025春' if zh else 'Spring 2025'})",
        en[0],
        ("课程信息", "日程", "作业", "资料") if zh else ("Info", "Schedule", "Homework", "Resources"),
        (
            f"<h1>{code}</h1>",
            paragraphs(rng, zh_t if zh else en, 5, lang),
            sched,
            f"<p>Example key (do not use): <code>{txid(rng)}</code> · test address {btc_address(rng)}</p>",
        ),
    )


KINDS: dict[str, Builder] = {
    "news": news,
    "bank": bank,
    "lab": lab,
    "gpu-shop": gpu_shop,
    "tracker": tracker,
    "forum": forum,
    "course": course,
}
