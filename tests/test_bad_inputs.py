"""The bad-input corpus (tests/bad_inputs/cases.yaml) through the command line.

Every case must be refused with exit code 2, a message on stderr that names the
file and the field path, no traceback, nothing on stdout and no --out file.
Most cases call `roprules.cli.main()` in-process (with the shipped engine loaded
once, so that the ~1 s rule load is not paid per case); the cases marked
`subprocess: true` also run as a whole process, as a user would run them.
"""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

import roprules.cli as cli
from roprules.api import Engine

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "bad_inputs"
REPO = HERE.parent
RULES = REPO / "rules"
MANIFEST = yaml.safe_load((CORPUS / "cases.yaml").read_text(encoding="utf-8"))
SHIPPED = {role: REPO / path for role, path in MANIFEST["shipped"].items()}
CASES: list[dict[str, Any]] = MANIFEST["cases"]
ROPRULES = Path(sys.executable).parent / "roprules"


def test_manifest_is_complete() -> None:
    names = [case["name"] for case in CASES]
    assert len(names) == len(set(names)), "case names must be unique"
    assert len(CASES) >= 25
    for case in CASES:
        assert case["command"] in ("check", "audit", "resident", "rank"), case
        assert case["expect"], case
        for role in ("resident", "offer"):
            if isinstance(case.get(role), str):
                assert (CORPUS / case[role]).is_file(), case
    listed = {c.get("resident") for c in CASES} | {c.get("offer") for c in CASES}
    listed |= {o for c in CASES for o in c.get("offers", [])}
    for path in CORPUS.iterdir():
        if path.name in ("cases.yaml", "offer-html-name.yaml"):
            continue
        assert path.name in listed, f"{path.name} is in the corpus but no case uses it"


# --------------------------------------------------------------------------- building a case


