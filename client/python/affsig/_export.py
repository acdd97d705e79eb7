"""Eager PyTorch modules to the TorchScript files the engine reads, with their module names."""

from __future__ import annotations

import os
import warnings
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

# The engine's activations (server/engine/activation_catalog.cc): in "modules" mode the calls of
# these torch.nn classes; in "all" mode also these operations anywhere else.
_ACTIVATION_MODULE = "torch.nn.modules.activation"
_ACTIVATION_CLASSES = frozenset((
    "ReLU RReLU Hardtanh ReLU6 Sigmoid Hardsigmoid Tanh SiLU Mish Hardswish ELU CELU SELU GLU GELU "
    "Hardshrink LeakyReLU LogSigmoid Softplus Softshrink PReLU Softsign Tanhshrink Softmin Softmax "
    "Softmax2d LogSoftmax").split())
_FUNCTIONAL_OPS = frozenset((
    "relu relu6 rrelu hardtanh sigmoid hardsigmoid tanh silu mish hardswish elu celu selu glu gelu "
    "hardshrink leaky_relu log_sigmoid softplus softshrink prelu softmax log_softmax").split())


class ExportWarning(UserWarning):
    """Something about an export its user should know: the mode it ran in, what tracing fixed."""


class FunctionalActivationsWarning(ExportWarning):
    """The model calls activations as functions, which only ``activations="all"`` scores."""


def _is_activation_module(module: Any) -> bool:
    cls = type(module)
    return cls.__module__ == _ACTIVATION_MODULE and cls.__name__ in _ACTIVATION_CLASSES


def _skipped_by_engine(path: str, module: Any) -> bool:
    """Attention is left out of signatures: MultiheadAttention and paths through an "attn"."""
    return type(module).__name__ == "MultiheadAttention" or "attn" in path.split(".")


def _functional_activations(model: torch.nn.Module, example: torch.Tensor) -> tuple[Any, list[str]]:
    """Runs the eager forward; returns its output and the functional activation calls outside
    activation modules, as "op in 'module'" in order of first appearance."""
    from torch.overrides import TorchFunctionMode

    stack: list[bool] = []  # per open module: inside an activation module or a skipped path
    calls: dict[str, None] = {}
    paths: list[str] = []

    class Recorder(TorchFunctionMode):
        def __torch_function__(self, func: Any, types: Any, args: Any = (),
                               kwargs: Any = None) -> Any:
            op = getattr(func, "__name__", "").removesuffix("_")  # in-place forms
            if op in _FUNCTIONAL_OPS and not any(stack):
                calls[f"{op} in '{paths[-1] if paths else ''}'"] = None
            return func(*args, **(kwargs or {}))

    def enter(path: str, module: Any) -> Any:
        def hook(*_: Any) -> None:
            stack.append(_is_activation_module(module) or _skipped_by_engine(path, module))
            paths.append(path)
        return hook

    def leave(*_: Any) -> None:
        stack.pop()
        paths.pop()

    handles = []
    for path, module in model.named_modules():
        handles.append(module.register_forward_pre_hook(enter(path, module)))
        handles.append(module.register_forward_hook(leave))
    try:
        with Recorder():
            output = model(example)
    finally:
        for handle in handles:
            handle.remove()
    return output, list(calls)


def _tensors(output: Any) -> list[torch.Tensor]:
    """The tensors of a model's output, which may nest them in tuples, lists and dicts."""
    import torch

    if isinstance(output, torch.Tensor):
        return [output]
    if isinstance(output, dict):
        output = list(output.values())
    if isinstance(output, (tuple, list)):
        return [tensor for item in output for tensor in _tensors(item)]
    return []


