# ruff: noqa: E501  (page text: long literal lines are the data)
"""Blind corpus pages of the pool and cloud-mining / hashrate-rental classes: four layouts
each, in English and Chinese."""

from __future__ import annotations

import random

from tests.sites_blind_kit import (
    Builder,
    Draft,
    btc_address,
    eth_address,
    paragraphs,
    pick,
    some,
    table,
    txid,
    xmr_address,
)

__all__ = ["LAYOUTS", "host_of"]

# coin, algorithm, port, hashrate unit, example miner
POOL_COINS = (
    ("BTC", "SHA-256", 3333, "PH/s", "cgminer"),
    ("LTC", "Scrypt", 8888, "TH/s", "bfgminer"),
    ("ETC", "Etchash", 1010, "GH/s", "lolMiner"),
    ("XMR", "RandomX", 4444, "MH/s", "xmrig"),
    ("KAS", "kHeavyHash", 5555, "PH/s", "BzMiner"),
    ("RVN", "KawPow", 6060, "GH/s", "T-Rex"),
    ("ZEC", "Equihash", 7777, "MSol/s", "miniZ"),
    ("DOGE", "Scrypt", 8888, "TH/s", "cgminer"),
)
_POOL_BRANDS = (
    "HashNest Pool",
    "MinerHive",
    "鱼塘矿池",
    "Koi Pool",
    "蚂蚁池",
    "SparkPool Next",
    "TerraHash",
    "FlexHash Asia",
    "币印池",
    "OreMiner",
)
_REGIONS = ("asia", "eu", "us-east", "us-west", "hk", "sg", "cn")


def host_of(brand: str) -> str:
    return "".join(c for c in brand.lower() if c.isascii() and c.isalnum())[:10] or "pool"


def _stratum(rng: random.Random, brand: str, coin: str, port: int) -> str:
    scheme = rng.choice(("stratum+tcp", "stratum+tcp", "stratum+ssl", "stratum2+tcp"))
    return f"{scheme}://{pick(rng, _REGIONS)}.{coin.lower()}.{host_of(brand)}.com:{port + (10000 if 'ssl' in scheme else 0)}"


def pool_home(rng: random.Random, lang: str) -> Draft:
    brand, zh = pick(rng, _POOL_BRANDS), lang == "zh"
    rows = [
        (
            c,
            a,
            f"{rng.uniform(1, 900):.2f} {u}",
            str(rng.randrange(100, 90000)),
            f"{rng.choice(('PPS+', 'FPPS', 'PPLNS', 'SOLO'))} {rng.uniform(0.5, 4):.1f}%",
        )
        for c, a, _, u, _ in some(rng, POOL_COINS, rng.randrange(4, 8))
    ]
    head = (
        ("币种", "算法", "矿池算力", "在线矿工", "结算方式/费率")
        if zh
        else ("Coin", "Algorithm", "Pool hashrate", "Miners", "Payout / fee")
    )
    hero = (
        f"<h1>{brand} — 稳定高效的多币种矿池</h1><p>全球节点，低延迟，收益透明，每日自动结算</p>"
        if zh
        else f"<h1>{brand}: a reliable multi-coin mining pool</h1><p>Low-latency servers on 4 continents, transparent earnings, daily payouts.</p>"
    )
    en = (
        "Blocks found in the last 24 hours: " + str(rng.randrange(2, 60)) + ".",
        "Minimum payout 0.005 BTC; payouts run every day at 08:00 UTC.",
        "Create sub-accounts to separate farms and grant watcher links to your partners.",
        "Alerts by email or Telegram when a worker goes offline.",
        "Merged mining: LTC miners also receive DOGE and 6 other coins.",
        "Share difficulty adjusts automatically (vardiff) for every rig.",
    )
    zh_t = (
        "近24小时出块数：" + str(rng.randrange(2, 60)) + "。",
        "最低支付0.005 BTC，每日北京时间16:00自动打款。",
        "支持子账户管理，可生成观察者链接分享给合作伙伴。",
        "矿机掉线微信/邮件实时告警。",
        "LTC联合挖矿，同时获得DOGE等多币收益。",
        "自动调整难度，适配各类矿机。",
    )
    return Draft(
        brand,
        f"{brand} | " + ("矿池" if zh else "Mining Pool"),
        "BTC LTC ETC KAS mining pool" if not zh else "比特币莱特币矿池",
        ("首页", "挖矿教程", "收益计算器", "矿工面板", "公告")
        if zh
        else ("Home", "Get started", "Calculator", "Dashboard", "News"),
        (hero, table(head, rows, "coins"), paragraphs(rng, zh_t if zh else en, 4, lang)),
        socials=("Telegram", "Discord", "微信" if zh else "Reddit"),
    )


