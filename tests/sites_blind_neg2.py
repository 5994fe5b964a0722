# ruff: noqa: E501  (page text: long literal lines are the data)
"""Blind corpus hard negatives, part two: a payments company, a game with mining, a coal and
ore mining-equipment maker, a government notice about the crackdown, a security blog about
cryptojacking, a data-centre colocation provider, and plain everyday sites."""

from __future__ import annotations

import random

from tests.sites_blind_kit import Builder, Draft, paragraphs, table, xmr_address

__all__ = ["KINDS"]


def payments(rng: random.Random, lang: str) -> Draft:
    zh = lang == "zh"
    brand = rng.choice(("Paylane", "Stripeline", "Checkout Nova", "汇付通", "易收银", "Adyenne"))
    en = (
        "Accept cards, digital wallets like Apple Pay and Google Pay, and local payment methods in 135 currencies.",
        "Payouts to your bank account on a 2-day rolling basis.",
        "Transparent pricing: 2.9% + 30¢ per successful card charge; currency conversion 1%.",
        "PCI DSS Level 1 certified. Built-in fraud detection with machine learning.",
        "Developers: a REST API, webhooks and SDKs for iOS, Android and the web.",
        "Settle in USD, EUR or GBP; multi-currency balances with competitive exchange rates.",
    )
    zh_t = (
        "聚合支付：支持银行卡、微信支付、支付宝、云闪付。",
        "T+1结算至企业对公账户。",
        "费率透明：每笔0.38%，无年费。",
        "持有人民银行颁发的支付业务许可证。",
        "开发者文档：REST API、回调通知与多端SDK。",
        "跨境收款支持多币种结算。",
    )
    snippet = "<pre><code>const session = await client.checkout.sessions.create({ amount: 2000, currency: 'usd' });</code></pre>"
    return Draft(
        brand,
        brand + (" - 支付解决方案" if zh else " | Online payments"),
        en[0],
        ("产品", "价格", "开发者", "客户案例") if zh else ("Products", "Pricing", "Developers", "Customers"),
        (
            f"<h1>{'让收款更简单' if zh else 'Payments infrastructure for the internet'}</h1>",
            paragraphs(rng, zh_t if zh else en, 5, lang),
            snippet,
        ),
    )


def game(rng: random.Random, lang: str) -> Draft:
    zh = lang == "zh"
    brand = rng.choice(
        ("Deep Rock Saga", "StarMiner Online", "Pickaxe Kingdom", "矿工传奇", "星际采矿", "我的世界攻略站")
    )
    en = (
        "Mine ore, gold and crystals with your upgraded drill, then sell them at the trading post for coins.",
        "Patch 2.3: new mining laser, faster hauling drones, and a rebalanced ore market.",
        "Join a guild and claim asteroid fields; rare Veldspar deposits respawn every hour.",
        "Diamonds are most common at Y=-59. Use a Fortune III pickaxe for more drops.",
        "Earn gems by completing daily quests; no real money or blockchain involved.",
        "Server maintenance Thursday 02:00-04:00 UTC.",
    )
    zh_t = (
        "驾驶采矿机挖掘矿石、金币和水晶，在交易站卖出换取金币。",
        "2.3版本更新：新增采矿激光、更快的运输无人机，调整矿石市场价格。",
        "加入公会占领小行星带，稀有矿点每小时刷新。",
        "钻石在Y=-59层最常见，附魔时运III的镐子掉落更多。",
        "完成每日任务获得宝石，游戏内货币不能兑换现实货币。",
        "周四凌晨2点至4点停服维护。",
    )
    return Draft(
        brand,
        brand + (" 官网" if zh else " - Official Site"),
        en[0],
        ("新闻", "攻略", "下载游戏", "论坛") if zh else ("News", "Guides", "Play Free", "Forums"),
        (
            f"<h1>{brand}</h1>",
            paragraphs(rng, zh_t if zh else en, 5, lang),
            "<a class='btn' href='/download'>" + ("下载游戏" if zh else "Download on Steam") + "</a>",
        ),
    )


