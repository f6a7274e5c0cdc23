#!/usr/bin/env python3
"""Run the mtlsearch CLI from a checkout: ``python cli.py optimize --study ple``."""

import sys

from mtlsearch.cli import main

if __name__ == "__main__":
    sys.exit(main())
