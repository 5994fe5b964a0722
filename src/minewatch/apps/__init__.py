"""What an Android app is: `minewatch apps check FILE.apk` reads an APK under bounds and
classifies it into the classes of `sites check` (exchange, otc, pool, cloud-mining,
web-miner (for apps: an embedded miner library), wallet, promotion, unrelated), with the
signals that decided, each with the data row it came from.

    limits.py    the bounds an APK is read under
    archive.py   the zip, vetted against bombs before androguard inflates anything
    strings.py   dex string tables and native libraries' printable runs, bounded
    read.py      APK -> ApkInfo (androguard: manifest, label, certificates v1/v2/v3)
    rules.py     data/signals.csv -> typed rules
    signals.py   ApkInfo -> Signal values (site rules over shown text, app rules)
    check.py     one file -> AppCheck (read + classify, or its error)
"""

from minewatch.apps.check import AppCheck, check, classify_app
from minewatch.apps.limits import Limits
from minewatch.apps.read import ApkInfo, Certificate, NativeLib, read_apk

__all__ = ["AppCheck", "ApkInfo", "Certificate", "Limits", "NativeLib", "check", "classify_app", "read_apk"]
