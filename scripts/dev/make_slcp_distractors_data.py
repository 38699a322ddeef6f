#!/usr/bin/python3
"""Converts sbibm's slcp_distractors mixture (decoded CSVs) into data/slcp_distractors_gmm.bin.

The binary is embedded into simbi with .incbin (src/sim/tasks/embedded_data.cpp) and parsed by
src/sim/tasks/slcp_distractors.cpp. Run once by a developer; the output is committed. Needs only numpy.

Layout, all little-endian:
  header (32 bytes):
    char[8]  magic "SIMBIGMM"
    uint32   version (1)
    uint32   n_components (20)
    uint32   dim (92)             dimension of each Student-t component
    uint32   perm_len (100)       length of the output permutation (= 8 SLCP dims + dim)
    float64  df (2.0)             degrees of freedom shared by all components
  float64  loc[n_components][dim]
  float64  scale_tril[n_components][dim*(dim+1)/2]   lower triangles packed row by row
                                                      (row r holds columns 0..r), as stored, signs kept
  int32    perm[perm_len]                             x[j] = y[perm[j]], 0-based

Usage: scripts/dev/make_slcp_distractors_data.py [SBIBM_DIR [OUT_FILE]]
  defaults: ../shared/sbibm/slcp_distractors and data/slcp_distractors_gmm.bin (from the repo root).
"""
import os
import struct
import sys

import numpy as np

MAGIC = b"SIMBIGMM"
VERSION = 1
SLCP_DIM = 8
# Where the 8 SLCP values land in x (sbibm, checked against the observations).
SLCP_POSITIONS = [22, 33, 23, 67, 42, 21, 16, 90]


def fail(msg):
    sys.exit("make_slcp_distractors_data: " + msg)


def read_csv(path):
    with open(path) as f:
        header = f.readline().strip().split(",")
        rows = [line.strip().split(",") for line in f if line.strip()]
    return header, rows


def main():
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(repo, "..", "shared", "sbibm", "slcp_distractors")
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(repo, "data", "slcp_distractors_gmm.bin")

    # float() parses Python's repr of a float64 exactly, so the values are bit-identical to sbibm's.
    _, loc_rows = read_csv(os.path.join(src, "gmm_loc.csv"))
    loc = np.array([[float(v) for v in r] for r in loc_rows], dtype="<f8")
    n_comp, dim = loc.shape

    header, tril_rows = read_csv(os.path.join(src, "gmm_scale_tril.csv"))
    if header[:2] != ["component", "row"] or len(header) != 2 + dim:
        fail("gmm_scale_tril.csv: expected columns component,row,col_0..col_%d" % (dim - 1))
    if len(tril_rows) != n_comp * dim:
        fail("gmm_scale_tril.csv: expected %d rows, got %d" % (n_comp * dim, len(tril_rows)))
    scale = np.zeros((n_comp, dim, dim), dtype="<f8")
    for r in tril_rows:
        c, i = int(r[0]), int(r[1])
        scale[c, i, :] = [float(v) for v in r[2:]]
    if np.any(np.triu(scale, k=1) != 0.0):
        fail("gmm_scale_tril.csv: a matrix is not lower triangular")
    if np.any(np.diagonal(scale, axis1=1, axis2=2) == 0.0):
        fail("gmm_scale_tril.csv: a zero diagonal entry (singular scale)")
    rows_idx, cols_idx = np.tril_indices(dim)  # row by row, columns 0..r: the packed order
    packed = np.ascontiguousarray(scale[:, rows_idx, cols_idx], dtype="<f8")

    _, perm_rows = read_csv(os.path.join(src, "permutation_idx.csv"))
    perm = np.array([int(r[0]) for r in perm_rows], dtype="<i4")
    if sorted(perm.tolist()) != list(range(SLCP_DIM + dim)):
        fail("permutation_idx.csv: not a permutation of 0..%d" % (SLCP_DIM + dim - 1))
    positions = [int(np.where(perm == i)[0][0]) for i in range(SLCP_DIM)]
    if positions != SLCP_POSITIONS:
        fail("permutation_idx.csv: SLCP dims land at %s, expected %s" % (positions, SLCP_POSITIONS))

    _, df_rows = read_csv(os.path.join(src, "gmm_df.csv"))
    dfs = {float(r[0]) for r in df_rows}
    if len(df_rows) != n_comp or len(dfs) != 1:
        fail("gmm_df.csv: expected one shared df for %d components" % n_comp)
    df = dfs.pop()
    _, prob_rows = read_csv(os.path.join(src, "gmm_mixture_probs.csv"))
    probs = np.array([float(r[0]) for r in prob_rows])
    if len(probs) != n_comp or np.max(np.abs(probs - 1.0 / n_comp)) > 1e-6:
        fail("gmm_mixture_probs.csv: expected %d equal weights" % n_comp)

    blob = struct.pack("<8sIIIId", MAGIC, VERSION, n_comp, dim, len(perm), df)
    blob += loc.tobytes() + packed.tobytes() + perm.tobytes()
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "wb") as f:
        f.write(blob)
    neg = int(np.sum(np.diagonal(scale, axis1=1, axis2=2) < 0))
    print("wrote %s: %d bytes (%d components, dim %d, df %g, %d negative diagonal entries)"
          % (out, len(blob), n_comp, dim, df, neg))


if __name__ == "__main__":
    main()
