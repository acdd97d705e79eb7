"""The companion measures of docs/affinity-score.md section 5, written from the spec with
scikit-learn (LedoitWolf, LinearRegression, r2_score) and NumPy, on the inputs of
tests/engine/companion_measures_test. One result line per input line.

Usage: measures_reference.py COMMAND INPUT
  measures INPUT   INPUT: lines "X.npy Y.npy", the reduced input and output (N x d) of an
                   activation call. Prints "shrinkage_score cka entropy_before entropy_after norm
                   r2 shrinkage_x shrinkage_y" (the last two: LedoitWolf's shrinkage of x and y).
  sparsity INPUT   INPUT: lines "T.npy", an unreduced activation tensor. Prints the fraction of its
                   values with |v| <= 1e-3.
Everything in float64; floats printed with repr(), which reads back exactly (nan: undefined).
"""
import os
import sys

import numpy as np
import torch
from sklearn.covariance import LedoitWolf
from sklearn.linear_model import LinearRegression
from sklearn.metrics import r2_score

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
import paper_affinity  # noqa: E402

RIDGE = 1e-6


def transport_cost(x_hat, y):
    """W of section 1, step 5: the exact optimal matching of two uniform clouds."""
    if paper_affinity.ot is not None:
        n = x_hat.shape[0]
        weights = np.full(n, 1.0 / n)
        return paper_affinity.ot.emd2(weights, weights, paper_affinity.ot.dist(x_hat, y),
                                      numItermax=10_000_000)
    cost = ((x_hat[:, None, :] - y[None, :, :]) ** 2).sum(-1)
    rows, cols = paper_affinity.linear_sum_assignment(cost)
    return cost[rows, cols].mean()


def shrinkage_score(x, y):
    """Section 1's score with Ledoit-Wolf shrunk covariances (+1e-6 I) for the sample ones."""
    d = x.shape[1]
    cov_x = LedoitWolf().fit(x).covariance_ + RIDGE * np.eye(d)
    cov_y = LedoitWolf().fit(y).covariance_ + RIDGE * np.eye(d)
    trace_y = np.trace(cov_y)
    if trace_y > 2 * RIDGE * d:
        s = paper_affinity.psd_sqrt(torch.from_numpy(cov_y))
        m = s @ torch.from_numpy(cov_x) @ s
        a = (s @ torch.pinverse(paper_affinity.psd_sqrt(m)) @ s).numpy()
    else:
        a = np.zeros((d, d))
    x_hat = (x - x.mean(0)) @ a.T + y.mean(0)
    return 1.0 - np.sqrt(transport_cost(x_hat, y) / (2.0 * trace_y))


def cka(x, y):
    """HSIC(x, y) / sqrt(HSIC(x, x) HSIC(y, y)), HSIC(a, b) = sum((H a a^T H) * (H b b^T H)).
    H a is a with its column means subtracted: exactly 0 for a constant column, so a constant side
    gives 0 / 0 (nan), undefined, rather than rounding noise of the centring matrix."""
    def kernel(a):
        centred = a - a.mean(0)
        return centred @ centred.T

    kx, ky = kernel(x), kernel(y)
    with np.errstate(invalid="ignore"):
        return np.sum(kx * ky) / np.sqrt(np.sum(kx * kx) * np.sum(ky * ky))


def entropy(m):
    """Per row, the Shannon entropy of a histogram with d equal bins between the row's min and
    max, plus log(d); averaged over the rows."""
    d = m.shape[1]
    values = []
    for row in m:
        counts, _ = np.histogram(row, bins=d)
        p = counts[counts > 0] / d
        values.append(-np.sum(p * np.log(p)) + np.log(d))
    return np.mean(values)


def r2(x, y):
    """R^2 of an ordinary least-squares fit with intercept of y from x, uniform over outputs."""
    return r2_score(y, LinearRegression().fit(x, y).predict(x))


def measures(lines):
    for line in lines:
        x_path, y_path = line.split()
        x = np.load(x_path).astype(np.float64)
        y = np.load(y_path).astype(np.float64)
        shrinkages = [LedoitWolf().fit(a).shrinkage_ for a in (x, y)]
        values = [shrinkage_score(x, y), cka(x, y), entropy(x), entropy(y),
                  np.linalg.norm(x - y), r2(x, y), *shrinkages]
        print(*(repr(float(v)) for v in values))


def sparsity(lines):
    for line in lines:
        t = np.load(line.strip()).astype(np.float64)
        print(repr(float(np.mean(np.abs(t) <= 1e-3))))


def main():
    command, path = sys.argv[1], sys.argv[2]
    with open(path) as f:
        lines = [line for line in f.read().splitlines() if line.strip()]
    {"measures": measures, "sparsity": sparsity}[command](lines)


if __name__ == "__main__":
    main()
