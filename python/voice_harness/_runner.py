"""Finding the `voice-harness` runner binary that `pip install` put somewhere.

A wheel built with maturin's `bindings = "bin"` installs the runner as a *script*: into the
environment's scripts folder (a venv's `bin/`), but under `pip install --user` into the user
scheme's (`~/.local/bin`, often not on PATH), under `--target DIR` into `DIR/bin`, and under
`--prefix P` into `P/bin`. :func:`find_runner` looks in each of those places, so
`python -m voice_harness` and the pytest plugin work whatever the install, PATH or not.
"""

from __future__ import annotations

import os
import sys
from typing import List, Optional

__all__ = ["ENV_VAR", "RunnerNotFoundError", "find_runner", "runner_candidates"]

#: An environment variable naming the runner binary to use (a path), ahead of every other
#: place: for a runner built with cargo (`target/release/voice-harness`) during development.
ENV_VAR = "VOICE_HARNESS_BIN"

# The runner's file name (sysconfig's EXE is ".exe" on Windows): sysconfig is imported only
# when the runner is looked for, so an agent that imports voice_harness starts faster.
_EXE = "voice-harness" + (".exe" if os.name == "nt" else "")
_SCRIPTS = "Scripts" if os.name == "nt" else "bin"


class RunnerNotFoundError(FileNotFoundError):
    """The `voice-harness` runner binary is in none of the places an install puts it.

    Its message lists the places looked at and how to fix it.
    """


def _user_scheme() -> str:
    import sysconfig

    if sys.version_info >= (3, 10):
        return sysconfig.get_preferred_scheme("user")
    if os.name == "nt":
        return "nt_user"
    if sys.platform == "darwin" and getattr(sys, "_framework", None):
        return "osx_framework_user"
    return "posix_user"


def _scripts_dir(**kwargs: object) -> Optional[str]:
    import sysconfig

    try:
        return sysconfig.get_path("scripts", **kwargs)  # type: ignore[arg-type]
    except (KeyError, ValueError):  # a scheme this Python does not have
        return None


def runner_candidates() -> List[str]:
    """Every path :func:`find_runner` tries, in order, without duplicates.

    1. ``$VOICE_HARNESS_BIN`` when set;
    2. next to the package: ``bin/`` in the folder that holds ``voice_harness`` (``pip
       install --target DIR``) and the scripts folder of the prefix it was installed under
       (``--prefix``, a venv, the system), found by walking up from the package;
    3. this interpreter's scripts folder (``sysconfig``), the user scheme's (``--user``) and
       the base prefix's (a venv made from a Python that has it installed);
    4. the ``PATH``.
    """
    found: List[str] = []

    def add(path: Optional[str]) -> None:
        if path and path not in found:
            found.append(path)

    override = os.environ.get(ENV_VAR)
    if override:
        add(override)
    package = os.path.dirname(os.path.abspath(__file__))
    # site-packages/voice_harness -> site-packages -> pythonX.Y -> lib -> prefix (POSIX);
    # Lib\site-packages\voice_harness -> ... -> prefix (Windows). --target DIR: DIR/bin.
    folder = package
    for _ in range(4):
        folder = os.path.dirname(folder)
        add(os.path.join(folder, _SCRIPTS, _EXE))
    for scripts in (
        _scripts_dir(),
        _scripts_dir(scheme=_user_scheme()),
        _scripts_dir(vars={"base": sys.base_prefix, "platbase": sys.base_exec_prefix}),
    ):
        if scripts:
            add(os.path.join(scripts, _EXE))
    import shutil

    add(shutil.which(_EXE))
    return found


def find_runner() -> str:
    """The path of the `voice-harness` runner binary that came with this package.

    Raises :class:`RunnerNotFoundError` (a :class:`FileNotFoundError`) naming every place
    looked at when there is none. ``$VOICE_HARNESS_BIN``, when set, must name an
    executable file: a wrong value is an error, not a reason to look elsewhere.
    """
    override = os.environ.get(ENV_VAR)
    if override:
        if os.path.isfile(override) and os.access(override, os.X_OK):
            return override
        raise RunnerNotFoundError(
            f"{ENV_VAR}={override!r} is not an executable file; point it at a runner built "
            f"with `cargo build --release` (target/release/{_EXE}), or unset it to use the "
            "one pip installed"
        )
    candidates = runner_candidates()
    for path in candidates:
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    looked = "\n".join(f"  {path}" for path in candidates)
    raise RunnerNotFoundError(
        f"cannot find the `{_EXE}` runner; looked at:\n{looked}\n  and every folder on PATH.\n"
        "Install the package with `pip install voice-harness` (or `pip install .` in a clone "
        "of the repository: that builds the runner, which needs Rust), or set "
        f"{ENV_VAR} to the path of a runner built with `cargo build --release`."
    )
