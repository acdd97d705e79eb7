"""The paper's analyses from Python, against a real server and worker: the distance matrix is the
CLI's, the linkage SciPy's on that matrix, the correlations SciPy's on the stored statistics, and
every refusal carries its reason. Small models on small random inputs, so that the jobs take
seconds: a mixed-activation MLP on several seeds, and a CNN of other length."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import grpc
import matplotlib
import numpy as np
import pandas
import pytest
from scipy import stats
from scipy.cluster import hierarchy
from scipy.spatial.distance import squareform

import affsig
from support import GOLDEN, cli

matplotlib.use("Agg")

MLP, CNN = GOLDEN / "mlp_mixed.pt", GOLDEN / "cnn_reused_relu_scripted.pt"
# (model, data, name, acc1, family): made-up accuracies; two CNNs are too few for a correlation.
SUITE = [(MLP, f"random:24,count=32,seed={seed}", f"mlp-{seed}", acc1, "mlp")
         for seed, acc1 in ((0, 71.5), (1, 69.0), (2, 74.25), (3, 70.0))] + [
        (CNN, f"random:3x16x16,count=16,seed={seed}", f"cnn-{seed}", acc1, "cnn")
        for seed, acc1 in ((0, 60.5), (1, 58.0))]
LINKAGES = ("average", "complete", "single", "ward")


@pytest.fixture(scope="module")
def suite(client: affsig.Client) -> list[affsig.Job]:
    """The six SUCCEEDED jobs, in submission order; the CNNs with functional activations too,
    which gives them another length than the MLPs'."""
    jobs = [client.submit(model=model, data=data, name=name, wait=False,
                          activations="all" if model == CNN else "modules",
                          labels={"suite": "analyses", "acc1": acc1, "family": family})
            for model, data, name, acc1, family in SUITE]
    assert [job.summary for job in jobs] == [None] * len(jobs)  # not SUCCEEDED yet
    for job in jobs:
        job.watch(progress=False)
    return jobs


@pytest.fixture(scope="module")
def unscored(client: affsig.Client, suite: list[affsig.Job]) -> affsig.Signature:
    """A signature whose every entry has too few samples (one) to be scored."""
    return client.submit(model=MLP, data="random:24,count=1,seed=0", name="one sample",
                         labels={"suite": "unscored", "acc1": 65}, progress=False).result()


def ids(jobs: list[affsig.Job]) -> list[str]:
    return [job.job_id for job in jobs]


@pytest.mark.parametrize("distance, resample", [("dtw", None), ("euclidean", 40),
                                                ("correlation", 40)])
def test_the_matrix_is_the_clis(client: affsig.Client, server, suite: list[affsig.Job],
                                distance: str, resample: int | None) -> None:
    # Jobs by id, as Job and as Signature alike.
    named = [suite[0].job_id, suite[4], suite[1].result(progress=False), *suite[2:4], suite[5]]
    comparison = client.compare(named, distance=distance, resample=resample)
    order = [suite[i].job_id for i in (0, 4, 1, 2, 3, 5)]
    flags = [f"--distance={distance}"] + ([f"--resample={resample}"] if resample else [])
    expected = cli(server, "compare", *order, *flags)

    assert comparison.job_ids == expected["job_ids"] == order
    assert comparison.names == expected["names"] == [f"{'mlp' if i < 4 else 'cnn'}-{i % 4}"
                                                      for i in (0, 4, 1, 2, 3, 5)]
    assert (comparison.distance, comparison.value) == (distance, "score")
    matrix = comparison.matrix
    assert isinstance(matrix, np.ndarray) and matrix.dtype == np.float64
    assert matrix.tolist() == expected["matrix"]
    assert (matrix == matrix.T).all() and (np.diag(matrix) == 0).all()
    assert (matrix[~np.eye(len(order), dtype=bool)] > 0).all()

    frame = comparison.to_pandas()
    assert list(frame.index) == list(frame.columns) == comparison.names
    assert (frame.to_numpy() == matrix).all()
    assert frame.loc["mlp-0", "cnn-0"] == matrix[0, 1]


