"""`apps check`: real APKs built in the test (tests/apkbuild.py), one or two per class in
English and Chinese, hard negatives, and hostile files that must each give one clear error."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from tests.apkbuild import AppSpec, Signer, build_apk, dex_file, missing_tools

pytest.importorskip(
    "androguard", reason="the apps extra (androguard) is in the dev extra scripts/setup installs"
)

from minewatch.apps import Limits, check, read_apk  # noqa: E402
from minewatch.apps.strings import dex_strings  # noqa: E402
from minewatch.cli.main import main  # noqa: E402

WAKE = "android.permission.WAKE_LOCK"
BOOT = "android.permission.RECEIVE_BOOT_COMPLETED"
FOREGROUND = "android.permission.FOREGROUND_SERVICE"
BATTERY = "android.permission.REQUEST_IGNORE_BATTERY_OPTIMIZATIONS"

# name -> (what the app is, the class it must get)
APPS: dict[str, tuple[AppSpec, str]] = {
    "exchange-en": (
        AppSpec(
            "com.example.coinhub",
            "CoinHub Pro",
            ("Spot trading", "Order book", "Limit order", "Withdraw", "Maker fee 0.1%"),
            ("Lcom/binance/connector/client/impl/SpotClientImpl;", "https://api.binance.com/api/v3/depth"),
        ),
        "exchange",
    ),
    "exchange-zh": (
        AppSpec(
            "com.example.huoxing", "火星交易所", ("币币交易", "永续合约", "充币", "提币", "盘口", "限价单")
        ),
        "exchange",
    ),
    "otc-en": (
        AppSpec("com.example.p2pdesk", "P2P Desk", ("P2P trading", "Escrow", "Buy USDT", "Bank transfer")),
        "otc",
    ),
    "otc-zh": (
        AppSpec("com.example.ushang", "U商承兑", ("场外交易", "法币交易", "承兑商", "支付宝", "银行卡")),
        "otc",
    ),
    "pool-en": (
        AppSpec(
            "com.example.poolwatch",
            "PoolWatch",
            ("Mining pool", "PPLNS", "Pool fee 1%", "Connect: stratum+tcp://btc.pool.example:3333"),
        ),
        "pool",
    ),
    "pool-zh": (
        AppSpec("com.example.yuchi", "鱼池矿池", ("矿池", "矿池费率", "子账户", "矿工")),
        "pool",
    ),
    "cloud-mining-en": (
        AppSpec("com.example.hashrent", "HashRent", ("Cloud mining", "Mining contract", "Daily return")),
        "cloud-mining",
    ),
    "cloud-mining-zh": (
        AppSpec("com.example.yunsuanli", "云算力", ("云算力", "算力合约", "日收益")),
        "cloud-mining",
    ),
    # A miner disguised as a cleaner: XMRig built as a native library.
    "miner-lib-en": (
        AppSpec(
            "com.example.batterysaver",
            "Battery Saver",
            ("Clean your phone", "Save battery"),
            libs={
                "libxmrig-notls.so": (
                    "XMRig 6.21.0",
                    "--donate-level",
                    "stratum+tcp://pool.example:3333",
                    "rx/0",
                )
            },
            permissions=(WAKE, BOOT),
        ),
        "web-miner",
    ),
    # The same in Java code only: a pool URL and Stratum methods in the dex strings.
    "miner-dex-zh": (
        AppSpec(
            "com.example.qingli",
            "手机清理大师",
            ("一键清理", "加速"),
            ("stratum+tcp://xmr.pool.example:4444", "mining.subscribe", "mining.submit", "cryptonight"),
            permissions=(WAKE, BOOT, FOREGROUND),
        ),
        "web-miner",
    ),
    "wallet-en": (
        AppSpec(
            "com.example.safewallet",
            "Safe Wallet",
            ("Recovery phrase", "Non-custodial"),
            ("Lorg/bitcoinj/core/ECKey;", "m/44'/0'/0'/0"),
        ),
        "wallet",
    ),
    "wallet-zh": (
        AppSpec(
            "com.example.duolian",
            "多链钱包",
            ("助记词", "私钥"),
            ("Lwallet/core/jni/HDWallet;",),
            {"libTrustWalletCore.so": ("TrustWalletCore",)},
        ),
        "wallet",
    ),
    "promotion-en": (
        AppSpec("com.example.moontoken", "MoonToken", ("Token sale", "Airdrop", "Whitepaper", "Presale")),
        "promotion",
    ),
    "promotion-zh": (
        AppSpec("com.example.kongtou", "空投大厅", ("空投", "认购", "白皮书", "代币发行")),
        "promotion",
    ),
    # Hard negatives: news about Bitcoin, and an alarm clock with the wake/boot permissions.
    "news-en": (
        AppSpec(
            "com.example.dailynews",
            "Daily News",
            (
                "Bitcoin jumps as analysts cheer ETF flows, according to traders",
                "Our reporter on the exchange rate and market cap",
                "Wallet scams rise",
            ),
        ),
        "unrelated",
    ),
    "news-zh": (
        AppSpec("com.example.xinwen", "今日新闻", ("记者报道比特币行情", "分析师称市值回落", "研究")),
        "unrelated",
    ),
    "alarm-en": (
        AppSpec(
            "com.example.alarm",
            "Alarm Clock",
            ("Wake up", "Snooze"),
            permissions=(WAKE, BOOT, FOREGROUND, BATTERY),
        ),
        "unrelated",
    ),
}

_why_not = missing_tools()
needs_tools = pytest.mark.skipif(_why_not is not None, reason=_why_not or "")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("apks")
    signer = Signer(folder)
    return {name: build_apk(spec, folder, name, signer) for name, (spec, _) in APPS.items()}


@needs_tools
@pytest.mark.parametrize("name", list(APPS))
def test_each_class(built: dict[str, Path], name: str) -> None:
    spec, expected = APPS[name]
    result = check(built[name])
    assert result.error is None and result.app is not None and result.verdict is not None
    assert result.app.package == spec.package
    assert result.app.label == spec.label
    assert result.verdict.cls.value == expected, result.to_json()
    if expected != "unrelated":
        assert result.verdict.decided_by and all(s.source for s in result.verdict.decided_by)


@needs_tools
def test_what_is_read(built: dict[str, Path]) -> None:
    info = read_apk(built["miner-lib-en"])
    assert (info.version_name, info.version_code) == ("2.1.0", "7")
    assert set(info.permissions) == {WAKE, BOOT}
    assert [(lib.abi, lib.name) for lib in info.native_libs] == [("arm64-v8a", "libxmrig-notls.so")]
    assert "--donate-level" in info.code_strings
    assert {c.scheme for c in info.certificates} == {"v1", "v2", "v3"}
    assert len({c.sha256 for c in info.certificates}) == 1  # one key signed all three
    assert "CN" in info.certificates[0].subject or "Minewatch Test" in info.certificates[0].subject
    assert "Clean your phone" in info.ui_strings


@needs_tools
def test_stratum_in_code_is_a_miner_but_in_shown_text_a_pool(built: dict[str, Path]) -> None:
    """A pool URL a person is shown is set-up help (a pool's app); one in code is used."""
    pool = check(built["pool-en"]).verdict
    miner = check(built["miner-dex-zh"]).verdict
    assert pool is not None and miner is not None
    assert any(s.kind == "stratum" and s.cls and s.cls.value == "pool" for s in pool.decided_by)
    assert any(s.kind == "stratum" and s.cls and s.cls.value == "web-miner" for s in miner.decided_by)


@needs_tools
def test_permissions_alone_stay_below_the_bar(built: dict[str, Path]) -> None:
    verdict = check(built["alarm-en"]).verdict
    assert verdict is not None and verdict.cls.value == "unrelated"
    assert verdict.scores.get(verdict.cls, 0.0) == 0.0
    assert sum(s.weight for s in verdict.signals if s.kind == "permission") < 2.0


def _zip(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return path


def _hostile(folder: Path, built: dict[str, Path]) -> dict[str, tuple[Path, str]]:
    """name -> (file, words its error must contain)."""
    good = built["wallet-en"].read_bytes()
    (folder / "random.apk").write_bytes(bytes(range(256)) * 40)
    (folder / "truncated.apk").write_bytes(good[: len(good) // 2])
    (folder / "empty.apk").write_bytes(b"")
    return {
        "random bytes": (folder / "random.apk", "not a zip"),
        "truncated": (folder / "truncated.apk", "not a zip"),
        "empty": (folder / "empty.apk", "not a zip"),
        "plain zip": (_zip(folder / "docs.apk", {"readme.txt": b"hello"}), "not an APK"),
        "garbage manifest": (
            _zip(folder / "garbage.apk", {"AndroidManifest.xml": b"\x03\x00\x08\x00" + bytes(200)}),
            "not an APK",
        ),
        # 80 MiB of zeros deflate to ~80 KB: past the 64 MiB an entry may inflate to.
        "zip bomb manifest": (
            _zip(folder / "bomb.apk", {"AndroidManifest.xml": bytes(80 << 20)}),
            "zip bomb",
        ),
        "missing": (folder / "nothing-here.apk", "no such file"),
    }


@needs_tools
def test_hostile_files_each_give_one_clear_error(built: dict[str, Path], tmp_path: Path) -> None:
    for what, (path, words) in _hostile(tmp_path, built).items():
        result = check(path)
        assert result.error is not None, what
        assert words in result.error.reason, (what, result.error.reason)
        assert str(path) in str(result.error), what


@needs_tools
def test_bounds(built: dict[str, Path], tmp_path: Path) -> None:
    apk = built["miner-lib-en"]
    too_big = check(apk, Limits(file_bytes=1000))
    assert too_big.error is not None and "more than the 1000" in too_big.error.reason
    few = read_apk(built["exchange-en"], Limits(strings=3))
    assert len(few.ui_strings) + len(few.code_strings) <= 3 and any("cut" in n for n in few.notes)
    # A dex whose string data points outside the file: read what holds, note the rest.
    dex = bytearray(dex_file(("alpha", "beta")))
    dex[0x74:0x78] = (10**6).to_bytes(4, "little")
    found, note = dex_strings(bytes(dex), 100, 100)
    assert found == ["alpha"] and note is not None
    assert dex_strings(b"PK\x03\x04" + bytes(200), 10, 10) == ([], "not a dex file (bad magic)")


@needs_tools
def test_dex_bomb_in_an_apk(built: dict[str, Path], tmp_path: Path) -> None:
    """A real APK with a second dex that inflates past the entry bound: one clear error."""
    bomb = tmp_path / "dexbomb.apk"
    bomb.write_bytes(built["wallet-en"].read_bytes())
    with zipfile.ZipFile(bomb, "a", zipfile.ZIP_DEFLATED) as z:
        z.writestr("classes2.dex", bytes(4 << 20))
    result = check(bomb, Limits(entry_bytes=1 << 20))
    assert result.error is not None and "classes2.dex inflates past" in result.error.reason


@needs_tools
def test_cli_batch_goes_on_past_a_bad_file(
    built: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.apk"
    bad.write_bytes(b"not a zip at all")
    code = main(["apps", "check", str(built["wallet-zh"]), str(bad), str(built["miner-lib-en"]), "--json"])
    out, err = capsys.readouterr()
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 1
    assert [r.get("class") for r in rows] == ["wallet", None, "web-miner"]
    assert rows[1]["error"].startswith("not a zip") and rows[0]["app"]["label"] == "多链钱包"
    assert f"minewatch: {bad}: not a zip" in err
    assert main(["apps", "check", str(built["wallet-en"])]) == 0
    assert "wallet" in capsys.readouterr().out


@needs_tools
def test_app_cases_carry_the_package_file_to_the_stix_list(
    built: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`apps check --cases`: a miner app opens a case on its package at the given place;
    blocked, the STIX list names its file by SHA-256 and its download name; a platform's
    name (an app store) is never put in the name lists; the unrelated app opens nothing."""
    import stix2

    from minewatch.apps.finding import file_sha256

    store = tmp_path / "store"
    units = tmp_path / "units.csv"
    units.write_text("code,name,level,parent_code\n330000,浙江省,province,\n330100,杭州市,city,330000\n")
    assert main(["cases", "units", str(units), "--store", str(store)]) == 0
    miner, news = built["miner-lib-en"], built["news-en"]
    offered = ["--url", "https://dl.battery-saver.example/app.apk"]
    argv = ["apps", "check", str(miner), "--cases", "--store", str(store), "--place", "330100", *offered]
    assert main(argv) == 0
    assert "1 apps checked: 1 cases opened" in capsys.readouterr().err
    assert main(["apps", "check", str(news), "--cases", "--store", str(store)]) == 0
    assert "0 cases opened, 0 updated" in capsys.readouterr().err
    store_url = ["--url", "https://play.google.com/store/apps/details?id=x"]
    assert main(["apps", "check", str(miner), "--cases", "--store", str(store), *store_url]) == 0
    assert "0 cases opened, 1 updated" in capsys.readouterr().err
    for step in ("triage", "notify"):
        assert main(["cases", "step", "1", step, "--store", str(store), "--actor", "a"]) == 0
    rectify = ["cases", "step", "1", "rectify", "--deadline", "3d", "--store", str(store), "--actor", "a"]
    assert main(rectify) == 0
    assert main(["cases", "step", "1", "block", "--store", str(store), "--actor", "a"]) == 0
    assert main(["cases", "list", "--store", str(store)]) == 0
    listed = capsys.readouterr().out
    assert "杭州市" in listed and "app" in listed  # the developer's place, as given
    out = tmp_path / "out"
    assert main(["cases", "export", "--store", str(store), "--out", str(out)]) == 0
    bundle = stix2.parse((out / "minewatch-stix.json").read_text(), allow_custom=False)
    patterns = {o.pattern for o in bundle.objects if o.type == "indicator"}
    assert f"[file:hashes.'SHA-256' = '{file_sha256(miner)}']" in patterns
    assert "[domain-name:value = 'dl.battery-saver.example']" in patterns
    assert "play.google.com" not in (out / "minewatch.rpz").read_text()
    assert "0.0.0.0 play.google.com" not in (out / "hosts").read_text()
    assert any("play.google.com" in p for p in patterns)  # its URL, in STIX only
    assert main(["apps", "check", str(miner), "--cases"]) == 2  # --cases needs --store
