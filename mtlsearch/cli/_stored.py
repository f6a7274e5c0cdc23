"""``--study`` and ``--storage`` of the commands that read a stored study: ``pareto``, ``export``,
``report``, ``dashboard`` and ``baselines``. ``--study`` takes the study's name or the study file
that ran it, so the command a user ran ``optimize`` with works for the rest of the workflow."""

from __future__ import annotations

import argparse

__all__ = ["add_study_arguments", "resolve_study"]


def add_study_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--study",
        required=True,
        help="the study's name, or the study file that ran it (FILE.yaml: its name, and its storage unless --storage)",
    )
    parser.add_argument(
        "--storage", help="storage URL (default: the study file's storage, else sqlite:///mtlsearch.db)"
    )


def resolve_study(args: argparse.Namespace) -> None:
    """In place: ``--study FILE.yaml`` becomes the study name the file gives (``name:`` or the file's
    stem) and, when ``--storage`` is not given, ``--storage`` the file's ``storage:``. A study file
    that cannot be read is an error naming it (:class:`~mtlsearch.errors.MtlsearchError`)."""
    if not args.study.endswith((".yaml", ".yml")):
        return
    from mtlsearch.search._study import load_study_config

    config = load_study_config(args.study)
    args.study = config.name
    if args.storage is None:
        args.storage = config.storage
