"""``python -m visrec`` and the ``visrec`` command."""

import sys


def run() -> int:
    """The CLI, with a Ctrl-C while it is still being imported said as every other one
    is (``interrupted``, status 130), not as an import traceback."""
    try:
        from visrec.cli import main
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return main()


if __name__ == "__main__":
    sys.exit(run())
