"""`python -m pages`: write the documentation pages and plots into docs/.

Owns: the command line entry.
Imports: ``.build`` only.
"""

from __future__ import annotations

import sys

from .build import main

if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
