#!/usr/bin/python3
"""Writes the fixed sample files of the C2ST cross-check (tests/e2e/test_c2st_vs_sklearn.sh) under
tests/data/metrics/: three (reference, samples) pairs with known C2ST regimes, from fixed numpy seeds.

    /usr/bin/python3 scripts/dev/make_metrics_fixtures.py [--out tests/data/metrics]

  same_2d     N(0, I2) vs N(0, I2), 10000 rows each              C2ST ~ 0.50 (indistinguishable)
  shift_5d    N(0, I5) vs N(0.35·1, I5), 2000 rows each          C2ST ~ 0.65 (Bayes accuracy 0.652)
  banana_2d   two-moons-like banana vs the Gaussian with the banana's mean and covariance,
              3000 rows each                                      C2ST ~ 0.8

Files: <name>_reference.csv and <name>_samples.csv, header theta_1..theta_d, float32 values printed
exactly (%.9g). Rerunning reproduces the files byte for byte.
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
    out["same_2d"] = (rng.standard_normal((10000, 2)), rng.standard_normal((10000, 2)))
    out["shift_5d"] = (rng.standard_normal((2000, 5)), rng.standard_normal((2000, 5)) + 0.35)
    b = banana(rng, 3000)
    g = rng.multivariate_normal(b.mean(axis=0), np.cov(b, rowvar=False), 3000)
    out["banana_2d"] = (b, g)
    return out


def write(path, m):
    m = np.asarray(m, dtype=np.float32)
    header = ",".join(f"theta_{i + 1}" for i in range(m.shape[1]))
    np.savetxt(path, m, delimiter=",", header=header, comments="", fmt="%.9g")


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