def test_jobs_selected_by_labels_newest_first(client: affsig.Client,
                                              suite: list[affsig.Job]) -> None:
    by_labels = client.compare(labels={"suite": "analyses", "acc1": None})
    assert by_labels.job_ids == ids(suite)[::-1]
    by_ids = client.compare(suite[::-1])
    assert by_labels.matrix.tolist() == by_ids.matrix.tolist()


def test_a_table_of_jobs_that_share_a_name_is_labelled_by_id(
        client: affsig.Client, suite: list[affsig.Job]) -> None:
    twin = client.submit(model=MLP, data=SUITE[0][1], name="mlp-0", progress=False)
    frame = client.compare([suite[0], twin]).to_pandas()
    assert list(frame.index) == [suite[0].job_id, twin.job_id]
    twin.delete()


@pytest.mark.parametrize("method", LINKAGES)
def test_the_linkage_is_scipys_on_the_same_matrix(client: affsig.Client,
                                                  suite: list[affsig.Job], method: str) -> None:
    clustering = client.cluster(suite, linkage=method)
    matrix = client.compare(suite).matrix
    expected = hierarchy.linkage(squareform(matrix), method=method)

    assert clustering.method == method and clustering.labels is None
    assert clustering.comparison.matrix.tolist() == matrix.tolist()
    assert clustering.job_ids == ids(suite)
    assert isinstance(clustering.linkage, np.ndarray) and clustering.linkage.shape == (5, 4)
    np.testing.assert_allclose(clustering.linkage, expected, rtol=1e-12, atol=0)
    # SciPy's tools take it as it is.
    assert hierarchy.is_valid_linkage(clustering.linkage, throw=True)
    drawn = hierarchy.dendrogram(clustering.linkage, no_plot=True)
    assert drawn["leaves"] == hierarchy.dendrogram(expected, no_plot=True)["leaves"]

    by_count = client.cluster(suite, linkage=method, k=2)
    assert list(by_count.labels) == list(hierarchy.fcluster(expected, 2, "maxclust"))
    threshold = float(np.median(expected[:, 2]))
    by_distance = client.cluster(suite, linkage=method, threshold=threshold)
    assert list(by_distance.labels) == list(hierarchy.fcluster(expected, threshold, "distance"))


def test_the_dendrogram_names_the_jobs_and_their_clusters(
        client: affsig.Client, suite: list[affsig.Job], tmp_path: Path) -> None:
    clustering = client.cluster(labels={"suite": "analyses"}, k=2)
    ax = clustering.dendrogram()
    leaves = [label.get_text() for label in ax.get_xticklabels()]
    assert sorted(leaves) == sorted(f"[{cluster}] {name}" for cluster, name in
                                    zip(clustering.labels, clustering.names))
    assert ax.get_title() == "average linkage of dtw distances"
    assert ax.get_ylabel() == "dtw distance"
    ax.figure.savefig(tmp_path / "dendrogram.png")
    assert (tmp_path / "dendrogram.png").read_bytes().startswith(b"\x89PNG")

    sideways = client.cluster(suite, linkage="ward").dendrogram(orientation="left")
    assert sorted(label.get_text() for label in sideways.get_yticklabels()) == sorted(
        job.name for job in suite)
    assert sideways.get_xlabel() == "dtw distance"


def test_the_statistics_are_the_signatures(client: affsig.Client, suite: list[affsig.Job],
                                           unscored: affsig.Signature) -> None:
    for job in suite:
        signature = job.result(progress=False)
        scores = signature.to_pandas().query("status == 'ok'")
        summary = signature.summary
        assert summary == job.summary == client.job(job.job_id).summary
        assert (summary.entries, summary.scored) == (len(signature), len(scores))
        assert summary.mean == pytest.approx(scores["score"].mean(), rel=1e-12)
        assert summary.median == pytest.approx(scores["score"].median(), rel=1e-12)
        assert summary.std == pytest.approx(np.std(scores["score"]), rel=1e-9)
        assert (summary.min, summary.max) == (scores["score"].min(), scores["score"].max())
        assert summary.range == pytest.approx(summary.max - summary.min, rel=1e-12)
        lowest = scores.loc[scores["score"].idxmin(), "index"]
        assert summary.lowest_depth == pytest.approx(lowest / (len(signature) - 1), rel=1e-12)

    assert unscored.summary == affsig.Summary(11, 0, *[None] * 7)
    assert "nothing scored" in repr(unscored)