def pool_start(rng: random.Random, lang: str) -> Draft:
    brand, zh = pick(rng, _POOL_BRANDS), lang == "zh"
    coin, algo, port, _, miner = pick(rng, POOL_COINS)
    url = _stratum(rng, brand, coin, port)
    addr = xmr_address(rng) if coin == "XMR" else btc_address(rng)
    user = rng.choice((f"{addr}.rig01", f"myaccount.{rng.choice(('worker1', '001', 'S19-a'))}"))
    if miner == "xmrig":
        cmd = f"./xmrig -o {url.split('://')[1]} -u {addr} -p x -k --coin monero"
    elif miner == "cgminer":
        cmd = f"cgminer -o {url} -u {user} -p x --api-listen"
    else:
        cmd = f"{miner} --algo {algo.upper().replace('-', '')} --pool {url} --user {user} --pass x"
    steps_en = (
        f"1. Register an account or use your {coin} wallet address as the username.",
        f"2. Point your miner to <code>{url}</code> (backup port {port + 1}).",
        "3. Worker name format: <code>username.workername</code>; the password field can be anything (x).",
        "4. Your workers appear on the dashboard within 10 minutes of the first accepted share.",
        "For ASICs: open the miner's web interface → Miner Configuration, fill in Pool 1, Worker and Password, then Save & Apply.",
        "Using HiveOS? Create a flight sheet, choose the pool from the list, and apply it to your rigs.",
    )
    steps_zh = (
        f"1. 注册账号并创建子账户，或直接用{coin}钱包地址作为用户名。",
        f"2. 矿机填写挖矿地址 <code>{url}</code>，备用端口 {port + 1}。",
        "3. 矿工名格式：<code>子账户名.矿工编号</code>，密码随意填写（如 123）。",
        "4. 提交第一个有效份额后约10分钟，可在矿工面板看到算力。",
        "蚂蚁矿机设置：浏览器登录矿机后台，进入“矿机配置”，填入矿池地址、矿工名，保存并应用。",
        "使用HiveOS/蜂巢系统的用户可直接在飞行表中选择本矿池。",
    )
    head = f"<h1>{'挖矿教程' if zh else 'Getting started'}: {coin} ({algo})</h1>"
    ports = table(
        ("地区", "地址", "端口", "难度") if zh else ("Region", "Server", "Port", "Difficulty"),
        [
            (
                r,
                f"{r}.{coin.lower()}.{host_of(brand)}.com",
                str(port + i),
                rng.choice(("auto", "vardiff", "65536", "1M")),
            )
            for i, r in enumerate(some(rng, _REGIONS, 4))
        ],
        "servers",
    )
    return Draft(
        brand,
        f"{coin} " + ("挖矿设置 - " if zh else "mining setup - ") + brand,
        f"How to mine {coin} on {brand}",
        ("首页", "挖矿教程", "帮助") if zh else ("Home", "Get started", "FAQ"),
        (
            head,
            paragraphs(rng, steps_zh if zh else steps_en, 6, lang),
            ports,
            f"<pre><code>{cmd}</code></pre>",
        ),
    )


