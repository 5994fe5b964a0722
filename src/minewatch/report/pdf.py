"""The bulletin page printed to PDF by a headless Chromium (Debian's `chromium`), when one
is installed: the same page, so the PDF shows what the HTML shows."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from minewatch.errors import PdfError

__all__ = ["PdfError", "find_chromium", "print_pdf"]

_BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    return next((p for b in _BROWSERS if (p := shutil.which(b))), None)


def print_pdf(html: Path, pdf: Path, timeout_s: float = 120.0) -> None:
    browser = find_chromium()
    if browser is None:
        raise PdfError("no Chromium to print with (Debian package chromium); HTML, JSON and CSV are written")
    with tempfile.TemporaryDirectory() as profile:
        cmd = [
            browser,
            "--headless",
            "--no-sandbox",  # root in a container has no user namespace for the sandbox
            "--disable-gpu",
            "--no-pdf-header-footer",
            f"--user-data-dir={profile}",
            f"--print-to-pdf={pdf}",
            html.resolve().as_uri(),
        ]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, check=False)
        except subprocess.TimeoutExpired as e:
            raise PdfError(f"Chromium did not finish printing in {timeout_s:.0f} s") from e
    if done.returncode != 0 or not pdf.is_file() or pdf.stat().st_size == 0:
        reason = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        raise PdfError(f"Chromium could not print the page: {reason}")
