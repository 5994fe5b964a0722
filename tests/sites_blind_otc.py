# ruff: noqa: E501  (page text: long literal lines are the data)
"""Blind corpus pages of the OTC / peer-to-peer and promotion (ICO, presale, airdrop)
classes: four layouts each, in English and Chinese."""

from __future__ import annotations

import random

from tests.sites_blind_exchange import EX_BRANDS
from tests.sites_blind_kit import Builder, Draft, eth_address, paragraphs, pick, some, table, tron_address

__all__ = ["LAYOUTS"]

_OTC_NAMES = (
    "老王承兑",
    "诚信U商",
    "稳稳OTC",
    "阿杰数字",
    "金牛商行",
    "CryptoKing88",
    "swiftTrader",
    "Lucky_OTC",
    "MoonDesk",
    "顺达承兑",
)
_PAY_ZH = ("银行卡", "支付宝", "微信支付", "数字人民币")
_PAY_EN = ("Bank Transfer", "Wise", "Revolut", "Zelle", "Cash App", "PayPal", "SEPA", "Skrill")


def otc_market(rng: random.Random, lang: str) -> Draft:
    zh = lang == "zh"
    brand = pick(rng, EX_BRANDS)
    fiat, rate = ("CNY", 7.2) if zh else (rng.choice(("USD", "EUR", "GBP")), 1.0)
    rows = []
    for _ in range(rng.randrange(6, 13)):
        who = pick(rng, _OTC_NAMES) + ("✔" if rng.random() < 0.5 else "")
        deals = (
            f"{rng.randrange(50, 9000)} "
            + ("单 | 完成率 " if zh else "orders | ")
            + f"{rng.uniform(90, 100):.1f}%"
        )
        lo = rng.choice((100, 500, 1000, 3000))
        pays = " ".join(some(rng, _PAY_ZH if zh else _PAY_EN, rng.randrange(1, 4)))
        rows.append(
            (
                f"{who}<br><small>{deals}</small>",
                f"{rate * rng.uniform(0.995, 1.02):.3f} {fiat}",
                f"{rng.randrange(500, 90000):,} USDT<br>{lo:,} - {lo * rng.randrange(10, 200):,} {fiat}",
                pays,
                "<button>购买 USDT</button>" if zh else "<button>Buy USDT</button>",
            )
        )
    head = (
        ("商家", "单价", "数量/限额", "支付方式", "交易")
        if zh
        else ("Advertiser", "Price", "Available / Limit", "Payment", "Trade")
    )
    tabs = (
        "<div class='tabs'>购买 | 出售 &nbsp; USDT BTC ETH USDC</div><p>输入金额 <select><option>所有支付方式</option></select></p>"
        if zh
        else "<div class='tabs'>Buy | Sell &nbsp; USDT BTC ETH FDUSD</div><p>Amount <select><option>All payments</option></select></p>"
    )
    note = (
        "<p>平台担保交易：卖家的数字资产在订单期间由平台冻结托管，买家付款后卖家放币。请勿在备注中填写“USDT”等敏感词。</p>"
        if zh
        else "<p>Escrow protected: the seller's crypto is locked in escrow while the order is open and released after the buyer pays. Never release before the money arrives.</p>"
    )
    nav = (
        ("快捷买币", "C2C交易", "大宗交易", "订单", "收款方式")
        if zh
        else ("Express", "P2P Trading", "Block Trade", "Orders", "Payment Methods")
    )
    return Draft(
        brand,
        ("C2C交易 | " if zh else "P2P Trading | ") + brand,
        "零手续费C2C买卖USDT" if zh else "Buy and sell USDT peer-to-peer with zero fees",
        nav,
        (tabs, table(head, rows, "adv-list"), note),
    )


