# ruff: noqa: E501  (page text: long literal lines are the data)
"""Blind corpus pages of the exchange class: a home page, a trading view, a fee and
deposit/withdrawal page, a futures page; each in English and Chinese."""

from __future__ import annotations

import random

from tests.sites_blind_kit import Builder, Draft, paragraphs, pick, some, table, tron_address

__all__ = ["COINS", "EX_BRANDS", "LAYOUTS"]

COINS = (
    ("BTC", "Bitcoin", 67250.0),
    ("ETH", "Ethereum", 3480.0),
    ("SOL", "Solana", 171.2),
    ("XRP", "XRP", 0.612),
    ("DOGE", "Dogecoin", 0.158),
    ("TON", "Toncoin", 6.91),
    ("ADA", "Cardano", 0.452),
    ("LTC", "Litecoin", 84.3),
    ("TRX", "TRON", 0.121),
    ("PEPE", "Pepe", 0.0000118),
    ("ARB", "Arbitrum", 1.07),
    ("LINK", "Chainlink", 14.9),
)
EX_BRANDS = (
    "Coinvexa",
    "BitNara",
    "Zentra Exchange",
    "HexaTrade",
    "Orbix",
    "KuboEX",
    "币安达",
    "欧联交易所",
    "火星交易所",
    "Lumen Pro",
    "DeltaBit",
    "抹茶汇",
)


def _price(rng: random.Random, base: float) -> str:
    p = base * rng.uniform(0.93, 1.07)
    return f"{p:,.2f}" if p >= 1 else f"{p:.6g}"


def _change(rng: random.Random) -> str:
    c = rng.uniform(-9, 12)
    return f'<span class="{"up" if c >= 0 else "down"}">{c:+.2f}%</span>'


def _markets(rng: random.Random, lang: str) -> str:
    head = (
        ("交易对", "最新价", "24H涨跌", "24H成交额", "操作")
        if lang == "zh"
        else ("Pair", "Last Price", "24h Change", "24h Volume", "")
    )
    trade = "交易" if lang == "zh" else "Trade"
    rows = [
        (
            f"{c}/USDT",
            _price(rng, p),
            _change(rng),
            f"{rng.uniform(2, 900):.1f}M",
            f'<a href="/trade/{c}_USDT">{trade}</a>',
        )
        for c, _, p in some(rng, COINS, rng.randrange(5, 11))
    ]
    return table(head, rows, "market-list")


def _app_block(rng: random.Random, lang: str) -> str:
    if lang == "zh":
        return (
            '<section class="download"><h2>随时随地，交易无忧</h2><p>扫码下载APP，iOS与Android均可使用</p>'
            '<a href="/download/app.apk">Android 下载</a> <a href="https://apps.apple.com/app/id1'
            + str(rng.randrange(10**8))
            + '">App Store</a> <img src="/img/qr.png" alt="下载二维码"></section>'
        )
    return (
        '<section class="download"><h2>Trade anywhere</h2><p>Download the app for iOS and Android, or use our desktop client.</p>'
        '<a href="https://play.google.com/store/apps/details?id=com.'
        + str(rng.randrange(999))
        + '.app">Google Play</a> '
        '<a href="/download/windows">Windows</a> <a href="/download/mac">macOS</a></section>'
    )


_EX_FEATURES_EN = (
    "Your assets are protected by multi-tier cold storage and a user protection fund of 1,000 BTC.",
    "We publish Merkle-tree proof of reserves every month so you can verify your balance is backed 1:1.",
    "Maker fees from 0.02% and taker fees from 0.05%, lower with our platform token.",
    "Deposit crypto from any wallet or buy with Visa, Mastercard, Apple Pay and bank transfer.",
    "24/7 multilingual customer support and a dedicated VIP manager for institutional clients.",
    "Complete identity verification (KYC) in minutes to unlock higher withdrawal limits.",
    "Spot, margin, futures, options, copy trading and trading bots in one account.",
    "Earn up to 12% APR on idle balances with flexible and locked savings products.",
)
_EX_FEATURES_ZH = (
    "多重签名冷钱包存储，设立用户保护基金，保障您的资产安全。",
    "每月公布默克尔树储备金证明，用户资产1:1足额储备。",
    "现货挂单手续费低至0.02%，持有平台币享受手续费折扣。",
    "支持币币交易、杠杆交易、永续合约、期权和跟单交易。",
    "新用户注册即送盲盒，完成实名认证（KYC）可提升提币额度。",
    "7×24小时多语种在线客服，机构客户专属经理一对一服务。",
    "理财宝活期年化收益最高可达12%，随存随取。",
    "法币快捷买币，支持银行卡、支付宝、微信等多种方式。",
)


