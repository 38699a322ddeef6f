#!/usr/bin/python3
"""Corner plot of posterior samples (optionally against reference samples and the true parameter), and
training / validation loss curves of a simbi model.

    /usr/bin/python3 scripts/plot_posterior.py --samples samples.csv [--reference reference.csv]
        [--true-params true.csv] [--model-history history.json] --out corner.png
        [--loss-curves loss.png] [--title TEXT] [--loss-title TEXT] [--max-points 5000] [--bins N] [--dpi D]
        [--samples-label NAME] [--reference-label NAME]

CSV files have one header line (column names, used as axis labels; LaTeX such as $\\beta$ is rendered by
matplotlib's mathtext, with a plain-text fallback) and one row per sample; a file without a header gets
the labels theta_1..theta_d. --true-params takes the first row of its file (sbibm's true_parameters.csv).

--model-history is the JSON that `simbi inspect --json model.pt` prints (or just its "history" object:
{"train_loss": [...], "val_loss": [...], "epoch_seconds": [...], "best_epoch": k}); a model file itself
(anything that is not JSON) is passed to `simbi inspect --json` ($SIMBI, else build/simbi). With it the
corner plot gets a small loss-curve inset (3 or more dimensions) and a training summary line;
--loss-curves FILE writes the full loss-curve figure.

Needs only numpy and matplotlib (Agg backend). Errors: one line "error: ..." on stderr, exit status 1.
"""

import argparse
import csv
import io
import json
import math
import os
import subprocess
import sys
import tempfile
import textwrap

import numpy as np

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.gridspec import GridSpec  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

SAMPLES_COLOR = "#1f66b3"
REFERENCE_COLOR = "#4d4d4d"
REFERENCE_FILL = ("#d9d9d9", "#b3b3b3")  # 95 % and 68 % regions
TRUE_COLOR = "#d62728"
TRAIN_COLOR = "#1f66b3"
VAL_COLOR = "#e6770b"
MASS_LEVELS = (0.68, 0.95)


class UserError(Exception):
    """A problem with the input; reported as one 'error:' line."""


# ----------------------------------------------------------------------------------------------- input


def _is_number(text):
    try:
        float(text)
        return True
    except ValueError:
        return False


def read_csv(path, what):
    """(labels, array n x d) of a CSV file with an optional header line."""
    if not os.path.isfile(path):
        raise UserError(f"{what} file not found: {path}")
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = [r for r in csv.reader(f) if r and any(c.strip() for c in r)]
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise UserError(f"cannot read {what} file {path}: {e}") from None
    if not rows:
        raise UserError(f"{what} file {path} is empty")
    header = [c.strip() for c in rows[0]]
    if all(_is_number(c) for c in header):
        labels, data_rows, first_line = None, rows, 1
    else:
        labels, data_rows, first_line = header, rows[1:], 2
    if not data_rows:
        raise UserError(f"{what} file {path} has a header but no rows")
    d = len(data_rows[0])
    if labels is not None and len(labels) != d:
        raise UserError(f"{what} file {path}: header has {len(labels)} columns, first row {d}")
    values = np.empty((len(data_rows), d))
    for i, row in enumerate(data_rows):
        if len(row) != d:
            raise UserError(f"{what} file {path}, line {i + first_line}: {len(row)} columns, expected {d}")
        try:
            values[i] = [float(c) for c in row]
        except ValueError:
            raise UserError(f"{what} file {path}, line {i + first_line}: not a number in {row!r}") from None
    if labels is None:
        labels = [f"theta_{k + 1}" for k in range(d)]
    return labels, values


def drop_nonfinite(values, what):
    ok = np.all(np.isfinite(values), axis=1)
    if not ok.all():
        print(f"warning: {what}: ignoring {int((~ok).sum())} of {len(values)} rows with NaN or inf",
              file=sys.stderr)
    values = values[ok]
    if len(values) == 0:
        raise UserError(f"{what}: no finite rows")
    return values