def equipment(rng: random.Random, lang: str) -> Draft:
    zh = lang == "zh"
    brand = rng.choice(
        (
            "Heavy Rock Machinery",
            "OreTech Industries",
            "三一矿山装备",
            "中煤机械",
            "徐工矿机",
            "Granite Ridge Mining Systems",
        )
    )
    en = (
        "Underground mining equipment for coal, gold and copper: roadheaders, longwall shearers, loaders and haul trucks.",
        "Our crushers and ball mills process up to 2,000 t/h of ore.",
        "Explosion-proof electrical systems certified for gassy coal mines.",
        "Spare parts and on-site service at 40 mines across the region.",
        "Safety first: proximity detection and remote operation keep miners out of danger.",
        "Request a quote for a new drill rig or a refurbished mining loader.",
    )
    zh_t = (
        "矿山机械专业制造商：掘进机、采煤机、液压支架、矿用自卸车。",
        "破碎机、球磨机处理能力可达每小时2000吨矿石。",
        "防爆电气设备，适用于高瓦斯煤矿井下作业。",
        "全国40余座矿山提供备件与驻矿服务。",
        "智能化矿山：远程操控、人员定位，保障矿工安全。",
        "欢迎来电咨询矿机价格：掘进机、凿岩台车、铲运机。",
    )
    products = table(
        ("产品", "型号", "功率") if zh else ("Product", "Model", "Power"),
        [
            ("掘进机" if zh else "Roadheader", "EBZ-260", "260 kW"),
            ("采煤机" if zh else "Shearer", "MG500", "1,200 kW"),
            ("铲运机" if zh else "LHD loader", "ST14", "250 kW"),
            ("颚式破碎机" if zh else "Jaw crusher", "PE-900", "110 kW"),
        ],
        "products",
    )
    return Draft(
        brand,
        brand + (" - 矿山机械" if zh else " | Mining Equipment"),
        en[0],
        ("产品中心", "解决方案", "服务", "联系我们")
        if zh
        else ("Products", "Solutions", "Service", "Contact"),
        (f"<h1>{brand}</h1>", paragraphs(rng, zh_t if zh else en, 5, lang), products),
    )


def notice(rng: random.Random, lang: str) -> Draft:
    zh = lang == "zh"
    brand = (
        rng.choice(("省发展和改革委员会", "市通信管理局", "省能源局", "人民银行分行"))
        if zh
        else rng.choice(
            (
                "Provincial Development and Reform Commission (English)",
                "Financial Regulator Press Office",
                "Ministry of Energy",
            )
        )
    )
    zh_t = (
        "为贯彻落实中央关于整治虚拟货币“挖矿”活动的决策部署，现就有关事项通知如下。",
        "一、全面排查虚拟货币“挖矿”项目，严禁新增项目，加快存量项目有序退出。",
        "二、数据中心、互联网数据中心不得为“挖矿”活动提供场地和电力，发现后立即停止供电。",
        "三、严禁以任何形式为虚拟货币交易提供中介服务、宣传推广和支付结算。",
        "四、对使用公共机构电力从事“挖矿”的行为，依法依规追究相关人员责任。",
        "五、对“挖矿”企业执行惩罚性电价，纳入失信名单。",
        "六、举报电话：12345；邮箱：wakuang@example.gov.cn。",
        "各地区于本月底前将排查情况报送省领导小组办公室。",
    )
    en = (
        "To implement the national decision on rectifying virtual-currency “mining”, the following is notified.",
        "1. All mining projects shall be identified; no new projects may be approved and existing ones shall exit in order.",
        "2. Data centres shall not provide space or power to mining; power shall be cut when mining is found.",
        "3. Intermediary services, promotion and payment settlement for virtual-currency trading are prohibited.",
        "4. Use of public institutions' electricity for mining will be investigated and those responsible held accountable.",
        "5. Punitive electricity prices apply to enterprises that continue mining.",
        "Report suspected mining to the hotline 12345.",
    )
    head = (
        f"<h1>关于进一步整治虚拟货币“挖矿”活动的通知</h1><p>{brand} 发布日期：2021-{rng.randrange(5, 13):02d}-{rng.randrange(1, 29):02d} 文号：〔2021〕{rng.randrange(10, 99)}号</p>"
        if zh
        else f"<h1>Notice on further rectifying virtual-currency mining</h1><p>{brand} · Issued 2021-{rng.randrange(5, 13):02d}-{rng.randrange(1, 29):02d}</p>"
    )
    return Draft(
        brand,
        ("关于整治虚拟货币挖矿活动的通知" if zh else "Notice on virtual-currency mining") + " - " + brand,
        "政策文件" if zh else "Policy notice",
        ("首页", "政务公开", "政策文件", "互动交流") if zh else ("Home", "Policies", "Press", "Contact"),
        (
            head,
            paragraphs(rng, zh_t if zh else en, rng.randrange(5, 8), lang),
            "<p>" + ("附件：排查登记表.xlsx" if zh else "Annex: reporting form (PDF)") + "</p>",
        ),
    )


