"""Load generators: wrk with our Lua scripts, the floor's wrk output, and a JSON client.

Our Lua scripts (``lua/``) end each wrk run by printing one ``BENCH_RESULT {...}`` line with
the latency percentiles in microseconds, so nothing depends on wrk's human-readable report.
The floor script (``shared/limits/run.sh``) prints wrk's report filtered by grep, which
:func:`parse_floor` reads.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LUA_DIR = Path(__file__).parent / "lua"
#: wrk gives up on a request after 2 s by default and leaves it out of the latencies.
REQUEST_TIMEOUT = "60s"


@dataclass(frozen=True)
class WrkStats:
    """What one load run measured."""

    requests: int
    req_per_s: float
    p50_ms: float
    p99_ms: float
    #: Socket errors, timeouts and answers with a status of 400 or more.
    errors: int


def wrk(
    url: str,
    script: str,
    *,
    clients: int,
    seconds: int,
    env: Mapping[str, str],
    log: Path,
) -> WrkStats:
    """Run wrk with ``lua/<script>`` against ``url``; ``env`` reaches the script (the token,
    the paths file)."""
    command = [
        wrk_binary(),
        f"-t{min(clients, 2)}",
        f"-c{clients}",
        f"-d{max(1, seconds)}s",
        f"--timeout={REQUEST_TIMEOUT}",
        "-s",
        str(LUA_DIR / script),
        url,
    ]
    full_env = {**os.environ, **env, "BENCH_LUA_DIR": str(LUA_DIR)}
    done = subprocess.run(command, env=full_env, capture_output=True, text=True, check=False)
    with log.open("a") as handle:
        handle.write(f"$ {' '.join(command)}\n{done.stdout}{done.stderr}\n")
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip()}")
    for line in done.stdout.splitlines():
        if line.startswith("BENCH_RESULT "):
            raw = json.loads(line.removeprefix("BENCH_RESULT "))
            return WrkStats(
                requests=raw["requests"],
                req_per_s=raw["requests"] / max(raw["duration_us"] / 1e6, 1e-9),
                p50_ms=raw["p50_us"] / 1000,
                p99_ms=raw["p99_us"] / 1000,
                errors=raw["errors"],
            )
    raise RuntimeError(f"wrk printed no result line; see {log}")


def wrk_binary() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise RuntimeError("wrk is not installed (apt-get install wrk)")
    return found


_SECTION = re.compile(r"^== \S+ (hello|create)\b")
_PERCENTILE = re.compile(r"^\s*(50|99)%\s+([\d.]+)(us|ms|s|m)\s*$")
_RATE = re.compile(r"^Requests/sec:\s+([\d.]+)")
_NON_2XX = re.compile(r"^\s*Non-2xx or 3xx responses:\s+(\d+)")
_TO_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def parse_floor(text: str, seconds: int) -> dict[str, WrkStats]:
    """``{"hello": …, "create": …}`` from run.sh's output. wrk's filtered report has no
    request count, so ``requests`` is estimated from the rate and the duration."""
    found: dict[str, dict[str, float]] = {}
    current: dict[str, float] | None = None
    for line in text.splitlines():
        if match := _SECTION.match(line):
            current = found.setdefault(match[1], {"errors": 0})
        elif current is None:
            continue
        elif match := _PERCENTILE.match(line):
            current[f"p{match[1]}"] = float(match[2]) * _TO_MS[match[3]]
        elif match := _RATE.match(line):
            current["rate"] = float(match[1])
        elif match := _NON_2XX.match(line):
            current["errors"] = int(match[1])
    stats = {}
    for section, values in found.items():
        if {"p50", "p99", "rate"} <= values.keys():
            stats[section] = WrkStats(
                requests=round(values["rate"] * seconds),
                req_per_s=values["rate"],
                p50_ms=values["p50"],
                p99_ms=values["p99"],
                errors=int(values["errors"]),
            )
    return stats


class JsonClient:
    """One keep-alive HTTP connection that sends JSON with a bearer token."""

    def __init__(self, port: int, token: str, *, timeout: float = 300.0) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def post(self, path: str, body: Any) -> tuple[int, Any, float]:
        """Status, decoded answer and seconds from sending to the last byte of the answer."""
        data = json.dumps(body).encode()
        started = time.perf_counter()
        self.connection.request("POST", path, body=data, headers=self.headers)
        response = self.connection.getresponse()
        raw = response.read()
        elapsed = time.perf_counter() - started
        return response.status, json.loads(raw) if raw else None, elapsed

    def close(self) -> None:
        self.connection.close()
