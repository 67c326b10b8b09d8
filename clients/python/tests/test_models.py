"""The checked-in models are what generate.sh makes of the server's OpenAPI document."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import Server

HERE = Path(__file__).resolve().parent.parent


def test_models_match_the_servers_openapi_document(server: Server) -> None:
    codegen = shutil.which("datamodel-codegen") or str(
        Path(sys.executable).with_name("datamodel-codegen")
    )
    if not Path(codegen).exists():
        pytest.skip("datamodel-codegen is not installed (pip install -r requirements-dev.txt)")
    check = subprocess.run(
        [str(HERE / "generate.sh"), "--check", f"{server.url}/openapi.json"],
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "PATH": f"{Path(codegen).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        },
    )
    assert check.returncode == 0, check.stdout[-4000:] + check.stderr[-2000:]