def test_summaries_table_the_statistics_and_labels(client: affsig.Client,
                                                   suite: list[affsig.Job],
                                                   unscored: affsig.Signature) -> None:
    listed = client.list_signatures(labels={"acc1": None}, entries=False)
    frame = affsig.summaries(listed)
    assert list(frame.columns) == [
        "job_id", "name", "created", "entries", "scored", "mean", "median", "std", "min", "max",
        "range", "lowest_depth", "labels.acc1", "labels.family", "labels.suite"]
    assert frame.dtypes.astype(str).to_dict() == {
        "job_id": "object", "name": "object", "created": "datetime64[ns, UTC]",
        "entries": "int64", "scored": "int64", **dict.fromkeys(
            ["mean", "median", "std", "min", "max", "range", "lowest_depth"], "float64"),
        "labels.acc1": "object", "labels.family": "object", "labels.suite": "object"}
    assert list(frame["job_id"]) == [unscored.job.job_id, *ids(suite)[::-1]]
    first = frame.iloc[-1]
    assert first[["name", "labels.acc1", "labels.family"]].tolist() == ["mlp-0", "71.5", "mlp"]
    assert first["mean"] == suite[0].summary.mean
    assert first["created"].value // 10**6 == suite[0].proto.created_at_ms
    assert frame.iloc[0][["mean", "lowest_depth"]].isna().all()
    assert pandas.isna(frame.iloc[0]["labels.family"])
    assert list(affsig.summaries([]).columns) == list(frame.columns[:12])


@pytest.mark.parametrize("statistic", ["mean", "median", "std", "min", "max", "range"])
def test_correlations_are_scipys_on_the_statistics(client: affsig.Client,
                                                   suite: list[affsig.Job],
                                                   unscored: affsig.Signature,
                                                   statistic: str) -> None:
    correlation = client.correlate("acc1", statistic=statistic)
    assert (correlation.label, correlation.statistic) == ("acc1", statistic)
    assert correlation.skipped_job_ids == [unscored.job.job_id]  # nothing to correlate
    (group,) = correlation.groups
    assert (group.group, group.n, group.reason) == ("", 6, "")
    assert sorted(group.job_ids) == sorted(ids(suite))

    frame = affsig.summaries(client.list_signatures(labels={"suite": "analyses"},
                                                    entries=False)).set_index("job_id")
    values = frame.loc[list(group.job_ids), statistic]
    acc1 = frame.loc[list(group.job_ids), "labels.acc1"].astype(float)
    pearson, spearman = stats.pearsonr(values, acc1), stats.spearmanr(values, acc1)
    assert group.pearson_r == pytest.approx(pearson[0], rel=1e-9)
    assert group.pearson_p == pytest.approx(pearson[1], rel=1e-6)
    assert group.spearman_rho == pytest.approx(spearman[0], rel=1e-9)
    assert group.spearman_p == pytest.approx(spearman[1], rel=1e-6)


def test_correlations_per_group(client: affsig.Client, suite: list[affsig.Job]) -> None:
    correlation = client.correlate("acc1", filters={"suite": "analyses"}, group_by="family")
    assert correlation.skipped_job_ids == []
    cnn, mlp = correlation.groups
    assert (cnn.group, cnn.n, cnn.job_ids) == ("cnn", 2, tuple(ids(suite[4:])[::-1]))
    assert (cnn.pearson_r, cnn.pearson_p, cnn.spearman_rho, cnn.spearman_p) == (None,) * 4
    assert "3" in cnn.reason
    means = [job.summary.mean for job in suite[:4]]
    acc1 = [acc for *_, acc, family in SUITE if family == "mlp"]
    assert (mlp.group, mlp.n, mlp.reason) == ("mlp", 4, "")
    assert mlp.pearson_r == pytest.approx(stats.pearsonr(means, acc1)[0], rel=1e-9)

    frame = correlation.to_pandas()
    assert list(frame.index) == ["cnn", "mlp"] and frame.index.name == "group"
    assert list(frame.columns) == ["n", "pearson_r", "pearson_p", "spearman_rho", "spearman_p",
                                   "reason", "job_ids"]
    assert frame.loc["cnn", ["pearson_r", "spearman_p"]].isna().all()
    assert frame.loc["mlp"].to_dict() == {
        key: value for key, value in dataclasses.asdict(mlp).items() if key != "group"}


