#!/usr/bin/python3
"""sbibm's C2ST computed with scikit-learn, exactly as sbibm.metrics.c2st does it (the cross-check of
`simbi evaluate`):

    /usr/bin/python3 scripts/dev/sklearn_c2st.py --reference reference.csv --samples samples.csv
        [--seed 1] [--folds 5] [--max-samples 10000] [--json]

X = reference, Y = samples (CSV, one header row), the first --max-samples rows of each, as float32 (the
dtype sbibm's torch tensors have). Both are z-scored with X's mean and unbiased std; then
MLPClassifier(activation="relu", hidden_layer_sizes=(10d, 10d), max_iter=10000, solver="adam",
random_state=seed) under KFold(folds, shuffle=True, random_state=seed) and cross_val_score(accuracy);
the result is the mean fold accuracy. Prints it (or, with --json, a JSON object with the folds too).
Exit status 3 when scikit-learn cannot be imported (callers skip), 1 on other errors.
"""
import argparse
import json
import sys
import time
import warnings


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reference", required=True)
    p.add_argument("--samples", required=True)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--max-samples", type=int, default=10000)
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    try:
        import numpy as np
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.model_selection import KFold, cross_val_score
        from sklearn.neural_network import MLPClassifier
    except ImportError as e:
        print(f"error: scikit-learn/numpy not importable ({e})", file=sys.stderr)
        return 3

    def load(path):
        try:
            m = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float32, ndmin=2)
        except (OSError, ValueError) as e:
            raise SystemExit(f"error: {path}: {e}")
        return m[: a.max_samples] if a.max_samples > 0 else m

    X, Y = load(a.reference), load(a.samples)
    if X.shape[1] != Y.shape[1]:
        raise SystemExit(f"error: {a.reference} has {X.shape[1]} columns but {a.samples} has {Y.shape[1]}")
    t0 = time.time()
    # sbibm: X_mean = torch.mean(X, 0); X_std = torch.std(X, 0) (unbiased), in float32.
    mean = X.mean(axis=0, dtype=np.float32)
    std = X.std(axis=0, ddof=1, dtype=np.float32)
    X = (X - mean) / std
    Y = (Y - mean) / std
    ndim = X.shape[1]
    clf = MLPClassifier(activation="relu", hidden_layer_sizes=(10 * ndim, 10 * ndim), max_iter=10000,
                        solver="adam", random_state=a.seed)
    data = np.concatenate((X, Y))
    target = np.concatenate((np.zeros((X.shape[0],)), np.ones((Y.shape[0],))))
    shuffle = KFold(n_splits=a.folds, shuffle=True, random_state=a.seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        scores = cross_val_score(clf, data, target, cv=shuffle, scoring="accuracy")
    result = float(np.asarray(np.mean(scores)).astype(np.float32))
    if a.json:
        print(json.dumps({"c2st": result, "folds": [float(s) for s in scores], "n_reference": int(X.shape[0]),
                          "n_samples": int(Y.shape[0]), "dim": int(ndim), "seed": a.seed,
                          "seconds": time.time() - t0}))
    else:
        print(f"{result:.6f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
