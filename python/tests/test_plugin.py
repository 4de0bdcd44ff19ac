"""The pytest plugin, through pytest's own `pytester`: each case file is an item."""

from __future__ import annotations

import json
import os
import re
import stat
import textwrap
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import voice_harness
from conftest import case
from voice_harness import pytest_plugin

pytestmark = pytest.mark.usefixtures("suite")


def outcomes(result: pytest.RunResult) -> dict[str, str]:
    """Item -> PASSED / FAILED, from `-v` output (`-rA` lines)."""
    found = {}
    for line in result.outlines:
        match = re.match(r"^(PASSED|FAILED|ERROR) (\S+)", line)
        if match:
            found[match.group(2)] = match.group(1)
    return found


def test_each_case_file_is_an_item_with_its_result(
    pytester: pytest.Pytester, agent_command: str
) -> None:
    result = pytester.runpytest("--voice-cases", "cases", "--voice-agent", agent_command, "-rA")
    result.assert_outcomes(passed=3, failed=1)
    assert outcomes(result) == {
        "cases::billing.json": "PASSED",
        "cases::negative.json": "PASSED",  # a negative case that fails as it expects
        "cases::orders/lookup.json": "PASSED",  # the agent ran the lookup_order mock
        "cases::orders/wrong.json": "FAILED",
    }
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_a_failure_is_the_exchange_of_the_failing_step(
    pytester: pytest.Pytester, agent_command: str
) -> None:
    result = pytester.runpytest("--voice-cases", "cases", "--voice-agent", agent_command)
    text = result.stdout.str()
    start = text.index("orders/wrong.json (orders_wrong): step 1 failed")
    report = text[start : text.index("short test summary")]
    assert report.splitlines()[:7] == [
        "orders/wrong.json (orders_wrong): step 1 failed: missing keywords: overage",
        "",
        "step 1 failed",
        "  caller said:  My bill doubled.",
        "  agent said:   Let me review your account.",
        '  expected:     keywords ["overage"]',
        "  why:          missing keywords: overage",
    ]
    assert (
        f"rerun: voice-harness run cases/orders/wrong.json --agent-command '{agent_command}'"
        in (report)
    )
    assert "Traceback" not in text and "voice_harness/pytest_plugin.py" not in text


def test_items_are_named_by_their_path_in_the_cases_folder(pytester: pytest.Pytester) -> None:
    (pytester.path / "cases" / ".hidden.json").write_text("{}", encoding="utf-8")
    (pytester.path / "cases" / "notes.txt").write_text("not a case", encoding="utf-8")
    result = pytester.runpytest(
        "--voice-cases", "cases", "--voice-agent", "x", "--collect-only", "-q"
    )
    assert result.outlines[:4] == [
        "cases::billing.json",
        "cases::negative.json",
        "cases::orders/lookup.json",
        "cases::orders/wrong.json",
    ]


