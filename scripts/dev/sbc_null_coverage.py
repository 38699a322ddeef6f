#!/usr/bin/python3
"""How far the expected-coverage curves of `simbi sbc` stray from the diagonal by chance alone: for
exactly calibrated ranks (u ~ U(0, 1) per test), the distribution of the largest |coverage − level| over
D central-interval curves and the joint curve at the levels 0.05..0.95, for several numbers of tests M.
The figures behind the choice of M in tests/e2e/test_sbc_calibration.sh (D = 10: gaussian_linear).

    /usr/bin/python3 scripts/dev/sbc_null_coverage.py [--dims 10] [--tests 500,1000,2000] [--replicates 4000]

Needs only numpy.
"""

import argparse

import numpy as np


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dims", type=int, default=10)
    p.add_argument("--tests", default="500,1000,2000")
    p.add_argument("--replicates", type=int, default=4000)
    p.add_argument("--tolerance", type=float, default=0.05)
    p.add_argument("--seed", type=int, default=7)
    a = p.parse_args()
    rng = np.random.default_rng(a.seed)
    levels = np.arange(1, 20) / 20
    for m in [int(t) for t in a.tests.split(",")]:
        worst = np.zeros(a.replicates)
        for k in range(a.dims + 1):
            u = rng.uniform(size=(a.replicates, m))
            if k == a.dims:  # the joint curve: u <= level
                cov = (u[:, :, None] <= levels).mean(1)
            else:  # a dimension's central interval: |u - 1/2| <= level / 2
                cov = (np.abs(u[:, :, None] - 0.5) <= levels / 2).mean(1)
            worst = np.maximum(worst, np.abs(cov - levels).max(1))
        q = np.quantile(worst, [0.5, 0.9, 0.99, 0.999])
        print(f"M = {m}: max |coverage - level| over {a.dims + 1} curves: median {q[0]:.4f}, 90% {q[1]:.4f}, "
              f"99% {q[2]:.4f}, 99.9% {q[3]:.4f}; P(> {a.tolerance}) = {np.mean(worst > a.tolerance):.4f}")


if __name__ == "__main__":
    main()
