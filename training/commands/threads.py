"""`--threads`: one option, one meaning, in every command that runs torch models (train, tokenize, eval)."""

from __future__ import annotations

import argparse


def add_threads_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        help="torch CPU threads (0: as many as torch picks, every core); 1 avoids thrashing on a shared, busy CPU",
    )


def use_threads(args: argparse.Namespace) -> None:
    """Apply --threads before any model runs (torch's own default stays when it is 0)."""
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