def security_blog(rng: random.Random, lang: str) -> Draft:
    zh = lang == "zh"
    brand = rng.choice(
        ("ThreatLens Research", "Sentinel Labs Blog", "安恒威胁情报", "奇安信威胁分析", "Bluejay Security")
    )
    pool = f"pool.{rng.choice(('supportxmr', 'minexmr', 'c3pool'))}.com:{rng.choice((3333, 443, 5555))}"
    en = (
        "We observed a campaign that exploits exposed Docker APIs to deploy a Monero miner (XMRig 6.21) on cloud hosts.",
        "The attackers compromised WordPress sites and injected a browser-mining script into the footer of every page.",
        "Detection: look for sustained CPU use by unknown processes, outbound connections on ports 3333/5555/7777 and DNS queries for pool domains.",
        "Remediation: remove the cron persistence, rotate credentials, and block the pool domains at the resolver.",
        "Cryptojacking remains the most common payload after initial access on Linux servers.",
        "IOCs are listed below and on our GitHub.",
    )
    zh_t = (
        "我们捕获到一起利用未授权Docker API投放门罗币挖矿程序（XMRig 6.21）的攻击活动。",
        "攻击者入侵WordPress网站，在页面底部注入网页挖矿脚本。",
        "检测建议：关注未知进程的持续高CPU占用、访问3333/5555/7777端口的外连以及矿池域名的DNS请求。",
        "处置：清除计划任务持久化，重置凭据，在DNS层面封禁矿池域名。",
        "挖矿木马仍是Linux服务器失陷后最常见的载荷。",
        "IOC见下文及我们的GitHub。",
    )
    iocs = (
        "<h2>IOCs</h2><pre>"
        + f"stratum+tcp://{pool}\n{xmr_address(rng)}\nhxxps://coinhive[.]com/lib/coinhive.min.js\n"
        + f"sha256 {''.join(rng.choice('0123456789abcdef') for _ in range(64))}  xmrig\n/tmp/.X11-unix/kworkerds</pre>"
    )
    return Draft(
        brand,
        ("挖矿木马分析 - " if zh else "Cryptojacking campaign analysis - ") + brand,
        en[0],
        ("博客", "威胁情报", "产品", "关于") if zh else ("Blog", "Threat Intel", "Products", "About"),
        (
            f"<article><h1>{'新型挖矿木马攻击活动分析' if zh else 'New cryptojacking campaign targets exposed Docker APIs'}</h1>"
            + paragraphs(rng, zh_t if zh else en, 5, lang)
            + "</article>",
            iocs,
        ),
    )


