"""``python -m browsernet``: the same command line as the ``browsernet`` script (builder.cli)."""

from builder.cli import main

if __name__ == "__main__":
    main()