def ex_home(rng: random.Random, lang: str) -> Draft:
    brand = pick(rng, EX_BRANDS)
    zh = lang == "zh"
    hero = (
        f"<h1>{brand}——全球领先的数字资产交易平台</h1><p>安全、稳定、可信赖，已服务超过{rng.randrange(5, 90)}00万用户</p>"
        f'<a class="btn" href="/register">立即注册</a>'
        if zh
        else f"<h1>Buy, trade and hold {rng.randrange(200, 600)}+ cryptocurrencies on {brand}</h1>"
        f'<p>Join {rng.randrange(5, 90)} million users.</p><a class="btn" href="/register">Get started</a>'
    )
    sections = [
        hero,
        ("<h2>热门行情</h2>" if zh else "<h2>Market update</h2>") + _markets(rng, lang),
        "<h2>"
        + ("为什么选择我们" if zh else "Why traders choose us")
        + "</h2>"
        + paragraphs(rng, _EX_FEATURES_ZH if zh else _EX_FEATURES_EN, 4, lang),
        _app_block(rng, lang),
    ]
    rng.shuffle(sections[1:])
    nav = (
        ("买币", "行情", "币币交易", "合约", "理财", "公告中心")
        if zh
        else ("Buy Crypto", "Markets", "Trade", "Futures", "Earn", "Support")
    )
    return Draft(
        brand,
        f"{brand} | " + ("比特币交易平台" if zh else "Bitcoin & Crypto Exchange"),
        "注册即可交易比特币、以太坊等数字货币"
        if zh
        else "Trade Bitcoin, Ethereum and altcoins with low fees.",
        nav,
        tuple(sections),
        socials=("Twitter", "Telegram", "Discord"),
    )


def _book(rng: random.Random, mid: float, lang: str) -> str:
    head = ("价格(USDT)", "数量", "累计") if lang == "zh" else ("Price(USDT)", "Amount", "Total")
    asks = [
        (f"{mid * (1 + 0.0002 * i):,.2f}", f"{rng.uniform(0.01, 3):.4f}", f"{rng.uniform(1, 40):.3f}")
        for i in range(8, 0, -1)
    ]
    bids = [
        (f"{mid * (1 - 0.0002 * i):,.2f}", f"{rng.uniform(0.01, 3):.4f}", f"{rng.uniform(1, 40):.3f}")
        for i in range(1, 9)
    ]
    return (
        table(head, asks, "orderbook asks")
        + f'<div class="mid">{mid:,.2f}</div>'
        + table(head, bids, "orderbook bids")
    )


