# ruff: noqa: E501  (page text: long literal lines are the data)
"""The shared parts of the blind page corpus (tests/sites_blind.py): a page draft, the
site chrome every class shares (head, nav, cookie banner, footer, trackers), real-format
wallet addresses, and small text helpers.

Written without looking at the classifier or its data: the chrome is the same for every
class on purpose, so that a page's class lives only in what a real site of that kind says.
"""

from __future__ import annotations

import hashlib
import html
import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TypeVar

import base58
import bech32
from Crypto.Hash import keccak

__all__ = [
    "Builder",
    "Draft",
    "btc_address",
    "eth_address",
    "paragraphs",
    "pick",
    "render",
    "some",
    "table",
    "tron_address",
    "txid",
    "typo",
    "xmr_address",
]


@dataclass(frozen=True)
class Draft:
    """What a page builder decides; `render` adds the chrome. `sections` are HTML fragments
    in page order; `state` (if set) is a JSON blob a single-page app would ship."""

    brand: str
    title: str
    description: str
    nav: tuple[str, ...]
    sections: tuple[str, ...]
    scripts: tuple[str, ...] = ()
    keywords: str = ""
    state: dict[str, object] | None = None
    socials: tuple[str, ...] = field(default=())


T = TypeVar("T")


Builder = Callable[[random.Random, str], Draft]
"""A page layout: (rng, language) -> Draft."""


def pick(rng: random.Random, seq: Sequence[T]) -> T:
    return seq[rng.randrange(len(seq))]


def some(rng: random.Random, seq: Sequence[T], k: int) -> list[T]:
    return rng.sample(list(seq), min(k, len(seq)))


def typo(rng: random.Random, text: str, rate: float = 0.03) -> str:
    """English text with a few adjacent letters swapped, as hurried copywriters leave them."""
    words = text.split(" ")
    for i, w in enumerate(words):
        if len(w) > 4 and w.isalpha() and w.isascii() and rng.random() < rate:
            j = rng.randrange(1, len(w) - 2)
            words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
    return " ".join(words)


def paragraphs(rng: random.Random, pool: Sequence[str], k: int, lang: str) -> str:
    chosen = some(rng, pool, k)
    if lang == "en":
        chosen = [typo(rng, c) for c in chosen]
    return "".join(f"<p>{c}</p>\n" for c in chosen)


def table(head: Sequence[str], rows: Sequence[Sequence[str]], cls: str = "") -> str:
    th = "".join(f"<th>{h}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>\n" for r in rows)
    return f'<table class="{cls}"><thead><tr>{th}</tr></thead><tbody>\n{body}</tbody></table>\n'


# --- addresses in their real formats, with valid checksums -------------------------------


def _bytes(rng: random.Random, n: int) -> bytes:
    return bytes(rng.randrange(256) for _ in range(n))


def btc_address(rng: random.Random) -> str:
    """A legacy (1...), script (3...) or native segwit (bc1q...) address."""
    kind = rng.randrange(3)
    if kind == 2:
        return str(bech32.encode("bc", 0, list(_bytes(rng, 20))))
    return str(base58.b58encode_check(bytes([0x00 if kind == 0 else 0x05]) + _bytes(rng, 20)).decode())


def eth_address(rng: random.Random) -> str:
    """An EIP-55 mixed-case checksummed address."""
    raw = _bytes(rng, 20).hex()
    digest = keccak.new(digest_bits=256, data=raw.encode()).hexdigest()
    return "0x" + "".join(c.upper() if int(digest[i], 16) >= 8 else c for i, c in enumerate(raw))


def tron_address(rng: random.Random) -> str:
    return str(base58.b58encode_check(b"\x41" + _bytes(rng, 20)).decode())


_XMR_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_XMR_BLOCK = [0, 2, 3, 5, 6, 7, 9, 10, 11]  # encoded length of a 0..8-byte block


def xmr_address(rng: random.Random) -> str:
    """A Monero standard address: net byte 18, two keys, keccak checksum, block base58."""
    data = bytes([18]) + _bytes(rng, 64)
    data += keccak.new(digest_bits=256, data=data).digest()[:4]
    out = []
    for i in range(0, len(data), 8):
        block = data[i : i + 8]
        num = int.from_bytes(block, "big")
        chars = []
        for _ in range(_XMR_BLOCK[len(block)]):
            num, rem = divmod(num, 58)
            chars.append(_XMR_ALPHABET[rem])
        out.append("".join(reversed(chars)))
    return "".join(out)


def txid(rng: random.Random) -> str:
    return hashlib.sha256(_bytes(rng, 16)).hexdigest()


