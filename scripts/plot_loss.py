#!/usr/bin/python3
"""Training and validation loss curves of a simbi model (the figure of plot_posterior.py --loss-curves,
without needing posterior samples; `simbi run` draws it for its report).

    /usr/bin/python3 scripts/plot_loss.py --model-history model.json --out loss.png [--title TEXT] [--dpi D]

--model-history: what `simbi inspect --json model.pt` prints, its "history" object, or a model file.
Errors: one line "error: ..." on stderr, exit status 1.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from plot_posterior import UserError, loss_figure, read_history, run_cli, save  # noqa: E402


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model-history", required=True, help="simbi inspect --json output, its history, or a model")
    p.add_argument("--out", required=True, help="output PNG")
    p.add_argument("--title", default="", help="figure title")
    p.add_argument("--dpi", type=int, default=130)

    def error(message):
        raise UserError(message)

    p.error = error
    a = p.parse_args(argv)
    hist, info = read_history(a.model_history)
    save(loss_figure(hist, info, a.title), a.out, a.dpi)
    print(f"wrote {a.out} ({len(hist['train_loss'])} epochs)")
    return 0


if __name__ == "__main__":
    run_cli(main)
