"""The fixtures of the Python client's tests: a real server and worker per test module."""

from __future__ import annotations

import sys
from typing import Iterator

import pytest

import affsig
from support import Server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory,
           request: pytest.FixtureRequest) -> Iterator[Server]:
    """A server with one CPU worker for each test module; a cancel's grace is 1 s."""
    started = Server(tmp_path_factory.mktemp("server"), "--devices=cpu", "--cancel-grace=1")
    yield started
    started.stop()
    if request.session.testsfailed:
        print(f"\n--- {started.log} ---\n{started.log.read_text()}", file=sys.stderr)


@pytest.fixture(scope="module")
def client(server: Server) -> Iterator[affsig.Client]:
    with affsig.Client(server.address) as connected:
        yield connected
