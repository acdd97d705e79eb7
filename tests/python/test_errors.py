"""Every bad input gives an exception that says what was wrong (the gRPC code and the
ErrorInfo reason for what the server refuses, the job's error for what its worker cannot run);
and the connection's settings, from the arguments or the environment as the CLI's."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path
from typing import Iterator

import grpc
import numpy as np
import pytest
import torch

import affsig
from support import GOLDEN, Server, reused_relu_cnn, samples

MODEL = GOLDEN / "mlp_mixed.pt"


def test_a_job_that_does_not_exist(client: affsig.Client) -> None:
    with pytest.raises(affsig.ServerError) as missing:
        client.job("job-0123456789abcdef01234567")
    assert missing.value.code == grpc.StatusCode.NOT_FOUND
    assert missing.value.reason == "JOB_NOT_FOUND"
    assert "job-0123456789abcdef01234567" in missing.value.message

    job = client.submit(model=MODEL, input=GOLDEN / "mlp_mixed.input.npy", progress=False)
    job.delete()
    for gone in (job.refresh, job.cancel, job.delete, job.result):
        with pytest.raises(affsig.ServerError) as deleted:
            gone()
        assert (deleted.value.code, deleted.value.reason) == (grpc.StatusCode.NOT_FOUND,
                                                              "JOB_NOT_FOUND")


@pytest.mark.parametrize("content", ["eager", "text"])
def test_a_model_that_is_not_torchscript(client: affsig.Client, tmp_path: Path,
                                         content: str) -> None:
    path = tmp_path / "model.pt"
    if content == "eager":
        torch.save(reused_relu_cnn(), path)  # a pickled module, the usual mistake
    else:
        path.write_text("not a model\n")
    job = client.submit(model=path, input=samples(8, 3, 8, 8), progress=False)
    assert job.state == "FAILED"
    with pytest.raises(affsig.JobFailedError) as failed:
        job.result()
    assert failed.value.state == "FAILED"
    assert "is not a loadable TorchScript model" in str(failed.value)
    assert failed.value.job.error in str(failed.value)


@pytest.fixture(scope="module")
def small_uploads(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server that takes uploads of at most 1 MiB, without workers: nothing runs there."""
    server = Server(tmp_path_factory.mktemp("small_uploads"), "--devices=none",
                    "--max-upload-mb=1")
    yield server
    server.stop()


def test_an_upload_over_the_server_limit(small_uploads: Server) -> None:
    with affsig.Client(small_uploads.address) as client:
        with pytest.raises(affsig.ServerError) as oversize:
            client.submit(model=MODEL, input=np.zeros((300, 1024), np.float32), wait=False)
        assert oversize.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert oversize.value.reason == "UPLOAD_TOO_LARGE"
        assert oversize.value.message.startswith("input.npy: ")
        assert client.list_jobs() == []


def test_requests_the_server_refuses(client: affsig.Client) -> None:
    with pytest.raises(affsig.ServerError) as source:
        client.submit(model=MODEL, data="nowhere:/data", wait=False)
    assert (source.value.code, source.value.reason) == (grpc.StatusCode.INVALID_ARGUMENT,
                                                        "INVALID_DATA_SOURCE")
    with pytest.raises(affsig.ServerError) as label:
        client.list_signatures(labels={"": "x"})
    assert (label.value.code, label.value.reason) == (grpc.StatusCode.INVALID_ARGUMENT,
                                                      "INVALID_LABEL")


def test_a_server_that_cannot_be_reached() -> None:
    with socket.socket() as unused:  # a port nothing listens on
        unused.bind(("127.0.0.1", 0))
        address = "127.0.0.1:%d" % unused.getsockname()[1]
    started = time.monotonic()
    with affsig.Client(address, connect_timeout=0.5) as client:
        with pytest.raises(affsig.ServerError) as unreachable:
            client.list_jobs()
    assert (unreachable.value.code, unreachable.value.reason) == (grpc.StatusCode.UNAVAILABLE,
                                                                  "UNAVAILABLE")
    assert f"cannot reach {address}" in unreachable.value.message
    assert time.monotonic() - started < 10


def test_arguments_the_client_refuses(client: affsig.Client, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        client.submit(model=tmp_path / "missing.pt", input=samples(4, 24))
    with pytest.raises(TypeError, match="model must be"):
        client.submit(model=42, input=samples(4, 24))
    with pytest.raises(TypeError, match="input must be"):
        client.submit(model=MODEL, input=[[1.0, 2.0]])
    with pytest.raises(ValueError, match="either input= .* or data="):
        client.submit(model=MODEL, input=samples(4, 24), data="random:24,count=8,seed=0")
    with pytest.raises(ValueError, match="export it first"):
        client.submit(model=reused_relu_cnn(), data="random:3x8x8,count=8,seed=0")
    with pytest.raises(ValueError, match="activations must be"):
        client.submit(model=MODEL, input=samples(4, 24), activations="some")


def test_connection_settings_from_the_environment(server, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AFFSIG_SERVER", server.address)
    monkeypatch.setenv("AFFSIG_TOKEN", "a-token")  # sent as metadata; today's server ignores it
    with affsig.Client() as client:
        assert client.server == server.address
        assert client.list_jobs(name="nobody") == []

    # With a CA to verify the server with, the channel is TLS: a plaintext server is not reached.
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=affsig test CA",
                    "-days", "1", "-keyout", tmp_path / "ca.key", "-out", tmp_path / "ca.pem"],
                   check=True, capture_output=True)
    monkeypatch.setenv("AFFSIG_TLS_CA", str(tmp_path / "ca.pem"))
    with affsig.Client(connect_timeout=1) as client:
        with pytest.raises(affsig.ServerError) as plaintext:
            client.list_jobs()
    assert plaintext.value.reason == "UNAVAILABLE"