def find_simbi():
    candidates = [os.environ.get("SIMBI", "")]
    here = os.path.dirname(os.path.abspath(__file__))
    candidates += [os.path.join(here, "..", "build", "simbi"), "build/simbi"]
    for c in candidates:
        if c and os.path.isfile(c) and os.access(c, os.X_OK):
            return c
    return None


def read_history(path):
    """(history dict, info dict) from inspect JSON, a bare history object, or a model file."""
    if not os.path.isfile(path):
        raise UserError(f"model history file not found: {path}")
    with open(path, "rb") as f:
        raw = f.read()
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        simbi = find_simbi()
        if simbi is None:
            raise UserError(f"{path} is not JSON (and no simbi binary found to inspect it as a model)") from None
        proc = subprocess.run([simbi, "inspect", "--json", path], capture_output=True, text=True)
        if proc.returncode != 0:
            msg = proc.stderr.strip().splitlines()
            last = msg[-1].removeprefix("error: ") if msg else f"exit status {proc.returncode}"
            raise UserError(f"{path} is not JSON, and `simbi inspect --json` failed: {last}") from None
        try:
            doc = json.loads(proc.stdout)
        except json.JSONDecodeError:
            raise UserError(f"`simbi inspect --json {path}` did not print JSON") from None
    if not isinstance(doc, dict):
        raise UserError(f"{path}: expected a JSON object")
    hist = doc.get("history", doc)
    if not isinstance(hist, dict) or "train_loss" not in hist:
        raise UserError(f"{path}: no training history (expected 'history' with 'train_loss')")
    info = {k: doc[k] for k in ("method", "task", "train_seconds", "epochs") if k in doc}

    def series(key):
        v = hist.get(key)
        if v is None:
            return None
        try:
            return np.asarray([np.nan if e is None else float(e) for e in v], dtype=float)
        except (TypeError, ValueError):
            raise UserError(f"{path}: history '{key}' is not a list of numbers") from None

    out = {"train_loss": series("train_loss"), "val_loss": series("val_loss"),
           "epoch_seconds": series("epoch_seconds"), "best_epoch": hist.get("best_epoch")}
    if out["train_loss"] is None or len(out["train_loss"]) == 0:
        raise UserError(f"{path}: empty training history")
    return out, info


def best_index(hist):
    """0-based index of the best epoch. best_epoch may be 0- or 1-based: take the reading that points at
    the lowest validation loss; if neither does, read it as 1-based (epoch numbers as users count them)."""
    val = hist["val_loss"]
    k = hist["best_epoch"]
    n = len(hist["train_loss"])
    if k is None:
        if val is not None and np.isfinite(val).any():
            return int(np.nanargmin(val))
        return None
    try:
        k = int(k)
    except (TypeError, ValueError):
        return None
    if val is not None and np.isfinite(val).any():
        m = int(np.nanargmin(val))
        if k - 1 == m or k == m:
            return m
    if 1 <= k <= n:
        return k - 1
    if k == 0:
        return 0
    return None


# ----------------------------------------------------------------------------------------------- labels


def _renders(label):
    fig = plt.figure(figsize=(1, 1))
    try:
        fig.text(0.5, 0.5, label)
        fig.savefig(io.BytesIO(), format="png")
        return True
    except Exception:  # mathtext raises ValueError and friends for bad TeX
        return False
    finally:
        plt.close(fig)


def safe_label(label):
    if "$" not in label or _renders(label):
        return label
    plain = label.replace("$", r"\$")  # shown verbatim
    print(f"warning: label {label!r} is not valid mathtext; using {plain!r}", file=sys.stderr)
    return plain


# ------------------------------------------------------------------------------------------- geometry