def otc_desk(rng: random.Random, lang: str) -> Draft:
    zh = lang == "zh"
    brand = rng.choice(
        (
            "Meridian OTC",
            "Northgate Digital",
            "Kestrel Liquidity",
            "鼎盛数字资产",
            "汇通大宗",
            "Bluefin Prime",
        )
    )
    en = (
        "Execute block trades of $100,000 and above off the order book, with no slippage and no market impact.",
        "Request a two-way quote by chat or API; our traders respond within seconds and settle T+0.",
        "Settlement in USD, EUR, USDT and USDC; we onboard corporates, funds, miners and high-net-worth individuals.",
        "All counterparties complete enhanced due diligence and source-of-funds checks.",
        "Our desk trades over 300 assets and offers deep liquidity in BTC, ETH and stablecoins around the clock.",
        "Miners can sell their daily production through scheduled TWAP orders.",
    )
    zh_t = (
        "大宗交易服务，单笔10万美元起，场外成交不影响盘口价格。",
        "通过Telegram或企业微信一对一询价，秒级报价，当日结算。",
        "支持USDT、USDC与美元、港币之间的兑换，服务机构、矿工与高净值客户。",
        "所有交易对手需完成机构认证（KYB）与资金来源审查。",
        "矿工可通过定期定额方式出售每日产出的比特币。",
        "专属交易员7×24小时在线服务。",
    )
    tg = f"@{brand.split()[0].lower()}_otc_desk" if not zh else f"@hd_otc{rng.randrange(99)}"
    form = (
        f"<form><h2>{'询价' if zh else 'Request a quote'}</h2><select><option>{'买入' if zh else 'Buy'}</option><option>{'卖出' if zh else 'Sell'}</option></select>"
        f"<input placeholder='{'金额' if zh else 'Notional (USD)'}'><button>{'提交' if zh else 'Get quote'}</button></form>"
    )
    head = f"<h1>{brand}</h1><p>{'机构级场外交易' if zh else 'Institutional OTC trading desk'}</p>"
    contact = f"<p>Telegram: {tg} · desk@{brand.split()[0].lower()}.com</p>"
    nav = ("服务", "费率", "关于", "联系") if zh else ("Services", "Pricing", "About", "Contact")
    return Draft(
        brand,
        brand + (" - 场外大宗交易" if zh else " | OTC Desk"),
        "OTC block trading" if not zh else "大宗场外交易",
        nav,
        (head, paragraphs(rng, zh_t if zh else en, 5, lang), form, contact),
        socials=("Telegram", "LinkedIn"),
    )


def otc_merchant(rng: random.Random, lang: str) -> Draft:
    zh = lang == "zh"
    brand = pick(rng, EX_BRANDS)
    deposit = rng.choice((2000, 5000, 10000, 20000))
    reqs_en = (
        f"Lock a security deposit of {deposit:,} USDT in your funding account.",
        "Complete advanced identity verification and a video interview.",
        "Have at least 100 completed P2P trades with a completion rate above 95% in the last 30 days.",
        "Respond to buyers within 5 minutes and release crypto within 15 minutes of payment.",
        "Merchants enjoy a verified badge, priority listing of their ads and 0% maker fees.",
        "Accounts that receive third-party payments or chargebacks will be suspended.",
    )
    reqs_zh = (
        f"缴纳保证金 {deposit:,} USDT，退出认证商家后可申请退还。",
        "完成高级实名认证和视频认证。",
        "近30日C2C成交不少于100单，完成率不低于95%。",
        "买家付款后15分钟内放币，严禁接收第三方付款。",
        "认证商家享受蓝V标识、广告优先展示、挂单零手续费。",
        "发现洗钱、诈骗资金的账户将被冻结并配合司法机关调查。",
    )
    head = "<h1>" + ("申请成为认证商家" if zh else "Become a P2P Merchant") + "</h1>"
    step = table(
        ("步骤", "说明") if zh else ("Step", "What to do"),
        [
            ("1", "提交申请" if zh else "Apply online"),
            ("2", "冻结保证金" if zh else "Freeze deposit"),
            ("3", "审核通过，发布广告" if zh else "Get approved and post buy/sell ads"),
        ],
    )
    nav = ("C2C", "商家中心", "广告管理", "申诉") if zh else ("P2P", "Merchant Center", "My Ads", "Appeals")
    return Draft(
        brand,
        ("商家申请 - " if zh else "P2P merchant application - ") + brand,
        "C2C商家认证" if zh else "Merchant program",
        nav,
        (head, paragraphs(rng, reqs_zh if zh else reqs_en, 5, lang), step),
    )


