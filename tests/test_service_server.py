"""`roprules serve` as a real process on a free loopback port, called with urllib."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import OFFERS_DIR, resident_file


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _roprules() -> list[str]:
    script = Path(sys.executable).with_name("roprules")
    return [str(script)] if script.exists() else [sys.executable, "-m", "roprules.cli"]


def _wait_until_up(base: str, process: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"serve exited early: {process.stderr.read()}")
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("serve did not come up")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    port = _free_port()
    work = tmp_path_factory.mktemp("serve")  # the decision store is made here, not in the repo
    process = subprocess.Popen(
        [*_roprules(), "serve", "--port", str(port), "--offers", str(OFFERS_DIR)],
        cwd=work,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base, process)
        yield base, process
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _post(url: str, body: dict) -> tuple[int, Any, dict]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body, default=str).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.headers, json.loads(error.read())


def test_real_server_check_version_and_problem(server):
    base, _ = server
    resident = yaml.safe_load(resident_file("r01").read_text(encoding="utf-8"))
    status, headers, body = _post(
        f"{base}/v1/check?lang=en", {"resident": resident, "offer_id": "O-aalesund-gaseid"}
    )
    assert status == 200
    assert body["verdict"] == "unsuitable" and body["schema_version"]
    assert headers["Cache-Control"] == "no-store"
    assert headers.get("Server") is None
    status, headers, problem = _post(f"{base}/v1/check", {"resident": {"id": "R-x", "alder": 3}})
    assert status == 422
    assert headers["Content-Type"].startswith("application/problem+json")
    assert {e["field"] for e in problem["errors"]} >= {"resident.alder", "offer"}
    with urllib.request.urlopen(f"{base}/v1/version", timeout=5) as response:
        assert json.loads(response.read())["package"]["name"] == "roprules"
    with urllib.request.urlopen(f"{base}/openapi.json", timeout=5) as response:
        assert "/v1/check" in json.loads(response.read())["paths"]


def test_real_server_logs_no_profile_values(server):
    base, process = server
    marker = "R-Kvitfjell-5512"
    _post(f"{base}/v1/assess-resident?lang=en", {"resident": {"id": marker, "age": 41}})
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=10)
    access = [line for line in err.splitlines() if "roprules.access" in line]
    assert any("POST /v1/assess-resident 200" in line for line in access)
    assert marker not in err and "lang=en" not in err