def axis_ranges(arrays, truth):
    """Per dimension: a range that holds 99 % of every data set, plus the true value, padded."""
    d = arrays[0].shape[1]
    lo, hi = np.empty(d), np.empty(d)
    for k in range(d):
        los = [np.quantile(a[:, k], 0.005) for a in arrays]
        his = [np.quantile(a[:, k], 0.995) for a in arrays]
        a_lo, a_hi = min(los), max(his)
        if truth is not None:
            a_lo, a_hi = min(a_lo, truth[k]), max(a_hi, truth[k])
        if not a_hi > a_lo:
            width = abs(a_lo) * 0.1 or 1.0
            a_lo, a_hi = a_lo - width, a_hi + width
        pad = 0.06 * (a_hi - a_lo)
        lo[k], hi[k] = a_lo - pad, a_hi + pad
    return lo, hi


def _smooth(h, sigma=1.0):
    radius = int(math.ceil(3 * sigma))
    x = np.arange(-radius, radius + 1)
    kernel = np.exp(-0.5 * (x / sigma) ** 2)
    kernel /= kernel.sum()
    h = np.apply_along_axis(lambda r: np.convolve(r, kernel, mode="same"), 0, h)
    return np.apply_along_axis(lambda r: np.convolve(r, kernel, mode="same"), 1, h)


def density_levels(x, y, xr, yr, bins):
    """(xc, yc, H, levels): a smoothed 2-D histogram and the density thresholds enclosing MASS_LEVELS;
    None where contours would mean nothing (too few points, degenerate density)."""
    if len(x) < 50:
        return None
    h, xe, ye = np.histogram2d(x, y, bins=bins, range=[xr, yr])
    # about 1/40 of the axis (more for fewer points): smooth contours, yet thin shapes are kept
    h = _smooth(h.T, sigma=max(1.0, bins / 40.0) * max(1.0, (10000.0 / len(x)) ** (1 / 6)))
    total = h.sum()
    if total <= 0:
        return None
    flat = np.sort(h.ravel())[::-1]
    cum = np.cumsum(flat) / total
    levels = []
    for mass in sorted(MASS_LEVELS, reverse=True):  # increasing density thresholds
        idx = min(int(np.searchsorted(cum, mass)), len(flat) - 1)
        levels.append(flat[idx])
    levels = np.array(levels)
    if np.any(np.diff(levels) <= 0) or levels[0] <= 0:
        return None
    xc = 0.5 * (xe[1:] + xe[:-1])
    yc = 0.5 * (ye[1:] + ye[:-1])
    return xc, yc, h, levels


def subsample(a, n, rng):
    if n <= 0 or len(a) <= n:
        return a
    return a[rng.choice(len(a), size=n, replace=False)]


# ------------------------------------------------------------------------------------------- drawing


def style_for(d):
    """Figure size (inches) and font sizes that keep 2..10 dimensions legible."""
    cell = {1: 4.5, 2: 3.2, 3: 2.6, 4: 2.3}.get(d, max(1.55, 11.5 / d + 0.4))
    size = max(5.0, cell * d)
    if d <= 3:
        fonts = dict(tick=9, label=12, title=14, legend=10)
    elif d <= 6:
        fonts = dict(tick=8, label=12, title=15, legend=11)
    else:
        fonts = dict(tick=8, label=12, title=17, legend=14)
    return size, fonts


