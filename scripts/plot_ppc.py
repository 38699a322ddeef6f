#!/usr/bin/python3
"""Posterior-predictive check plot: per summary feature, the distribution of re-simulated features (one
simulation per posterior draw, `simbi ppc --out-sims`) for each posterior, optionally the prior
predictive as a reference, and the observed value marked. A last panel shows each posterior's
posterior-predictive distance (the `simbi ppc --out` JSON) when given.

    /usr/bin/python3 scripts/plot_ppc.py --observed obs.csv [--observation-row 1]
        --sims LABEL sims.csv [ppc.json] [--sims LABEL2 sims2.csv [ppc2.json] ...]
        [--prior prior_sims.csv [prior_ppc.json]] [--features "name 1,name 2,..."]
        [--title TEXT] [--out ppc.png] [--dpi 110] [--bins 40]

CSV files have one header line (data_1..data_D, as `simbi observe` and `simbi ppc --out-sims` write) and
one row per observation / simulation; rows of nan (failed simulations) are left out. Each panel spans
the 1–99 % quantiles of the posterior-predictive features (and the observed value); the prior
predictive is drawn as the fraction of all its simulations per bin (its mass outside the range is not
shown).

Needs only numpy and matplotlib (Agg backend). Errors: one line "error: ..." on stderr, exit status 1.
"""

import argparse
import json
import math
import os
import sys

import numpy as np

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

COLORS = ["#9ecae1", "#3182bd", "#08519c", "#e6770b", "#31a354", "#756bb1"]
PRIOR_COLOR = "#bdbdbd"
OBSERVED_COLOR = "#d62728"


# The samples/simulations CSV reader and the one-line error type are plot_posterior.py's (same folder).
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from plot_posterior import UserError, read_csv  # noqa: E402


def read_ppc_json(path):
    if path is None:
        return None
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        raise UserError(f"cannot read ppc JSON {path}: {e}") from None


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--observed", required=True, help="CSV of observations (header data_1..)")
    p.add_argument("--observation-row", type=int, default=1, help="which observation row (1-based)")
    p.add_argument("--sims", nargs="+", action="append", default=[], metavar="ITEM",
                   help="LABEL sims.csv [ppc.json]: one posterior's re-simulated features (repeatable)")
    p.add_argument("--prior", nargs="+", metavar="ITEM", help="prior_sims.csv [ppc.json]: the prior predictive")
    p.add_argument("--features", default="", help="comma-separated feature names (default: the CSV header)")
    p.add_argument("--title", default="", help="figure title")
    p.add_argument("--out", default="ppc.png", help="output PNG")
    p.add_argument("--dpi", type=int, default=110)
    p.add_argument("--bins", type=int, default=40)
    a = p.parse_args(argv)
    if not a.sims:
        raise UserError("give at least one --sims LABEL sims.csv [ppc.json]")
    for s in a.sims:
        if len(s) not in (2, 3):
            raise UserError(f"--sims takes LABEL sims.csv [ppc.json], got {len(s)} values: {' '.join(s)}")
    if a.prior is not None and len(a.prior) not in (1, 2):
        raise UserError(f"--prior takes sims.csv [ppc.json], got {len(a.prior)} values")
    if a.bins < 2:
        raise UserError("--bins must be at least 2")
    return a


def finite_rows(values):
    return values[np.all(np.isfinite(values), axis=1)]


