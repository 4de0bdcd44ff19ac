"""`python -m voice_harness ARGS...` runs the `voice-harness` runner with ARGS.

The same binary as the `voice-harness` command, found by :func:`voice_harness.find_runner`
(so it works where the scripts folder is not on PATH: `pip install --user` or `--target`).
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import List, Optional

from ._runner import RunnerNotFoundError, find_runner


def main(argv: Optional[List[str]] = None) -> int:
    """Run the runner with `argv` (default: this process's arguments); its exit status."""
    args = sys.argv[1:] if argv is None else argv
    try:
        runner = find_runner()
    except RunnerNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if os.name == "posix" and argv is None:
        # Become the runner: signals, the terminal and the exit status are its own.
        sys.stdout.flush()
        sys.stderr.flush()
        os.execv(runner, [runner, *args])
    return subprocess.call([runner, *args])


if __name__ == "__main__":
    sys.exit(main())
