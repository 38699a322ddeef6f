#!/usr/bin/python3
"""Plots of a simulation-based calibration (`simbi sbc --out sbc.json`, docs/sbc.md): one rank histogram
per dimension of θ and one of the joint (Mahalanobis) rank, each with the band that a uniform histogram
stays inside with the given probability per bin (binomial), and the expected-coverage curves against the
diagonal.

    /usr/bin/python3 scripts/plot_sbc.py --sbc sbc.json --out sbc.png [--band 0.99] [--title TEXT] [--dpi 120]

Reading it: a calibrated posterior gives flat histograms (most bins inside the grey band) and coverage
curves on the diagonal (inside the grey band around it, the pointwise binomial band for M tests). A
∪-shaped histogram (θ* often beyond all draws) and a coverage curve below the diagonal mean an
overconfident posterior; a ∩ shape and a curve above it an underconfident one; a slope means a bias. For
the joint rank (distance from the centre) a pile-up on the right means overconfident.

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

# The one-line error type, the label fallback and the atomic PNG writer are plot_posterior.py's.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from plot_posterior import UserError, run_cli, safe_label, save  # noqa: E402

BAR_COLOR = "#1f66b3"
BAND_COLOR = "#d9d9d9"
JOINT_COLOR = "#d62728"


def binomial_interval(n, p, mass):
    """(lo, hi): the central `mass` interval of Binomial(n, p) (exact, from the log pmf)."""
    k = np.arange(n + 1)
    log_fact = np.concatenate([[0.0], np.cumsum(np.log(np.arange(1, n + 1)))])
    with np.errstate(divide="ignore"):
        log_pmf = log_fact[n] - log_fact[k] - log_fact[n - k] + k * np.log(p) + (n - k) * np.log1p(-p)
    cdf = np.cumsum(np.exp(log_pmf - log_pmf.max()))
    cdf /= cdf[-1]
    tail = 0.5 * (1.0 - mass)
    return int(np.searchsorted(cdf, tail)), int(np.searchsorted(cdf, 1.0 - tail))


def read_sbc(path):
    if not os.path.isfile(path):
        raise UserError(f"SBC JSON file not found: {path}")
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise UserError(f"cannot read SBC JSON {path}: {e}") from None
    for key in ("dimensions", "joint", "coverage", "num_posterior_samples", "num_valid_tests"):
        if not isinstance(doc, dict) or key not in doc:
            raise UserError(f"{path}: not the output of `simbi sbc --out` (no '{key}')")
    return doc


def histogram(stat, L):
    """(edges, counts) in rank units: the JSON's chi-square bins, or 10 bins when M was too small."""
    h = stat.get("histogram")
    ranks = np.asarray(stat["ranks"], dtype=int)
    if h:
        return np.asarray(h["edges"], dtype=float), np.asarray(h["counts"], dtype=int)
    b = max(1, min(10, L + 1))
    edges = np.floor(np.arange(b + 1) * (L + 1) / b)
    counts = np.histogram(ranks, bins=edges)[0]
    return edges, counts


def draw_histogram(ax, stat, L, m, band, joint):
    edges, counts = histogram(stat, L)
    x = edges / (L + 1)  # normalised rank
    widths = np.diff(x)
    share = np.diff(edges) / (L + 1)  # P(bin) under uniform ranks
    lo_hi = np.array([binomial_interval(m, p, band) for p in share])
    color = JOINT_COLOR if joint else BAR_COLOR
    # the band behind a translucent histogram with a solid outline, so both stay visible
    ax.bar(x[:-1], lo_hi[:, 1] - lo_hi[:, 0], bottom=lo_hi[:, 0], width=widths, align="edge", color=BAND_COLOR,
           lw=0, zorder=1)
    ax.stairs(counts, x, fill=True, color=color, alpha=0.35, lw=0, zorder=2)
    ax.stairs(counts, x, color=color, lw=1.3, zorder=3)
    ax.stairs(m * share, x, color="#555555", lw=1.0, ls="--", zorder=4)
    p = stat.get("p_value")
    name = "joint (Mahalanobis)" if joint else safe_label(str(stat["name"]))
    p_text = None if p is None else ("p < 1e-300" if p == 0 else f"p = {p:.3g}")
    ax.set_title(f"{name}\n{p_text}" if p_text else name, fontsize=10)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, max(counts.max(), lo_hi[:, 1].max()) * 1.12)
    ax.tick_params(labelsize=8)
    ax.set_xlabel("distance rank / (L + 1)" if joint else "rank / (L + 1)", fontsize=8)


