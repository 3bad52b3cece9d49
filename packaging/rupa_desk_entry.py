"""The bundle's entry point: the same `main` as the `rupa-desk` console script."""

import sys

from rupa_desk.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
