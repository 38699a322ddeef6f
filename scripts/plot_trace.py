#!/usr/bin/python3
"""MCMC trace plots of `simbi sample` output for a model sampled by MCMC (ACE): per dimension, the draws
of a few chains against the draw index, and the marginal histogram of all chains.

    /usr/bin/python3 scripts/plot_trace.py --samples s.csv --chains C --out trace.png [--show-chains 4]
        [--title TEXT] [--dpi D]

`simbi sample` writes the draws of C chains draw-major: row i is draw floor(i / C) of chain i mod C
(docs/mcmc.md), so --chains must be the C it ran with (the [sample] chains of the config, default 100).
Well-mixed chains overlap and look like stationary noise around the same level; a chain stuck apart from
the others or a slow drift means the draws are not yet from the posterior.

Needs only numpy and matplotlib (Agg backend). Errors: one line "error: ..." on stderr, exit status 1.
"""

import argparse
import os
import sys

import numpy as np

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from plot_posterior import UserError, read_csv, run_cli, safe_label, save  # noqa: E402

CHAIN_COLORS = ["#1f66b3", "#e6770b", "#31a354", "#756bb1", "#d62728", "#8c564b"]


def figure(labels, values, chains, show, title):
    draws = len(values) // chains
    if draws < 2:
        raise UserError(f"{len(values)} rows hold fewer than 2 draws of each of {chains} chains")
    # row i = draw i // C of chain i % C  ->  [draws, C, d]
    per_chain = values[: draws * chains].reshape(draws, chains, values.shape[1])
    d = values.shape[1]
    fig, axes = plt.subplots(d, 2, figsize=(10, 1.9 * d + 0.9), squeeze=False,
                             gridspec_kw=dict(width_ratios=[4, 1], wspace=0.05))
    picks = np.linspace(0, chains - 1, min(show, chains)).round().astype(int)
    for k in range(d):
        ax, axh = axes[k]
        for c, color in zip(picks, CHAIN_COLORS * 10):
            ax.plot(np.arange(draws), per_chain[:, c, k], lw=0.7, color=color, alpha=0.85)
        ax.set_ylabel(safe_label(labels[k]), fontsize=9)
        ax.tick_params(labelsize=8)
        ax.set_xlim(0, draws - 1)
        lo, hi = ax.get_ylim()
        axh.hist(per_chain[:, :, k].ravel(), bins=40, range=(lo, hi), orientation="horizontal", color="#8c8c8c")
        axh.set_ylim(lo, hi)
        axh.set_yticks([])
        axh.set_xticks([])
        if k < d - 1:
            ax.set_xticklabels([])
    axes[-1][0].set_xlabel("draw (after warm-up and thinning)", fontsize=9)
    axes[-1][1].set_xlabel("all chains", fontsize=9)
    head = title or "MCMC traces"
    fig.suptitle(f"{head}\n{len(picks)} of {chains} chains shown, {draws} draws each", fontsize=11, x=0.02,
                 ha="left")
    height = 1.9 * d + 0.9
    fig.subplots_adjust(left=0.1, right=0.98, bottom=0.5 / height, top=1 - 0.75 / height)
    return fig


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--samples", required=True, help="CSV written by simbi sample (header + one row per draw)")
    p.add_argument("--chains", type=int, required=True, help="chains the samples were drawn with")
    p.add_argument("--out", required=True, help="output PNG")
    p.add_argument("--show-chains", type=int, default=4, help="chains drawn in the traces")
    p.add_argument("--title", default="", help="figure title")
    p.add_argument("--dpi", type=int, default=110)

    def error(message):
        raise UserError(message)

    p.error = error
    a = p.parse_args(argv)
    if a.chains < 1 or a.show_chains < 1 or a.dpi <= 0:
        raise UserError("--chains, --show-chains and --dpi must be positive")
    labels, values = read_csv(a.samples, "samples")
    save(figure(labels, values, a.chains, a.show_chains, a.title), a.out, a.dpi)
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    run_cli(main)