def colo(rng: random.Random, lang: str) -> Draft:
    zh = lang == "zh"
    brand = rng.choice(
        ("Meridian Colocation", "CoreRack Data Centers", "云数港IDC", "华北数据中心", "Polar DC", "千兆机房")
    )
    price = rng.randrange(300, 1500)
    en = (
        f"Full racks (42U, 5 kW) from ${price}/month with 1 Gbit/s unmetered bandwidth.",
        "Tier III design, N+1 cooling and 2N power, 99.982% uptime SLA.",
        "High-density AI/GPU cages up to 40 kW per rack with liquid cooling.",
        "24/7 remote hands, cross-connects to 30+ carriers and IXPs.",
        "ISO 27001 and SOC 2 certified; biometric access control.",
        "Cryptocurrency mining equipment is not permitted under our acceptable use policy.",
    )
    zh_t = (
        f"整机柜（42U，5kW）租用每月{price * 7}元起，含独享带宽100M。",
        "按T3+标准建设，双路市电，N+1制冷，可用性99.99%。",
        "高功率GPU机柜，单柜最高40kW，支持液冷。",
        "7×24小时驻场运维、代维服务。",
        "通过等保三级、ISO 27001认证。",
        "根据国家有关规定，严禁托管虚拟货币“挖矿”设备，一经发现立即断电。",
    )
    t = table(
        ("产品", "规格", "价格") if zh else ("Product", "Spec", "Price"),
        [
            ("1U", "1A / 100M", f"{price // 8}"),
            ("1/4 rack", "10U / 2A", f"{price // 3}"),
            ("Full rack", "42U / 5kW", f"{price}"),
        ],
    )
    return Draft(
        brand,
        brand + (" - IDC机房托管" if zh else " | Colocation"),
        en[0],
        ("机柜租用", "服务器托管", "带宽", "关于") if zh else ("Colocation", "Cloud", "Network", "About"),
        (f"<h1>{brand}</h1>", paragraphs(rng, zh_t if zh else en, 5, lang), t),
    )


def everyday(rng: random.Random, lang: str) -> Draft:
    zh = lang == "zh"
    kind = rng.randrange(3)
    if kind == 0:
        brand = "小厨日记" if zh else "Home Kitchen Diaries"
        text = (
            (
                "红烧肉做法：五花肉切块焯水，冰糖炒糖色，加生抽老抽小火炖一小时。",
                "小贴士：收汁时开大火，注意不要糊锅。",
                "配菜推荐：清炒时蔬、紫菜蛋花汤。",
            )
            if zh
            else (
                "Classic banana bread: mash three ripe bananas, mix with melted butter, sugar, an egg and flour.",
                "Bake at 175°C for 60 minutes.",
                "Tip: add walnuts or chocolate chips.",
            )
        )
    elif kind == 1:
        brand = "云南旅游攻略" if zh else "Wanderlust Travel Guides"
        text = (
            (
                "大理三日游：第一天古城，第二天洱海骑行，第三天苍山索道。",
                "住宿推荐：古城内的客栈，价格200-400元。",
                "交通：昆明南站高铁约两小时到达大理。",
            )
            if zh
            else (
                "Three days in Lisbon: Alfama on day one, Belém on day two, Sintra on day three.",
                "Where to stay: Baixa and Chiado are central and walkable.",
                "Getting around: buy a Viva Viagem card for trams.",
            )
        )
    else:
        brand = "阳光牙科诊所" if zh else "Riverside Dental Clinic"
        text = (
            (
                "门诊时间：周一至周六 9:00-18:00。",
                "服务项目：洗牙、补牙、种植牙、儿童齿科。",
                "预约电话：0571-8888 6666。",
            )
            if zh
            else (
                "Opening hours: Monday to Saturday, 9am to 6pm.",
                "Services: cleanings, fillings, implants and children's dentistry.",
                "Book online or call (555) 010-2200.",
            )
        )
    return Draft(
        brand,
        brand,
        text[0],
        ("首页", "关于", "联系") if zh else ("Home", "About", "Contact"),
        (f"<h1>{brand}</h1>", paragraphs(rng, text, 3, lang)),
    )


KINDS: dict[str, Builder] = {
    "payments": payments,
    "game": game,
    "equipment": equipment,
    "gov-notice": notice,
    "security-blog": security_blog,
    "colocation": colo,
    "everyday": everyday,
}