# --- chrome ------------------------------------------------------------------------------

_TRACKERS_EN = (
    '<script async src="https://www.googletagmanager.com/gtag/js?id=G-{code}"></script>\n'
    "<script>window.dataLayer=window.dataLayer||[];function gtag(){{dataLayer.push(arguments);}}"
    "gtag('js',new Date());gtag('config','G-{code}');</script>",
    '<script src="https://cdn.segment.com/analytics.js/v1/{code}/analytics.min.js"></script>',
    '<script defer data-domain="{host}" src="https://plausible.io/js/script.js"></script>',
    "<!-- Hotjar Tracking Code -->\n<script>(function(h,o,t,j,a,r){{h.hj=h.hj||function(){{"
    "(h.hj.q=h.hj.q||[]).push(arguments)}};h._hjSettings={{hjid:{num},hjsv:6}};}})(window,document);</script>",
)
_TRACKERS_ZH = (
    "<script>var _hmt=_hmt||[];(function(){{var hm=document.createElement('script');"
    "hm.src='https://hm.baidu.com/hm.js?{code}';var s=document.getElementsByTagName('script')[0];"
    "s.parentNode.insertBefore(hm,s);}})();</script>",
    '<script src="https://s4.cnzz.com/z_stat.php?id={num}&web_id={num}" language="JavaScript"></script>',
    '<script src="https://js.users.51.la/{num}.js"></script>',
) + _TRACKERS_EN[:1]
_LIBS = (
    '<script src="https://code.jquery.com/jquery-3.{v}.min.js"></script>',
    '<script src="https://cdn.jsdelivr.net/npm/bootstrap@5.{v}/dist/js/bootstrap.bundle.min.js"></script>',
    '<script src="/static/js/runtime.{code}.js"></script><script src="/static/js/main.{code}.chunk.js"></script>',
    '<script src="https://unpkg.com/vue@3.{v}/dist/vue.global.prod.js"></script>',
    '<script src="/_next/static/chunks/framework-{code}.js" defer></script>',
    '<script src="https://cdn.bootcdn.net/ajax/libs/axios/1.{v}.0/axios.min.js"></script>',
)
_COOKIE_EN = (
    "We use cookies to improve your experience, analyse traffic and personalise content. "
    "By clicking “Accept all” you agree to our use of cookies. <a href='/cookie-policy'>Cookie policy</a>",
    "This website uses cookies. Some are essential, others help us understand how you use the site. "
    "<button>Manage preferences</button>",
    "🍪 We and our partners store and/or access information on a device. You can change your choices at any time.",
)
_COOKIE_ZH = (
    "本网站使用Cookie以提升您的浏览体验。继续浏览即表示您同意我们使用Cookie。<a href='/privacy'>隐私政策</a>",
    "我们使用cookies和类似技术来改善网站功能、分析流量。点击“接受”即表示同意。",
)
_LEGAL_EN = ("Terms of Use", "Privacy Policy", "Cookie Settings", "Contact", "Careers", "Press", "Sitemap")
_LEGAL_ZH = ("关于我们", "用户协议", "隐私政策", "联系我们", "加入我们", "帮助中心", "网站地图")
# Class-neutral boilerplate that makes some pages long, as terms and notices do on real sites.
_BOILER_EN = (
    "These Terms govern your access to and use of our website and services; by using them you accept these Terms.",
    "We may update these Terms from time to time. The date at the top shows when they were last changed.",
    "You must be at least 18 years old and able to form a binding contract in your jurisdiction.",
    "We collect personal data such as your name, email address and IP address to provide and improve the service.",
    "Nothing on this site constitutes legal, tax or investment advice. Past performance does not guarantee future results.",
    "We are not liable for indirect or consequential losses, loss of profits, or interruptions beyond our reasonable control.",
    "You may request access to, correction of or deletion of your personal data by contacting our data protection officer.",
    "Third-party links are provided for convenience only; we do not endorse their content.",
    "Any dispute shall be governed by the laws of the jurisdiction stated in the company information below.",
    "Service availability may vary by region. Some features are not available to residents of certain countries.",
    "We use service providers for hosting, analytics, customer support and email delivery.",
    "If any provision of these Terms is held invalid, the remaining provisions remain in effect.",
)
_BOILER_ZH = (
    "本协议是您与本网站之间就使用本网站服务所订立的协议，请您仔细阅读。",
    "我们有权根据需要不时修订本协议条款，修订后的条款一经公布即生效。",
    "您应当是具有完全民事行为能力的自然人、法人或其他组织。",
    "我们会收集您的手机号、邮箱、设备信息和IP地址，用于提供和改进服务。",
    "本网站内容不构成任何投资、法律或税务建议，市场有风险，决策需谨慎。",
    "因不可抗力、系统维护或第三方原因导致的服务中断，本网站不承担责任。",
    "您可以通过客服渠道查询、更正或删除您的个人信息。",
    "本网站包含的第三方链接仅为方便用户，不代表我们认可其内容。",
    "本协议的订立、执行和解释及争议的解决均适用中华人民共和国法律。",
    "部分功能在某些国家或地区不可用。",
)
_PROVINCES = ("京", "沪", "粤", "浙", "苏", "川", "鄂", "闽")


