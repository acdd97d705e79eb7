"""What SciPy and NumPy compute on the inputs of tests/analysis, printed one result a line.

Usage: scipy_reference.py COMMAND INPUT
  cluster INPUT    INPUT: n, then the n x n distance matrix. For each method (single, complete,
                   average, ward): "METHOD merge a b distance size" per linkage row,
                   "METHOD maxclust k labels..." for k = 1..n+1, "METHOD distance t labels..."
                   for thresholds at, between, below and above the merge distances, and
                   "METHOD leaves ..." (dendrogram leaf order).
  correlate INPUT  INPUT: two lines, x and y. "pearson r p" and "spearman rho p".
  resample INPUT   INPUT: lines "L v0 v1 ...". np.interp over relative depth, one line each.
Floats are printed with repr(), which reads back exactly.
"""
import sys

import numpy as np
import scipy
from scipy.cluster import hierarchy
from scipy.spatial.distance import squareform
from scipy import stats


def numbers(line):
    return [float(v) for v in line.split()]


def maxclust(z, k):
    """fcluster(z, k, 'maxclust') as SciPy 1.15 fixed it (its binary search never tried the first
    merge before, and k >= n gave fewer clusters than allowed); older SciPy gets the fixed rule:
    the cut at the first merge, in order, whose largest distance below leaves at most k clusters."""
    if tuple(int(p) for p in scipy.__version__.split('.')[:2]) >= (1, 15):
        return hierarchy.fcluster(z, k, criterion='maxclust')
    n = z.shape[0] + 1
    if k >= n:
        return np.arange(1, n + 1)
    criterion = hierarchy.maxdists(z)
    for cut in criterion:
        labels = hierarchy.fcluster(z, cut, criterion='distance')
        if labels.max() <= k:
            return labels
    raise AssertionError('the last merge leaves one cluster')


def cluster(lines):
    n = int(lines[0])
    matrix = np.array([numbers(line) for line in lines[1:n + 1]])
    condensed = squareform(matrix)
    for method in ('single', 'complete', 'average', 'ward'):
        z = hierarchy.linkage(condensed, method)
        for a, b, distance, size in z:
            print(method, 'merge', int(a), int(b), repr(float(distance)), int(size))
        for k in range(1, n + 2):
            print(method, 'maxclust', k, *maxclust(z, k))
        heights = sorted(set(z[:, 2]))
        thresholds = heights + [(p + q) / 2 for p, q in zip(heights, heights[1:])]
        thresholds += [-1.0, heights[0] / 2, heights[-1] + 1.0]
        for t in thresholds:
            labels = hierarchy.fcluster(z, t, criterion='distance')
            print(method, 'distance', repr(float(t)), *labels)
        print(method, 'leaves', *hierarchy.dendrogram(z, no_plot=True)['leaves'])


def correlate(lines):
    x, y = numbers(lines[0]), numbers(lines[1])
    pearson = stats.pearsonr(x, y)
    spearman = stats.spearmanr(x, y)
    print('pearson', repr(float(pearson[0])), repr(float(pearson[1])))
    print('spearman', repr(float(spearman[0])), repr(float(spearman[1])))


def resample(lines):
    for line in lines:
        values = numbers(line)
        length, series = int(values[0]), values[1:]
        depth = np.linspace(0, 1, len(series))
        print(*(repr(float(v)) for v in np.interp(np.linspace(0, 1, length), depth, series)))


def main():
    command, path = sys.argv[1], sys.argv[2]
    with open(path) as f:
        lines = [line for line in f.read().splitlines() if line.strip()]
    {'cluster': cluster, 'correlate': correlate, 'resample': resample}[command](lines)


if __name__ == '__main__':
    main()