def draw_loss(ax, hist, fonts, compact=False):
    train, val = hist["train_loss"], hist["val_loss"]
    ep = np.arange(1, len(train) + 1)
    ax.plot(ep, train, color=TRAIN_COLOR, lw=1.3 if compact else 1.6, label="training")
    vals = [train[np.isfinite(train)]]
    if val is not None and len(val):
        ev = np.arange(1, len(val) + 1)
        ax.plot(ev, val, color=VAL_COLOR, lw=1.3 if compact else 1.6, label="validation")
        vals.append(val[np.isfinite(val)])
    b = best_index(hist)
    if b is not None:
        ax.axvline(b + 1, color="#555555", ls="--", lw=1.0, zorder=0)
        if val is not None and b < len(val) and np.isfinite(val[b]):
            ax.plot([b + 1], [val[b]], marker="o", ms=5 if compact else 7, color=VAL_COLOR, mec="black",
                    mew=0.8, zorder=5, ls="none", label=f"best epoch {b + 1}")
        else:
            ax.plot([], [], color="#555555", ls="--", label=f"best epoch {b + 1}")
    # A first loss orders of magnitude above the rest would flatten the whole curve: then the y range
    # leaves out the first epoch and the top 1 % (only for histories long enough to matter).
    rest = [v[1:] for v in vals if len(v) > 1]
    if rest and min(len(v) for v in vals) >= 10:
        allv = np.concatenate(vals)
        lo, hi = np.min(allv), np.quantile(np.concatenate(rest), 0.99)
        if hi > lo and np.max(allv) - hi > 2.0 * (hi - lo):
            pad = 0.06 * (hi - lo)
            ax.set_ylim(lo - pad, hi + pad)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=4 if compact else 8, integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(nbins=4 if compact else 7))
    ax.tick_params(labelsize=fonts["tick"])
    ax.set_xlabel("epoch", fontsize=fonts["tick"] + (0 if compact else 2))
    ax.set_ylabel("loss", fontsize=fonts["tick"] + (0 if compact else 2))
    ax.grid(alpha=0.25, lw=0.6)
    ax.legend(fontsize=fonts["tick"] - (1 if compact else -1), frameon=False, loc="upper right")


def history_summary(hist, info):
    parts = []
    if "method" in info:
        parts.append({"cpvae": "CP-VAE", "upvae": "UP-VAE"}.get(str(info["method"]).lower(), str(info["method"])))
    if "task" in info:
        parts.append(str(info["task"]))
    n = info.get("epochs", len(hist["train_loss"]))
    b = best_index(hist)
    parts.append(f"{n} epochs" + (f" (best {b + 1})" if b is not None else ""))
    secs = info.get("train_seconds")
    if secs is None and hist["epoch_seconds"] is not None and len(hist["epoch_seconds"]):
        secs = float(np.nansum(hist["epoch_seconds"]))
    if secs is not None:
        try:
            secs = float(secs)
            parts.append(f"trained in {secs:.1f} s" if secs < 120 else f"trained in {secs / 60:.1f} min")
        except (TypeError, ValueError):
            pass
    if hist["val_loss"] is not None and b is not None and b < len(hist["val_loss"]):
        parts.append(f"best val. loss {hist['val_loss'][b]:.4g}")
    return " · ".join(parts)


