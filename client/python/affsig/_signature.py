"""A job's non-linearity signature: its entries as a pandas DataFrame, and plots."""

from __future__ import annotations

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


def _extra_fields() -> list[str]:
    """Fields the API adds to SignatureEntry beyond the CLI's columns (the companion measures of
    jobs that ask for them): columns after the CLI's."""
    return [field.name for field in pb.SignatureEntry.DESCRIPTOR.fields
            if field.name not in _COLUMNS]


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

    ``entries`` are the API's ``affsig.v1.SignatureEntry`` messages, ``summary`` its
    ``SignatureSummary`` (count, scored, mean, min, max), ``job`` the job it came from.
    """

    def __init__(self, job: Job, proto: pb.Signature) -> None:
        self.job = job
        self.entries = list(proto.entries)
        self.summary = proto.summary

    @property
    def name(self) -> str:
        """The job's name, or its id: how plots label the signature."""
        return self.job.name or self.job.job_id

    def __len__(self) -> int:
        return len(self.entries)

    def __repr__(self) -> str:
        return (f"<affsig.Signature {self.name!r}: {len(self.entries)} entries, "
                f"mean score {self.summary.mean_score:.4f}>")

    def to_pandas(self) -> pandas.DataFrame:
        """One row per entry, with the columns of the CLI's JSON.

        ``index``, ``call``, ``n``, ``d`` and ``batches`` are int64; ``module``, ``op``,
        ``status`` and ``reason`` text; ``score`` (the mean over the batches), ``std``
        (population), ``min`` and ``max`` float64, NaN where the entry has no score (``status``
        other than ``"ok"``: ``reason`` says why); ``batch_scores`` a list per row, one score per
        batch, NaN where the entry was not scored in that batch. Measures the job asked for follow
        as further columns.
        """
        import pandas

        columns = list(_COLUMNS) + _extra_fields()
        frame = pandas.DataFrame([[_value(entry, column) for column in columns]
                                  for entry in self.entries], columns=columns)
        return frame.astype(_DTYPES)

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
