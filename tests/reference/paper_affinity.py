"""The paper's algorithm (Bouniot et al., CVPR 2025), written from docs/affinity-score.md.

Used to make golden fixtures and as the baseline of the benchmark. It follows the authors' code
path (eigh-based psd square root, torch.pinverse, POT's exact emd2) and, unlike that code, never
runs an activation twice: inputs are captured by forward pre-hooks, outputs by forward hooks, and
functional activations by a TorchFunctionMode, so the scores are those of the real forward pass.
"""

import numpy as np
import torch

try:
    import ot
except ImportError:  # a machine without POT: SciPy's exact assignment gives the same W
    ot = None
    from scipy.optimize import linear_sum_assignment
import torch.nn as nn
from torch.overrides import TorchFunctionMode

RIDGE = 1e-6

ACTIVATION_CLASSES = (
    "ReLU RReLU Hardtanh ReLU6 Sigmoid Hardsigmoid Tanh SiLU Mish Hardswish ELU CELU SELU GLU GELU "
    "Hardshrink LeakyReLU LogSigmoid Softplus Softshrink PReLU Softsign Tanhshrink Softmin Softmax "
    "Softmax2d LogSoftmax").split()

FUNCTIONAL_OPS = set(
    "relu relu6 rrelu hardtanh sigmoid hardsigmoid tanh silu mish hardswish elu celu selu glu gelu "
    "hardshrink leaky_relu log_sigmoid softplus softshrink prelu softmax log_softmax".split())


def reduce_samples(t):
    """Step 1: one row per sample."""
    t = t.detach()
    if t.dim() == 0:
        return t.reshape(1, 1).clone()
    if t.dim() == 1:
        return t.unsqueeze(1).clone()
    if t.dim() == 2:
        return t.clone()
    if t.dim() == 3:
        return t.mean(-1)
    if t.dim() == 4:
        return t.mean(dim=(2, 3))
    return t.flatten(2).mean(-1)


def _floor(values):
    non_positive = values <= 0
    count = int(non_positive.sum())
    if count:
        values = values.clone()
        values[non_positive] = torch.linspace(1e-7, 1e-6, count, dtype=values.dtype)
    return values


def psd_sqrt(p):
    values, vectors = torch.linalg.eigh(p)
    return vectors @ torch.diag(torch.sqrt(_floor(values))) @ vectors.T


def affinity_score(x, y, dtype=torch.float64, num_iter_max=10_000_000, subspace=False):
    """rho_aff of reduced input x and output y (N x d), per docs/affinity-score.md section 1.

    subspace=True (only when d > 2N) first expresses the samples in an orthonormal basis of their
    span, where every matrix function of the map can be computed exactly (the d - 2N remaining
    directions add 1e-6 each to trace(C_y) and nothing else). It is not the paper's code path,
    but gives the same score at a fraction of the cost for wide layers (VGG's classifier).
    """
    x = torch.as_tensor(x).to(dtype)
    y = torch.as_tensor(y).to(dtype)
    n, d = x.shape
    if subspace and d > 2 * n:
        # Centred samples: x_hat_i - y_j = A (x_i - m_x) - (y_j - m_y), so the means cancel.
        x, y = x - x.mean(0), y - y.mean(0)
        basis, _ = torch.linalg.qr(torch.cat([x, y]).T)
        extra_trace = RIDGE * (d - basis.shape[1])
        x, y = x @ basis, y @ basis
        n, d = x.shape
    else:
        extra_trace = 0.0
    eye = torch.eye(d, dtype=dtype)
    mx, my = x.mean(0), y.mean(0)
    cov_x = torch.cov(x.T).reshape(d, d) + RIDGE * eye
    cov_y = torch.cov(y.T).reshape(d, d) + RIDGE * eye
    trace_y = float(torch.trace(cov_y)) + extra_trace
    if trace_y > 2 * RIDGE * (d + extra_trace / RIDGE):
        s = psd_sqrt(cov_y)
        m = s @ cov_x @ s
        a = s @ torch.pinverse(psd_sqrt(m)) @ s
    else:
        a = torch.zeros(d, d, dtype=dtype)
    x_hat = (x - mx) @ a.T + my
    if ot is not None:
        cost = ot.dist(x_hat.numpy(), y.numpy())
        weights = np.full(n, 1.0 / n)
        w = ot.emd2(weights, weights, cost, numItermax=num_iter_max)
    else:
        cost = torch.cdist(x_hat, y).square().numpy()
        rows, cols = linear_sum_assignment(cost)
        w = cost[rows, cols].mean()
    return float(1.0 - np.sqrt(w / (2.0 * trace_y)))


