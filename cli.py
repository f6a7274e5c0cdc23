#!/usr/bin/env python3
"""Run the mtlsearch CLI from a checkout: ``python cli.py optimize --study ple``."""

from mtlsearch.cli import console

if __name__ == "__main__":
    console()
