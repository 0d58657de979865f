"""``python -m semisep_lib`` is the same CLI as the ``semisep`` console script."""

from .interfaces.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