def pool_worker(rng: random.Random, lang: str) -> Draft:
    brand, zh = pick(rng, _POOL_BRANDS), lang == "zh"
    coin, _, _, unit, _ = pick(rng, POOL_COINS)
    # pools key a dashboard by payout address where the coin has one we generate, else by account
    makers = {"BTC": btc_address, "XMR": xmr_address, "ETC": eth_address}
    addr = makers[coin](rng) if coin in makers else f"farm{rng.randrange(100, 9999)}"
    unit = {"PH/s": "TH/s", "TH/s": "GH/s", "GH/s": "MH/s", "MH/s": "kH/s", "MSol/s": "kSol/s"}[unit]
    stats = (
        f"<div class='stats'>{'实时算力' if zh else 'Current hashrate'}: {rng.uniform(1, 500):.2f} {unit} · "
        f"{'24小时平均' if zh else '24h average'}: {rng.uniform(1, 500):.2f} {unit} · {'在线/离线' if zh else 'Workers online/offline'}: {rng.randrange(1, 80)}/{rng.randrange(0, 5)} · "
        f"{'未支付' if zh else 'Unpaid balance'}: {rng.uniform(0.0001, 0.02):.6f} {coin}</div>"
    )
    workers = table(
        ("矿工", "实时算力", "拒绝率", "最后提交")
        if zh
        else ("Worker", "Hashrate", "Rejected", "Last share"),
        [
            (
                f"rig{i:02d}",
                f"{rng.uniform(10, 200):.1f} {unit}",
                f"{rng.uniform(0, 2):.2f}%",
                f"{rng.randrange(5, 300)}s",
            )
            for i in range(rng.randrange(3, 12))
        ],
        "workers",
    )
    pays = table(
        ("时间", "金额", "交易ID") if zh else ("Paid on", "Amount", "Transaction"),
        [
            (
                f"2025-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}",
                f"{rng.uniform(0.001, 0.05):.6f} {coin}",
                txid(rng),
            )
            for _ in range(rng.randrange(3, 9))
        ],
        "payments",
    )
    chart = "<canvas id='hashrateChart'></canvas><script>new Chart(document.getElementById('hashrateChart'),{type:'line'});</script>"
    return Draft(
        brand,
        f"{addr[:10]}… - {brand}",
        "Miner statistics",
        ("矿工面板", "收益", "设置") if zh else ("Dashboard", "Payments", "Settings"),
        (f"<h1>{'矿工' if zh else 'Miner'} {addr}</h1>", stats, chart, workers, pays),
        ('<script src="https://cdn.jsdelivr.net/npm/chart.js"></script>',),
        state={"address": addr, "coin": coin},
    )


def pool_calc(rng: random.Random, lang: str) -> Draft:
    brand, zh = pick(rng, _POOL_BRANDS), lang == "zh"
    rows = [
        (c, a, f"{rng.uniform(0.01, 3):.4f} USD / {u[-4:]}", f"{rng.uniform(1, 40):.1f}%")
        for c, a, _, u, _ in POOL_COINS[:6]
    ]
    head = (
        ("币种", "算法", "日收益", "全网占比") if zh else ("Coin", "Algorithm", "Daily revenue", "Pool share")
    )
    en = (
        "Enter your hashrate, power draw and electricity price to estimate your daily profit.",
        "Revenue is calculated from the current network difficulty and block reward.",
        "Our FPPS model pays transaction fees too, so your earnings do not depend on luck.",
        "Switching pools takes one minute: change the pool URL and worker name on your miners.",
    )
    zh_t = (
        "输入算力、功耗与电价，估算每日挖矿收益。",
        "收益按当前全网难度和区块奖励计算，仅供参考。",
        "FPPS模式同时分配交易手续费，收益稳定不看运气。",
        "切换矿池只需修改矿机上的矿池地址与矿工名。",
    )
    form = (
        "<form class='calc'><input placeholder='"
        + ("算力" if zh else "Hashrate")
        + "'> <input placeholder='W'> <input placeholder='$/kWh'><button>"
        + ("计算" if zh else "Calculate")
        + "</button></form>"
    )
    return Draft(
        brand,
        ("挖矿收益计算器 - " if zh else "Mining profitability - ") + brand,
        "calculator",
        ("首页", "收益计算器") if zh else ("Home", "Calculator"),
        (form, table(head, rows, "profit"), paragraphs(rng, zh_t if zh else en, 3, lang)),
    )


_CLOUD_BRANDS = (
    "HashFlare One",
    "Genesis Hash",
    "GoMining Pro",
    "算力宝",
    "MineOasis",
    "BitFuFu Cloud",
    "云链算力",
    "IceRig Farm",
    "StormHash",
    "矿机管家",
)


