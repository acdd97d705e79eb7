"""A job's progress on stderr while it is followed: a tqdm bar where tqdm is installed (a widget in
a notebook), otherwise plain lines as the CLI writes them when stderr is no terminal."""

from __future__ import annotations

import sys
from typing import Any, Protocol

from affsig.v1 import signature_service_pb2 as pb


class ProgressDisplay(Protocol):
    def update(self, job: pb.Job) -> None: ...

    def close(self) -> None: ...


def _describe(job: pb.Job) -> tuple[int, int, str]:
    """(done, total, " batch b/B" for jobs of several batches, else "")."""
    progress = job.progress
    if not job.HasField("progress") or progress.total <= 0:
        return 0, 0, ""
    batch = f" batch {progress.batch}/{progress.batches}" if progress.batches > 1 else ""
    return progress.done, progress.total, batch


class _Lines:
    """One line per change of state and per tenth of the activations, as the CLI's."""

    def __init__(self) -> None:
        self._last: tuple[int, int] | None = None

    def update(self, job: pb.Job) -> None:
        done, total, batch = _describe(job)
        tenth = done * 10 // total if total else -1
        if (job.state, tenth) == self._last:
            return
        self._last = (job.state, tenth)
        line = f"job {job.job_id} {pb.JobState.Name(job.state)}"
        if total:
            line += f"{batch} {done}/{total} activations"
            if job.progress.activation:
                line += f" ({job.progress.activation})"
        print(line, file=sys.stderr, flush=True)

    def close(self) -> None:
        """Each line is whole: nothing to end."""


class _Bar:
    """A tqdm bar over the activations of every batch, described by the job's state."""

    # Until the first forward pass gives the total there is only the state to show.
    _STATE_ONLY = "{desc}"
    _WITH_BAR = "{desc} |{bar}| {n}/{total} activations [{elapsed}<{remaining}]{postfix}"

    def __init__(self, tqdm: Any) -> None:
        self._tqdm = tqdm
        self._bar: Any = None

    def update(self, job: pb.Job) -> None:
        done, total, batch = _describe(job)
        description = f"job {job.job_id} {pb.JobState.Name(job.state)}{batch}"
        if self._bar is None:
            self._bar = self._tqdm(desc=description, file=sys.stderr, bar_format=self._STATE_ONLY)
        bar = self._bar
        if total and bar.total != total:
            bar.total = total
            bar.bar_format = self._WITH_BAR
        if total:
            bar.n = done
            bar.set_postfix_str(job.progress.activation, refresh=False)
        elif job.state == pb.SUCCEEDED and bar.total:
            bar.n = bar.total  # the final update carries no progress
        bar.set_description_str(description, refresh=False)
        bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def progress_display() -> ProgressDisplay:
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return _Lines()
    return _Bar(tqdm)
