"""``python -m semisep_lib`` is the same CLI as the ``semisep`` console script."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
