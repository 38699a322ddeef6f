#!/usr/bin/env python3
"""Regenerate the ACE authors' benchmark observations (Gao, Deistler, Macke 2023) for the GBI tasks whose
definition simbi shares with theirs: gbi_uniform_1d, two_moons and gbi_gaussian_mixture.

Why: the authors' results (../shared/reference_results/ace_neuralgbi_10k/) are per observation, and their
misspecified observations differ a lot from draw to draw (docs/tasks_gbi.md), so "no worse than the authors'
ACE" is only like-for-like on their own observations. They are not in the shared data; they are the draws
of the authors' published procedure from torch.manual_seed(42) — the same procedure as `simbi observe`
(specified: prior-predictive draws; misspecified: the ±0.5·std box walk from 100,000 prior-predictive x, or
for gbi_gaussian_mixture the misspecified simulator), in the order: 10 specified "known", 10 specified
"unknown", then 10 misspecified "known" and 10 misspecified "unknown". Their draws come from torch's CPU
generator, so this needs PyTorch (Debian: apt-get install python3-torch); the numbers depend on the order
and shapes of the generator calls, which this file reproduces, not on the code's form.

Check that the draws are the authors': scripts/dev/check_authors_observations.py compares the exact GBI
posterior's posterior-predictive distance on these observations with the authors' GT rows per observation.

Writes <out>/<task>/{known,unknown}_{specified,misspecified}.csv (header data_1.., one observation per row,
what `simbi observe` writes and `simbi sample --observation` / `simbi train --ace-targets` read).
Usage: python3 scripts/dev/authors_gbi_observations.py --out configs/gbi_authors_observations
"""
import argparse
import math
import os

import torch

SEED = 42
COUNT = 10


def uniform(shape, low, high):
    # torch.distributions.Uniform(low, high).sample(shape): one torch.rand of that shape.
    return low + torch.rand(shape) * (high - low)


class Uniform1d:
    name = "gbi_uniform_1d"
    coeffs = torch.tensor([0.1627, 0.9073, -1.2197, -1.4639, 1.4381])

    def prior(self, n):
        return uniform((n, 1), -1.5, 1.5)

    def simulate(self, theta):
        noise = uniform((theta.shape[0], 1), -0.25, 0.25)
        powers = torch.hstack([(0.8 * (theta + 0.25)) ** i for i in range(5)])
        return (powers * self.coeffs).sum(1, keepdim=True) + noise


class TwoMoons:
    name = "two_moons"

    def prior(self, n):
        return uniform((n, 2), -1.0, 1.0)

    def simulate(self, theta):
        n = theta.shape[0]
        a = uniform((n, 1), -math.pi / 2, math.pi / 2)
        # Normal(0.1, 0.01).sample((n, 1)) is torch.normal(mean, std) on expanded tensors.
        r = torch.normal(torch.full((n, 1), 0.1), torch.full((n, 1), 0.01))
        p = torch.cat((torch.cos(a) * r + 0.25, torch.sin(a) * r), dim=1)
        angle = torch.tensor([-math.pi / 4.0])
        c, s = torch.cos(angle), torch.sin(angle)
        z0 = (c * theta[:, 0] - s * theta[:, 1]).reshape(-1, 1)
        z1 = (s * theta[:, 0] + c * theta[:, 1]).reshape(-1, 1)
        return p + torch.cat((-torch.abs(z0), z1), dim=1)


class GaussianMixture:
    name = "gbi_gaussian_mixture"
    trials = 5

    def prior(self, n):
        return uniform((n, 2), -10.0, 10.0)

    def _mixture(self, theta, narrow_sd, narrow_centre):
        wide = torch.randn((self.trials, *theta.shape)) + theta
        narrow = narrow_sd * torch.randn((self.trials, *theta.shape)) + narrow_centre
        pick_wide = torch.bernoulli(0.5 * torch.ones((self.trials, theta.shape[0]))).bool()
        out = torch.zeros(*wide.shape)
        out[pick_wide] = wide[pick_wide]
        out[~pick_wide] = narrow[~pick_wide]
        return out.permute(1, 0, 2).reshape(theta.shape[0], -1)  # (n, 5·2): trial-major, as simbi's x

    def simulate(self, theta):
        return self._mixture(theta, 0.1, theta)

    def simulate_misspecified(self, theta):
        return self._mixture(theta, 0.5, torch.sign(theta) * 12.5)


def box_walk(task, count, scale=0.5, max_steps=10000):
    """Misspecified observations (docs/tasks_gbi.md): walk simulated x out of the prior-predictive box."""
    x = task.simulate(task.prior(100_000))
    lo, hi, sd = x.min(0)[0], x.max(0)[0], x.std(0)
    walked = x[torch.randint(high=x.shape[0], size=(count,))]
    outside = torch.zeros((count,))
    steps = 0
    while not (outside > 0).all() and steps < max_steps:
        signs = ((torch.randn((count, x.shape[1])) > 0).to(float) - 0.5) * 2
        walked += signs * sd * (1.0 - outside.unsqueeze(1)) * scale
        outside = ((walked < lo).any(1) | (walked > hi).any(1)).to(float)
        steps += 1
    return walked


def observations(task):
    torch.manual_seed(SEED)
    out = {}
    for known in ("known", "unknown"):
        out[f"{known}_specified"] = task.simulate(task.prior(COUNT))
    for known in ("known", "unknown"):
        if isinstance(task, GaussianMixture):
            out[f"{known}_misspecified"] = task.simulate_misspecified(task.prior(COUNT))
        else:
            out[f"{known}_misspecified"] = box_walk(task, COUNT)
    return out


def write_csv(path, x):
    with open(path, "w") as f:
        f.write(",".join(f"data_{k + 1}" for k in range(x.shape[1])) + "\n")
        for row in x.tolist():
            f.write(",".join(repr(float(v)) for v in row) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="output folder (one subfolder per task)")
    args = ap.parse_args()
    for task in (Uniform1d(), TwoMoons(), GaussianMixture()):
        folder = os.path.join(args.out, task.name)
        os.makedirs(folder, exist_ok=True)
        for name, x in observations(task).items():
            write_csv(os.path.join(folder, name + ".csv"), x.float())
        print(f"{task.name}: {folder}")


if __name__ == "__main__":
    main()