def otc_flyer(rng: random.Random, lang: str) -> Draft:
    zh = lang == "zh"
    brand = rng.choice(("U兑宝", "速达换汇", "QuickSwap USDT", "TetherCash Express", "安心承兑", "EasyUSDT"))
    if zh:
        lines = (
            f"长期出售 / 收购 USDT，今日汇率：买入 {rng.uniform(7.1, 7.3):.2f} 卖出 {rng.uniform(7.0, 7.2):.2f}",
            "支持支付宝、微信、银行卡，大额可面交，全国各地均可。",
            "承接各类U商、商户大额兑换，秒到账，不冻卡！",
            "可走担保群交易，先放币后付款（老客户）。",
            f"TRC20收款地址：{tron_address(rng)}",
            "联系客服：飞机 @u_" + str(rng.randrange(1000, 9999)),
        )
    else:
        lines = (
            f"We buy and sell USDT. Today: we buy at {rng.uniform(0.98, 1.0):.3f}, we sell at {rng.uniform(1.01, 1.04):.3f}",
            "Pay with Cash App, Zelle, PayPal, Apple Cash or bank wire. Cash in person in major cities.",
            "Big volumes welcome, fast release, no KYC under $2,000.",
            "Trade through escrow on our Telegram group for your safety.",
            f"Send USDT (TRC20) to {tron_address(rng)} after confirming the rate with an agent.",
            f"WhatsApp / Telegram: +1 {rng.randrange(200, 999)} {rng.randrange(1000000, 9999999)}",
        )
    head = f"<h1>{brand}</h1>"
    return Draft(
        brand,
        brand + (" 收U 出U" if zh else " - buy & sell USDT"),
        lines[0],
        ("首页", "汇率", "联系") if zh else ("Home", "Rates", "Contact"),
        (head, paragraphs(rng, lines, 6, lang)),
        socials=("Telegram", "WhatsApp"),
    )


_TOKENS = (
    "NEXA",
    "ZORB",
    "QUANTA",
    "MEOWX",
    "SOLR",
    "FLOKIMAX",
    "PIXL",
    "GROK9",
    "天元币",
    "星火链",
    "BLAZE",
    "AIRO",
)


def _tokenomics(rng: random.Random, lang: str, sym: str) -> str:
    shares = [
        ("Presale", 30),
        ("Liquidity", 20),
        ("Staking rewards", 20),
        ("Marketing", 15),
        ("Team (vested 24 months)", 10),
        ("Airdrop", 5),
    ]
    if lang == "zh":
        shares = [
            ("私募", 30),
            ("流动性", 20),
            ("质押奖励", 20),
            ("市场推广", 15),
            ("团队（锁仓24个月）", 10),
            ("空投", 5),
        ]
    supply = rng.choice((1_000_000_000, 420_690_000_000, 21_000_000, 10_000_000_000))
    return table(
        ("分配" if lang == "zh" else "Allocation", "%", sym),
        [(n, f"{p}%", f"{supply * p // 100:,}") for n, p in shares],
        "tokenomics",
    )