def _set_path(target: Any, dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    if isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value


def _delete_path(target: Any, dotted: str) -> None:
    *parents, last = dotted.split(".")
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    if isinstance(target, list):
        del target[int(last)]
    else:
        del target[last]


def make_faulty_rules(fault: dict[str, Any], into: Path) -> Path:
    """A copy of the shipped rules with one fault injected into one rule."""
    rules_dir = into / "rules"
    shutil.copytree(RULES, rules_dir)
    theme_path = rules_dir / fault["file"]
    theme = yaml.safe_load(theme_path.read_text(encoding="utf-8"))
    matches = [r for r in theme["rules"] if r["id"] == fault["rule"]]
    assert len(matches) == 1, f"{fault['rule']} not found once in {fault['file']}"
    rule = matches[0]
    before = copy.deepcopy(rule)
    for dotted, value in fault.get("set", {}).items():
        _set_path(rule, dotted, value)
    for dotted in fault.get("delete", []):
        _delete_path(rule, dotted)
    assert rule != before, "the fault changed nothing"
    theme_path.write_text(
        yaml.safe_dump(theme, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    return rules_dir


def _generate(spec: dict[str, Any], tmp_path: Path) -> Path:
    path = tmp_path / spec["name"]
    if spec["kind"] == "huge":
        filler = "# " + "x" * 98 + "\n"
        path.write_text("id: R-huge\n" + filler * (1024 * 1024 // len(filler) + 10))
        assert path.stat().st_size > 1024 * 1024
    elif spec["kind"] == "directory":
        path.mkdir()
        (path / "id.yaml").write_text("id: R-in-dir\n")
    elif spec["kind"] == "missing":
        assert not path.exists()
    elif spec["kind"] == "fifo":
        os.mkfifo(path)
    elif spec["kind"] == "symlink-loop":
        path.symlink_to(path)
    elif spec["kind"] == "long-name":
        path = tmp_path / ("r" * 300 + ".yaml")
    elif spec["kind"] == "text":
        # `text` with {big} replaced by `big_chars` copies of `big_char` (default "x")
        big = spec.get("big_char", "x") * spec.get("big_chars", 0)
        path.write_text(spec["text"].replace("{big}", big), encoding="utf-8")
    else:
        raise AssertionError(spec)
    return path


def build_argv(case: dict[str, Any], tmp_path: Path) -> list[str]:
    """The command line of a case (without --out)."""
    files: dict[str, Any] = {}
    for role in ("resident", "offer"):
        if role in case:
            files[role] = CORPUS / case[role]
    if "offers" in case:
        files["offers"] = [
            SHIPPED["offer"] if name == "@offer" else CORPUS / name for name in case["offers"]
        ]
    if "generate" in case:
        generated = _generate(case["generate"], tmp_path)
        role = case["generate"]["role"]
        if role == "offers":
            files.setdefault("offers", []).append(generated)
        else:
            files[role] = generated
    command = case["command"]
    argv = [command]
    if command in ("check", "resident", "rank"):
        argv += ["--resident", str(files.get("resident", SHIPPED["resident"]))]
    if command in ("check", "audit"):
        argv += ["--offer", str(files.get("offer", SHIPPED["offer"]))]
    if command == "rank":
        argv += [str(p) for p in files["offers"]]
    if "rules_fault" in case:
        argv += ["--rules", str(make_faulty_rules(case["rules_fault"], tmp_path))]
    # The language of the messages: `lang` (default en, so that `expect` reads in English).
    argv += ["--lang", case.get("lang", "en")]
    return argv


def check_refusal(case: dict[str, Any], code: Any, stdout: str, stderr: str) -> None:
    assert "Traceback" not in stderr, stderr
    assert code == 2, f"exit code {code}; stderr: {stderr}"
    assert stdout == "", f"stdout not empty: {stdout[:300]!r}"
    missing = [s for s in case["expect"] if s not in stderr]
    assert not missing, f"stderr lacks {missing}:\n{stderr}"
    echoed = [s for s in case.get("never", []) if s in stderr]
    assert not echoed, f"stderr echoes {echoed}:\n{stderr[:2000]}"
    assert len(stderr) <= case.get("max_stderr", 4000), f"{len(stderr)} characters on stderr"


# --------------------------------------------------------------------------- in-process


@pytest.fixture
def cached_load(monkeypatch: pytest.MonkeyPatch, engine: Engine) -> None:
    """The CLI loads the rules on every run; reuse one load of the shipped rules."""
    real_load = Engine.load.__func__  # type: ignore[attr-defined]

    def load(
        cls: type[Engine], rules_dir: Any = None, overlay: Any = None, *, backend: str = "auto"
    ) -> Engine:
        if rules_dir is None and overlay is None and backend == "auto":
            return engine
        return real_load(cls, rules_dir, overlay, backend=backend)

    monkeypatch.setattr(cli.Engine, "load", classmethod(load))


def run_main(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[Any, str, str]:
    try:
        code = cli.main(argv)
    except SystemExit as exc:  # argparse
        code = exc.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_refused_in_process(
    case: dict[str, Any],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    cached_load: None,
) -> None:
    argv = build_argv(case, tmp_path)
    out = tmp_path / "out" / "report.txt"
    out.parent.mkdir()
    started = time.perf_counter()
    code, stdout, stderr = run_main([*argv, "--out", str(out)], capsys)
    elapsed = time.perf_counter() - started
    check_refusal(case, code, stdout, stderr)
    assert not out.exists(), "the --out file was written despite the error"
    assert list(out.parent.iterdir()) == []
    if "max_seconds" in case:
        assert elapsed < case["max_seconds"], f"took {elapsed:.2f} s"


# --------------------------------------------------------------------------- whole process

SUBPROCESS_CASES = [c for c in CASES if c.get("subprocess")]


@pytest.mark.parametrize("case", SUBPROCESS_CASES, ids=[c["name"] for c in SUBPROCESS_CASES])
def test_refused_as_process(case: dict[str, Any], tmp_path: Path) -> None:
    argv = build_argv(case, tmp_path)
    command = [str(ROPRULES)] if ROPRULES.exists() else [sys.executable, "-m", "roprules.cli"]
    env = {**os.environ, "NO_COLOR": "1"}
    result = subprocess.run(
        [*command, *argv], capture_output=True, text=True, timeout=60, cwd=tmp_path, env=env
    )
    check_refusal(case, result.returncode, result.stdout, result.stderr)
    # Once more with --out: still refused, and nothing written.
    out = tmp_path / "report.json"
    result = subprocess.run(
        [*command, *argv, "--format", "json", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env=env,
    )
    check_refusal(case, result.returncode, result.stdout, result.stderr)
    assert not out.exists()


# --------------------------------------------------------------------------- accepted input

HTML_OFFER = CORPUS / "offer-html-name.yaml"
HTML_TEMPLATE = REPO / "src" / "roprules" / "report" / "render" / "templates" / "assessment.html.j2"


def test_markup_in_free_text_is_accepted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], cached_load: None
) -> None:
    out = tmp_path / "report.json"
    argv = ["check", "--resident", str(SHIPPED["resident"]), "--offer", str(HTML_OFFER)]
    code, stdout, stderr = run_main([*argv, "--format", "json", "--out", str(out)], capsys)
    assert code == 0, stderr
    assert stdout == ""
    assert "<script>alert('x')</script>" in out.read_text(encoding="utf-8")


@pytest.mark.skipif(not HTML_TEMPLATE.exists(), reason="--format html is not implemented yet")
def test_markup_in_free_text_is_escaped_in_html(
    capsys: pytest.CaptureFixture[str], cached_load: None
) -> None:
    argv = ["check", "--resident", str(SHIPPED["resident"]), "--offer", str(HTML_OFFER)]
    code, stdout, stderr = run_main([*argv, "--format", "html"], capsys)
    assert code == 0, stderr
    assert "<script>" not in stdout
    assert "<img src=x" not in stdout
    assert "&lt;script&gt;" in stdout
