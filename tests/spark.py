"""A real Apache Spark standalone cluster for the tests: the one .ci/run started
(MINEWATCH_TEST_SPARK, its master URL), else a master and two workers started here
(scripts/spark) for this test process; and one Spark session on it for the whole run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from typing import Any

from tests.conftest import ROOT
from tests.ports import free_port

__all__ = ["master_url", "spark_session"]


def master_url() -> Iterator[str]:
    given = os.environ.get("MINEWATCH_TEST_SPARK")
    if given:
        yield given
        return
    folder = tempfile.mkdtemp(prefix="minewatch-spark-")
    script = str(ROOT / "scripts" / "spark")
    env = {**os.environ, "MINEWATCH_PYTHON": sys.executable}
    started = subprocess.run(
        [script, "start", folder, str(free_port())], capture_output=True, text=True, env=env, timeout=240
    )
    try:
        assert started.returncode == 0, f"scripts/spark start failed: {started.stderr}"
        yield started.stdout.strip()
    finally:
        subprocess.run([script, "stop", folder], check=False, capture_output=True, timeout=60)
        shutil.rmtree(folder, ignore_errors=True)


def spark_session() -> Iterator[Any]:
    from minewatch.store.spark import session

    for url in master_url():
        spark = session(url, app="minewatch-tests")
        try:
            yield spark
        finally:
            spark.stop()
