"""The client of affsig-server: uploads, jobs, progress and signatures over gRPC."""

from __future__ import annotations

import dataclasses
import datetime
import functools
import hashlib
import io
import json
import os
import re
import sys
import threading
import time
import uuid
import warnings
import weakref
from pathlib import Path
from typing import Any, BinaryIO, Iterable, Iterator, Mapping, Sequence, Union

import grpc

from affsig._analyses import (DISTANCES, LINKAGES, STATISTICS, Clustering, Comparison,
                              Correlation, choice)
from affsig._errors import AffsigError, JobFailedError, ServerError, server_error
from affsig._export import FunctionalActivationsWarning, export
from affsig._progress import progress_display
from affsig._signature import Signature, Summary
from affsig.v1 import signature_service_pb2 as pb
from affsig.v1 import signature_service_pb2_grpc as pb_grpc

PathLike = Union[str, "os.PathLike[str]"]
# A job as the analyses take it: its id, the Job, or its Signature.
JobLike = Union[str, "Job", Signature]

DEFAULT_SERVER = "127.0.0.1:50051"

# The calls that may be sent again when the server answers UNAVAILABLE (it is stopping or
# overloaded): the reads, the analyses among them, and SubmitJob, whose request id makes a repeat
# return the job the first one made. The command-line client's policy
# (client/signature_client.cc).
_SERVICE_CONFIG = json.dumps({
    "methodConfig": [{
        "name": [{"service": "affsig.v1.SignatureService", "method": method} for method in (
            "FindMissingBlobs", "ListModels", "SubmitJob", "GetJob", "ListJobs", "GetSignature",
            "ListSignatures", "GetServerInfo", "CompareSignatures", "ClusterSignatures",
            "CorrelateSignatures")],
        "retryPolicy": {
            "maxAttempts": 5,
            "initialBackoff": "0.25s",
            "maxBackoff": "4s",
            "backoffMultiplier": 2,
            "retryableStatusCodes": ["UNAVAILABLE"],
        },
    }],
})

# The settings the CLI and the workers share (proto/channel_arguments.cc): a restarted server is
# found again within seconds, long watches keep their connection with pings the server allows,
# and a whole signature fits in one message.
_CHANNEL_OPTIONS = [
    ("grpc.service_config", _SERVICE_CONFIG),
    ("grpc.enable_retries", 1),
    ("grpc.initial_reconnect_backoff_ms", 250),
    ("grpc.min_reconnect_backoff_ms", 250),
    ("grpc.max_reconnect_backoff_ms", 2000),
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 20_000),
    ("grpc.max_send_message_length", 256 << 20),
    ("grpc.max_receive_message_length", 256 << 20),
]

_CALL_SECONDS = 300  # a call's own time once connected; the largest signatures take seconds
_CHUNK_BYTES = 1 << 20
_UPLOAD_ATTEMPTS = 5  # an upload cut short by an unavailable server starts again, as the CLI's
_RECONNECT_SECONDS = 60  # how long a watch waits for a server that went away to come back
_PAGE_SIZE = 1000  # the largest page the server gives
# An eager module is exported (traced) on this many samples of the input and checked on them: a
# few suffice to follow its code and compare outputs, without a second forward pass of the whole
# batch on the notebook's machine.
_EXPORT_SAMPLES = 8
_SHA256 = re.compile(r"[0-9a-f]{64}")
_ENDED = (pb.SUCCEEDED, pb.FAILED, pb.CANCELLED)


@dataclasses.dataclass(frozen=True)
class _Blob:
    """Bytes to upload, named for people (ListModels): a file, or an object serialized here."""

    name: str
    path: Path | None = None
    data: bytes = b""

    def open(self) -> BinaryIO:
        return self.path.open("rb") if self.path is not None else io.BytesIO(self.data)

    def sha256(self) -> str:
        digest = hashlib.sha256()
        with self.open() as stream:
            while chunk := stream.read(_CHUNK_BYTES):
                digest.update(chunk)
        return digest.hexdigest()