def ex_trade(rng: random.Random, lang: str) -> Draft:
    brand = pick(rng, EX_BRANDS)
    sym, name, base = pick(rng, [c[0] for c in COINS[:8]]), "", 0.0
    for c in COINS:
        if c[0] == sym:
            name, base = c[1], c[2]
    zh = lang == "zh"
    mid = base * rng.uniform(0.97, 1.03)
    ticker = f"<div class='ticker'><b>{sym}/USDT</b> {mid:,.4g} " + (
        f"24h最高 {mid * 1.03:,.4g} 24h最低 {mid * 0.96:,.4g} 24h量 {rng.randrange(1000, 90000)} {sym}</div>"
        if zh
        else f"24h High {mid * 1.03:,.4g} 24h Low {mid * 0.96:,.4g} 24h Vol({sym}) {rng.randrange(1000, 90000)}</div>"
    )
    chart = '<div id="tv_chart_container" class="kline"></div>'
    form = (
        "<form class='order'><div class='tabs'>限价 | 市价 | 止盈止损</div><label>价格</label><input><label>数量</label><input>"
        f"<p>可用 0.00 USDT</p><button>买入 {sym}</button><button>卖出 {sym}</button></form>"
        if zh
        else "<form class='order'><div class='tabs'>Limit | Market | Stop-limit</div><label>Price</label><input><label>Amount</label><input>"
        f"<p>Avbl 0.00 USDT</p><button>Buy {sym}</button><button>Sell {sym}</button></form>"
    )
    orders = (
        "<div class='tabs'>当前委托(0) | 历史委托 | 成交明细 | 资产</div><p>暂无记录，请先<a href='/login'>登录</a></p>"
        if zh
        else "<div class='tabs'>Open Orders(0) | Order History | Trade History | Funds</div><p>Log in to see your orders</p>"
    )
    trades = table(
        ("价格", "数量", "时间") if zh else ("Price", "Qty", "Time"),
        [
            (
                f"{mid * rng.uniform(0.999, 1.001):,.4g}",
                f"{rng.uniform(0.001, 2):.4f}",
                f"{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}",
            )
            for _ in range(rng.randrange(6, 15))
        ],
        "trades",
    )
    scripts = (
        '<script src="/charting_library/charting_library.standalone.js"></script>',
        f"<script>new TradingView.widget({{symbol:'{sym}USDT',interval:'15',container:'tv_chart_container',datafeed:new Datafeeds.UDFCompatibleDatafeed('/tv')}});</script>",
        f"<script>const ws=new WebSocket('wss://stream.{brand.lower()[:5]}.com/ws/{sym.lower()}usdt@depth');</script>",
    )
    nav = (
        ("现货", "杠杆", "合约", "跟单", "资产", "订单")
        if zh
        else ("Spot", "Margin", "Futures", "Copy Trading", "Wallet", "Orders")
    )
    return Draft(
        brand,
        f"{mid:,.4g} | {sym}USDT | {brand} " + ("现货交易" if zh else "Spot Trading"),
        f"{name} price and live {sym}/USDT order book." if not zh else f"{sym}/USDT 实时行情、深度与K线",
        nav,
        (ticker, chart, _book(rng, mid, lang), form, trades, orders),
        scripts,
        state={"symbol": f"{sym}USDT", "tickSize": "0.01", "depth": {"asks": [], "bids": []}},
    )


_NETWORKS = ("ERC20", "TRC20", "BEP20", "Solana", "Arbitrum One", "Bitcoin", "Lightning")


def ex_funds(rng: random.Random, lang: str) -> Draft:
    brand = pick(rng, EX_BRANDS)
    zh = lang == "zh"
    rows = [
        (
            c,
            pick(rng, _NETWORKS),
            f"{rng.uniform(0.0001, 20):.4g}",
            f"{rng.uniform(0.00005, 5):.4g}",
            str(rng.randrange(1, 65)),
        )
        for c, _, _ in some(rng, COINS, rng.randrange(6, 12))
    ]
    head = (
        ("币种", "网络", "最小提币数量", "提币手续费", "充值确认数")
        if zh
        else ("Coin", "Network", "Min. withdrawal", "Withdrawal fee", "Deposit confirmations")
    )
    steps_en = (
        "Log in and open <b>Wallet → Spot → Deposit</b>.",
        "Select the coin and the network. Sending on the wrong network may result in loss of funds.",
        f"Copy your deposit address, for example <code>{tron_address(rng)}</code> for USDT-TRC20.",
        "Some coins (XRP, EOS, TON) require a memo/tag as well as the address.",
        "Withdrawals are processed within 30 minutes after 2FA confirmation; large withdrawals may be reviewed by risk control.",
        "Your 24h withdrawal limit depends on your verification level (Lv1: 2 BTC, Lv2: 100 BTC).",
    )
    steps_zh = (
        "登录后进入【资产】-【现货账户】-【充币】。",
        "选择币种和充值网络，请确保网络一致，否则资产将无法找回。",
        f"复制充币地址，例如USDT-TRC20地址 <code>{tron_address(rng)}</code>。",
        "部分币种（如XRP、EOS）充值需同时填写标签（Memo）。",
        "提币需完成谷歌验证与邮箱验证，大额提币将由风控人工审核。",
        "未完成实名认证的用户24小时提币额度为2 BTC。",
    )
    faq = paragraphs(rng, steps_zh if zh else steps_en, 5, lang)
    intro = (
        "<h1>充提币手续费一览</h1><p>本平台充值免费，提币手续费按链上实际情况动态调整。</p>"
        if zh
        else "<h1>Deposit & Withdrawal Fees</h1><p>Deposits are free. Withdrawal fees are set per network and adjusted to on-chain conditions.</p>"
    )
    fees = (
        "<h2>交易手续费</h2>"
        + table(
            ("等级", "30日交易量(USDT)", "Maker", "Taker"),
            [
                (f"VIP{i}", f"≥{10 ** (i + 5):,}", f"{0.1 - 0.012 * i:.3f}%", f"{0.1 - 0.008 * i:.3f}%")
                for i in range(6)
            ],
        )
        if zh
        else "<h2>Trading fees</h2>"
        + table(
            ("Tier", "30d volume (USDT)", "Maker", "Taker"),
            [
                (f"VIP {i}", f"≥{10 ** (i + 5):,}", f"{0.1 - 0.012 * i:.3f}%", f"{0.1 - 0.008 * i:.3f}%")
                for i in range(6)
            ],
        )
    )
    nav = (
        ("首页", "帮助中心", "公告", "费率标准", "API文档")
        if zh
        else ("Home", "Help Center", "Announcements", "Fees", "API")
    )
    return Draft(
        brand,
        ("费率标准 - " if zh else "Fee schedule - ") + brand,
        "充币提币说明" if zh else "How to deposit and withdraw crypto",
        nav,
        (
            intro,
            table(head, rows, "fees"),
            fees,
            ("<h2>常见问题</h2>" if zh else "<h2>How to deposit</h2>") + faq,
        ),
    )


