#!/usr/bin/env python3
"""Pick, per task x method x budget, the benchmark run whose model has the lowest validation loss.

simbi's VAE benchmark (scripts/benchmark_vae.sh) can be run once per training variant the paper leaves
open (for example KL warm-up on and off). This script chooses between the variants the way a user
without a reference posterior would: by the best validation loss recorded in each model file
(inspect.json), never by C2ST. It copies the chosen task/method/budget folders into OUT, writes
OUT/selection.csv (every candidate's validation loss and which one was taken) and then lets
benchmark_vae.sh --report-only build OUT/results.csv and OUT/results.md from them.

Usage: benchmark_vae_select.py --runs NAME=DIR [NAME=DIR ...] --out OUT [--sbibm-dir DIR]
"""
import argparse
import csv
import json
import os
import shutil
import subprocess
import sys


def best_val_loss(run_dir):
    try:
        with open(os.path.join(run_dir, "inspect.json")) as f:
            hist = json.load(f).get("history", {})
        v = hist.get("best_val_loss")
        return float(v) if v is not None else None
    except (OSError, ValueError, AttributeError):
        return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", nargs="+", required=True, help="NAME=DIR: a benchmark_vae.sh --out folder per variant")
    ap.add_argument("--out", required=True)
    ap.add_argument("--sbibm-dir", default=None)
    a = ap.parse_args()
    runs = []
    for spec in a.runs:
        name, sep, path = spec.partition("=")
        if not sep or not os.path.isdir(path):
            sys.exit(f"error: --runs {spec}: expected NAME=DIR with an existing folder")
        runs.append((name, path))
    os.makedirs(a.out, exist_ok=True)
    candidates = {}  # (task, method, budget folder) -> [(name, dir, loss)]
    for name, path in runs:
        for task in sorted(os.listdir(path)):
            tdir = os.path.join(path, task)
            if task == "sims" or not os.path.isdir(tdir):
                continue
            for method in sorted(os.listdir(tdir)):
                for budget in sorted(os.listdir(os.path.join(tdir, method))):
                    d = os.path.join(tdir, method, budget)
                    loss = best_val_loss(d)
                    if loss is not None:
                        candidates.setdefault((task, method, budget), []).append((name, d, loss))
    if not candidates:
        sys.exit("error: no trained models (inspect.json with a best validation loss) under --runs")
    rows, tasks, methods, budgets = [], set(), set(), set()
    for (task, method, budget), cands in sorted(candidates.items()):
        name, d, loss = min(cands, key=lambda c: c[2])
        dest = os.path.join(a.out, task, method, budget)
        if os.path.exists(dest):
            shutil.rmtree(dest)
        shutil.copytree(d, dest, ignore=shutil.ignore_patterns("samples*.csv"))  # the samples are large
        tasks.add(task), methods.add(method), budgets.add(budget[1:])
        rows.append(dict(task=task, method=method, budget=budget[1:], chosen=name,
                         **{f"val_loss_{n}": next((f"{c[2]:.4f}" for c in cands if c[0] == n), "") for n, _ in runs}))
    with open(os.path.join(a.out, "selection.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        w.writeheader()
        w.writerows(rows)
    here = os.path.dirname(os.path.abspath(__file__))
    cmd = ["bash", os.path.join(here, "benchmark_vae.sh"), "--report-only", "--out", a.out,
           "--tasks", " ".join(sorted(tasks)), "--methods", " ".join(sorted(methods)),
           "--budgets", " ".join(sorted(budgets, key=int))]
    if a.sbibm_dir:
        cmd += ["--sbibm-dir", a.sbibm_dir]
    subprocess.run(cmd, check=True)
    print(f"wrote {os.path.join(a.out, 'selection.csv')} ({len(rows)} choices)")


if __name__ == "__main__":
    main()