def _file(path: PathLike) -> _Blob:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no file '{path}'")
    return _Blob(path.name, path=path)


def _chunks(stream: BinaryIO, sha256: str, name: str) -> Iterator[pb.UploadChunk]:
    """The upload's stream: the first chunk announces the digest and the name."""
    yield pb.UploadChunk(sha256=sha256, name=name, data=stream.read(_CHUNK_BYTES))
    while data := stream.read(_CHUNK_BYTES):
        yield pb.UploadChunk(data=data)


def _model_blob(model: Any, input: Any, activations: str) -> _Blob:
    if isinstance(model, (str, os.PathLike)):
        return _file(model)
    # A torch object can only come from a torch already imported; a client that submits files
    # never pays for importing it.
    torch = sys.modules.get("torch")
    if torch is None or not isinstance(model, torch.nn.Module):
        raise TypeError(
            "model must be a TorchScript file, a torch.jit.ScriptModule or a torch.nn.Module, "
            f"not {type(model).__name__}")
    if isinstance(model, torch.jit.ScriptModule):
        name = model.original_name
    else:
        if input is None or isinstance(input, (str, os.PathLike)):
            raise ValueError(
                "an eager torch.nn.Module is exported on its input's first samples: with a "
                "data source or an input file, export it first: affsig.export(model, example)")
        name = type(model).__name__
        with warnings.catch_warnings():
            if activations == "all":  # they are what it asks for
                warnings.simplefilter("ignore", FunctionalActivationsWarning)
            model = export(model, torch.as_tensor(input[:_EXPORT_SAMPLES]))
    buffer = io.BytesIO()
    torch.jit.save(model, buffer)
    return _Blob(f"{name}.pt", data=buffer.getvalue())


def _input_blob(input: Any) -> _Blob:
    if isinstance(input, (str, os.PathLike)):
        return _file(input)
    import numpy

    torch = sys.modules.get("torch")
    if torch is not None and isinstance(input, torch.Tensor):
        input = input.detach().cpu().numpy()
    if not isinstance(input, numpy.ndarray):
        raise TypeError("input must be a .npy or .pt file, a NumPy array or a tensor, not "
                        f"{type(input).__name__}")
    buffer = io.BytesIO()
    numpy.save(buffer, numpy.ascontiguousarray(input))  # the server reads C order only
    return _Blob("input.npy", data=buffer.getvalue())


def _model_digest(model: PathLike) -> str:
    """A model named by its sha256, or by its file."""
    if isinstance(model, str) and _SHA256.fullmatch(model):
        return model
    return _file(model).sha256()


def _label_filters(labels: Mapping[str, Any] | None) -> list[str]:
    """{"arch": "resnet18", "acc1": None} -> ["arch=resnet18", "acc1"] (None: any value)."""
    return [key if value is None else f"{key}={value}" for key, value in (labels or {}).items()]


def _comparison_request(jobs: Iterable[JobLike], labels: Mapping[str, Any] | None,
                        distance: str, value: str,
                        resample: int | None) -> pb.CompareSignaturesRequest:
    """The signatures to compare, named or selected by labels, and how (Client.compare)."""
    if isinstance(jobs, (str, Job, Signature)):
        raise TypeError("jobs is a list of jobs (ids, Jobs or Signatures), not one job")
    job_ids = [job.job.job_id if isinstance(job, Signature)
               else job.job_id if isinstance(job, Job) else job for job in jobs]
    return pb.CompareSignaturesRequest(
        signatures=pb.SignatureSelection(job_ids=job_ids, labels=_label_filters(labels)),
        distance=choice(DISTANCES, distance, "distance"), value=value, resample=resample or 0)


def _track_connectivity(connected: threading.Event, state: grpc.ChannelConnectivity) -> None:
    if state == grpc.ChannelConnectivity.READY:
        connected.set()
    else:
        connected.clear()


