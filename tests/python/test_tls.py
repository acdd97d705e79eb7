"""The Python client against a server with TLS (issue 13): tls_ca= or $AFFSIG_TLS_CA verifies it,
a certificate from another authority does not, and the local worker runs the job all the same
(it reaches the server through its Unix socket)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

import affsig
from support import GOLDEN, Server


def certificate(directory: Path, name: str, subject: str, issuer: str = "",
                *more: str) -> Path:
    """NAME.pem (and NAME.key): a CA's, or one that `issuer` signs, as the README makes them."""
    signed = ["-CA", directory / f"{issuer}.pem", "-CAkey", directory / f"{issuer}.key",
              "-addext", "basicConstraints=critical,CA:FALSE"] if issuer else []
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", subject,
                    "-keyout", directory / f"{name}.key", "-out", directory / f"{name}.pem",
                    *signed, *more], check=True, capture_output=True)
    return directory / f"{name}.pem"


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("certificates")
    certificate(directory, "ca", "/CN=affsig test CA")
    certificate(directory, "other-ca", "/CN=another CA")
    certificate(directory, "server", "/CN=localhost", "ca",
                "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost")
    return directory


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory, certificates: Path,
               request: pytest.FixtureRequest) -> Iterator[Server]:
    started = Server(tmp_path_factory.mktemp("server"), "--devices=cpu",
                     f"--tls-cert={certificates / 'server.pem'}",
                     f"--tls-key={certificates / 'server.key'}")
    yield started
    started.stop()
    if request.session.testsfailed:
        print(f"\n--- {started.log} ---\n{started.log.read_text()}", file=sys.stderr)


def test_the_right_ca_runs_a_job(tls_server: Server, certificates: Path) -> None:
    with affsig.Client(tls_server.address, tls_ca=certificates / "ca.pem") as client:
        job = client.submit(model=GOLDEN / "mlp_mixed.pt", input=GOLDEN / "mlp_mixed.input.npy",
                            progress=False)
        assert len(job.result(progress=False)) > 0
        assert job.state == "SUCCEEDED"


def test_the_ca_from_the_environment(tls_server: Server, certificates: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AFFSIG_TLS_CA", str(certificates / "ca.pem"))
    with affsig.Client(tls_server.address) as client:
        assert client.list_jobs(name="nobody") == []


def test_another_authority_is_not_trusted(tls_server: Server, certificates: Path) -> None:
    with affsig.Client(tls_server.address, tls_ca=certificates / "other-ca.pem",
                       connect_timeout=1) as client:
        with pytest.raises(affsig.ServerError) as refused:
            client.list_jobs()
    assert refused.value.reason == "UNAVAILABLE"
