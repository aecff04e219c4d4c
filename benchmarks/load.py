"""Load test of `POST /v1/check` at a fixed rate, on loopback only.

    python benchmarks/load.py                       # starts `roprules serve --workers 2` itself
    python benchmarks/load.py --rate 200 --requests 4000 --max-seconds 40
    python benchmarks/load.py --url http://127.0.0.1:8000   # an already running service

Open loop: request i is due at start + i/rate whatever happened to the others,
and its latency counts from that moment (queueing included), so a slow server
cannot hide its delay by slowing the client down. Bounded in requests and in
seconds; refuses any address that is not loopback. Reports p50/p90/p99/max
latency and errors (any status but 200, any connection failure, any request
not finished within the bounds).
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import yaml

REPO = Path(__file__).resolve().parents[1]
RESIDENT = REPO / "profiles/residents/r01-high-risk-round-the-clock.yaml"
OFFER = REPO / "profiles/offers/aalesund-gaseid.yaml"


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _body() -> bytes:
    def read(path: Path) -> object:
        return yaml.safe_load(path.read_text(encoding="utf-8"))

    return json.dumps({"resident": read(RESIDENT), "offer": read(OFFER)}, default=str).encode()


class Connection:
    """One keep-alive HTTP/1.1 connection; enough of the protocol for this test."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, raw: bytes) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(raw)
        await self.writer.drain()
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        length, close = 0, False
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "connection" and value.strip().lower() == "close":
                close = True
        await self.reader.readexactly(length)
        if close:
            self.close()
        return status

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def run_load(
    host: str, port: int, rate: float, requests: int, max_seconds: float, connections: int
) -> dict[str, object]:
    body = _body()
    raw = (
        f"POST /v1/check HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    pool: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(Connection(host, port))
    latencies: list[float] = []
    errors: dict[str, int] = {}
    loop = asyncio.get_running_loop()

    def error(kind: str) -> None:
        errors[kind] = errors.get(kind, 0) + 1

    async def one(due: float) -> None:
        connection = await pool.get()
        try:
            status = await connection.request(raw)
            if status == 200:
                latencies.append(loop.time() - due)
            else:
                error(f"status {status}")
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            connection.close()
            error(type(exc).__name__)
        finally:
            pool.put_nowait(connection)

    start = loop.time() + 0.05
    deadline = start + max_seconds
    tasks = []
    for i in range(requests):
        due = start + i / rate
        if due >= deadline:
            break
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(due)))
    sent = len(tasks)
    remaining = max(0.1, deadline + 5 - loop.time())
    _, pending = await asyncio.wait(tasks, timeout=remaining) if tasks else (set(), set())
    for task in pending:
        task.cancel()
        error("unfinished")
    elapsed = loop.time() - start
    while not pool.empty():
        pool.get_nowait().close()
    return {"sent": sent, "latencies": latencies, "errors": errors, "elapsed": elapsed}


def _percentile(sorted_values: list[float], share: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(share * len(sorted_values)) - 1))
    return sorted_values[index]


def _cpu_seconds(root: int) -> float:
    """User + system CPU seconds of a process and its children (Linux /proc), 0 elsewhere."""
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    total = 0.0
    for entry in Path("/proc").iterdir() if Path("/proc/self/stat").exists() else ():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(entry.name), int(fields[1])
        if pid == root or ppid == root:
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def _start_server(workers: int) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    roprules = Path(sys.executable).with_name("roprules")
    command = [str(roprules)] if roprules.exists() else [sys.executable, "-m", "roprules.cli"]
    process = subprocess.Popen(
        [*command, "serve", "--port", str(port), "--workers", str(workers)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("load.py: roprules serve exited during start-up")
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=1):
                return process, url
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("load.py: roprules serve did not start within 60 s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running service on loopback (default: start one)")
    parser.add_argument("--workers", type=int, default=2, help="server workers when started (2)")
    parser.add_argument("--rate", type=float, default=200.0, help="requests per second (200)")
    parser.add_argument("--requests", type=int, default=4000, help="at most this many (4000)")
    parser.add_argument("--max-seconds", type=float, default=30.0, help="at most this long (30)")
    parser.add_argument("--warmup", type=int, default=200, help="requests not counted (200)")
    parser.add_argument("--connections", type=int, default=32, help="client connections (32)")
    args = parser.parse_args(argv)
    if not (0 < args.rate <= 5000 and 0 < args.requests <= 100_000 and args.max_seconds <= 600):
        parser.error("bounds: 0 < rate <= 5000, 0 < requests <= 100000, max-seconds <= 600")

    process = None
    if args.url:
        url = args.url.rstrip("/")
    else:
        process, url = _start_server(args.workers)
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or 80
    if parts.scheme != "http" or not _loopback(host):
        parser.error(f"refusing {url}: loopback http only (127.0.0.1, ::1, localhost)")
    cpu_before = cpu_after = 0.0
    try:
        if args.warmup:
            asyncio.run(run_load(host, port, args.rate, args.warmup, 30, args.connections))
        cpu_before = _cpu_seconds(process.pid) if process else 0.0
        result = asyncio.run(
            run_load(host, port, args.rate, args.requests, args.max_seconds, args.connections)
        )
        cpu_after = _cpu_seconds(process.pid) if process else 0.0
    finally:
        if process is not None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
    latencies = sorted(result["latencies"])  # type: ignore[arg-type]
    errors = result["errors"]
    error_count = sum(errors.values())  # type: ignore[attr-defined]
    ms = [value * 1000 for value in latencies]
    achieved = result["sent"] / result["elapsed"] if result["elapsed"] else 0.0  # type: ignore[operator]
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"roprules load test: POST /v1/check, {os.cpu_count()} cores (load average {load}), "
        f"server workers {args.workers if process else '(external)'}, "
        f"{args.connections} client connections"
    )
    print(
        f"target rate {args.rate:g}/s, sent {result['sent']} in {result['elapsed']:.1f} s "
        f"({achieved:.1f}/s), ok {len(ms)}, errors {error_count} {errors or ''}".rstrip()
    )
    if ms:
        print(
            f"latency ms: p50 {_percentile(ms, 0.50):.2f}  p90 {_percentile(ms, 0.90):.2f}  "
            f"p99 {_percentile(ms, 0.99):.2f}  max {ms[-1]:.2f}  mean {statistics.fmean(ms):.2f}"
        )
        if cpu_after > cpu_before:
            per_request = (cpu_after - cpu_before) * 1000 / result["sent"]  # type: ignore[operator]
            print(
                f"server CPU {per_request:.2f} ms per request (all workers): "
                f"{per_request * args.rate / 1000:.2f} of {os.cpu_count()} cores at this rate"
            )
        p50, p99 = _percentile(ms, 0.50), _percentile(ms, 0.99)
        held = p50 <= 3 and p99 <= 20 and error_count == 0
        print(f"targets p50 <= 3 ms, p99 <= 20 ms, 0 errors: {'HELD' if held else 'MISSED'}")
    return 0 if error_count == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