def corner(samples, labels, reference, truth, hist, info, args):
    d = samples.shape[1]
    size, fonts = style_for(d)
    rng = np.random.default_rng(0)
    arrays = [samples] + ([reference] if reference is not None else [])
    lo, hi = axis_ranges(arrays, truth)
    nbins = args.bins or (60 if d <= 2 else 50 if d <= 4 else 40 if d <= 6 else 30)
    bins2d = 64 if d <= 2 else 48 if d <= 4 else 36
    scatter_s = subsample(samples, args.max_points, rng)
    scatter_r = subsample(reference, args.max_points, rng) if reference is not None else None
    point_size = 3.0 if d <= 3 else 1.6 if d <= 6 else 1.0

    inset_box = [None]
    fig = plt.figure(figsize=(size, size))
    gs = GridSpec(d, d, figure=fig, wspace=0.06 if d > 1 else 0, hspace=0.06 if d > 1 else 0)
    axes = np.empty((d, d), dtype=object)
    for i in range(d):
        for j in range(i + 1):
            axes[i, j] = fig.add_subplot(gs[i, j])

    for i in range(d):
        for j in range(i + 1):
            ax = axes[i, j]
            xr = (lo[j], hi[j])
            if i == j:
                edges = np.linspace(lo[i], hi[i], nbins + 1)
                if reference is not None:
                    ax.hist(reference[:, i], bins=edges, density=True, histtype="stepfilled",
                            color=REFERENCE_FILL[0], edgecolor=REFERENCE_COLOR, lw=1.0)
                ax.hist(samples[:, i], bins=edges, density=True, histtype="step", color=SAMPLES_COLOR,
                        lw=1.6)
                if truth is not None:
                    ax.axvline(truth[i], color=TRUE_COLOR, lw=1.3, ls="-")
                ax.set_xlim(xr)
                ax.set_ylim(bottom=0)
                ax.set_yticks([])
                for side in ("left", "right", "top"):
                    ax.spines[side].set_visible(False)
            else:
                yr = (lo[i], hi[i])
                if reference is not None:
                    ref = density_levels(reference[:, j], reference[:, i], xr, yr, bins2d)
                    if ref is not None:
                        xc, yc, h, lev = ref
                        ax.contourf(xc, yc, h, levels=[lev[0], lev[1], h.max() * 1.0001],
                                    colors=list(REFERENCE_FILL), alpha=0.55, zorder=1)
                        ax.contour(xc, yc, h, levels=lev, colors=REFERENCE_COLOR, linewidths=[0.7, 1.1],
                                   zorder=3)
                    # reference points too: fine structure (thin crescents) is finer than a histogram bin
                    # drawn over the samples' points so that the reference stays visible where they overlap
                    ax.scatter(scatter_r[:, j], scatter_r[:, i], s=point_size * 0.6, color=REFERENCE_COLOR,
                               alpha=0.2, lw=0, rasterized=True, zorder=2.5)
                ax.scatter(scatter_s[:, j], scatter_s[:, i], s=point_size, color=SAMPLES_COLOR,
                           alpha=0.15 if reference is not None else 0.35, lw=0, rasterized=True, zorder=2)
                own = density_levels(samples[:, j], samples[:, i], xr, yr, bins2d)
                if own is not None:
                    xc, yc, h, lev = own
                    ax.contour(xc, yc, h, levels=lev, colors=SAMPLES_COLOR, linewidths=[0.9, 1.5], zorder=4)
                if truth is not None:
                    ax.axvline(truth[j], color=TRUE_COLOR, lw=0.7, alpha=0.6, zorder=4.5)
                    ax.axhline(truth[i], color=TRUE_COLOR, lw=0.7, alpha=0.6, zorder=4.5)
                    ax.plot([truth[j]], [truth[i]], marker="*", ms=11 if d <= 4 else 8, color=TRUE_COLOR,
                            mec="white", mew=0.6, zorder=5, ls="none")
                ax.set_xlim(xr)
                ax.set_ylim(yr)
            # ticks and labels only on the outer edge
            ax.tick_params(labelsize=fonts["tick"], length=3, pad=2)
            ax.xaxis.set_major_locator(MaxNLocator(nbins=4 if d <= 6 else 3, steps=[1, 2, 2.5, 5, 10]))
            if i != j:
                ax.yaxis.set_major_locator(MaxNLocator(nbins=4 if d <= 6 else 3, steps=[1, 2, 2.5, 5, 10]))
            if i == d - 1:
                ax.set_xlabel(labels[j], fontsize=fonts["label"])
                if d >= 4:
                    for t in ax.get_xticklabels():
                        t.set_rotation(40)
                        t.set_ha("right")
            else:
                ax.set_xticklabels([])
            if j == 0 and i != 0:
                ax.set_ylabel(labels[i], fontsize=fonts["label"])
            elif i != j:
                ax.set_yticklabels([])
    if d == 1:
        axes[0, 0].set_xlabel(labels[0], fontsize=fonts["label"])

    # legend (and loss inset) in the empty upper triangle
    handles = [Line2D([], [], color=SAMPLES_COLOR, lw=1.8, label=f"{args.samples_label} (n = {len(samples):,})")]
    if reference is not None:
        handles.append(Patch(facecolor=REFERENCE_FILL[0], edgecolor=REFERENCE_COLOR,
                             label=f"{args.reference_label} (n = {len(reference):,})"))
    if truth is not None:
        handles.append(Line2D([], [], color=TRUE_COLOR, marker="*", ms=11, mec="white", ls="-", lw=1.0,
                              label="true parameter"))
    if d >= 2:
        handles.append(Line2D([], [], color="black", lw=0, label="contours: 68 % and 95 % mass"))
    # Title block: the user's title and, with a history, a summary line (wrapped to the figure's width).
    lines = [args.title] if args.title else []
    if hist is not None:
        lines += textwrap.wrap(history_summary(hist, info), width=max(40, int(size * 72 / (0.52 * fonts["title"]))))
    title_fs = fonts["title"]
    top = 1.0 - (0.12 + 0.2 * d / 10 + len(lines) * title_fs * 1.45 / 72) / size if lines else 0.98
    if lines:
        fig.suptitle("\n".join(lines), fontsize=title_fs, x=0.02, ha="left", va="top", y=0.995)
    fig.subplots_adjust(left=0.1 if d <= 3 else 0.07, right=0.98, bottom=0.09 if d <= 3 else 0.06, top=top)
    if d == 1:
        axes[0, 0].legend(handles=handles, fontsize=fonts["tick"], frameon=False, loc="upper right")
    else:  # in the empty upper-right cells, level with the top of the grid
        fig.legend(handles=handles, loc="upper right", bbox_to_anchor=(0.985, top), fontsize=fonts["legend"],
                   frameon=False, handlelength=1.8, borderaxespad=0.0)
    if hist is not None and d >= 3:
        m = max(1, (d - 1) // 2)
        inset = fig.add_subplot(gs[1:1 + m, d - m:])
        inset_box[0] = inset
        draw_loss(inset, hist, dict(fonts, tick=fonts["tick"] + (2 if d >= 6 else 1 if d >= 4 else 0)), compact=True)
    if inset_box[0] is not None:
        # shrink the inset inside its block of cells: room for its tick labels, clear of the diagonal
        pos = inset_box[0].get_position()
        inset_box[0].set_position([pos.x0 + 0.16 * pos.width, pos.y0 + 0.24 * pos.height,
                                   0.84 * pos.width, 0.70 * pos.height])
    return fig


def loss_figure(hist, info, title):
    _, fonts = style_for(2)
    has_time = hist["epoch_seconds"] is not None and len(hist["epoch_seconds"]) > 0
    if has_time:
        fig, (ax, axt) = plt.subplots(2, 1, figsize=(8, 6.2), sharex=True,
                                      gridspec_kw=dict(height_ratios=[3, 1], hspace=0.08))
    else:
        fig, ax = plt.subplots(figsize=(8, 4.8))
    draw_loss(ax, hist, fonts)
    if has_time:
        ax.set_xlabel("")
        es = hist["epoch_seconds"]
        axt.bar(np.arange(1, len(es) + 1), es, width=1.0, color="#8c8c8c", lw=0)
        axt.set_ylabel("s / epoch", fontsize=fonts["tick"] + 2)
        axt.set_xlabel("epoch", fontsize=fonts["tick"] + 2)
        axt.tick_params(labelsize=fonts["tick"])
        axt.yaxis.set_major_locator(MaxNLocator(nbins=3))
        axt.grid(alpha=0.25, lw=0.6, axis="y")
    head = title or "training history"
    fig.suptitle(f"{head}\n{history_summary(hist, info)}", fontsize=12, x=0.02, ha="left", y=0.985)
    fig.subplots_adjust(left=0.1, right=0.97, bottom=0.1, top=0.86 if has_time else 0.83)
    return fig


def save(fig, path, dpi):
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise UserError(f"output folder does not exist: {folder}")
    fd, tmp = tempfile.mkstemp(prefix=".plot_posterior.", suffix=".png", dir=folder)
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=dpi, format="png")
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; give the file the usual mode
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    finally:
        plt.close(fig)