def ex_futures(rng: random.Random, lang: str) -> Draft:
    brand = pick(rng, EX_BRANDS)
    zh = lang == "zh"
    lev = rng.choice((50, 100, 125, 200))
    en = (
        f"Trade USDT-margined perpetual contracts with up to {lev}x leverage.",
        "Funding is exchanged between longs and shorts every 8 hours; the current funding rate is shown next to the mark price.",
        "Positions are liquidated when the margin ratio reaches 100%; the insurance fund covers losses beyond bankruptcy price.",
        "Cross margin and isolated margin modes, hedge mode and one-way mode are supported.",
        "Use take-profit and stop-loss orders, trailing stops and TWAP to manage risk.",
        "Derivatives trading involves significant risk. You may lose more than your initial margin.",
    )
    zh_t = (
        f"USDT本位永续合约，最高{lev}倍杠杆，深度好、滑点低。",
        "资金费率每8小时结算一次，标记价格采用多家交易所指数加权。",
        "保证金率达到100%时触发强制平仓，风险保障基金用于弥补穿仓损失。",
        "支持全仓、逐仓模式，支持双向持仓。",
        "合约交易风险极高，可能损失全部保证金，请谨慎参与。",
        "新用户首次开仓可获得体验金，最高100 USDT。",
    )
    rows = [
        (
            f"{c}USDT " + ("永续" if zh else "Perp"),
            _price(rng, p),
            f"{rng.uniform(-0.03, 0.05):.4f}%",
            f"{rng.uniform(10, 3000):.0f}M",
        )
        for c, _, p in some(rng, COINS, 6)
    ]
    head = (
        ("合约", "标记价格", "资金费率", "持仓量")
        if zh
        else ("Contract", "Mark price", "Funding rate", "Open interest")
    )
    intro = f"<h1>{brand} " + ("合约交易</h1>" if zh else "Futures</h1>")
    nav = (
        ("U本位合约", "币本位合约", "期权", "跟单", "合约数据")
        if zh
        else ("USDⓈ-M", "COIN-M", "Options", "Copy Trading", "Data")
    )
    return Draft(
        brand,
        intro[4:-5],
        "永续合约交易" if zh else "Perpetual futures trading",
        nav,
        (
            intro,
            paragraphs(rng, zh_t if zh else en, 5, lang),
            table(head, rows, "contracts"),
            _app_block(rng, lang),
        ),
    )


LAYOUTS: dict[str, tuple[Builder, ...]] = {"exchange": (ex_home, ex_trade, ex_funds, ex_futures)}
