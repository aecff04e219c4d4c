"""The web app's full printable report: the same HTML report as the command line."""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi.testclient import TestClient
from tests.test_web import HIGH_RISK, as_form, assess, hidden_values, make_app


def test_the_printable_report_with_why_not_and_its_own_style(tmp_path):
    app, _ = make_app(tmp_path)
    client = TestClient(app)
    result = assess(client, HIGH_RISK)
    response = client.post("/report", data=as_form(hidden_values(result, "/report")))
    assert response.status_code == 200
    html = response.text
    assert html.startswith("<!DOCTYPE html>") and "R-001" in html
    assert "UEGNET" in html.upper()
    # Why the undetermined rules could not be decided, as nested groups.
    assert "Hvorfor reglene ikke kunne avgjøres" in html and 'class="why-tree"' in html
    assert 'data-kind="any"' in html
    # The inline stylesheet is allowed by its hash, nothing else is.
    (style,) = re.findall(r"<style>(.*?)</style>", html, flags=re.S)
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    policy = response.headers["content-security-policy"]
    assert f"style-src 'sha256-{digest}';" in policy
    assert "unsafe-inline" not in policy and "script-src" not in policy
    assert "default-src 'none'" in policy


def test_a_report_without_a_valid_placement_is_refused(tmp_path):
    app, _ = make_app(tmp_path)
    client = TestClient(app)
    form = client.get("/assess").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
    response = client.post("/report", data={"csrf": csrf, "resident.age": "many"})
    assert response.status_code == 422