def cloud_plans(rng: random.Random, lang: str) -> Draft:
    brand, zh = pick(rng, _CLOUD_BRANDS), lang == "zh"
    plans = []
    for name, th in (("Starter", 10), ("Standard", 50), ("Pro", 200), ("Whale", 1000)):
        price = th * rng.uniform(9, 18)
        days = rng.choice((180, 365, 540, 720))
        plans.append(
            (
                name
                if not zh
                else {"Starter": "体验", "Standard": "标准", "Pro": "专业", "Whale": "尊享"}[name],
                f"{th} TH/s",
                f"{days} " + ("天" if zh else "days"),
                f"${price:,.0f}",
                f"${th * rng.uniform(0.045, 0.07):.2f}" + ("/天" if zh else "/day"),
            )
        )
    head = (
        ("套餐", "算力", "合约期限", "价格", "预计收益")
        if zh
        else ("Plan", "Hashrate", "Term", "Price", "Est. output")
    )
    hero = (
        "<h1>无需矿机，一键购买算力，每日收益自动到账</h1><p>比特币云挖矿，电费托管全包</p>"
        if zh
        else "<h1>Start Bitcoin mining today — no hardware, no noise, no hassle</h1><p>Buy hashrate contracts and receive BTC payouts every day.</p>"
    )
    en = (
        "Contracts start within 24 hours of payment; mining output is credited daily to your balance.",
        "Electricity and maintenance fees are deducted from daily output at $0.06 per kWh.",
        "Our farms in Texas, Kazakhstan and Ethiopia run the latest Antminer S21 machines.",
        "Referral program: earn 3% of every contract your friends buy.",
        "Returns depend on BTC price and network difficulty and are not guaranteed.",
        "Pay with BTC, USDT, or credit card.",
    )
    zh_t = (
        "付款后24小时内开始挖矿，收益每日自动结算到账户余额。",
        "电费和维护费按每度0.35元从每日产出中扣除。",
        "矿场位于海外，使用最新款蚂蚁S21矿机。",
        "邀请好友购买算力，可获得3%返佣。",
        "收益受币价和全网难度影响，不作保本承诺。",
        "支持USDT、比特币支付。",
    )
    return Draft(
        brand,
        brand + (" - 云算力" if zh else " | Cloud mining"),
        "Bitcoin cloud mining contracts" if not zh else "比特币云算力",
        ("首页", "算力套餐", "我的合约", "邀请返佣") if zh else ("Home", "Plans", "My contracts", "Referral"),
        (hero, table(head, plans, "plans"), paragraphs(rng, zh_t if zh else en, 4, lang)),
        socials=("Telegram", "X"),
    )


def cloud_market(rng: random.Random, lang: str) -> Draft:
    brand, zh = (
        rng.choice(("RigMarket", "HashRent", "算力租赁网", "NiceRent", "租机宝", "RentMyRig")),
        lang == "zh",
    )
    algos = ("SHA256", "Scrypt", "KawPow", "RandomX", "Etchash", "kHeavyHash")
    rows = [
        (
            f"#{rng.randrange(10000, 99999)}",
            pick(rng, algos),
            f"{rng.uniform(1, 500):.1f} {pick(rng, ('TH', 'GH', 'MH', 'kH'))}",
            f"{rng.uniform(0.00001, 0.0003):.8f} BTC/" + ("单位/天" if zh else "unit/day"),
            f"{rng.randrange(3, 168)}h",
            f"{rng.uniform(95, 100):.1f}%",
        )
        for _ in range(rng.randrange(6, 14))
    ]
    head = (
        ("矿机ID", "算法", "算力", "价格", "最短租期", "RPI")
        if zh
        else ("Rig", "Algorithm", "Hashrate", "Price", "Min. hours", "RPI")
    )
    en = (
        "Rent hashing power from rig owners and point it at any pool you like.",
        "Rig owners: list your rigs and earn more than mining yourself.",
        "Orders are paid from your balance; unused time is refunded if a rig goes offline.",
        "Enter your pool's stratum URL, worker and password when you place an order.",
    )
    zh_t = (
        "向矿机主租用算力，自由指向任意矿池。",
        "矿机主可出租闲置矿机，收益高于自己挖矿。",
        "租用期间矿机掉线按比例退款。",
        "下单时填写矿池地址、矿工名与密码即可。",
    )
    return Draft(
        brand,
        brand + (" - 算力租赁市场" if zh else " - hashrate marketplace"),
        "Rent mining rigs by the hour",
        ("租用算力", "出租矿机", "订单", "钱包") if zh else ("Rent", "Rig owners", "Orders", "Balance"),
        (
            f"<h1>{'算力市场' if zh else 'Marketplace'}</h1>",
            table(head, rows, "rigs"),
            paragraphs(rng, zh_t if zh else en, 3, lang),
        ),
    )


