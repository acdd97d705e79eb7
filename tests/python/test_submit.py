"""Submitting from Python: eager modules exported on the fly, uploads, and the life of a job."""

from __future__ import annotations

from pathlib import Path

import grpc
import numpy as np
import pytest
import torch

import affsig
import paper_affinity
from support import SERVICE_FIXTURES, cli, records, reused_relu_cnn, samples


def test_eager_module_gives_the_cli_entries_for_the_same_file_and_input(
        client: affsig.Client, server, tmp_path: Path) -> None:
    model, batch = reused_relu_cnn(), samples(32, 3, 16, 16)
    with pytest.warns(affsig.FunctionalActivationsWarning, match="sigmoid"):
        exported = affsig.export(model, batch, path=tmp_path / "model.pt")
    np.save(tmp_path / "input.npy", batch)

    # The export and the array from Python, the module itself (exported on the fly), and the
    # file and the .npy through the CLI.
    signature = client.submit(model=exported, input=batch, activations="all",
                              progress=False).result()
    on_the_fly = client.submit(model=model, input=batch, activations="all",
                               progress=False).result()
    expected = cli(server, "submit", f"--model={tmp_path / 'model.pt'}",
                   f"--input={tmp_path / 'input.npy'}", "--activations=all", "--wait")
    assert expected["input_sha256"] == signature.job.proto.input_sha256  # NumPy's .npy bytes
    assert records(signature.to_pandas()) == expected["signature"]
    assert records(on_the_fly.to_pandas()) == expected["signature"]

    # What they are: the reused module's two calls, then the functional activations.
    assert [(e.module, e.call, e.op) for e in signature.entries] == [
        ("relu", 0, "ReLU"), ("relu", 1, "ReLU"), ("", 0, "sigmoid"), ("", 0, "softmax")]
    reference, _ = paper_affinity.signature(model, torch.from_numpy(batch), "all")
    assert [entry.score for entry in signature.entries] == pytest.approx(
        [entry["score"] for entry in reference], abs=1e-3)


def test_uploads_only_what_the_server_lacks(client: affsig.Client, server,
                                            tmp_path: Path) -> None:
    model_path = tmp_path / "model.pt"
    with pytest.warns(affsig.FunctionalActivationsWarning):
        affsig.export(reused_relu_cnn(), samples(4, 3, 8, 8), path=model_path)
    batch = samples(16, 3, 8, 8, seed=1)
    first = client.submit(model=model_path, input=batch, progress=False)
    before = {m["sha256"]: m["job_count"] for m in cli(server, "models", "list", "--limit=0")}
    second = client.submit(model=model_path, input=torch.from_numpy(batch), progress=False)

    # The file again, and a tensor that is the same .npy as its array: nothing new is stored.
    assert second.proto.model_sha256 == first.proto.model_sha256
    assert second.proto.input_sha256 == first.proto.input_sha256
    after = {m["sha256"]: m["job_count"] for m in cli(server, "models", "list", "--limit=0")}
    assert after.keys() == before.keys()
    assert after[first.proto.model_sha256] == before[first.proto.model_sha256] + 1


def test_job_states_refresh_watch_cancel_and_delete(client: affsig.Client) -> None:
    # 400 activation calls in a loop, then a model that never reaches its first activation and
    # holds the worker until it is cancelled.
    job = client.submit(model=SERVICE_FIXTURES / "deep_loop.pt", input=samples(64, 128),
                        wait=False, name="deep")
    assert job.state in ("QUEUED", "RUNNING") and not job.ended
    assert job.refresh() is job and job.state in ("QUEUED", "RUNNING", "SUCCEEDED")
    forever = client.submit(model=SERVICE_FIXTURES / "forever.pt", input=samples(4, 128),
                            request_id=f"forever-{job.job_id}", wait=False)
    again = client.submit(model=SERVICE_FIXTURES / "forever.pt", input=samples(4, 128),
                          request_id=f"forever-{job.job_id}", wait=False)
    assert again.job_id == forever.job_id  # one job per request id
    with pytest.raises(affsig.AffsigError, match="has not ended"):
        forever.result(wait=False)

    assert forever.cancel() is forever
    assert forever.state == "CANCELLED" or forever.proto.cancel_requested
    assert forever.watch(progress=False).state == "CANCELLED"
    with pytest.raises(affsig.JobFailedError) as failure:
        forever.result()
    assert failure.value.state == "CANCELLED" and failure.value.job is forever

    assert job.watch(progress=False).state == "SUCCEEDED" and job.ended
    assert len(job.result()) == 400
    with pytest.raises(affsig.ServerError) as ended:
        job.cancel()
    assert (ended.value.code, ended.value.reason) == (grpc.StatusCode.FAILED_PRECONDITION,
                                                      "JOB_ALREADY_ENDED")
    assert client.job(job.job_id).name == "deep"

    job.delete()
    with pytest.raises(affsig.ServerError) as deleted:
        job.refresh()
    assert deleted.value.reason == "JOB_NOT_FOUND"


def test_list_jobs_and_signatures_by_label(client: affsig.Client) -> None:
    batch = samples(16, 3, 8, 8, seed=2)
    with pytest.warns(affsig.FunctionalActivationsWarning):
        model = affsig.export(reused_relu_cnn(), batch, method="script")
    jobs = [client.submit(model=model, input=batch, name=arch, progress=False,
                          labels={"suite": "listing", "arch": arch, "acc1": acc1},
                          activations="all")
            for arch, acc1 in (("a", 70.5), ("b", 71))]

    listed = client.list_signatures(labels={"suite": "listing"})
    assert [s.job.job_id for s in listed] == [jobs[1].job_id, jobs[0].job_id]  # newest first
    assert listed[1].job.labels == {"suite": "listing", "arch": "a", "acc1": "70.5"}
    assert len(listed[1]) == 4 and listed[1].to_pandas()["score"].notna().all()
    only_a = client.list_signatures(labels={"suite": "listing", "arch": "a"})
    assert [s.job.job_id for s in only_a] == [jobs[0].job_id]
    assert [s.job.job_id for s in client.list_signatures(labels={"acc1": None}, limit=1)] == [
        jobs[1].job_id]
    summaries = client.list_signatures(labels={"suite": "listing"}, entries=False)
    assert [len(s) for s in summaries] == [0, 0] and summaries[0].summary.entries == 4

    assert [j.job_id for j in client.list_jobs(labels={"suite": "listing"}, name="b")] == [
        jobs[1].job_id]
    assert {j.job_id for j in client.list_jobs(state="SUCCEEDED", limit=0)} >= {
        j.job_id for j in jobs}
    assert client.list_jobs(labels={"suite": "listing"}, state="FAILED") == []
    assert [j.job_id for j in client.list_jobs(model=jobs[0].proto.model_sha256, limit=2)] == [
        jobs[1].job_id, jobs[0].job_id]
