"""The Python client against a server with --auth-tokens (issue 13): the token from token=,
$AFFSIG_TOKEN or ~/.config/affsig/token (mode 0600 only), who the server takes the client for,
owners in listings, and the refusals as ServerError with their reasons."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Iterator

import grpc
import pytest

import affsig
from support import GOLDEN, Server, program


def add_user(tokens: Path, name: str, role: str = "user") -> str:
    done = subprocess.run([program("AFFSIG_SERVER_BINARY"), "add-user", f"--auth-tokens={tokens}",
                           name, f"--role={role}"], check=True, capture_output=True, text=True)
    return done.stdout.splitlines()[-1]


@pytest.fixture(scope="module")
def users(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    tokens = tmp_path_factory.mktemp("tokens") / "tokens"
    made = {name: add_user(tokens, name) for name in ("alice", "bob")}
    made["file"] = str(tokens)
    return made


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, users: dict[str, str]) -> Iterator[Server]:
    started = Server(tmp_path_factory.mktemp("server"), "--devices=none",
                     f"--auth-tokens={users['file']}")
    yield started
    started.stop()


@pytest.fixture(autouse=True)
def no_token_of_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("AFFSIG_TOKEN", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


def test_no_token_is_unauthenticated(server: Server) -> None:
    with affsig.Client(server.address, connect_timeout=10) as client:
        with pytest.raises(affsig.ServerError) as refused:
            client.list_jobs()
    assert refused.value.code == grpc.StatusCode.UNAUTHENTICATED
    assert "no token" in refused.value.message


def test_owners_and_refusals(server: Server, users: dict[str, str],
                             monkeypatch: pytest.MonkeyPatch) -> None:
    with affsig.Client(server.address, token=users["alice"]) as alice:
        assert alice.caller == ("alice", "user")
        job = alice.submit(model=GOLDEN / "mlp_mixed.pt", input=GOLDEN / "mlp_mixed.input.npy",
                           wait=False)
        assert job.owner == "alice"
        assert [j.job_id for j in alice.list_jobs(mine=True)] == [job.job_id]
    monkeypatch.setenv("AFFSIG_TOKEN", users["bob"])
    with affsig.Client(server.address) as bob:
        assert bob.caller == ("bob", "user")
        assert bob.list_jobs(mine=True) == []
        assert [j.job_id for j in bob.list_jobs(owner="alice")] == [job.job_id]
        with pytest.raises(affsig.ServerError) as refused:
            bob.job(job.job_id).cancel()
        assert refused.value.code == grpc.StatusCode.PERMISSION_DENIED
        assert refused.value.reason == "NOT_OWNER"


def test_the_token_file_must_be_the_users_alone(server: Server, users: dict[str, str],
                                                tmp_path: Path) -> None:
    file = tmp_path / "config" / "affsig" / "token"
    file.parent.mkdir(parents=True)
    file.write_text(users["alice"] + "\n")
    file.chmod(0o644)
    with pytest.raises(affsig.AffsigError, match="chmod 600"):
        affsig.Client(server.address)
    file.chmod(0o600)
    with affsig.Client(server.address) as client:
        assert client.caller == ("alice", "user")