def cloud_hosting(rng: random.Random, lang: str) -> Draft:
    brand, zh = pick(rng, _CLOUD_BRANDS), lang == "zh"
    price = rng.uniform(0.045, 0.08)
    en = (
        f"Host your ASIC miners in our facility at ${price:.3f} per kWh, all-inclusive.",
        "We accept Antminer S19/S21, Whatsminer M50/M60 and Avalon machines.",
        "99% uptime guarantee, 24/7 on-site technicians and repair service.",
        "Buy miners through us and start mining within 7 days of delivery.",
        "You keep full control: your machines mine to your own pool account.",
        "Minimum order: 10 machines. Setup fee: $30 per unit.",
    )
    zh_t = (
        f"矿机托管电价低至 {price * 7.2:.3f} 元/度，全包无隐形费用。",
        "支持蚂蚁S19/S21、神马M50/M60、阿瓦隆等机型。",
        "7×24小时驻场运维，故障矿机免费维修。",
        "代购矿机，到货7天内上架挖矿。",
        "矿机指向您自己的矿池账户，收益直接到账。",
        "10台起托，上架费每台200元。",
    )
    models = table(
        ("机型", "算力", "功耗", "托管费/天") if zh else ("Model", "Hashrate", "Power", "Hosting/day"),
        [
            (m, f"{h} TH/s", f"{w} W", f"${w * 24 / 1000 * price:.2f}")
            for m, h, w in (
                ("Antminer S21", 200, 3500),
                ("Whatsminer M60S", 186, 3420),
                ("Antminer S19 XP", 141, 3010),
            )
        ],
    )
    return Draft(
        brand,
        ("矿机托管 - " if zh else "Miner hosting - ") + brand,
        "ASIC hosting",
        ("托管", "矿机商城", "联系") if zh else ("Hosting", "Shop", "Contact"),
        (
            "<h1>" + ("矿机托管服务" if zh else "Bitcoin miner hosting") + "</h1>",
            paragraphs(rng, zh_t if zh else en, 5, lang),
            models,
        ),
    )


def cloud_faq(rng: random.Random, lang: str) -> Draft:
    brand, zh = pick(rng, _CLOUD_BRANDS), lang == "zh"
    en = (
        (
            "What is cloud mining?",
            "You buy a share of the hashrate of our mining machines and receive the coins they mine, without owning or running hardware.",
        ),
        (
            "When do I get paid?",
            "Mining output is credited every 24 hours; withdraw once your balance reaches 0.001 BTC.",
        ),
        (
            "What happens when the contract ends?",
            "Contracts end after their term, or earlier if daily output no longer covers electricity.",
        ),
        ("Can I reinvest?", "Yes, turn on auto-reinvest to buy more TH/s with your daily earnings."),
        ("Is there a free trial?", "New users get 100 GH/s free for 3 days after registration."),
    )
    zh_t = (
        ("什么是云算力？", "您购买矿机的一部分算力，获得对应的挖矿产出，无需自己购买和维护矿机。"),
        ("收益什么时候发放？", "每24小时结算一次，余额满0.001 BTC即可提现。"),
        ("合约到期后怎样？", "合约期满自动结束；若日产出不足以支付电费，合约提前终止。"),
        ("可以复投吗？", "可以，开启自动复投即可用每日收益购买更多算力。"),
        ("有免费体验吗？", "新用户注册赠送100 GH/s算力，体验3天。"),
    )
    qa = "".join(
        f"<details><summary>{q}</summary><p>{a}</p></details>" for q, a in some(rng, zh_t if zh else en, 5)
    )
    return Draft(
        brand,
        ("常见问题 - " if zh else "FAQ - ") + brand,
        "cloud mining FAQ",
        ("首页", "常见问题") if zh else ("Home", "FAQ"),
        ("<h1>" + ("常见问题" if zh else "Frequently asked questions") + "</h1>", qa),
    )


LAYOUTS: dict[str, tuple[Builder, ...]] = {
    "pool": (pool_home, pool_start, pool_worker, pool_calc),
    "cloud-mining": (cloud_plans, cloud_market, cloud_hosting, cloud_faq),
}
