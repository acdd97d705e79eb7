"""A job's non-linearity signature: its entries as a pandas DataFrame, and plots."""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, Any, Iterable

from affsig.v1 import signature_service_pb2 as pb

if TYPE_CHECKING:
    import pandas
    from matplotlib.axes import Axes

    from affsig._client import Job

# The keys of an entry in the CLI's JSON (`affsig result --format=json`,
# common/signature_format.cc), in its order: the DataFrame's columns.
_COLUMNS = ("index", "module", "call", "op", "n", "d", "score", "status", "reason", "batches",
            "std", "min", "max", "batch_scores")
# Where an entry has no score the CLI writes null for these; the DataFrame has NaN.
_SCORED_ONLY = frozenset(("score", "std", "min", "max"))
_DTYPES = {"index": "int64", "call": "int64", "n": "int64", "d": "int64", "batches": "int64",
           "score": "float64", "std": "float64", "min": "float64", "max": "float64"}


@dataclasses.dataclass(frozen=True)
class Summary:
    """A signature's statistics over its scored entries (status ``"ok"``), as the server stored
    them when the job succeeded: what :meth:`Client.correlate` relates to a label, at hand without
    fetching the entries. The fields are the keys of ``summary`` in the CLI's JSON.

    The statistics are None when no entry was scored (``scored == 0``): not 0, which would be a
    score. ``std`` is the population standard deviation (NumPy's default), ``range`` is
    ``max - min``, and ``lowest_depth`` where the lowest score is: its entry's index over
    ``entries - 1``, 0 at the first activation call and 1 at the last.
    """

    entries: int
    scored: int
    mean: float | None
    median: float | None
    std: float | None
    min: float | None
    max: float | None
    range: float | None
    lowest_depth: float | None

    @classmethod
    def from_proto(cls, proto: pb.SignatureSummary) -> Summary:
        scored = proto.scored > 0
        return cls(proto.entries, proto.scored,
                   *(value if scored else None for value in (
                       proto.mean_score, proto.median_score, proto.std_score, proto.min_score,
                       proto.max_score, proto.score_range, proto.lowest_score_depth)))


# The columns of summaries() from the statistics, in the order of the CLI's JSON `summary`.
_SUMMARY_COLUMNS = tuple(field.name for field in dataclasses.fields(Summary))


def _extra_fields(entries: list[pb.SignatureEntry]) -> list[str]:
    """Fields the API adds to SignatureEntry beyond the CLI's columns (the companion measures of
    jobs that ask for them), those some entry has, as the CLI's JSON: columns after the CLI's."""
    return [field.name for field in pb.SignatureEntry.DESCRIPTOR.fields
            if field.name not in _COLUMNS
            and (not field.has_presence or any(entry.HasField(field.name) for entry in entries))]


def _value(entry: pb.SignatureEntry, column: str) -> Any:
    field = pb.SignatureEntry.DESCRIPTOR.fields_by_name[column]
    if column in _SCORED_ONLY and entry.status != "ok":
        return math.nan
    if field.label == field.LABEL_REPEATED:
        return list(getattr(entry, column))
    if field.has_presence and not entry.HasField(column):
        return None
    return getattr(entry, column)