def test_k_selects_cases_and_the_runner_runs_only_those(
    pytester: pytest.Pytester, agent_command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = counting_runner(tmp_path, monkeypatch)
    result = pytester.runpytest(
        "--voice-cases", "cases", "--voice-agent", agent_command, "-k", "orders", "-rA"
    )
    result.assert_outcomes(passed=1, failed=1, deselected=2)
    (run,) = log.read_text(encoding="utf-8").splitlines()
    assert "orders/lookup.json" in run and "orders/wrong.json" in run and "billing" not in run


def test_one_runner_process_for_the_whole_session(
    pytester: pytest.Pytester, agent_command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = counting_runner(tmp_path, monkeypatch)
    result = pytester.runpytest("--voice-cases", "cases", "--voice-agent", agent_command)
    result.assert_outcomes(passed=3, failed=1)
    (run,) = log.read_text(encoding="utf-8").splitlines()
    assert f" run {pytester.path / 'cases'} --json " in run  # the folder, not 4 files


def test_xdist_gives_the_same_results_with_one_runner_process(
    pytester: pytest.Pytester, agent_command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("xdist")
    log = counting_runner(tmp_path, monkeypatch)
    shared = tmp_path / "tmp"  # where the workers share the runner's results
    shared.mkdir()
    monkeypatch.setenv("TMPDIR", str(shared))
    result = pytester.runpytest_subprocess(
        "--voice-cases", "cases", "--voice-agent", agent_command, "-n", "2", "-rA"
    )
    result.assert_outcomes(passed=3, failed=1)
    assert outcomes(result) == {
        "cases::billing.json": "PASSED",
        "cases::negative.json": "PASSED",
        "cases::orders/lookup.json": "PASSED",
        "cases::orders/wrong.json": "FAILED",
    }
    assert "caller said:  My bill doubled." in result.stdout.str()
    assert len(log.read_text(encoding="utf-8").splitlines()) == 1
    assert os.listdir(shared) == []  # the controller removed the workers' shared folder


def test_last_failed_reruns_only_the_failed_case(
    pytester: pytest.Pytester, agent_command: str
) -> None:
    args = ["--voice-cases", "cases", "--voice-agent", agent_command]
    pytester.runpytest(*args).assert_outcomes(passed=3, failed=1)
    again = pytester.runpytest(*args, "--lf", "-rA")
    again.assert_outcomes(failed=1, deselected=3)
    assert outcomes(again) == {"cases::orders/wrong.json": "FAILED"}


def test_junit_xml_has_a_testcase_per_case(pytester: pytest.Pytester, agent_command: str) -> None:
    pytester.runpytest(
        "--voice-cases", "cases", "--voice-agent", agent_command, "--junitxml", "out.xml"
    )
    xml = (pytester.path / "out.xml").read_text(encoding="utf-8")
    assert xml.count("<testcase ") == 4
    assert 'classname="cases" name="orders/wrong.json"' in xml
    assert '<property name="test_id" value="orders_wrong" />' in xml
    assert "caller said:  My bill doubled." in xml


def test_the_ini_keys(pytester: pytest.Pytester, agent_command: str) -> None:
    pytester.makeini(
        f"""
        [pytest]
        voice_cases = cases
        voice_agent = {agent_command}
        """
    )
    pytester.runpytest().assert_outcomes(passed=3, failed=1)


def test_an_http_agent(pytester: pytest.Pytester, http_agent: Any) -> None:
    server = http_agent(
        (pytester.path / "agent.py").read_text().replace("serve(answer)", "serve_http(answer, 0)")
    )
    result = pytester.runpytest("--voice-cases", "cases", "--voice-agent-url", server.url)
    result.assert_outcomes(passed=3, failed=1)


def test_the_ten_line_agent_of_the_docs(pytester: pytest.Pytester, agent_command: str) -> None:
    docs = Path(__file__).resolve().parents[2] / "docs" / "python.md"
    text = docs.read_text(encoding="utf-8")
    agent = text.split("```python\n", 1)[1].split("```", 1)[0]
    assert len(agent.strip().splitlines()) <= 10
    (pytester.path / "agent.py").write_text(agent, encoding="utf-8")
    (pytester.path / "echo").mkdir()
    (pytester.path / "echo" / "echo.json").write_text(
        '{"test_id": "echo", "persona": "p", "turns": [{"step_order": 1, "user_input": '
        '"Hello there", "expected_agent_response_keywords": ["hello there"]}]}',
        encoding="utf-8",
    )
    pytester.runpytest("--voice-cases", "echo", "--voice-agent", agent_command).assert_outcomes(
        passed=1
    )


def test_without_an_agent_the_cases_replay_their_own_replies(pytester: pytest.Pytester) -> None:
    replay = pytester.path / "replay"
    replay.mkdir()
    for name, reply in (("good", "Let me review your bill."), ("bad", "Hello.")):
        (replay / f"{name}.json").write_text(
            case(
                name,
                [{"user_input": "My bill?", "expected_agent_response_keywords": ["review"]}],
                agent={"replay": [reply]},
            ),
            encoding="utf-8",
        )
    result = pytester.runpytest("--voice-cases", "replay", "--voice-no-agent", "-rA")
    assert outcomes(result) == {"replay::bad.json": "FAILED", "replay::good.json": "PASSED"}
    assert "rerun: voice-harness run replay/bad.json\n" in result.stdout.str() + "\n"


def test_the_report_is_read_the_same_line_by_line_or_whole(tmp_path: Path) -> None:
    cases = [
        {"test_id": "a", "file": "cases/a.json", "status": "pass", "as_expected": True},
        {
            "test_id": None,
            "file": 'cases/b \\"q".json',
            "status": "error",
            "as_expected": False,
            "error": "broken",
        },
        {"test_id": "c", "file": "cases/sub/c.json", "status": "fail", "as_expected": True},
    ]
    lines = tmp_path / "lines.json"
    lines.write_text(
        '{"cases": [\n'
        + ",\n".join(json.dumps(c, separators=(",", ":")) for c in cases)
        + '\n],\n"summary": {},\n"run": {}}\n',
        encoding="utf-8",
    )
    whole = tmp_path / "whole.json"
    whole.write_text(json.dumps({"cases": cases}, indent=2), encoding="utf-8")
    settings = SimpleNamespace(cwd=tmp_path, folder=tmp_path / "cases")
    expected = {
        "a.json": {"test_id": "a", "status": "pass", "as_expected": True},
        'b \\"q".json': cases[1],
        "sub/c.json": {"test_id": "c", "status": "fail", "as_expected": True},
    }
    assert pytest_plugin._read_report(str(lines), settings) == expected  # type: ignore[arg-type]
    assert pytest_plugin._read_report(str(whole), settings) == {  # type: ignore[arg-type]
        **expected,
        "a.json": cases[0],
        "sub/c.json": cases[2],
    }


# ---- bad input -----------------------------------------------------------------------------


def usage_error(pytester: pytest.Pytester, *args: str) -> str:
    result = pytester.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    text = result.stdout.str() + result.stderr.str()
    assert "Traceback" not in text
    (line,) = [line for line in result.errlines if line.startswith("ERROR: ")]
    return line


def test_no_agent_is_a_usage_error(pytester: pytest.Pytester) -> None:
    assert usage_error(pytester, "--voice-cases", "cases") == (
        'ERROR: --voice-cases cases needs an agent to test: --voice-agent "python agent.py" '
        "(a program) or --voice-agent-url http://127.0.0.1:8080/ (an HTTP service), or the ini "
        "key voice_agent / voice_agent_url (--voice-no-agent: the cases' own replays)"
    )


def test_an_agent_without_cases_is_a_usage_error(pytester: pytest.Pytester) -> None:
    assert usage_error(pytester, "--voice-agent", "python agent.py").startswith(
        "ERROR: --voice-agent / --voice-agent-url need --voice-cases DIR"
    )


def test_two_agents_are_a_usage_error(pytester: pytest.Pytester) -> None:
    line = usage_error(
        pytester, "--voice-cases", "cases", "--voice-agent", "a", "--voice-agent-url", "http://x/"
    )
    assert line.startswith("ERROR: both --voice-agent and --voice-agent-url are given")


def test_a_missing_folder_is_a_usage_error(pytester: pytest.Pytester) -> None:
    line = usage_error(pytester, "--voice-cases", "nope", "--voice-agent", "python agent.py")
    assert line == (
        f"ERROR: --voice-cases nope: {pytester.path / 'nope'} does not exist; give the folder "
        "that holds the case files (*.json)"
    )


def test_a_folder_without_cases_is_a_usage_error(pytester: pytest.Pytester) -> None:
    (pytester.path / "empty").mkdir()
    line = usage_error(pytester, "--voice-cases", "empty", "--voice-agent", "python agent.py")
    assert line.startswith("ERROR: --voice-cases empty: no case files (*.json) under ")


def test_a_runner_that_cannot_be_found_is_a_usage_error(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOICE_HARNESS_BIN", "/no/such/runner")
    line = usage_error(pytester, "--voice-cases", "cases", "--voice-agent", "python agent.py")
    assert line.startswith("ERROR: VOICE_HARNESS_BIN='/no/such/runner' is not an executable file")


def test_an_agent_that_crashes_fails_its_item_with_the_reason(
    pytester: pytest.Pytester, agent_command: str
) -> None:
    (pytester.path / "cases" / "crash.json").write_text(
        '{"test_id": "crash", "persona": "p", "turns": [{"step_order": 1, "user_input": '
        '"please crash now"}]}',
        encoding="utf-8",
    )
    result = pytester.runpytest("--voice-cases", "cases", "--voice-agent", agent_command, "-rA")
    result.assert_outcomes(passed=3, failed=2)
    text = result.stdout.str()
    # A program that exits before its first answer never started the call: an error.
    assert "crash.json (crash): the case could not be run:" in text
    assert (
        f"the call never started: agent program `{agent_command}` exited "
        "(exit status: 3) before its first answer" in text
    )
    assert "Traceback" not in text


def test_a_broken_case_file_fails_its_item_with_the_loader_error(
    pytester: pytest.Pytester, agent_command: str
) -> None:
    (pytester.path / "cases" / "broken.json").write_text(
        '{"test_id": "broken", "persona": "p", "turns": [{"step_order": 1, "user_inptu": "hi"}]}',
        encoding="utf-8",
    )
    result = pytester.runpytest("--voice-cases", "cases", "--voice-agent", agent_command, "-rA")
    assert outcomes(result)["cases::broken.json"] == "FAILED"
    text = result.stdout.str()
    assert "broken.json (broken): the case could not be run:" in text
    assert "unknown field `user_inptu`" in text


def test_an_agent_program_that_does_not_exist_fails_every_item_with_the_reason(
    pytester: pytest.Pytester,
) -> None:
    result = pytester.runpytest("--voice-cases", "cases", "--voice-agent", "no-such-agent-program")
    result.assert_outcomes(failed=4)
    text = result.stdout.str()
    assert (
        "the runner refused to run (a usage error): "
        "`voice-harness run cases --agent-command no-such-agent-program`" in text
    )
    assert "no-such-agent-program" in text and "Traceback" not in text


def test_without_voice_cases_the_plugin_does_nothing(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_plain():\n    pass\n")
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


# ---- helpers -------------------------------------------------------------------------------


def counting_runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point VOICE_HARNESS_BIN at a wrapper that logs each run, then runs the real runner."""
    if os.name != "posix":
        pytest.skip("a shell script wraps the runner")
    log = tmp_path / "runs.log"
    log.touch()
    wrapper = tmp_path / "counting-runner"
    wrapper.write_text(
        textwrap.dedent(
            f"""\
            #!/bin/sh
            echo "$0 $*" >> '{log}'
            exec '{voice_harness.find_runner()}' "$@"
            """
        ),
        encoding="utf-8",
    )
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("VOICE_HARNESS_BIN", str(wrapper))
    return log