def promo_presale(rng: random.Random, lang: str) -> Draft:
    zh = lang == "zh"
    sym = pick(rng, _TOKENS)
    stage, price = rng.randrange(1, 9), rng.uniform(0.001, 0.05)
    raised, cap = rng.randrange(300_000, 9_000_000), 10_000_000
    hero = (
        f"<h1>{sym} 预售火热进行中！第{stage}阶段</h1><p>1 {sym} = ${price:.4f}，下一阶段价格上涨20%</p>"
        if zh
        else f"<h1>{sym} Presale is LIVE — Stage {stage}</h1><p>1 {sym} = ${price:.4f}. Price increases in the next stage!</p>"
    )
    bar = f"<div class='progress'>{'已募集' if zh else 'USDT Raised'}: ${raised:,} / ${cap:,}</div><div id='countdown' data-end='2025-{rng.randrange(1, 13):02d}-01'></div>"
    buy = (
        "<div class='buy'><button>连接钱包</button><button>用ETH购买</button><button>用USDT购买</button><button>银行卡购买</button></div>"
        if zh
        else "<div class='buy'><button>Connect Wallet</button><button>Buy with ETH</button><button>Buy with USDT</button><button>Buy with Card</button></div>"
    )
    en = (
        "Early buyers get the lowest price before the token launches on major exchanges.",
        "Audited by SolidProof and KYC verified by Assure DeFi.",
        "Stake immediately after purchase for up to 148% APY until launch.",
        "Soft cap reached! Hard cap 10,000,000 USDT.",
        f"Claim your tokens after the presale ends. Contract: {eth_address(rng)}",
        "Not financial advice. Cryptocurrency may be unregulated in your jurisdiction.",
    )
    zh_t = (
        "上所前最低价格，早买早赚！",
        "已通过安全审计与团队KYC认证。",
        "购买后立即质押，上线前年化收益高达148%。",
        "软顶已达成，硬顶1000万USDT。",
        f"预售结束后可领取代币，合约地址：{eth_address(rng)}",
        "上线后即将登陆多家头部交易所，百倍潜力！",
    )
    road = (
        "<h2>路线图</h2><ol><li>Q1 预售</li><li>Q2 上线DEX</li><li>Q3 CEX上市</li><li>Q4 生态扩展</li></ol>"
        if zh
        else "<h2>Roadmap</h2><ol><li>Q1: Presale & community</li><li>Q2: DEX launch on Uniswap</li><li>Q3: CEX listings</li><li>Q4: Ecosystem & bridge</li></ol>"
    )
    scripts = (
        '<script src="https://unpkg.com/@web3modal/standalone@2/dist/index.js"></script>',
        '<script src="https://cdn.jsdelivr.net/npm/ethers@5.7.2/dist/ethers.umd.min.js"></script>',
    )
    return Draft(
        sym,
        f"{sym} Token Presale" if not zh else f"{sym} 私募预售",
        "Buy the presale before launch" if not zh else "参与预售",
        ("预售", "白皮书", "代币经济", "路线图", "常见问题")
        if zh
        else ("Presale", "Whitepaper", "Tokenomics", "Roadmap", "FAQ"),
        (hero, bar, buy, paragraphs(rng, zh_t if zh else en, 5, lang), _tokenomics(rng, lang, sym), road),
        scripts,
        socials=("Telegram", "X", "Discord"),
    )


def promo_airdrop(rng: random.Random, lang: str) -> Draft:
    zh = lang == "zh"
    sym = pick(rng, _TOKENS)
    amount = rng.choice((100, 500, 1000, 2500, 10000))
    tasks = (
        (
            "关注官方推特",
            "加入Telegram群",
            "转发置顶推文并@3位好友",
            "提交钱包地址",
            "邀请好友每人额外获得50枚",
        )
        if zh
        else (
            "Follow us on X",
            "Join the Telegram group",
            "Retweet the pinned post and tag 3 friends",
            "Submit your BEP-20 wallet address",
            "Invite friends: +50 per referral",
        )
    )
    ul = (
        "<ol class='tasks'>"
        + "".join(f"<li>{t} <button>{'去完成' if zh else 'Go'}</button></li>" for t in tasks)
        + "</ol>"
    )
    hero = (
        f"<h1>{sym} 空投活动</h1><p>完成任务即可免费领取 {amount} {sym}（约${amount * 0.1:.0f}）</p>"
        if zh
        else f"<h1>{sym} Airdrop — Claim {amount} free {sym}</h1><p>Worth ~${amount * 0.1:.0f}. Limited to the first 50,000 participants.</p>"
    )
    claim = f"<div class='claim'><input placeholder='0x...'><button>{'立即领取' if zh else 'Claim Airdrop'}</button><p>{'剩余' if zh else 'Remaining'}: {rng.randrange(1000, 40000):,}</p></div>"
    extra_en = (
        "Tokens will be distributed within 7 days after the campaign ends.",
        "Check your eligibility by connecting your wallet.",
        "Top 100 referrers share an extra 1,000,000 tokens.",
        "Gas fee of 0.005 BNB required to claim.",
    )
    extra_zh = (
        "活动结束后7天内统一发放。",
        "连接钱包即可查询是否符合资格。",
        "邀请排行榜前100名瓜分100万枚额外奖励。",
        "领取需支付少量Gas费。",
    )
    return Draft(
        sym,
        f"{sym} Airdrop" if not zh else f"{sym} 空投领取",
        hero,
        ("空投", "邀请", "白皮书") if zh else ("Airdrop", "Referral", "Whitepaper"),
        (hero, ul, claim, paragraphs(rng, extra_zh if zh else extra_en, 3, lang)),
        ('<script src="https://cdn.jsdelivr.net/npm/web3@1.10.0/dist/web3.min.js"></script>',),
        socials=("Telegram", "X"),
    )


