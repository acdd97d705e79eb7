"""Signatures in Python: DataFrames with the CLI's columns, and plots."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pytest
import torch.nn as nn
from matplotlib.collections import PolyCollection

import affsig
from support import GOLDEN, cli, records, samples

matplotlib.use("Agg")

COLUMN_DTYPES = {
    "index": "int64", "module": "object", "call": "int64", "op": "object", "n": "int64",
    "d": "int64", "score": "float64", "status": "object", "reason": "object",
    "batches": "int64", "std": "float64", "min": "float64", "max": "float64",
    "batch_scores": "object"}


@pytest.fixture(scope="module")
def two_batches(client: affsig.Client) -> affsig.Signature:
    """Every activation module, GLU among them (which changes its input's width: no score), over
    two batches of 32 samples."""
    return client.submit(model=GOLDEN / "mlp_mixed.pt", input=GOLDEN / "mlp_mixed.input.npy",
                         batch_size=32, batches=2, name="mlp", progress=False).result()


@pytest.fixture(scope="module")
def one_batch(client: affsig.Client) -> affsig.Signature:
    return client.submit(model=GOLDEN / "mlp_mixed.pt", input=GOLDEN / "mlp_mixed.input.npy",
                         name="mlp, one batch", progress=False).result()


def test_the_dataframe_has_the_cli_columns_dtypes_and_values(
        two_batches: affsig.Signature, server) -> None:
    frame = two_batches.to_pandas()
    expected = cli(server, "result", two_batches.job.job_id)["signature"]

    assert list(frame.columns) == list(expected[0]) == list(COLUMN_DTYPES)
    assert frame.dtypes.astype(str).to_dict() == COLUMN_DTYPES
    assert records(frame) == expected
    assert len(frame) == 11 and (frame["batches"] == 2).sum() == 10
    glu = frame.loc[frame["op"] == "GLU"].iloc[0]
    assert glu["status"] == "dim_mismatch" and glu["reason"]
    assert np.isnan([glu["score"], glu["std"], glu["min"], glu["max"]]).all()
    assert glu["batch_scores"] == pytest.approx([np.nan, np.nan], nan_ok=True)
    scored = frame[frame["status"] == "ok"]
    assert list(scored["batch_scores"].map(np.mean)) == pytest.approx(list(scored["score"]),
                                                                      rel=1e-12)
    assert ((scored["min"] <= scored["score"]) & (scored["score"] <= scored["max"])).all()


def test_the_measures_a_job_asked_for_follow_as_the_cli_json_has_them(
        client: affsig.Client, server) -> None:
    expected = cli(server, "submit", f"--model={GOLDEN / 'mlp_mixed.pt'}",
                   f"--input={GOLDEN / 'mlp_mixed.input.npy'}", "--measures=r2,cka", "--wait")
    frame = client.job(expected["job_id"]).result(progress=False).to_pandas()
    measures = ["cka", "cka_std", "r2", "r2_std"]
    assert list(frame.columns) == list(expected["signature"][0]) == [*COLUMN_DTYPES, *measures]
    assert records(frame) == expected["signature"]
    assert (frame[measures].dtypes == "float64").all()
    unscored = frame["status"] != "ok"  # the GLU: no score, no measures
    assert unscored.any() and frame.loc[unscored, measures].isna().all().all()
    assert frame.loc[~unscored, measures].notna().all().all()
    # Asked for from Python: the same job, the same numbers.
    submitted = client.submit(model=GOLDEN / "mlp_mixed.pt", input=GOLDEN / "mlp_mixed.input.npy",
                              measures=["r2", "cka"], progress=False)
    assert records(submitted.result(progress=False).to_pandas()) == expected["signature"]


def test_a_signature_without_entries_still_has_the_columns(client: affsig.Client) -> None:
    signature = client.submit(model=nn.Sequential(nn.Linear(4, 2)).eval(), input=samples(8, 4),
                              progress=False).result()
    frame = signature.to_pandas()
    assert len(signature) == 0 and frame.empty
    assert frame.dtypes.astype(str).to_dict() == COLUMN_DTYPES


def test_a_signature_plots_its_scores_with_a_band_for_several_batches(
        two_batches: affsig.Signature, one_batch: affsig.Signature) -> None:
    ax = two_batches.plot()
    (line,) = ax.get_lines()
    scored = two_batches.to_pandas().query("status == 'ok'")
    assert list(line.get_xdata()) == list(scored["index"])
    assert list(line.get_ydata()) == list(scored["score"])
    assert [type(c) for c in ax.collections] == [PolyCollection]  # the ± std band
    assert ax.get_title() == "mlp" and ax.get_ylabel() == "affinity score"

    single = one_batch.plot()
    assert len(single.get_lines()) == 1 and not single.collections


def test_several_signatures_overlaid_with_their_names(
        two_batches: affsig.Signature, one_batch: affsig.Signature, tmp_path: Path) -> None:
    ax = affsig.plot([two_batches, one_batch])
    assert [line.get_label() for line in ax.get_lines()] == ["mlp", "mlp, one batch"]
    assert [text.get_text() for text in ax.get_legend().get_texts()] == [
        "mlp", "mlp, one batch"]
    ax.figure.savefig(tmp_path / "signatures.png")
    assert (tmp_path / "signatures.png").read_bytes().startswith(b"\x89PNG")
