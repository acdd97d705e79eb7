"""What affsig raises: requests the server refused, and jobs that did not succeed."""

from __future__ import annotations

import functools
from importlib import resources
from typing import TYPE_CHECKING, Any

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

if TYPE_CHECKING:
    from affsig._client import Job

# AIP-193: every error of affsig's API carries a google.rpc.ErrorInfo of this domain in the
# grpc-status-details-bin trailer (proto/grpc_status.cc).
_ERROR_DOMAIN = "affsig.v1"
_STATUS_DETAILS_KEY = "grpc-status-details-bin"


class AffsigError(Exception):
    """The base of every error affsig raises on purpose."""


class ServerError(AffsigError):
    """A call the server refused, or a server that could not be reached.

    Attributes:
        code: the gRPC status code (``grpc.StatusCode.NOT_FOUND``, ...).
        reason: the machine-readable reason of the error's google.rpc.ErrorInfo, which a program
            may rely on (``JOB_NOT_FOUND``, ``UPLOAD_TOO_LARGE``, ``INVALID_LABEL``, ...: the
            list is ``common/error_reason.h``); the code's name when the server gave none, as
            for a server that cannot be reached (``UNAVAILABLE``).
        message: the server's one-line message.
    """

    def __init__(self, code: grpc.StatusCode, reason: str, message: str) -> None:
        super().__init__(f"{message} ({code.name}: {reason})")
        self.code = code
        self.reason = reason
        self.message = message


class JobFailedError(AffsigError):
    """A job whose signature was asked for ended FAILED or CANCELLED.

    Attributes:
        job: the job as it ended; ``job.error`` says why a FAILED one failed (a model that is not
            TorchScript, an input the model rejects, a timeout, ...).
        state: ``"FAILED"`` or ``"CANCELLED"``.
    """

    def __init__(self, job: Job) -> None:
        detail = f": {job.error}" if job.error else ""
        super().__init__(f"job {job.job_id} is {job.state}{detail}")
        self.job = job
        self.state = job.state


@functools.lru_cache(maxsize=None)
def _error_model() -> tuple[Any, Any]:
    """The classes of google.rpc.Status and google.rpc.ErrorInfo.

    They are built in a descriptor pool of their own from the descriptor set generated at build
    time: the process's default pool may already hold googleapis-common-protos' fuller versions
    of the same files (any notebook that imports a Google Cloud library), and adding affsig's
    trimmed copies there would make whichever came second fail to import.
    """
    serialized = resources.files(__package__).joinpath("_error_model.binpb").read_bytes()
    pool = descriptor_pool.DescriptorPool()
    for file in descriptor_pb2.FileDescriptorSet.FromString(serialized).file:
        pool.Add(file)
    # GetMessageClass since protobuf 4.22; Debian 12's 4.21 has only the factory's GetPrototype.
    message_class = getattr(message_factory, "GetMessageClass", None)
    if message_class is None:
        message_class = message_factory.MessageFactory(pool).GetPrototype
    return (message_class(pool.FindMessageTypeByName("google.rpc.Status")),
            message_class(pool.FindMessageTypeByName("google.rpc.ErrorInfo")))


def _reason(error: grpc.RpcError) -> str:
    status_class, info_class = _error_model()
    for key, value in error.trailing_metadata() or ():
        if key != _STATUS_DETAILS_KEY:
            continue
        for detail in status_class.FromString(value).details:
            if detail.type_url.rpartition("/")[2] != info_class.DESCRIPTOR.full_name:
                continue
            info = info_class.FromString(detail.value)
            if info.domain == _ERROR_DOMAIN:
                return info.reason
    return error.code().name


def server_error(error: grpc.RpcError, context: str = "") -> ServerError:
    """The ServerError of a failed call; `context` (a file name) prefixes the message."""
    message = error.details() or error.code().name
    if context:
        message = f"{context}: {message}"
    return ServerError(error.code(), _reason(error), message)