def draw_coverage(ax, doc, band):
    cov = doc["coverage"]
    levels = np.concatenate([[0.0], np.asarray(cov["levels"], dtype=float), [1.0]])
    m = doc["num_valid_tests"]
    z = {0.9: 1.645, 0.95: 1.960, 0.99: 2.576}.get(round(band, 2), 2.576)
    sd = np.sqrt(levels * (1 - levels) / m)
    ax.fill_between(levels, levels - z * sd, levels + z * sd, color=BAND_COLOR, lw=0, zorder=1,
                    label=f"{band:.0%} binomial band (M = {m})")
    ax.plot([0, 1], [0, 1], color="#555555", lw=1.0, ls="--", zorder=2)
    dims = doc["dimensions"]
    colors = plt.cm.viridis(np.linspace(0.1, 0.85, max(1, len(dims))))
    for k, (stat, c) in enumerate(zip(dims, colors)):
        curve = np.concatenate([[0.0], stat["coverage"], [1.0]])
        ax.plot(levels, curve, color=c, lw=1.0, alpha=0.8, zorder=3,
                label="dimensions (central intervals)" if k == 0 else None)
    joint = np.concatenate([[0.0], doc["joint"]["coverage"], [1.0]])
    ax.plot(levels, joint, color=JOINT_COLOR, lw=2.2, zorder=4, label="joint (Mahalanobis region)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_aspect("equal")
    ax.set_xlabel("credibility level", fontsize=9)
    ax.set_ylabel("expected coverage", fontsize=9)
    ax.set_title(f"expected coverage\nmax |dev| {cov['max_deviation_marginal']:.3f} (dims), "
                 f"{cov['max_deviation_joint']:.3f} (joint)", fontsize=10)
    ax.tick_params(labelsize=8)
    ax.grid(alpha=0.25, lw=0.6)
    ax.legend(fontsize=7, loc="lower right", frameon=True, framealpha=0.85, edgecolor="none")


def figure(doc, band, title):
    stats = list(doc["dimensions"]) + [doc["joint"]]
    L = int(doc["num_posterior_samples"])
    m = int(doc["num_valid_tests"])
    panels = len(stats) + 1
    cols = min(4, panels)
    rows = math.ceil(panels / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.3 * cols, 3.0 * rows + 0.8), squeeze=False)
    for k, stat in enumerate(stats):
        draw_histogram(axes[k // cols][k % cols], stat, L, m, band, joint=k == len(stats) - 1)
    draw_coverage(axes[(panels - 1) // cols][(panels - 1) % cols], doc, band)
    for k in range(panels, rows * cols):
        axes[k // cols][k % cols].axis("off")
    u = doc.get("uniformity_test", {})
    verdict = ""
    if u.get("adjusted_p_value") is not None:
        verdict = (f"; chi-square, {u['bins']} bins: Bonferroni-adjusted p = {u['adjusted_p_value']:.3g}, "
                   + ("REJECTED" if u.get("rejected") else "not rejected") + f" at {u['alpha']:g}")
    head = title or f"SBC of {os.path.basename(str(doc.get('model', 'model')))} ({doc.get('method', '?')}, " \
                    f"{doc.get('task', '?')})"
    fig.suptitle(f"{head}\nM = {m} tests x L = {L} posterior samples{verdict}; grey: {band:.0%} band under "
                 "uniform ranks", fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    return fig


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sbc", required=True, help="JSON written by `simbi sbc --out`")
    p.add_argument("--out", required=True, help="output PNG")
    p.add_argument("--band", type=float, default=0.99, help="probability of the uniform bands (default 0.99)")
    p.add_argument("--title", default="", help="figure title")
    p.add_argument("--dpi", type=int, default=120)

    def error(message):
        raise UserError(message)

    p.error = error
    a = p.parse_args(argv)
    if not 0.5 <= a.band < 1.0:
        raise UserError("--band must be in [0.5, 1)")
    if a.dpi <= 0:
        raise UserError("--dpi must be positive")
    return a


def main(argv):
    a = parse_args(argv)
    doc = read_sbc(a.sbc)
    try:
        fig = figure(doc, a.band, a.title)
    except (KeyError, TypeError, ValueError) as e:
        raise UserError(f"{a.sbc}: unexpected content ({type(e).__name__}: {e})") from None
    save(fig, a.out, a.dpi)
    print(f"wrote {a.out} ({len(doc['dimensions'])} dimensions + joint, M = {doc['num_valid_tests']})")
    return 0


if __name__ == "__main__":
    run_cli(main)