def _module_class(module):
    cls = type(module)
    if cls.__module__ == "torch.nn.modules.activation" and cls.__name__ in ACTIVATION_CLASSES:
        return cls.__name__
    return None


def _excluded(path, module):
    return isinstance(module, nn.MultiheadAttention) or "attn" in path.split(".")


class SignatureRecorder(TorchFunctionMode):
    """Captures every activation call of one forward pass ('modules' or 'all' mode)."""

    def __init__(self, model, mode):
        super().__init__()
        self.mode = mode
        self.calls = []          # [module, op, x, y] in execution order
        self._stack = []         # (path, module class or None, excluded)
        self._open = []
        self._handles = []
        for path, module in model.named_modules():
            self._handles.append(module.register_forward_pre_hook(self._pre_hook(path, module)))
            self._handles.append(module.register_forward_hook(self._post_hook(module)))

    def _inside_activation_or_excluded(self):
        return any(cls is not None or excluded for _, cls, excluded in self._stack)

    def _pre_hook(self, path, module):
        cls = _module_class(module)

        def hook(mod, inputs):
            skip = self._inside_activation_or_excluded() or _excluded(path, module)
            if cls is not None and not skip:
                self._open.append([path, cls, reduce_samples(inputs[0]), None])
                self.calls.append(self._open[-1])
            self._stack.append((path, cls if not skip else None, _excluded(path, module)))
        return hook

    def _post_hook(self, module):
        def hook(mod, inputs, output):
            path, cls, _ = self._stack.pop()
            if cls is not None:
                self._open.pop()[3] = reduce_samples(output)
        return hook

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        op = name[:-1] if name.endswith("_") else name
        if self.mode != "all" or op not in FUNCTIONAL_OPS or self._inside_activation_or_excluded():
            return func(*args, **kwargs)
        path = self._stack[-1][0] if self._stack else ""
        call = [path, op, reduce_samples(args[0]), None]
        self.calls.append(call)
        result = func(*args, **kwargs)
        call[3] = reduce_samples(result)
        return result

    def close(self):
        for handle in self._handles:
            handle.remove()


def signature(model, batch, mode="modules", dtype=torch.float64, subspace=False):
    """The expected signature: a list of dicts with index, module, call, op, score, status."""
    recorder = SignatureRecorder(model, mode)
    try:
        with torch.no_grad(), recorder:
            output = model(batch)
    finally:
        recorder.close()
    entries, counts = [], {}
    for index, (module, op, x, y) in enumerate(recorder.calls):
        call = counts.get((module, op), 0)
        counts[(module, op)] = call + 1
        entry = {"index": index, "module": module, "call": call, "op": op, "d": int(x.shape[1]),
                 "n": int(x.shape[0]), "status": "ok"}
        if x.shape != y.shape:
            entry["status"] = "dim_mismatch"
        elif x.shape[0] < 2:
            entry["status"] = "too_few_samples"
        elif not (torch.isfinite(x).all() and torch.isfinite(y).all()):
            entry["status"] = "non_finite"
        else:
            entry["score"] = affinity_score(x, y, dtype, subspace=subspace)
        entries.append(entry)
    return entries, output
