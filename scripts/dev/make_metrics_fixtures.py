#!/usr/bin/python3
"""Writes the fixed sample files of the C2ST cross-check (tests/e2e/test_c2st_vs_sklearn.sh) under
tests/data/metrics/: three (reference, samples) pairs with known C2ST regimes, from fixed numpy seeds.

    /usr/bin/python3 scripts/dev/make_metrics_fixtures.py [--out tests/data/metrics]

  same_2d     N(0, I2) vs N(0, I2)                                    C2ST ~ 0.50 (indistinguishable)
  shift_3d    N(0, I3) vs N(0.45·1, I3)                               C2ST ~ 0.65 (Bayes accuracy 0.652)
  banana_2d   two-moons-like banana vs the Gaussian with the banana's
              mean and covariance                                     C2ST ~ 0.71

10000 rows each, sbibm's size: the C2ST of one implementation varies by about 0.003 between seeds at
this size (0.01 at 2000 rows), so ±0.01 between simbi and scikit-learn is a meaningful bound.
Files: <name>_reference.csv and <name>_samples.csv, header theta_1..theta_d, 7 significant digits (both
sides read the same text). Rerunning reproduces the files byte for byte.
"""
import argparse
import os

import numpy as np


def banana(rng, n):
    """Two interleaved half-moons (sbibm's two_moons likelihood shape), noisy."""
    a = rng.uniform(-np.pi / 2, np.pi / 2, n)
    r = rng.normal(0.1, 0.01, n) * 10.0
    side = rng.integers(0, 2, n)
    x = np.where(side == 0, r * np.cos(a) + 0.25, -r * np.cos(a) + 1.25)
    y = np.where(side == 0, r * np.sin(a), -r * np.sin(a) - 0.5)
    return np.stack([x, y], axis=1) + rng.normal(0.0, 0.05, (n, 2))


def fixtures():
    rng = np.random.default_rng(20240601)
    out = {}
    n = 10000
    out["same_2d"] = (rng.standard_normal((n, 2)), rng.standard_normal((n, 2)))
    out["shift_3d"] = (rng.standard_normal((n, 3)), rng.standard_normal((n, 3)) + 0.45)
    b = banana(rng, n)
    g = rng.multivariate_normal(b.mean(axis=0), np.cov(b, rowvar=False), n)
    out["banana_2d"] = (b, g)
    return out


def write(path, m):
    m = np.asarray(m, dtype=np.float32)
    header = ",".join(f"theta_{i + 1}" for i in range(m.shape[1]))
    np.savetxt(path, m, delimiter=",", header=header, comments="", fmt="%.7g")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=os.path.join(here, "..", "..", "tests", "data", "metrics"))
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    for name, (ref, smp) in fixtures().items():
        write(os.path.join(a.out, f"{name}_reference.csv"), ref)
        write(os.path.join(a.out, f"{name}_samples.csv"), smp)
        print(f"{name}: reference {ref.shape}, samples {smp.shape}")


if __name__ == "__main__":
    main()