def _close_channel(channel: grpc.Channel, track: Any) -> None:
    channel.unsubscribe(track)
    channel.close()


def _token_from_file() -> str | None:
    """The first line of the CLI's token file, refused (as ssh refuses a key) unless it is the
    user's alone."""
    config = os.environ.get("XDG_CONFIG_HOME") or os.path.join(Path.home(), ".config")
    path = Path(config) / "affsig" / "token"
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return None
    if mode & 0o077:
        raise AffsigError(f"{path} may be read by others (mode {mode & 0o7777:04o}): "
                          f"chmod 600 {path}")
    lines = path.read_text().splitlines()
    return lines[0].strip() if lines else None


def _unix_ms(moment: datetime.datetime | None) -> int:
    return 0 if moment is None else int(moment.timestamp() * 1000)


class Client:
    """A connection to an affsig-server.

    It rides out a busy or restarting server as the CLI does: every call waits up to
    ``connect_timeout`` seconds for the server to be reachable, reads and submissions are retried
    when the server answers UNAVAILABLE, uploads start again from their first byte, and a watch
    follows its job across a server restart.

    Args:
        server: ``HOST:PORT``; default ``$AFFSIG_SERVER``, else ``127.0.0.1:50051``.
        token: sent with every call as ``authorization: Bearer <token>``, for a server with
            ``--auth-tokens``; default ``$AFFSIG_TOKEN``, else the first line of
            ``~/.config/affsig/token`` (refused unless its mode is 0600), as the CLI finds it.
        tls_ca: a PEM file of the certificate authority to verify the server with; the channel
            is then TLS. Default ``$AFFSIG_TLS_CA``; neither: plaintext, which a server serves
            on loopback, or elsewhere with ``--insecure``.
        connect_timeout: seconds a call waits for the server to be reachable before it raises
            ServerError (UNAVAILABLE).
    """

    def __init__(self, server: str | None = None, *, token: str | None = None,
                 tls_ca: PathLike | None = None, connect_timeout: float = 20.0) -> None:
        if connect_timeout <= 0:
            raise ValueError("connect_timeout must be positive")
        self.server = server or os.environ.get("AFFSIG_SERVER") or DEFAULT_SERVER
        token = token or os.environ.get("AFFSIG_TOKEN") or _token_from_file()
        tls_ca = tls_ca or os.environ.get("AFFSIG_TLS_CA")
        self._metadata = (("authorization", f"Bearer {token}"),) if token else ()
        self._connect_timeout = connect_timeout
        if tls_ca:
            credentials = grpc.ssl_channel_credentials(root_certificates=Path(tls_ca).read_bytes())
            self._channel = grpc.secure_channel(self.server, credentials, _CHANNEL_OPTIONS)
        else:
            self._channel = grpc.insecure_channel(self.server, _CHANNEL_OPTIONS)
        self._stub = pb_grpc.SignatureServiceStub(self._channel)
        # Whether the channel is connected, as gRPC reports it; the calls themselves connect it.
        self._connected = threading.Event()
        track = functools.partial(_track_connectivity, self._connected)
        self._channel.subscribe(track)
        # The channel is closed by close(), or when the client is collected, or at the latest at
        # exit: a process would hang there on gRPC's thread that follows the subscription.
        self._close = weakref.finalize(self, _close_channel, self._channel, track)

    def close(self) -> None:
        self._close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"affsig.Client({self.server!r})"

    def submit(self, model: Any, input: Any = None, *, data: str = "",
               activations: str = "modules", labels: Mapping[str, Any] | None = None,
               name: str = "", batch_size: int = 0, batches: int = 0,
               shuffle_seed: int | None = None, resize: int | None = None,
               crop: int | None = None, mean: Sequence[float] = (), std: Sequence[float] = (),
               grayscale_to_rgb: bool = False, priority: int = 0, timeout: int = 0,
               optimize: str = "auto", measures: str | Sequence[str] = (),
               request_id: str = "", wait: bool = True, progress: bool = True) -> Job:
        """Submits a signature job, uploading the model and the input the server lacks.

        Args:
            model: a TorchScript file, a ``torch.jit.ScriptModule``, or an eager
                ``torch.nn.Module``, which is exported with :func:`affsig.export` (traced, on the
                first samples of ``input``: submit a file or a ScriptModule to choose otherwise).
                An eager module is exported again at every submission, and TorchScript names
                each export apart: export it once to submit it again without a second upload.
            input: the samples, first dimension the batch: a ``.npy`` or ``torch.save``'d ``.pt``
                file, a NumPy array or a tensor (uploaded as ``.npy``).
            data: instead of ``input``, a source the workers read: ``server:/path/x.npy``,
                ``random:3x224x224,count=512,seed=0``, ``imagefolder:/path``,
                ``cifar10:/path``, ``cifar100:/path``, ``mnist:/path`` (server paths, under its
                ``--data-root``).
            activations: ``"modules"`` (the paper's: calls of ``torch.nn`` activation modules)
                or ``"all"`` (also functional activations: ``F.relu``, ``torch.tanh``, ...).
            labels: e.g. ``{"arch": "resnet18", "acc1": 69.8}`` (values as text).
            name: a name for the job, shown in listings and plots.
            batch_size, batches: run ``batches`` batches of ``batch_size`` samples (0: all
                samples in one batch; ``batches=0``: every full batch); each score is then the
                mean over the batches, with their spread.
            shuffle_seed, resize, crop, mean, std, grayscale_to_rgb: the samples' order and
                preprocessing, as the CLI's flags of the same names (None: the server's default).
            priority: higher runs first.
            timeout: seconds the job may run before it ends FAILED (0: the server's default).
            optimize: ``"auto"`` (frozen and channels_last where LibTorch can; the scores differ
                by rounding only) or ``"off"`` (the model's own forward).
            measures: the paper's companion measures of every scored entry, besides the score:
                names among ``"shrinkage"``, ``"cka"``, ``"sparsity"``, ``"entropy"``,
                ``"norm"``, ``"r2"``, or ``"all"`` (the server refuses an unknown one,
                ``INVALID_MEASURES``); ``Signature.to_pandas()`` has their columns.
            request_id: an id for this submission; submitting again with it returns the job it
                made instead of a second one (default: a random id, which retries share).
            wait: follow the job until it ends before returning.
            progress: show the progress on stderr while waiting.

        Returns:
            The job; ended when ``wait``. ``job.result()`` gives its signature, or raises
            JobFailedError when the job failed (a model that is not TorchScript, an input it
            rejects) or was cancelled.

        Raises:
            ServerError: the server refused an upload or the job (``UPLOAD_TOO_LARGE``,
                ``INVALID_DATA_SOURCE``, ``INVALID_LABEL``, ...) or cannot be reached.
            FileNotFoundError, TypeError, ValueError: arguments that cannot be sent.
        """
        if (input is None) == (not data):
            raise ValueError("submit needs either input= (samples) or data= (a source)")
        if activations not in ("modules", "all"):
            raise ValueError(f"activations must be 'modules' or 'all', not {activations!r}")
        if optimize not in ("auto", "off"):
            raise ValueError(f"optimize must be 'auto' or 'off', not {optimize!r}")
        options = pb.DataOptions(batch_size=batch_size, batches=batches, mean=mean, std=std,
                                 grayscale_to_rgb=grayscale_to_rgb)
        for field, value in (("shuffle_seed", shuffle_seed), ("resize", resize), ("crop", crop)):
            if value is not None:
                setattr(options, field, value)
        request = pb.SubmitJobRequest(
            model_sha256=self._ensure_uploaded(_model_blob(model, input, activations),
                                               "UploadModel"),
            data_source=data, data_options=options,
            activations=pb.ALL if activations == "all" else pb.MODULES,
            name=name, labels={key: str(value) for key, value in (labels or {}).items()},
            priority=priority, timeout_seconds=timeout,
            request_id=request_id or uuid.uuid4().hex,
            optimize=pb.OPTIMIZE_OFF if optimize == "off" else pb.OPTIMIZE_AUTO,
            measures=[measures] if isinstance(measures, str) else list(measures))
        if input is not None:
            request.input_sha256 = self._ensure_uploaded(_input_blob(input), "UploadInput")
        job = Job(self, self._call("SubmitJob", request))
        return job.watch(progress=progress) if wait else job

    def job(self, job_id: str) -> Job:
        """The job of this id (ServerError JOB_NOT_FOUND when there is none)."""
        return Job(self, self._call("GetJob", pb.GetJobRequest(job_id=job_id)))

    @property
    def caller(self) -> tuple[str, str]:
        """Who the server takes this client for: ``(user, role)`` — the user the token names
        and their role (``"user"``, ``"admin"``, ``"worker"``; ``("unknown", "local")`` on a
        server without ``--auth-tokens``)."""
        info = self._call("GetServerInfo", pb.GetServerInfoRequest())
        return info.caller.user, info.caller.role

    def list_jobs(self, *, state: str | None = None, labels: Mapping[str, Any] | None = None,
                  name: str = "", model: PathLike | None = None, owner: str = "",
                  mine: bool = False, limit: int = 50) -> list[Job]:
        """Jobs, newest first.

        Args:
            state: only jobs in this state (``"QUEUED"``, ``"RUNNING"``, ``"SUCCEEDED"``,
                ``"FAILED"``, ``"CANCELLED"``).
            labels: only jobs with these labels; a value None matches any value of its key.
            name: only jobs of this name.
            model: only jobs of this model: its sha256, or the file.
            owner: only the jobs this user submitted.
            mine: only the jobs this client's token submitted.
            limit: at most this many (0: all).
        """
        if mine:
            if owner:
                raise ValueError("owner and mine exclude each other")
            owner = self.caller[0]
        request = pb.ListJobsRequest(labels=_label_filters(labels), name=name, owner=owner)
        if state is not None:
            request.state = pb.JobState.Value(state)
        if model is not None:
            request.model_sha256 = _model_digest(model)
        return [Job(self, job) for job in self._pages("ListJobs", request, "jobs", limit)]

    def list_signatures(self, *, labels: Mapping[str, Any] | None = None, name: str = "",
                        model: PathLike | None = None,
                        created_after: datetime.datetime | None = None,
                        created_before: datetime.datetime | None = None,
                        entries: bool = True, limit: int = 50) -> list[Signature]:
        """The signatures of SUCCEEDED jobs, newest first, filtered as :meth:`list_jobs`.

        Args:
            created_after, created_before: jobs created in ``[after, before)``.
            entries: with every entry; False: the jobs and their summaries only (cheaper).
        """
        request = pb.ListSignaturesRequest(
            labels=_label_filters(labels), name=name, created_after_ms=_unix_ms(created_after),
            created_before_ms=_unix_ms(created_before),
            view=pb.FULL if entries else pb.SUMMARY)
        if model is not None:
            request.model_sha256 = _model_digest(model)
        return [Signature(Job(self, signature.job), signature)
                for signature in self._pages("ListSignatures", request, "signatures", limit)]

    def compare(self, jobs: Iterable[JobLike] = (), *, labels: Mapping[str, Any] | None = None,
                distance: str = "dtw", value: str = "score",
                resample: int | None = None) -> Comparison:
        """The distances between signatures, pairwise: how alike the models' non-linearity is
        along their depth. The server computes them from the stored signatures, so the answer is
        the CLI's (``affsig compare``) and the entries never travel.

        Args:
            jobs: the SUCCEEDED jobs to compare, in this order: ids, Jobs or Signatures.
            labels: instead of ``jobs``, every SUCCEEDED job carrying all these labels, newest
                first (a value None matches any value of its key); at most 2000.
            distance: ``"dtw"`` (dynamic time warping, as tslearn's: signatures of any lengths,
                as different architectures have), ``"euclidean"`` or ``"correlation"``
                (1 - Pearson r), which need one length: resample signatures of several.
            value: what is compared per entry: ``"score"``; sent as it is, for the server to
                name what else it compares when it refuses a value (INVALID_ARGUMENT).
            resample: every signature linearly resampled to this many points over its relative
                depth first (at least 2), so that networks of different depths line up.

        Returns:
            The :class:`Comparison`: ``job_ids``, ``names``, the ``matrix``, ``to_pandas()``.

        Raises:
            ServerError: ``INVALID_ANALYSIS`` for a selection of fewer than 2 signatures, both
                or neither of ``jobs`` and ``labels``, lengths that differ for a distance that
                needs one; ``NO_SIGNATURE`` for a job named that has not SUCCEEDED;
                ``JOB_NOT_FOUND``; ``INVALID_LABEL``.
            ValueError: a ``distance`` not among those above.
        """
        request = _comparison_request(jobs, labels, distance, value, resample)
        return Comparison(self._call("CompareSignatures", request))

    def cluster(self, jobs: Iterable[JobLike] = (), *, labels: Mapping[str, Any] | None = None,
                distance: str = "dtw", value: str = "score", resample: int | None = None,
                linkage: str = "average", k: int | None = None,
                threshold: float | None = None) -> Clustering:
        """Groups signatures by how alike they are: the hierarchical clustering of
        :meth:`compare`'s distances, as ``scipy.cluster.hierarchy.linkage`` (and ``fcluster``
        for a cut) would compute it, done by the server as ``affsig cluster``.

        Args:
            jobs, labels, distance, value, resample: the signatures and their distances, as
                :meth:`compare`.
            linkage: how far a merged cluster is from the others: ``"average"`` (UPGMA),
                ``"complete"``, ``"single"`` or ``"ward"`` (SciPy's methods).
            k: cut the tree into at most this many flat clusters (fcluster's ``maxclust``).
            threshold: or cut it at this distance: jobs joined below it share a flat cluster
                (fcluster's ``distance``).

        Returns:
            The :class:`Clustering`: ``linkage`` in SciPy's format, ``labels`` (the flat
            clusters when cut), ``dendrogram()``, and the ``comparison``.

        Raises:
            ServerError: as :meth:`compare`; ``INVALID_ANALYSIS`` also for ``k`` < 1 or a
                negative ``threshold``.
            ValueError: both ``k`` and ``threshold``, or a ``linkage`` not among those above.
        """
        if k is not None and threshold is not None:
            raise ValueError("cut the tree with k= or threshold=, not both")
        request = pb.ClusterSignaturesRequest(
            comparison=_comparison_request(jobs, labels, distance, value, resample),
            linkage=choice(LINKAGES, linkage, "linkage"))
        if k is not None:
            request.clusters = k
        if threshold is not None:
            request.threshold = threshold
        return Clustering(self._call("ClusterSignatures", request))

    def correlate(self, label: str, *, statistic: str = "mean",
                  filters: Mapping[str, Any] | None = None,
                  group_by: str | None = None) -> Correlation:
        """How a statistic of the signatures goes with a numeric label across SUCCEEDED jobs:
        e.g. whether more non-linear networks (a lower mean score) are more accurate, with
        ``label="acc1"``. Pearson's and Spearman's coefficients with their p-values, computed by
        the server from the stored statistics (:attr:`Signature.summary`), as
        ``affsig correlate``.

        Args:
            label: the label whose values are numbers; jobs whose value is not are left out
                (``skipped_job_ids``).
            statistic: of each signature: ``"mean"``, ``"median"``, ``"std"``, ``"min"``,
                ``"max"`` or ``"range"``.
            filters: labels the jobs must carry too, as ``list_jobs``' ``labels``.
            group_by: a label key: one correlation per value of it (e.g. per architecture
                family), jobs without it in a group ``""``.

        Returns:
            The :class:`Correlation`: ``groups``, ``to_pandas()``.

        Raises:
            ServerError: ``INVALID_ANALYSIS`` when no SUCCEEDED job with a scored signature
                carries the label with a number; ``INVALID_LABEL``. A group too small for a
                coefficient is no error: its coefficients are None, with the reason.
            ValueError: a ``statistic`` not among those above.
        """
        request = pb.CorrelateSignaturesRequest(
            label=label, statistic=choice(STATISTICS, statistic, "statistic"),
            filters=_label_filters(filters), group_by=group_by or "")
        return Correlation(self._call("CorrelateSignatures", request))

    def _await_connection(self, call: grpc.Future, timeout: float | None = None) -> None:
        """Returns once the channel is connected (or the call ended); past `timeout` seconds
        (default connect_timeout) cancels the call and raises ServerError UNAVAILABLE.

        The calls wait for the connection themselves (wait_for_ready), which only their deadline
        would bound: a call's own time once connected may be minutes, a wait to connect should
        not be.
        """
        timeout = timeout or self._connect_timeout
        if self._connected.wait(timeout) or call.done():
            return
        call.cancel()
        raise ServerError(
            grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.UNAVAILABLE.name,
            f"cannot reach {self.server} within {timeout:g} s (is affsig-server running there? "
            "pass server= or set $AFFSIG_SERVER)")

    def _call(self, method: str, request: Any) -> Any:
        """One unary call; a refusal as ServerError."""
        call = getattr(self._stub, method).future(
            request, timeout=self._connect_timeout + _CALL_SECONDS, metadata=self._metadata,
            wait_for_ready=True)
        self._await_connection(call)
        try:
            return call.result()
        except grpc.RpcError as error:
            raise server_error(error) from None

    def _pages(self, method: str, request: Any, field: str, limit: int) -> list[Any]:
        if limit < 0:
            raise ValueError("limit must not be negative")
        rows: list[Any] = []
        while True:
            request.page_size = _PAGE_SIZE if limit == 0 else min(_PAGE_SIZE, limit - len(rows))
            response = self._call(method, request)
            rows.extend(getattr(response, field))
            request.page_token = response.next_page_token
            if not request.page_token or (limit and len(rows) >= limit):
                return rows

    def _ensure_uploaded(self, blob: _Blob, method: str) -> str:
        """The blob's sha256, after uploading it if the server lacks it."""
        sha256 = blob.sha256()
        missing = self._call("FindMissingBlobs", pb.FindMissingBlobsRequest(sha256=[sha256]))
        if missing.missing_sha256:
            self._upload(blob, sha256, method)
        return sha256

    def _upload(self, blob: _Blob, sha256: str, method: str) -> None:
        # A client stream outgrows the channel's retry buffer: an upload cut short by an
        # unavailable server is sent again from its first byte (the server stores each content
        # once).
        backoff = 0.25
        for attempt in range(1, _UPLOAD_ATTEMPTS + 1):
            try:
                with blob.open() as stream:
                    call = getattr(self._stub, method).future(
                        _chunks(stream, sha256, blob.name), metadata=self._metadata,
                        wait_for_ready=True)
                    self._await_connection(call)
                    call.result()
                return
            except grpc.RpcError as error:
                if error.code() != grpc.StatusCode.UNAVAILABLE or attempt == _UPLOAD_ATTEMPTS:
                    raise server_error(error, blob.name) from None
            time.sleep(backoff)
            backoff *= 2

    def _watch(self, job_id: str, progress: bool) -> pb.Job:
        """Follows the job until it ends, through a server restart."""
        display = progress_display() if progress else None
        last: pb.Job | None = None
        try:
            connect_timeout = self._connect_timeout
            while True:
                updates = self._stub.WatchJob(pb.WatchJobRequest(job_id=job_id),
                                              metadata=self._metadata, wait_for_ready=True)
                self._await_connection(updates, connect_timeout)
                try:
                    for update in updates:
                        last = update
                        if display is not None:
                            display.update(update)
                except grpc.RpcError as error:
                    # A server that stops ends open watches UNAVAILABLE, or CANCELLED past its
                    # grace period: wait for it to come back, and watch again.
                    if error.code() not in (grpc.StatusCode.UNAVAILABLE,
                                            grpc.StatusCode.CANCELLED):
                        raise server_error(error) from None
                    time.sleep(0.1)
                    connect_timeout = _RECONNECT_SECONDS
                    continue
                if last is None or last.state not in _ENDED:
                    raise AffsigError(f"the watch of job {job_id} ended before the job did")
                return last
        finally:
            if display is not None:
                display.close()