def test_refusals_carry_their_reasons(client: affsig.Client, suite: list[affsig.Job],
                                      tmp_path: Path) -> None:
    def refused(call, *args, **kwargs) -> affsig.ServerError:
        with pytest.raises(affsig.ServerError) as error:
            call(*args, **kwargs)
        return error.value

    one = refused(client.compare, suite[:1])
    assert (one.code, one.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ANALYSIS")
    assert "at least 2 signatures; 1 selected" in one.message
    assert refused(client.compare).reason == "INVALID_ANALYSIS"  # nothing selected
    assert refused(client.compare, suite, labels={"suite": "analyses"}).reason == (
        "INVALID_ANALYSIS")
    lengths = refused(client.compare, suite, distance="euclidean")
    assert lengths.reason == "INVALID_ANALYSIS" and "resample" in lengths.message
    assert refused(client.compare, suite, resample=1).reason == "INVALID_ANALYSIS"
    unknown = refused(client.compare, suite, value="accuracy")
    assert unknown.reason == "INVALID_ANALYSIS" and "accuracy" in unknown.message
    assert refused(client.cluster, suite, k=0).reason == "INVALID_ANALYSIS"
    assert refused(client.cluster, suite, threshold=-1.0).reason == "INVALID_ANALYSIS"
    assert refused(client.correlate, "acc1", filters={"suite": "none"}).reason == (
        "INVALID_ANALYSIS")
    assert refused(client.correlate, "family").reason == "INVALID_ANALYSIS"  # not numbers

    missing = refused(client.compare, [suite[0], "job-0123456789abcdef01234567"])
    assert (missing.code, missing.reason) == (grpc.StatusCode.NOT_FOUND, "JOB_NOT_FOUND")
    (tmp_path / "model.pt").write_text("not a model\n")
    failed = client.submit(model=tmp_path / "model.pt", data=SUITE[0][1], progress=False)
    assert failed.state == "FAILED" and failed.summary is None
    no_signature = refused(client.cluster, [suite[0], failed])
    assert (no_signature.code, no_signature.reason) == (grpc.StatusCode.FAILED_PRECONDITION,
                                                        "NO_SIGNATURE")
    assert failed.job_id in no_signature.message
    assert refused(client.compare, labels={"": "x"}).reason == "INVALID_LABEL"


def test_arguments_the_client_refuses(client: affsig.Client, suite: list[affsig.Job]) -> None:
    with pytest.raises(ValueError, match="distance must be one of dtw, euclidean, correlation"):
        client.compare(suite, distance="manhattan")
    with pytest.raises(ValueError, match="linkage must be one of"):
        client.cluster(suite, linkage="median")
    with pytest.raises(ValueError, match="not both"):
        client.cluster(suite, k=2, threshold=0.1)
    with pytest.raises(ValueError, match="statistic must be one of"):
        client.correlate("acc1", statistic="variance")
    with pytest.raises(TypeError, match="a list of jobs"):
        client.compare(suite[0].job_id)


def test_without_numpy_the_matrices_are_lists(server, suite: list[affsig.Job]) -> None:
    script = (
        "import sys\n"
        "sys.modules['numpy'] = None  # as if not installed\n"
        "import affsig\n"
        f"client = affsig.Client({server.address!r})\n"
        f"clustering = client.cluster({ids(suite)!r}, k=2)\n"
        "print(type(clustering.comparison.matrix).__name__, type(clustering.linkage).__name__,\n"
        "      type(clustering.labels).__name__, len(clustering.linkage))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["list", "list", "list", "5"]
