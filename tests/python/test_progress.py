"""Progress on stderr while a job is followed: a tqdm bar, or plain lines without tqdm.

As everywhere in the tests (docs/testing.md), only what holds whatever the timing is asserted:
progress moves forward within its total and ends in the final state.
"""

from __future__ import annotations

import re
import sys

import pytest

import affsig
from support import SERVICE_FIXTURES, samples

# 400 activation calls per batch, 8 batches: seconds of progress.
DEEP_LOOP = SERVICE_FIXTURES / "deep_loop.pt"
TOTAL = 8 * 400


def submit(client: affsig.Client, **options: object) -> affsig.Job:
    return client.submit(model=DEEP_LOOP, input=samples(8 * 16, 128), batch_size=16, batches=8,
                         **options)


def assert_forward_within(counts: list[tuple[int, int]]) -> None:
    assert counts, "no progress was shown"
    assert all(total == TOTAL and 0 <= done <= total for done, total in counts)
    assert [done for done, _ in counts] == sorted(done for done, _ in counts)


def test_a_tqdm_bar(client: affsig.Client, capsys: pytest.CaptureFixture[str]) -> None:
    job = submit(client)
    assert job.state == "SUCCEEDED"
    output = capsys.readouterr()
    assert output.out == ""
    # tqdm redraws its line: the states the bar went through, each after a carriage return.
    states = [s.strip() for s in re.split(r"[\r\n]+", output.err) if s.strip()]
    assert all(s.startswith(f"job {job.job_id} ") for s in states)
    assert_forward_within([(int(done), int(total)) for s in states
                           for done, total in re.findall(r"\| (\d+)/(\d+) activations", s)])
    assert re.match(rf"job {job.job_id} SUCCEEDED \|█+\| {TOTAL}/{TOTAL} activations",
                    states[-1])


def test_plain_lines_without_tqdm(client: affsig.Client, capsys: pytest.CaptureFixture[str],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)  # as if it were not installed
    job = submit(client)
    lines = capsys.readouterr().err.splitlines()
    pattern = re.compile(rf"job {job.job_id} (QUEUED|RUNNING|SUCCEEDED)"
                         r"(?: batch (\d+)/8 (\d+)/(\d+) activations(?: \(act\))?)?")
    matches = [pattern.fullmatch(line) for line in lines]
    assert all(matches), lines
    assert_forward_within([(int(m[3]), int(m[4])) for m in matches if m[3]])
    assert lines[-1] == f"job {job.job_id} SUCCEEDED"


def test_no_progress_when_not_asked(client: affsig.Client,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert submit(client, progress=False).state == "SUCCEEDED"
    assert capsys.readouterr().err == ""