def _fill(rng: random.Random, template: str, host: str) -> str:
    return template.format(
        code="".join(rng.choice("0123456789abcdef") for _ in range(10)),
        num=rng.randrange(10**7, 10**8),
        v=rng.randrange(1, 8),
        host=host,
    )


def _head(rng: random.Random, lang: str, d: Draft, host: str) -> str:
    parts = [
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(d.title)}</title>",
        f'<meta name="description" content="{html.escape(d.description)}">',
    ]
    if d.keywords:
        parts.append(f'<meta name="keywords" content="{html.escape(d.keywords)}">')
    if rng.random() < 0.6:
        parts.append(f'<meta property="og:title" content="{html.escape(d.title)}">')
        parts.append(f'<meta property="og:site_name" content="{html.escape(d.brand)}">')
        parts.append(f'<link rel="canonical" href="https://{host}/">')
    parts.append(f'<link rel="stylesheet" href="/assets/css/app.{_fill(rng, "{code}", host)}.css">')
    parts.append('<link rel="icon" href="/favicon.ico">')
    trackers = _TRACKERS_ZH if lang == "zh" else _TRACKERS_EN
    parts += [_fill(rng, t, host) for t in some(rng, trackers, rng.randrange(1, 3))]
    return "\n".join(parts)


def _nav(rng: random.Random, lang: str, d: Draft) -> str:
    login = ("登录", "注册") if lang == "zh" else ("Log in", "Sign up")
    items = "".join(f'<li><a href="/{i}">{html.escape(n)}</a></li>' for i, n in enumerate(d.nav))
    extra = ""
    if rng.random() < 0.5:
        extra = f'<div class="auth"><a href="/login">{login[0]}</a> <a class="btn" href="/register">{login[1]}</a></div>'
    lang_switch = (
        '<a href="?lang=en">English</a> | <a href="?lang=zh">简体中文</a>' if rng.random() < 0.4 else ""
    )
    logo = f'<a class="logo" href="/"><img src="/logo.svg" alt="{html.escape(d.brand)}">{html.escape(d.brand)}</a>'
    return f'{logo}\n<ul class="menu">{items}</ul>\n{extra}{lang_switch}'


def _footer(rng: random.Random, lang: str, d: Draft) -> str:
    year = rng.choice((2021, 2022, 2023, 2024, 2025))
    legal = some(rng, _LEGAL_ZH if lang == "zh" else _LEGAL_EN, 5)
    links = " · ".join(f'<a href="/l{i}">{t}</a>' for i, t in enumerate(legal))
    social = "".join(f'<a class="social" href="#">{s}</a>' for s in d.socials)
    line = f"<p>© {year} {html.escape(d.brand)}. " + ("版权所有" if lang == "zh" else "All rights reserved.")
    if lang == "zh" and rng.random() < 0.7:
        line += f' <a href="https://beian.miit.gov.cn/">{pick(rng, _PROVINCES)}ICP备{rng.randrange(10**7, 10**8)}号-{rng.randrange(1, 9)}</a>'
    return f"<div class='links'>{links}</div>\n<div class='social'>{social}</div>\n{line}</p>"


_SITEMAP_EN = (
    "About us",
    "Blog",
    "Careers",
    "Press",
    "Help Center",
    "System status",
    "Affiliates",
    "API",
    "Security",
    "Legal",
    "Accessibility",
    "Community",
    "Events",
    "Brand assets",
    "Bug bounty",
    "Partners",
    "Investors",
)
_SITEMAP_ZH = (
    "关于我们",
    "新闻动态",
    "人才招聘",
    "媒体报道",
    "帮助中心",
    "系统状态",
    "合作伙伴",
    "开放平台",
    "安全中心",
    "法律声明",
    "无障碍",
    "社区",
    "活动",
    "品牌资源",
    "漏洞奖励",
    "投资者关系",
)