def plot(a):
    header, obs = read_csv(a.observed, "observation")
    if not 1 <= a.observation_row <= obs.shape[0]:
        raise UserError(f"--observation-row {a.observation_row}: {a.observed} has {obs.shape[0]} observation(s)")
    x_o = obs[a.observation_row - 1]
    dim = len(x_o)
    names = [n.strip() for n in a.features.split(",")] if a.features else header
    if len(names) != dim:
        raise UserError(f"--features names {len(names)} features, the observation has {dim}")

    posteriors = []  # (label, finite rows, n failed, ppc json)
    for s in a.sims:
        h, v = read_csv(s[1], f"simulations ({s[0]})")
        if v.shape[1] != dim:
            raise UserError(f"{s[1]}: {v.shape[1]} features, the observation has {dim}")
        ok = finite_rows(v)
        if len(ok) == 0:
            raise UserError(f"{s[1]}: every simulation failed (all rows nan)")
        posteriors.append((s[0], ok, len(v) - len(ok), read_ppc_json(s[2] if len(s) == 3 else None)))
    prior = None
    if a.prior:
        h, v = read_csv(a.prior[0], "prior-predictive simulations")
        if v.shape[1] != dim:
            raise UserError(f"{a.prior[0]}: {v.shape[1]} features, the observation has {dim}")
        prior = (finite_rows(v), read_ppc_json(a.prior[1] if len(a.prior) == 2 else None))

    with_distances = any(p[3] is not None for p in posteriors) or (prior is not None and prior[1] is not None)
    panels = dim + (1 if with_distances else 0)
    cols = min(4, panels)
    rows = math.ceil(panels / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols, 2.7 * rows + 0.6), squeeze=False)
    colors = COLORS if len(posteriors) <= len(COLORS) else plt.cm.viridis(np.linspace(0.15, 0.9, len(posteriors)))

    for k in range(dim):
        ax = axes[k // cols][k % cols]
        pooled = np.concatenate([p[1][:, k] for p in posteriors])
        lo, hi = np.quantile(pooled, [0.01, 0.99])
        lo, hi = min(lo, x_o[k]), max(hi, x_o[k])
        discrete = np.all(pooled == np.round(pooled)) and hi - lo <= 200
        if discrete:  # counts (spikes): one bin per integer
            edges = np.arange(math.floor(lo) - 0.5, math.ceil(hi) + 1.5)
        else:
            pad = 0.05 * (hi - lo) if hi > lo else max(abs(hi), 1.0) * 0.05
            edges = np.linspace(lo - pad, hi + pad, a.bins + 1)
        if prior is not None:
            v = prior[0][:, k]
            inside = (v >= edges[0]) & (v <= edges[-1])
            ax.hist(v[inside], bins=edges, weights=np.full(inside.sum(), 1.0 / len(v)), color=PRIOR_COLOR,
                    alpha=0.8, label="prior predictive" if k == 0 else None)
        for (label, v, _, _), c in zip(posteriors, colors):
            x = v[:, k]
            ax.hist(x, bins=edges, weights=np.full(len(x), 1.0 / len(x)), histtype="step", linewidth=1.6, color=c,
                    label=label if k == 0 else None)
        ax.axvline(x_o[k], color=OBSERVED_COLOR, linewidth=2.0, linestyle="--", label="observed" if k == 0 else None)
        ax.set_title(names[k], fontsize=10)
        ax.tick_params(labelsize=8)
        ax.set_yticks([])
        if k % cols == 0:
            ax.set_ylabel("fraction per bin", fontsize=8)

    next_panel = dim
    if with_distances:
        ax = axes[next_panel // cols][next_panel % cols]
        labels, means, sems, cs = [], [], [], []
        if prior is not None and prior[1] is not None:
            labels.append("prior")
            means.append(prior[1]["ppc_distance_mean"])
            sems.append(prior[1].get("ppc_distance_sem", 0.0))
            cs.append(PRIOR_COLOR)
        for (label, _, _, j), c in zip(posteriors, colors):
            if j is None:
                continue
            labels.append(label)
            means.append(j["ppc_distance_mean"])
            sems.append(j.get("ppc_distance_sem", 0.0))
            cs.append(c)
        y = np.arange(len(labels))
        ax.barh(y, means, xerr=sems, color=cs, edgecolor="#333333")
        for yi, m in zip(y, means):
            ax.text(m, yi, f" {m:.3g}", va="center", fontsize=8)
        ax.set_yticks(y)
        ax.set_yticklabels(labels, fontsize=8)
        ax.invert_yaxis()
        ax.set_xlim(0, 1.3 * max(means))
        dist_name = (posteriors[0][3] or (prior[1] if prior else {}) or {}).get("distance", {}).get("name", "")
        ax.set_title(f"posterior-predictive distance{' (' + dist_name + ')' if dist_name else ''}", fontsize=10)
        ax.tick_params(axis="x", labelsize=8)
        next_panel += 1
    for k in range(next_panel, rows * cols):
        axes[k // cols][k % cols].axis("off")

    handles, labels = axes[0][0].get_legend_handles_labels()
    n = len(posteriors[0][1]) + posteriors[0][2]
    failed = ", ".join(f"{p[0]}: {p[2]}" for p in posteriors if p[2])
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=9, frameon=False)
    title = a.title or "posterior-predictive check"
    fig.suptitle(f"{title}\n{n} re-simulations per posterior{'; failed ' + failed if failed else ''}", fontsize=11)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    fig.savefig(a.out, dpi=a.dpi)
    plt.close(fig)
    print(f"wrote {a.out}")


def main(argv):
    try:
        plot(parse_args(argv))
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