class Job:
    """A signature job: its state as last fetched from the server, and what can be done with it.

    ``proto`` is the job as the API gives it (``affsig.v1.Job``: data options, attempts, ...).
    """

    def __init__(self, client: Client, proto: pb.Job) -> None:
        self._client = client
        self.proto = proto

    @property
    def job_id(self) -> str:
        return self.proto.job_id

    @property
    def state(self) -> str:
        """``"QUEUED"``, ``"RUNNING"``, ``"SUCCEEDED"``, ``"FAILED"`` or ``"CANCELLED"``."""
        return pb.JobState.Name(self.proto.state)

    @property
    def ended(self) -> bool:
        return self.proto.state in _ENDED

    @property
    def name(self) -> str:
        return self.proto.name

    @property
    def owner(self) -> str:
        """The user who submitted it (``"unknown"`` on a server without ``--auth-tokens``)."""
        return self.proto.owner

    @property
    def labels(self) -> dict[str, str]:
        return dict(self.proto.labels)

    @property
    def error(self) -> str:
        """Why a FAILED job failed, in one line."""
        return self.proto.error

    @property
    def summary(self) -> Summary | None:
        """The statistics of a SUCCEEDED job's signature (None before): at hand in a listing
        of jobs, without fetching the signature."""
        return Summary.from_proto(self.proto.summary) if self.proto.HasField("summary") else None

    def refresh(self) -> Job:
        """Fetches the job's state again."""
        self.proto = self._client._call("GetJob", pb.GetJobRequest(job_id=self.job_id))
        return self

    def watch(self, progress: bool = True) -> Job:
        """Waits for the job to end, showing its progress on stderr unless told not to."""
        self.proto = self._client._watch(self.job_id, progress)
        return self

    def result(self, wait: bool = True, progress: bool = True) -> Signature:
        """The job's signature, after waiting for it to end unless ``wait`` is False.

        Raises:
            JobFailedError: the job ended FAILED or CANCELLED.
            AffsigError: with ``wait=False``, the job has not ended.
        """
        if wait and not self.ended:
            self.watch(progress)
        signature = self._client._call("GetSignature",
                                       pb.GetSignatureRequest(job_id=self.job_id))
        self.proto = signature.job
        if not self.ended:
            raise AffsigError(f"job {self.job_id} is {self.state}: it has not ended yet")
        if self.proto.state != pb.SUCCEEDED:
            raise JobFailedError(self)
        return Signature(self, signature)

    def cancel(self) -> Job:
        """Cancels the job: a queued one at once, a running one within seconds."""
        self.proto = self._client._call("CancelJob", pb.CancelJobRequest(job_id=self.job_id))
        return self

    def delete(self) -> None:
        """Removes the job and its signature from the server (a running job: cancel it first)."""
        self._client._call("DeleteJob", pb.DeleteJobRequest(job_id=self.job_id))

    def __repr__(self) -> str:
        name = f" {self.name!r}" if self.name else ""
        return f"<affsig.Job {self.job_id}{name} {self.state}>"