def export(model: torch.nn.Module, example_input: Any, method: str = "trace",
           path: str | os.PathLike[str] | None = None, *, rtol: float = 1e-4,
           atol: float = 1e-5) -> torch.jit.ScriptModule:
    """Exports an eager module to TorchScript as the engine reads it: module names intact.

    Signature entries are keyed by the dotted module paths of the activations; a frozen module
    (``torch.jit.freeze``) has lost them, so the export is never frozen (the server optimizes the
    forward itself, with the names already known). The model runs in eval mode, as the engine
    runs it; its own mode is restored afterwards.

    Args:
        model: the eager ``torch.nn.Module``.
        example_input: a batch the model takes (a tensor or a NumPy array, samples first); a few
            samples suffice.
        method: ``"trace"`` records the operations the example runs through: any model, but
            Python control flow that depends on the data is fixed to the path the example took
            (warned about). ``"script"`` compiles the Python code with its control flow; not
            every model can be scripted.
        path: where to save the file, when given.
        rtol, atol: how close the export's outputs must be to the eager ones on the example.

    Returns:
        The TorchScript module (``torch.jit.save`` writes it; ``Client.submit`` takes it).

    Raises:
        ValueError: the export's outputs differ from the model's on the example.

    Warns:
        ExportWarning: the model was in training mode; tracing fixed data-dependent control flow
            or values.
        FunctionalActivationsWarning: activations called as functions (``F.relu``,
            ``torch.sigmoid``, ``x.tanh()``) outside activation modules, which only
            ``activations="all"`` scores.
    """
    import torch

    if isinstance(model, torch.jit.ScriptModule):
        raise TypeError("the model is TorchScript already: submit it or torch.jit.save it")
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"export takes a torch.nn.Module, not {type(model).__name__}")
    if method not in ("trace", "script"):
        raise ValueError(f"method must be 'trace' or 'script', not {method!r}")
    parameter = next(model.parameters(), None)  # the example goes where the model is
    example = torch.as_tensor(example_input,
                              device=None if parameter is None else parameter.device)
    was_training = model.training
    if was_training:
        warnings.warn("the model was in training mode: it is exported in eval mode (dropout off, "
                      "batch norm on its running statistics), as the engine runs it",
                      ExportWarning, stacklevel=2)
    model.eval()
    try:
        with torch.no_grad():
            expected, functional = _functional_activations(model, example)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", torch.jit.TracerWarning)
                if method == "trace":
                    # The check below compares with the eager output; trace's own check would
                    # run the model twice more.
                    exported = torch.jit.trace(model, example, check_trace=False)
                else:
                    exported = torch.jit.script(model)
            actual = exported(example)
    finally:
        model.train(was_training)

    expected_tensors, actual_tensors = _tensors(expected), _tensors(actual)
    if len(expected_tensors) != len(actual_tensors):
        raise ValueError(f"the {method}d model returns {len(actual_tensors)} tensors where the "
                         f"model returns {len(expected_tensors)}")
    for index, (want, got) in enumerate(zip(expected_tensors, actual_tensors)):
        if want.shape != got.shape or not torch.allclose(got, want, rtol=rtol, atol=atol,
                                                         equal_nan=True):
            difference = ((got - want).abs().max().item() if want.shape == got.shape
                          else f"shape {tuple(got.shape)} for {tuple(want.shape)}")
            hint = " (use method='script')" if method == "trace" else ""
            raise ValueError(f"the {method}d model does not reproduce output {index} of the "
                             f"eager model on the example: largest difference {difference}{hint}")

    # "model.py:42: Converting a tensor to a Python boolean might cause the trace to be incorrect"
    fixed = list(dict.fromkeys(
        f"{os.path.basename(warning.filename)}:{warning.lineno}: "
        f"{str(warning.message).split('.')[0]}"
        for warning in caught if issubclass(warning.category, torch.jit.TracerWarning)))
    if fixed:
        warnings.warn("tracing fixed what the example's values decided; other inputs may take "
                      "other paths than the export follows (method='script' keeps control flow): "
                      + "; ".join(fixed), ExportWarning, stacklevel=2)
    for warning in caught:  # the others, as they were
        if not issubclass(warning.category, torch.jit.TracerWarning):
            warnings.warn_explicit(warning.message, warning.category, warning.filename,
                                   warning.lineno)
    if functional:
        warnings.warn("activations called as functions, which only activations='all' scores: "
                      + ", ".join(functional),
                      FunctionalActivationsWarning, stacklevel=2)
    if path is not None:
        exported.save(os.fspath(path))
    return exported
