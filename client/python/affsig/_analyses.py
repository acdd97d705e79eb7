"""The paper's analyses of stored signatures, as the server computes them for every client alike:
the distances between signatures, their hierarchical clustering, and how a statistic of the
signatures goes with a numeric label (an accuracy) across jobs.

The results are shaped for notebooks: matrices as NumPy arrays, tables as pandas DataFrames, and
the linkage in SciPy's format, so that SciPy's own tools (``dendrogram``, ``fcluster``, ...) take
it as it is. NumPy is imported only here and only when installed: without it the matrices are
lists of rows.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Mapping

from affsig.v1 import signature_service_pb2 as pb

if TYPE_CHECKING:
    import pandas
    from matplotlib.axes import Axes

# The choices of each analysis, as the CLI's flags name them (common/analysis_options.cc).
DISTANCES = {"dtw": pb.DISTANCE_DTW, "euclidean": pb.DISTANCE_EUCLIDEAN,
             "correlation": pb.DISTANCE_CORRELATION}
LINKAGES = {"average": pb.LINKAGE_AVERAGE, "complete": pb.LINKAGE_COMPLETE,
            "single": pb.LINKAGE_SINGLE, "ward": pb.LINKAGE_WARD}
STATISTICS = {"mean": pb.STATISTIC_MEAN, "median": pb.STATISTIC_MEDIAN, "std": pb.STATISTIC_STD,
              "min": pb.STATISTIC_MIN, "max": pb.STATISTIC_MAX, "range": pb.STATISTIC_RANGE}


def choice(choices: Mapping[str, int], name: str, what: str) -> int:
    """The API's enum value of a choice named as the CLI names it; ValueError for another name,
    since the request could not carry it."""
    if name not in choices:
        raise ValueError(f"{what} must be one of {', '.join(choices)}, not {name!r}")
    return choices[name]


def _name(choices: Mapping[str, int], value: int) -> str:
    return next(name for name, number in choices.items() if number == value)


def _array(rows: list[Any], dtype: str) -> Any:
    """`rows` as a NumPy array of `dtype`, or as they are where NumPy is not installed."""
    try:
        import numpy
    except ImportError:
        return rows
    return numpy.array(rows, dtype=dtype)


class Comparison:
    """How far apart signatures are, pairwise, over their scored entries in execution order.

    Attributes:
        job_ids: the jobs compared: in the order named, or newest first when selected by labels.
        names: each job's name, or its id when it has none (as :attr:`Signature.name`): what
            tables and dendrograms show.
        distance: ``"dtw"``, ``"euclidean"`` or ``"correlation"``.
        value: what was compared per entry (``"score"``).
        matrix: n x n distances, row and column i the job ``job_ids[i]``; symmetric, zero on the
            diagonal (a NumPy float64 array; a list of rows without NumPy).
    """

    def __init__(self, proto: pb.SignatureComparison) -> None:
        self.job_ids = list(proto.job_ids)
        self.names = [name or job_id for name, job_id in zip(proto.names, proto.job_ids)]
        self.distance = _name(DISTANCES, proto.distance)
        self.value = proto.value
        self.matrix = _array([list(row.distances) for row in proto.matrix], "float64")

    def to_pandas(self) -> pandas.DataFrame:
        """The matrix as a square DataFrame, rows and columns labelled by :attr:`names`; by job
        id instead when two jobs share a name, so that a label always picks one job."""
        import pandas

        keys = self.names if len(set(self.names)) == len(self.names) else self.job_ids
        return pandas.DataFrame(self.matrix, index=keys, columns=keys)

    def __repr__(self) -> str:
        return (f"<affsig.Comparison {self.distance} distances of {self.value}: "
                f"{len(self.job_ids)} signatures>")


class Clustering:
    """The agglomerative clustering of a comparison's distances, as SciPy's
    ``cluster.hierarchy.linkage`` computes it on the condensed matrix, and flat clusters as its
    ``fcluster`` cuts the tree.

    Attributes:
        comparison: the distances clustered (:class:`Comparison`).
        method: ``"average"``, ``"complete"``, ``"single"`` or ``"ward"``.
        linkage: SciPy's linkage matrix: n - 1 rows ``[a, b, distance, size]``, by increasing
            distance, merging clusters a < b (0..n-1 the jobs in the order of ``job_ids``,
            n + i the cluster that row i made) of ``size`` jobs in all. A float64 NumPy array
            (a list of rows without NumPy), for ``scipy.cluster.hierarchy`` as it is.
        labels: the flat cluster of each job, from 1, in the order of ``job_ids``, when the tree
            was cut (``k`` or ``threshold``); else None.
    """

    def __init__(self, proto: pb.SignatureClustering) -> None:
        self.comparison = Comparison(proto.comparison)
        self.method = _name(LINKAGES, proto.method)
        self.linkage = _array([[row.a, row.b, row.distance, row.size] for row in proto.linkage],
                              "float64")
        self.labels = _array(list(proto.labels), "int64") if proto.labels else None

    @property
    def job_ids(self) -> list[str]:
        return self.comparison.job_ids

    @property
    def names(self) -> list[str]:
        return self.comparison.names

    def dendrogram(self, ax: Axes | None = None, **options: Any) -> Axes:
        """Draws the tree with SciPy's ``dendrogram``, the leaves labelled by the jobs' names
        (prefixed ``[cluster]`` when the tree was cut, as the CLI's).

        Args:
            ax: the matplotlib Axes to draw on; default a new figure's, titled with the method
                and the distance.
            options: passed to ``scipy.cluster.hierarchy.dendrogram`` (``orientation``,
                ``color_threshold``, ``labels``, ...).

        Returns:
            The Axes.
        """
        from scipy.cluster import hierarchy

        if ax is None:
            import matplotlib.pyplot as plt

            _, ax = plt.subplots(figsize=(9, 4), layout="constrained")
            ax.set_title(f"{self.method} linkage of {self.comparison.distance} distances")
        leaves = self.names if self.labels is None else [
            f"[{cluster}] {name}" for cluster, name in zip(self.labels, self.names)]
        options.setdefault("labels", leaves)
        hierarchy.dendrogram(self.linkage, ax=ax, **options)
        sideways = options.get("orientation") in ("left", "right")
        (ax.set_xlabel if sideways else ax.set_ylabel)(f"{self.comparison.distance} distance")
        return ax

    def __repr__(self) -> str:
        cut = "" if self.labels is None else f", {len(set(self.labels))} flat clusters"
        return (f"<affsig.Clustering {self.method} linkage of {self.comparison.distance} "
                f"distances: {len(self.job_ids)} signatures{cut}>")


@dataclasses.dataclass(frozen=True)
class CorrelationGroup:
    """The correlation in one group of jobs (all of them without ``group_by``).

    The coefficients and their two-sided p-values are those of ``scipy.stats.pearsonr`` and
    ``spearmanr``; None, with the ``reason``, where they are undefined (fewer than 3 jobs, a
    constant statistic or label).
    """

    group: str  # the group_by label's value; "" without group_by
    n: int  # jobs with a scored signature and a numeric label
    pearson_r: float | None
    pearson_p: float | None
    spearman_rho: float | None
    spearman_p: float | None
    reason: str
    job_ids: tuple[str, ...]


_COEFFICIENTS = ("pearson_r", "pearson_p", "spearman_rho", "spearman_p")


class Correlation:
    """How a statistic of the signatures goes with a numeric label across SUCCEEDED jobs.

    Attributes:
        label: the label correlated with (its values numbers, e.g. ``acc1``).
        statistic: the signature's statistic (``"mean"``, ``"median"``, ... of :class:`Summary`).
        groups: one :class:`CorrelationGroup` per value of ``group_by``, in the order of the
            values; one group ``""`` without it.
        skipped_job_ids: jobs carrying the label but left out: its value is not a number, or
            none of their entries was scored.
    """

    def __init__(self, proto: pb.SignatureCorrelation) -> None:
        self.label = proto.label
        self.statistic = _name(STATISTICS, proto.statistic)
        self.groups = [
            CorrelationGroup(group.group, group.n,
                             *(getattr(group, field) if group.HasField(field) else None
                               for field in _COEFFICIENTS),
                             group.reason, tuple(group.job_ids))
            for group in proto.groups]
        self.skipped_job_ids = list(proto.skipped_job_ids)

    def to_pandas(self) -> pandas.DataFrame:
        """One row per group, indexed by ``group``; the columns of the CLI's JSON, NaN where a
        coefficient is undefined."""
        import pandas

        columns = [field.name for field in dataclasses.fields(CorrelationGroup)]
        frame = pandas.DataFrame([dataclasses.astuple(group) for group in self.groups],
                                 columns=columns)
        return frame.astype({"n": "int64", **dict.fromkeys(_COEFFICIENTS, "float64")}
                            ).set_index("group")

    def __repr__(self) -> str:
        return (f"<affsig.Correlation of the signatures' {self.statistic} with {self.label}: "
                f"{len(self.groups)} groups>")