def promo_whitepaper(rng: random.Random, lang: str) -> Draft:
    zh = lang == "zh"
    sym = pick(rng, _TOKENS)
    en = (
        f"{sym} is a next-generation AI-powered DeFi ecosystem that rewards holders with passive income.",
        f"The {sym} token powers governance, staking and fee discounts across the ecosystem.",
        "The IDO will take place on a leading launchpad; whitelist spots are limited to 2,000 wallets.",
        "Team tokens are locked for 12 months and released linearly over 24 months.",
        "A 2% buy and 2% sell tax funds the marketing wallet and automatic liquidity.",
        "Holders who stake before launch receive a 3x multiplier on rewards.",
    )
    zh_t = (
        f"{sym}是基于AI与区块链的新一代去中心化金融生态，持币即可获得被动收益。",
        f"{sym}代币用于治理投票、质押挖矿和手续费抵扣。",
        "IDO将在头部Launchpad进行，白名单名额仅限2000个。",
        "团队代币锁仓12个月，之后24个月线性释放。",
        "买卖各收取2%税费，用于市场推广与自动回流池。",
        "上线前质押可获得3倍奖励加成。",
    )
    head = f"<h1>{sym} {'白皮书 v1.2' if zh else 'Whitepaper v1.2'}</h1><a href='/whitepaper.pdf'>PDF</a>"
    return Draft(
        sym,
        f"{sym} - Whitepaper" if not zh else f"{sym} 白皮书",
        en[0] if not zh else zh_t[0],
        ("首页", "白皮书", "IDO", "社区") if zh else ("Home", "Whitepaper", "IDO", "Community"),
        (head, paragraphs(rng, zh_t if zh else en, 6, lang), _tokenomics(rng, lang, sym)),
        socials=("Telegram", "Medium"),
    )


def promo_shill(rng: random.Random, lang: str) -> Draft:
    zh = lang == "zh"
    sym = pick(rng, _TOKENS)
    if zh:
        lines = (
            f"【重磅】{sym}即将上线各大交易所，现在进场就是底部！",
            "私募份额所剩无几，1000U起投，上所即翻倍。",
            "项目方已锁池、弃权，社区自治，安全无忧。",
            "扫码加入官方社群，领取新人空投红包。",
            "推荐一人奖励10%，团队长额外享受分红。",
            "错过比特币、错过以太坊，不要再错过" + sym + "！",
        )
    else:
        lines = (
            f"🚀 {sym} is the next 100x gem — launching on PancakeSwap this week!",
            "Whitelist closes soon. Minimum buy 0.1 BNB, max 5 BNB.",
            "Liquidity locked for 5 years, contract renounced, 0% team tokens.",
            "Join the Telegram for the stealth launch time and exclusive airdrop.",
            "Refer a friend and earn 10% of their purchase in BNB.",
            "Don't miss it like you missed Bitcoin at $1.",
        )
    return Draft(
        sym,
        f"{sym} 🚀" if not zh else f"{sym} 官方",
        lines[0],
        ("首页", "加入社群") if zh else ("Home", "Join"),
        (
            f"<h1>{sym}</h1>",
            paragraphs(rng, lines, 6, lang),
            f"<p>{'合约' if zh else 'CA'}: {eth_address(rng)}</p>",
        ),
        socials=("Telegram", "X"),
    )


LAYOUTS: dict[str, tuple[Builder, ...]] = {
    "otc": (otc_market, otc_desk, otc_merchant, otc_flyer),
    "promotion": (promo_presale, promo_airdrop, promo_whitepaper, promo_shill),
}
