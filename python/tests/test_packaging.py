"""`pip install ./python` gives a working package (pure Python: the library is found at
run time, here through EMBERTLS_LIBRARY)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


def test_pip_install(tmp_path):
    for needed in ("pip", "setuptools", "wheel"):
        if importlib.util.find_spec(needed) is None:
            pytest.skip(f"{needed} is not installed in this interpreter")
    # setuptools builds in the source tree (build/, *.egg-info): build a copy.
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns("tests", "__pycache__"))
    target = tmp_path / "site"
    # No build isolation and no index: the build uses this interpreter's setuptools and
    # needs no network.
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-index",
                    "--no-build-isolation", "--no-deps", "--disable-pip-version-check",
                    "--target", str(target), str(source)],
                   check=True, capture_output=True, timeout=120, cwd=tmp_path)
    installed = sorted(p.name for p in (target / "embertls").iterdir())
    assert {"__init__.py", "_lib.py", "client.py", "server.py", "py.typed"} <= set(installed)
    assert not [name for name in installed if name.endswith(".so")]  # pure Python
    [dist] = list(target.glob("embertls-*.dist-info"))
    from embertls import __version__

    assert dist.name == f"embertls-{__version__}.dist-info"
    assert (target / "bin" / "embertls-client").exists()

    env = {**os.environ, "PYTHONPATH": str(target)}
    out = subprocess.run([sys.executable, "-c",
                          "import embertls; print(embertls.__file__); "
                          "print(embertls.library_version_string())"],
                         capture_output=True, text=True, env=env, cwd=tmp_path, timeout=30)
    assert out.returncode == 0, out.stderr
    where, version = out.stdout.splitlines()
    assert where.startswith(str(target)) and version.startswith("embertls ")