class Signature:
    """The signature of a SUCCEEDED job: per activation call, in execution order, its affinity
    score (1: the activation is an affine map of its input; lower: less affine).

    ``entries`` are the API's ``affsig.v1.SignatureEntry`` messages (none for a signature listed
    with ``entries=False``), ``summary`` its statistics (:class:`Summary`), ``job`` the job it
    came from.
    """

    def __init__(self, job: Job, proto: pb.Signature) -> None:
        self.job = job
        self.entries = list(proto.entries)
        self.summary = Summary.from_proto(proto.summary)

    @property
    def name(self) -> str:
        """The job's name, or its id: how plots label the signature."""
        return self.job.name or self.job.job_id

    def __len__(self) -> int:
        return len(self.entries)

    def __repr__(self) -> str:
        mean = self.summary.mean
        scores = "nothing scored" if mean is None else f"mean score {mean:.4f}"
        return f"<affsig.Signature {self.name!r}: {self.summary.entries} entries, {scores}>"

    def to_pandas(self) -> pandas.DataFrame:
        """One row per entry, with the columns of the CLI's JSON.

        ``index``, ``call``, ``n``, ``d`` and ``batches`` are int64; ``module``, ``op``,
        ``status`` and ``reason`` text; ``score`` (the mean over the batches), ``std``
        (population), ``min`` and ``max`` float64, NaN where the entry has no score (``status``
        other than ``"ok"``: ``reason`` says why); ``batch_scores`` a list per row, one score per
        batch, NaN where the entry was not scored in that batch. Measures the job asked for follow
        as further columns, each and its ``_std`` (``cka``, ``cka_std``, ...; float64, NaN where
        an entry has none), as in the CLI's JSON.
        """
        import pandas

        extra = _extra_fields(self.entries)
        columns = list(_COLUMNS) + extra
        frame = pandas.DataFrame([[_value(entry, column) for column in columns]
                                  for entry in self.entries], columns=columns)
        # The measures are float64, NaN where an entry has none (not scored) or it is undefined.
        return frame.astype({**_DTYPES, **dict.fromkeys(extra, "float64")})

    def plot(self, ax: Axes | None = None, *, label: str | None = None,
             **line_options: Any) -> Axes:
        """Draws the score against the activation's index, with a band of ± one standard
        deviation over the batches for a job of several; entries without a score are left out.

        Args:
            ax: the matplotlib Axes to draw on; default a new figure's.
            label: the line's legend entry (default: the signature's name, as the title).
            line_options: passed to ``Axes.plot`` (color, linestyle, ...).

        Returns:
            The Axes.
        """
        if ax is None:
            import matplotlib.pyplot as plt

            _, ax = plt.subplots(figsize=(9, 4), layout="constrained")
            if label is None:
                ax.set_title(self.name)
        frame = self.to_pandas()
        scored = frame[frame["status"] == "ok"]
        line_options.setdefault("marker", ".")
        (line,) = ax.plot(scored["index"], scored["score"], label=label or self.name,
                          **line_options)
        if (frame["batch_scores"].map(len) > 1).any():
            ax.fill_between(scored["index"], scored["score"] - scored["std"],
                            scored["score"] + scored["std"], color=line.get_color(), alpha=0.2,
                            linewidth=0)
        ax.set_xlabel("activation (execution order)")
        ax.set_ylabel("affinity score")
        return ax


def plot(signatures: Iterable[Signature], ax: Axes | None = None) -> Axes:
    """Draws several signatures overlaid on one Axes, each labelled with its name.

    Returns:
        The Axes (default: a new figure's).
    """
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(9, 4), layout="constrained")
    for signature in signatures:
        signature.plot(ax, label=signature.name)
    ax.legend()
    return ax


def summaries(signatures: Iterable[Signature]) -> pandas.DataFrame:
    """One row per signature with its statistics: the table to sort, filter and plot a suite of
    models by, e.g. ``affsig.summaries(client.list_signatures(labels={"suite": None},
    entries=False))`` (the summaries alone are cheap to list).

    Columns: ``job_id``, ``name``, ``created`` (UTC), ``entries`` and ``scored`` (int64), the
    statistics of :class:`Summary` (float64, NaN where nothing was scored), then one column
    ``labels.<key>`` per label key, sorted, with the label's text (NaN where a job lacks it;
    ``astype(float)`` for a numeric one such as ``labels.acc1``).
    """
    import pandas

    rows = [{"job_id": signature.job.job_id, "name": signature.job.name,
             "created": signature.job.proto.created_at_ms,
             **dataclasses.asdict(signature.summary),
             **{f"labels.{key}": value for key, value in signature.job.labels.items()}}
            for signature in signatures]
    fixed = ["job_id", "name", "created", *_SUMMARY_COLUMNS]
    labels = sorted({column for row in rows for column in row} - set(fixed))
    frame = pandas.DataFrame(rows, columns=fixed + labels)
    frame["created"] = pandas.to_datetime(frame["created"], unit="ms", utc=True)
    return frame.astype({column: "int64" if column in ("entries", "scored") else "float64"
                         for column in _SUMMARY_COLUMNS})
