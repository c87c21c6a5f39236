"""Brokers the event tests start for themselves: a NATS server with JetStream, a Redis server.

Each runs as a child process on a spare loopback port with its data in the test's temporary
directory, and is stopped (its whole process group) when the test ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

NATS_SERVER = shutil.which("nats-server") or "/usr/sbin/nats-server"
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class Server:
    """A child server process that can be stopped and started again on the same port."""

    def __init__(self, argv: list[str], port: int, log: Path) -> None:
        self.argv, self.port, self.log = argv, port, log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 15.0) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(  # noqa: S603 - our own command line
                self.argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + timeout
        while not _answers(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{self.argv[0]} did not start: {self.log.read_text()[-2000:]}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.process = None


class Nats(Server):
    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def stream(self, name: str = "ACCORD") -> list[dict[str, Any]]:
        """Every message of the stream, in stream order: subject, headers and parsed body."""
        return asyncio.run(_read_stream(self.url, name))


async def _read_stream(url: str, name: str) -> list[dict[str, Any]]:
    import nats

    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        info = await js.stream_info(name)
        found: list[dict[str, Any]] = []
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            msg = await js.get_msg(name, seq)
            found.append(
                {"subject": msg.subject, "headers": msg.headers, "event": json.loads(msg.data)}
            )
        return found
    finally:
        await nc.close()


@contextlib.contextmanager
def nats_server(tmp_path: Path) -> Iterator[Nats]:
    if not Path(NATS_SERVER).exists():
        pytest.skip("nats-server is not installed")
    port = free_port()
    store = tmp_path / "jetstream"
    store.mkdir(exist_ok=True)
    argv = [NATS_SERVER, "-js", "-sd", str(store), "-a", "127.0.0.1", "-p", str(port)]
    server = Nats(argv, port, tmp_path / "nats.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def redis_server(tmp_path: Path) -> Iterator[Server]:
    if not Path(REDIS_SERVER).exists():
        pytest.skip("redis-server is not installed")
    port = free_port()
    argv = [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    argv += ["--appendonly", "no", "--dir", str(tmp_path)]
    server = Server(argv, port, tmp_path / "redis.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()