def _sitemap(rng: random.Random, lang: str) -> str:
    """A mega-footer of links, as large sites carry on every page."""
    pool = _SITEMAP_ZH if lang == "zh" else _SITEMAP_EN
    cols = "".join(
        "<ul>"
        + "".join(f'<li><a href="/s/{i}">{t}</a></li>' for i, t in enumerate(some(rng, pool, 6)))
        + "</ul>"
        for _ in range(4)
    )
    return f'<div class="sitemap">{cols}</div>'


def _bundle(rng: random.Random) -> str:
    """An inline minified script of no meaning (bundlers inline tens of kilobytes)."""
    names = ["e", "t", "n", "r", "o", "i", "a", "s", "u", "c", "l", "f"]
    parts = []
    for _ in range(rng.randrange(200, 900)):
        a, b, c = pick(rng, names), pick(rng, names), pick(rng, names)
        parts.append(
            rng.choice(
                (
                    f"function {a}{rng.randrange(99)}({b},{c}){{return {b}&&{c}.apply(this,arguments)}}",
                    f"var {a}{b}=Object.assign({{}},{c},{{k{rng.randrange(999)}:!0}});",
                    f"{a}.prototype.{b}{rng.randrange(99)}=function(){{return this.{c}}};",
                )
            )
        )
    return "<script>!function(){" + "".join(parts) + "}();</script>"


def _cookie(rng: random.Random, lang: str) -> str:
    if rng.random() < 0.45:
        return ""
    text = pick(rng, _COOKIE_ZH if lang == "zh" else _COOKIE_EN)
    ok = "接受" if lang == "zh" else "Accept all"
    return f'<div id="cookie-banner" class="cookie"><p>{text}</p><button id="cookie-ok">{ok}</button></div>\n'


def render(rng: random.Random, lang: str, d: Draft) -> str:
    """The full HTML page of `d`, in one of four page skeletons chosen by `rng`."""
    host = "".join(c for c in d.brand.lower() if c.isascii() and c.isalnum()) or "site"
    host += rng.choice((".com", ".io", ".net", ".cn", ".org", ".co"))
    head = _head(rng, lang, d, host)
    nav, footer, cookie = _nav(rng, lang, d), _footer(rng, lang, d), _cookie(rng, lang)
    body = "\n".join(d.sections)
    if rng.random() < 0.3:  # a long page: the terms pasted below the content
        pool = _BOILER_ZH if lang == "zh" else _BOILER_EN
        notice = "".join(f"<p>{i + 1}. {pick(rng, pool)}</p>" for i in range(rng.randrange(12, 40)))
        body += (
            f'\n<section class="terms"><h3>{"服务条款" if lang == "zh" else "Terms"}</h3>{notice}</section>'
        )

    if rng.random() < 0.35:
        footer = _sitemap(rng, lang) + footer
    if rng.random() < 0.25:
        d = replace(d, scripts=(_bundle(rng), *d.scripts))
    libs = "\n".join(_fill(rng, t, host) for t in some(rng, _LIBS, rng.randrange(1, 4)))
    scripts = "\n".join(d.scripts)
    code = "zh-CN" if lang == "zh" else "en"
    skeleton = rng.randrange(4)
    if skeleton == 0:  # bootstrap-style div soup
        page = (
            f'<nav class="navbar navbar-expand-lg">{nav}</nav>\n<div class="container"><div class="row">'
            f'<div class="col-12">{body}</div></div></div>\n<div class="footer bg-dark">{footer}</div>'
        )
    elif skeleton == 1:  # semantic HTML5
        page = f"<header><nav>{nav}</nav></header>\n<main>\n{body}\n</main>\n<footer>{footer}</footer>"
    elif skeleton == 2:  # an older table layout, still common on Chinese portals
        page = (
            f'<table width="100%" border="0" cellpadding="0"><tr><td class="top">{nav}</td></tr>'
            f"<tr><td>{body}</td></tr><tr><td class='foot'>{footer}</td></tr></table>"
        )
    else:  # a server-rendered single-page app: the same text inside #__next, plus its state
        state = json.dumps(
            {"props": {"pageProps": d.state or {"title": d.title}}, "page": "/"}, ensure_ascii=False
        )
        page = (
            f'<div id="__next"><div class="layout_root__x"><div class="hdr">{nav}</div>'
            f'<div class="content">{body}</div><div class="ftr">{footer}</div></div></div>\n'
            f'<script id="__NEXT_DATA__" type="application/json">{state}</script>'
        )
    return (
        f'<!DOCTYPE html>\n<html lang="{code}">\n<head>\n{head}\n</head>\n<body>\n{cookie}{page}\n'
        f"{libs}\n{scripts}\n</body>\n</html>\n"
    )
