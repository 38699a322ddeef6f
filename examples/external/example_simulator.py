#!/usr/bin/env python3
"""Example external simulator for simbi (protocol version 1, docs/user_simulators.md).

Model ("linear + noise"): theta = (a, b); x_j = a + b * t_j + N(0, 0.1^2) at t = 0, 1, 2, 3.
A detector that saturates: rows with a + b > 2.5 are failed simulations and are printed as
"nan nan nan nan", which simbi records as failed rows (status 2) and keeps going.

Protocol: simbi starts this once per batch with SIMBI_THETA_DIM, SIMBI_X_DIM and SIMBI_BATCH_ROWS
in the environment, writes one line "seed theta_1 ... theta_d" per row to stdin and closes it; we
print exactly one line of x_dim numbers per input line, in order, on stdout. Diagnostics go to
stderr; a non-zero exit status makes simbi stop with our last stderr line.

Each row uses random.Random(seed) seeded with its own seed only, so a row's output does not depend
on the batch it is in. Standard library only.

Try it by hand:
    printf '1 0.5 0.25\n2 2.0 1.0\n' | SIMBI_THETA_DIM=2 SIMBI_X_DIM=4 ./example_simulator.py
"""
import os
import random
import sys

THETA_DIM = 2
TIMES = (0.0, 1.0, 2.0, 3.0)
NOISE_SD = 0.1
SATURATION = 2.5


def fail(message):
    sys.stderr.write("example_simulator.py: " + message + "\n")
    sys.exit(2)


def simulate(theta, seed):
    a, b = theta
    if a + b > SATURATION:
        return [float("nan")] * len(TIMES)
    rng = random.Random(seed)
    return [a + b * t + rng.gauss(0.0, NOISE_SD) for t in TIMES]


def main():
    theta_dim = int(os.environ.get("SIMBI_THETA_DIM", THETA_DIM))
    x_dim = int(os.environ.get("SIMBI_X_DIM", len(TIMES)))
    if theta_dim != THETA_DIM or x_dim != len(TIMES):
        fail("this model has theta_dim = %d and x_dim = %d, simbi asked for %d and %d"
             % (THETA_DIM, len(TIMES), theta_dim, x_dim))
    out = []
    for number, line in enumerate(sys.stdin, start=1):
        fields = line.split()
        if len(fields) != 1 + THETA_DIM:
            fail("input line %d has %d fields, expected a seed and %d parameters"
                 % (number, len(fields), THETA_DIM))
        seed = int(fields[0])
        theta = [float(v) for v in fields[1:]]
        out.append(" ".join(repr(v) for v in simulate(theta, seed)) + "\n")
    sys.stdout.write("".join(out))


if __name__ == "__main__":
    main()
