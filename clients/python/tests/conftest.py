"""Fixtures: one live Eventfold server per test session, clients, and helpers.

The server binary comes from ``EVENTFOLD_BIN`` (default: ``eventfold`` on ``PATH``); it serves
a fresh data directory on a free port of 127.0.0.1. Tests share it, so each one names its
streams, categories and groups with a unique suffix.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from eventfold import Client, Subscription

from .proxy import CuttingProxy

START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    """An ``eventfold serve`` process that can be stopped and started again on the same data
    directory and port."""

    def __init__(self, binary: str, data: Path, port: int, log_path: Path) -> None:
        self.binary = binary
        self.data = data
        self.port = port
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Starts the server and waits until ``/health`` answers."""
        log = self.log_path.open("ab")
        env = dict(os.environ)
        env.setdefault("EVENTFOLD_LOG", "info")
        self.process = subprocess.Popen(
            [
                self.binary,
                "serve",
                "--data",
                str(self.data),
                "--listen",
                f"127.0.0.1:{self.port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
        )
        log.close()
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"eventfold serve exited with {self.process.returncode}:\n{self.log_tail()}"
                )
            try:
                if httpx.get(f"{self.url}/health", timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"eventfold serve did not become healthy:\n{self.log_tail()}")
            time.sleep(0.05)

    def stop(self) -> None:
        """Stops the server cleanly (SIGINT, as Ctrl-C), killing it if it hangs."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired as timed_out:
            self.process.kill()
            self.process.wait()
            raise RuntimeError(
                f"eventfold serve did not stop on SIGINT:\n{self.log_tail()}"
            ) from timed_out

    def restart(self) -> None:
        self.stop()
        self.start()

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def _binary() -> str:
    name = os.environ.get("EVENTFOLD_BIN", "eventfold")
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(
            f"the Eventfold server binary {name!r} was not found: set EVENTFOLD_BIN to its path "
            "(e.g. target/release/eventfold) or put `eventfold` on PATH"
        )
    return found


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The session's live server."""
    work = tmp_path_factory.mktemp("eventfold")
    running = Server(_binary(), work / "data", _free_port(), work / "server.log")
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def client(server: Server) -> Iterator[Client]:
    with Client(server.url, timeout=10.0) as connected:
        yield connected


@pytest.fixture
def make_client(server: Server) -> Iterator[Callable[..., Client]]:
    """Makes extra clients (closed after the test), e.g. one per subscription thread."""
    made: list[Client] = []

    def make(url: str | None = None, **options: Any) -> Client:
        options.setdefault("timeout", 10.0)
        made.append(Client(url or server.url, **options))
        return made[-1]

    yield make
    for each in made:
        each.close()


@pytest.fixture
def unique() -> str:
    """A suffix that makes the test's names its own (letters and digits only)."""
    return uuid.uuid4().hex[:12]


@pytest.fixture
def proxy(server: Server) -> Iterator[CuttingProxy]:
    """A TCP proxy to the server that can cut its connections."""
    running = CuttingProxy("127.0.0.1", server.port)
    try:
        yield running
    finally:
        running.close()


class Collector:
    """Reads a subscription on a thread of its own, so that a test waits for what it expects
    with a deadline instead of blocking for ever."""

    def __init__(self, subscription: Subscription, *, messages: bool = False) -> None:
        self.subscription = subscription
        self.items: list[Any] = []
        self.error: BaseException | None = None
        self._changed = threading.Condition()
        source = subscription.messages() if messages else subscription
        self._thread = threading.Thread(target=self._run, args=(source,), daemon=True)
        self._thread.start()

    def _run(self, source: Iterator[Any]) -> None:
        try:
            for item in source:
                with self._changed:
                    self.items.append(item)
                    self._changed.notify_all()
        except BaseException as error:  # noqa: BLE001 - handed to the test
            with self._changed:
                self.error = error
                self._changed.notify_all()

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Any]:
        """The first ``count`` items, once they have arrived."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.items) < count:
                if self.error is not None:
                    raise AssertionError(
                        f"the subscription failed after {len(self.items)} of {count} items"
                    ) from self.error
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"timed out with {len(self.items)} of {count} items: {self.items[-3:]}"
                    )
                self._changed.wait(remaining)
            return list(self.items[:count])

    def wait_error(self, timeout: float = 30.0) -> BaseException:
        """The exception that ended the subscription."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while self.error is None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"the subscription did not fail; items: {self.items}")
                self._changed.wait(remaining)
            return self.error


def wait_until(condition: Callable[[], Any], timeout: float = 30.0, every: float = 0.05) -> Any:
    """Polls ``condition`` until it returns something true; that value."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(every)
