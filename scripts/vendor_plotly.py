"""Vendor plotly.js's basic bundle (bar, scatter, pie) into survey/static/vendor/plotly/.

The plotly Python package ships the full plotly.js (4.8 MB, 1.4 MB gzipped); the
dashboards draw only bars and markers with error bars, which the basic bundle carries in
a quarter of that (issue 16). The files are committed, so a fresh clone needs nothing
from npm; this script is for updating them when plotly (the Python package) moves to a
new plotly.js:

    cd /tmp && npm pack plotly.js-basic-dist-min@<version of plotly.js in plotly.py>
    tar xzf plotly.js-basic-dist-min-*.tgz
    .venv/bin/python scripts/vendor_plotly.py /tmp/package

It copies the bundle and its licence, writes plotly.js's style rules as a stylesheet (the
CSP keeps plotly.js from inserting them; survey/dashboard/plotly_css.py) and the bundle
precompressed with gzip and brotli at their highest levels (brotli's takes seconds, too
slow for a request; survey/assets.py serves the siblings and checks they match).
tests/test_static_compression.py checks the bundle's version against plotly.py's.
"""

from __future__ import annotations

import gzip
import shutil
import sys
from pathlib import Path

import brotli

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from survey.dashboard.plotly_css import stylesheet  # noqa: E402

TARGET = ROOT / "survey" / "static" / "vendor" / "plotly"
BUNDLE = "plotly-basic.min.js"


def main(package: Path) -> None:
    TARGET.mkdir(parents=True, exist_ok=True)
    bundle = TARGET / BUNDLE
    shutil.copyfile(package / BUNDLE, bundle)
    shutil.copyfile(package / "LICENSE", TARGET / "LICENSE")
    (TARGET / "plotly.css").write_text(stylesheet(bundle), encoding="utf-8")
    source = bundle.read_bytes()
    # mtime=0: the same bytes every run, so a re-run changes nothing in git.
    (TARGET / (BUNDLE + ".gz")).write_bytes(gzip.compress(source, 9, mtime=0))
    (TARGET / (BUNDLE + ".br")).write_bytes(brotli.compress(source, quality=11))
    print(
        f"{bundle}: {len(source)} bytes, "
        f"gzip {(TARGET / (BUNDLE + '.gz')).stat().st_size}, "
        f"brotli {(TARGET / (BUNDLE + '.br')).stat().st_size}"
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]))