# ------------------------------------------------------------------------------------------- main


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--samples", required=True, help="CSV of posterior samples (header + one row each)")
    p.add_argument("--reference", help="CSV of reference posterior samples (same columns)")
    p.add_argument("--true-params", help="CSV whose first row is the true parameter")
    p.add_argument("--model-history", help="simbi inspect --json output (or its 'history' object, or a model)")
    p.add_argument("--out", help="corner plot PNG")
    p.add_argument("--loss-curves", help="loss-curve PNG (needs --model-history)")
    p.add_argument("--title", default="", help="figure title")
    p.add_argument("--loss-title", default=None, help="title of the --loss-curves figure (default: --title)")
    p.add_argument("--max-points", type=int, default=5000, help="at most this many scattered points per panel")
    p.add_argument("--bins", type=int, default=0, help="histogram bins on the diagonal (default by dimension)")
    p.add_argument("--dpi", type=int, default=130)
    p.add_argument("--samples-label", default="samples", help="legend name of --samples")
    p.add_argument("--reference-label", default="reference", help="legend name of --reference")

    def error(message):
        raise UserError(message)

    p.error = error
    return p.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    if not args.out and not args.loss_curves:
        raise UserError("nothing to do: give --out and/or --loss-curves")
    if args.loss_curves and not args.model_history:
        raise UserError("--loss-curves needs --model-history")
    if args.max_points < 0 or args.bins < 0 or args.dpi <= 0:
        raise UserError("--max-points and --bins must be >= 0, --dpi > 0")

    labels, samples = read_csv(args.samples, "samples")
    samples = drop_nonfinite(samples, args.samples)
    d = samples.shape[1]
    reference = truth = None
    if args.reference:
        ref_labels, reference = read_csv(args.reference, "reference")
        if reference.shape[1] != d:
            raise UserError(f"dimension mismatch: {args.samples} has {d} columns, "
                            f"{args.reference} has {reference.shape[1]}")
        reference = drop_nonfinite(reference, args.reference)
        if labels == [f"theta_{k + 1}" for k in range(d)]:
            labels = ref_labels
    if args.true_params:
        _, t = read_csv(args.true_params, "true-parameter")
        if t.shape[1] != d:
            raise UserError(f"dimension mismatch: {args.samples} has {d} columns, "
                            f"{args.true_params} has {t.shape[1]}")
        truth = t[0]
        if not np.all(np.isfinite(truth)):
            raise UserError(f"{args.true_params}: the true parameter is not finite")
    hist = info = None
    if args.model_history:
        hist, info = read_history(args.model_history)
    labels = [safe_label(lab) for lab in labels]

    if args.out:
        save(corner(samples, labels, reference, truth, hist, info or {}, args), args.out, args.dpi)
        print(f"wrote {args.out} ({d}-D corner plot, {len(samples)} samples"
              + (f", {len(reference)} reference" if reference is not None else "") + ")")
    if args.loss_curves:
        save(loss_figure(hist, info, args.title if args.loss_title is None else args.loss_title), args.loss_curves,
             args.dpi)
        print(f"wrote {args.loss_curves} ({len(hist['train_loss'])} epochs)")
    return 0


def run_cli(entry):
    """Runs entry(argv) as a command: its return value is the exit status; a UserError, an interrupt or any
    unexpected exception is one `error:` line and exit status 1, never a traceback. Shared by the plot
    scripts."""
    try:
        sys.exit(entry(sys.argv[1:]))
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
    except Exception as e:  # anything unexpected is still one line, not a traceback
        print(f"error: {type(e).__name__}: {e}", file=sys.stderr)
    sys.exit(1)


if __name__ == "__main__":
    run_cli(main)
