"""Finding the runner binary, and `python -m voice_harness`."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import voice_harness
from conftest import runner_env
from voice_harness import _runner


def test_the_installed_runner_is_found_and_runs() -> None:
    runner = voice_harness.find_runner()
    done = subprocess.run([runner, "--version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("voice-harness ")


def test_python_m_voice_harness_runs_the_same_binary() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "voice_harness", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        env=runner_env(),
    )
    assert done.returncode == 0, done.stderr
    direct = subprocess.run(
        [voice_harness.find_runner(), "--version"], capture_output=True, text=True, timeout=60
    )
    assert done.stdout == direct.stdout


def test_python_m_voice_harness_passes_the_exit_status_through() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "voice_harness", "run", "no/such/folder"],
        capture_output=True,
        text=True,
        timeout=60,
        env=runner_env(),
    )
    assert done.returncode == 2
    assert "no/such/folder" in done.stderr


def test_python_m_voice_harness_without_a_runner_says_so_and_exits_2() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "voice_harness", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        env=runner_env({"VOICE_HARNESS_BIN": "/no/such/voice-harness"}),
    )
    assert done.returncode == 2
    assert done.stderr.startswith("error: VOICE_HARNESS_BIN='/no/such/voice-harness' is not")
    assert "Traceback" not in done.stderr


def fake_runner(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\necho fake runner\n", encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.mark.skipif(os.name != "posix", reason="a shell script stands in for the runner")
def test_a_target_install_finds_the_runner_in_its_bin_folder(tmp_path: Path) -> None:
    # `pip install --target DIR` puts the package in DIR and the runner in DIR/bin, which
    # is on no PATH and in no scheme's scripts folder.
    target = tmp_path / "target"
    shutil.copytree(Path(voice_harness.__file__).parent, target / "voice_harness")
    runner = fake_runner(target / "bin" / "voice-harness")
    env = runner_env({"PYTHONPATH": str(target), "PATH": "/nonexistent"})
    code = "import voice_harness; print(voice_harness.find_runner())"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(runner)
    shown = subprocess.run(
        [sys.executable, "-m", "voice_harness"], capture_output=True, text=True, env=env, timeout=60
    )
    assert shown.stdout == "fake runner\n"


@pytest.mark.skipif(os.name != "posix", reason="a shell script stands in for the runner")
def test_the_environment_variable_comes_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = fake_runner(tmp_path / "my-runner")
    monkeypatch.setenv(_runner.ENV_VAR, str(runner))
    assert voice_harness.find_runner() == str(runner)
    assert _runner.runner_candidates()[0] == str(runner)


def test_a_wrong_environment_variable_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(_runner.ENV_VAR, "/no/such/voice-harness")
    with pytest.raises(voice_harness.RunnerNotFoundError) as error:
        voice_harness.find_runner()
    assert str(error.value).startswith(
        "VOICE_HARNESS_BIN='/no/such/voice-harness' is not an executable file;"
    )


def test_no_runner_anywhere_names_every_place_looked_at(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(_runner.ENV_VAR, raising=False)
    places = [str(tmp_path / "a" / "voice-harness"), str(tmp_path / "b" / "voice-harness")]
    monkeypatch.setattr(_runner, "runner_candidates", lambda: places)
    with pytest.raises(FileNotFoundError) as error:
        voice_harness.find_runner()
    message = str(error.value)
    assert message.startswith("cannot find the `voice-harness` runner; looked at:\n")
    assert all(place in message for place in places)
    assert "pip install voice-harness" in message


def test_the_candidates_cover_the_scripts_folders() -> None:
    import sysconfig

    candidates = _runner.runner_candidates()
    scripts = sysconfig.get_path("scripts")
    assert any(os.path.dirname(c) == scripts for c in candidates)
    package_parent = Path(voice_harness.__file__).parent.parent
    assert str(package_parent / "bin" / _runner._EXE) in candidates  # --target DIR
    user = sysconfig.get_path("scripts", scheme=_runner._user_scheme())
    assert os.path.join(user, _runner._EXE) in candidates  # --user
    base = sysconfig.get_path(
        "scripts", vars={"base": sys.base_prefix, "platbase": sys.base_exec_prefix}
    )
    assert os.path.join(base, _runner._EXE) in candidates  # the Python a venv was made from
