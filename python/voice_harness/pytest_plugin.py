"""The pytest plugin: each voice case file is a test item, run by the `voice-harness` runner.

    pytest --voice-cases cases --voice-agent "python agent.py"

Registered through the ``pytest11`` entry point, so it is there wherever the package is
installed; it does nothing without ``--voice-cases`` (or the ini key ``voice_cases``).

Each ``*.json`` file under the cases folder is one item, named by its path relative to the
folder (``billing/refund.json``), so ``-k``, ``--lf``, ``--junitxml`` and IDE panes work. The
items selected are run by ONE ``voice-harness run ... --json`` process for the whole session
(under pytest-xdist, the first worker to need a result runs it and the others read its
report), and each item takes its case's result from the report: it passes when the case is
as expected (a negative case that fails as it expects passes), and otherwise fails with the
exchange of the failing step as plain text. docs/python.md is the manual.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import pytest

from ._runner import RunnerNotFoundError, find_runner

__all__ = ["VoiceCase", "VoiceCases"]

# argv longer than this is split into several runs (Linux allows 2 MB in all, but a
# selection of thousands of files is better passed as a few runs than tested against it).
_ARGV_BUDGET = 100_000
_STDERR_TAIL = 2_000


class VoiceCaseFailure(Exception):
    """A case that is not as expected; its text is the whole failure report."""


class VoiceRunError(Exception):
    """A case with no result: the runner could not run it (its text says why)."""


# ---------------------------------------------------------------------------------------
# Options


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("voice-harness", "voice-harness: voice agent cases as tests")
    group.addoption(
        "--voice-cases",
        metavar="DIR",
        help="a folder of case files (*.json): each file is one test item (ini: voice_cases)",
    )
    group.addoption(
        "--voice-agent",
        metavar="CMD",
        help='the agent as a program, e.g. "python agent.py": one process per call, '
        "JSON lines on stdin/stdout (ini: voice_agent)",
    )
    group.addoption(
        "--voice-agent-url",
        metavar="URL",
        help="the agent as an HTTP service, e.g. http://127.0.0.1:8080/ (ini: voice_agent_url)",
    )
    group.addoption(
        "--voice-no-agent",
        action="store_true",
        default=None,
        help="no agent under test: each case answers from its own agent.replay or recorded "
        "transcript (ini: voice_no_agent)",
    )
    group.addoption(
        "--voice-args",
        metavar="ARGS",
        help='more flags for `voice-harness run`, e.g. "--seed 7 --turn-timeout 5" '
        "(ini: voice_args)",
    )
    parser.addini("voice_cases", "a folder of voice case files (relative to the ini file)")
    parser.addini("voice_agent", "the agent as a program (run in the ini file's folder)")
    parser.addini("voice_agent_url", "the agent as an HTTP service (http://...)")
    parser.addini("voice_args", "more flags for `voice-harness run`")
    parser.addini("voice_no_agent", "no agent under test: the cases' own replays", type="bool")


class _Settings:
    """What the options say, resolved: absolute paths and the runner's argv."""

    def __init__(self, config: pytest.Config) -> None:
        here = Path(config.invocation_params.dir)
        ini_dir = Path(config.inipath).parent if config.inipath else Path(config.rootpath)

        def option(flag: str, ini: str) -> Tuple[Optional[str], Path]:
            value = config.getoption(flag)
            if value:
                return str(value), here
            value = config.getini(ini)
            return (str(value).strip() or None), ini_dir

        cases, cases_base = option("voice_cases", "voice_cases")
        agent, agent_base = option("voice_agent", "voice_agent")
        url, url_base = option("voice_agent_url", "voice_agent_url")
        extra, _ = option("voice_args", "voice_args")
        no_agent = bool(config.getoption("voice_no_agent") or config.getini("voice_no_agent"))
        self.active = cases is not None
        if not self.active:
            if agent or url:
                raise pytest.UsageError(
                    "--voice-agent / --voice-agent-url need --voice-cases DIR (or the ini key "
                    "voice_cases): the folder of case files to run"
                )
            return
        assert cases is not None
        if no_agent and (agent or url):
            raise pytest.UsageError(
                "--voice-no-agent and an agent (--voice-agent / --voice-agent-url) are both "
                "given; name an agent, or run the cases' own replays without one"
            )
        if agent and url:
            raise pytest.UsageError(
                "both --voice-agent and --voice-agent-url are given (command line or ini); "
                "name one agent: a program or an HTTP service"
            )
        if not agent and not url and not no_agent:
            raise pytest.UsageError(
                f"--voice-cases {cases} needs an agent to test: --voice-agent "
                '"python agent.py" (a program) or --voice-agent-url http://127.0.0.1:8080/ '
                "(an HTTP service), or the ini key voice_agent / voice_agent_url "
                "(--voice-no-agent: the cases' own replays)"
            )
        folder = Path(os.path.abspath(str(cases_base / cases)))
        if not folder.is_dir():
            what = "is a file, not a folder" if folder.exists() else "does not exist"
            raise pytest.UsageError(
                f"--voice-cases {cases}: {folder} {what}; give the folder that holds the "
                "case files (*.json)"
            )
        self.folder = folder
        self.cases_arg: str = cases
        self.names = _case_files(folder)
        if not self.names:
            raise pytest.UsageError(
                f"--voice-cases {cases}: no case files (*.json) under {folder}; a folder with "
                "no cases would pass without testing anything"
            )
        # The runner runs where the agent was named, so a relative path in it works.
        self.cwd = agent_base if agent else url_base if url else here
        self.agent = ["--agent-command", agent] if agent else ["--agent-url", url] if url else []
        try:
            self.extra = shlex.split(extra) if extra else []
        except ValueError as error:
            raise pytest.UsageError(f"--voice-args {extra!r}: {error}") from None
        self.runner: Optional[str] = None


# ---------------------------------------------------------------------------------------
# Session


class _Plugin:
    """The plugin's state for one pytest process (the controller or one xdist worker)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.settings = _Settings(config)
        self.collected: List["VoiceCase"] = []
        self.selected: List["VoiceCase"] = []
        self.results: Optional[Dict[str, Any]] = None

    # -- the runner, once ------------------------------------------------------------

    def result(self, item: "VoiceCase") -> Dict[str, Any]:
        if self.results is None:
            try:
                self.results = self._run()
            except Exception as error:  # noqa: BLE001 - said once, for every item, not rerun
                self.results = {"": f"the voice-harness plugin failed: {error!r}"}
        key = item.name
        if key not in self.results:
            problem = self.results.get("")
            if problem:
                raise VoiceRunError(problem)
            raise VoiceRunError(
                f"{item.name}: the runner's report has no result for {item.path}; the "
                "runner found other case files than the plugin did (a symbolic link?)"
            )
        case: Dict[str, Any] = self.results[key]
        return case

    def _run(self) -> Dict[str, Any]:
        settings = self.settings
        if settings.runner is None:
            try:
                settings.runner = find_runner()
            except RunnerNotFoundError as error:
                return {"": str(error)}
        everything = len(self.selected) == len(self.collected)
        paths = [str(settings.folder)] if everything else [str(i.path) for i in self.selected]
        chunks = _chunks(paths, _ARGV_BUDGET)
        key = hashlib.sha256(
            json.dumps(
                [settings.runner, str(settings.cwd), settings.agent, settings.extra, paths]
            ).encode()
        ).hexdigest()[:16]
        shared = _shared_dir(self.config)
        results: Dict[str, Any] = {}
        for number, chunk in enumerate(chunks):
            outcome = _once(shared, f"{key}-{number}", functools.partial(self._run_chunk, chunk))
            results.update(outcome)
        return results

    def _run_chunk(self, paths: List[str]) -> Dict[str, Any]:
        """Run the runner on `paths`; file -> its case's report entry, and `""` -> why
        there is no entry for a file, when the run did not report every case."""
        settings = self.settings
        assert settings.runner is not None
        handle, report = tempfile.mkstemp(prefix="voice-harness-", suffix=".json")
        os.close(handle)
        argv = [settings.runner, "run", *paths, "--json", report, "-q", *settings.agent]
        argv += settings.extra
        try:
            done = subprocess.run(
                argv,
                cwd=str(settings.cwd),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env={**os.environ, "NO_COLOR": "1"},
            )
            results: Dict[str, Any] = {}
            if done.returncode in (0, 1):
                try:
                    results = _read_report(report, settings)
                except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
                    results[""] = f"could not read the runner's JSON report {report}: {error}"
            if done.returncode != 0 and "" not in results:
                stderr = done.stderr.decode("utf-8", "replace").strip()[-_STDERR_TAIL:]
                shown = ["voice-harness", "run", settings.cases_arg, *settings.agent]
                command = " ".join(shlex.quote(a) for a in shown + settings.extra)
                why = (
                    "the runner refused to run (a usage error)"
                    if done.returncode == 2
                    else f"the runner exited with status {done.returncode}"
                )
                results[""] = f"{why}: `{command}` (in {settings.cwd})\n{stderr}".rstrip()
            return results
        except OSError as error:
            return {"": f"cannot start the runner {settings.runner}: {error}"}
        finally:
            try:
                os.unlink(report)
            except OSError:
                pass


# The head of a case's line in the runner's report (docs/runner.md: one case a line, its
# fields in this order): enough to know a case that is as expected without parsing the
# rest of its line (transcript, steps, metrics: most of a 100 MB report).
_CASE_HEAD = re.compile(
    r'\{"test_id":(null|"(?:[^"\\]|\\.)*"),"file":("(?:[^"\\]|\\.)*"),'
    r'"status":"(\w+)","as_expected":(true|false)'
)


def _read_report(report: str, settings: _Settings) -> Dict[str, Any]:
    """Case name (its path in the cases folder) -> ``{"as_expected": True}`` for a case that
    is as expected, its whole report entry for one that is not. Reads the report a line at a
    time and parses only the lines of cases that are not as expected (a report of 10,000
    realistic cases is 100 MB); any other layout is parsed whole."""
    results: Dict[str, Any] = {}

    def add(file: str, case: Dict[str, Any]) -> None:
        path = os.path.abspath(os.path.join(str(settings.cwd), file))
        name = os.path.relpath(path, str(settings.folder)).replace(os.sep, "/")
        results[name] = case

    with open(report, encoding="utf-8") as lines:
        first = lines.readline()
        if first.strip() == '{"cases": [':
            for line in lines:
                head = _CASE_HEAD.match(line)
                if head and head.group(4) == "true":
                    test_id = json.loads(head.group(1))
                    case = {"test_id": test_id, "status": head.group(3), "as_expected": True}
                    add(json.loads(head.group(2)), case)
                elif line.startswith("{"):
                    case = json.loads(line.rstrip().rstrip(","))
                    add(case["file"], case)
                elif line.startswith("]"):
                    return results
    with open(report, encoding="utf-8") as whole:
        for case in json.load(whole)["cases"]:
            add(case["file"], case)
    return results


def _chunks(paths: List[str], budget: int) -> List[List[str]]:
    chunks: List[List[str]] = [[]]
    size = 0
    for path in paths:
        if chunks[-1] and size + len(path) + 1 > budget:
            chunks.append([])
            size = 0
        chunks[-1].append(path)
        size += len(path) + 1
    return chunks


def _shared_dir(config: pytest.Config) -> Optional[Path]:
    """A folder every xdist worker of this run shares (None without xdist)."""
    workerinput = getattr(config, "workerinput", None)
    if not workerinput or "testrunuid" not in workerinput:
        return None
    return Path(tempfile.gettempdir()) / f"voice-harness-{workerinput['testrunuid']}"


def _once(shared: Optional[Path], key: str, run: Callable[[], Dict[str, Any]]) -> Dict[str, Any]:
    """`run()` in one process of the run: the first xdist worker to ask runs it and writes
    the result; the others wait for it and read it."""
    if shared is None:
        return run()
    shared.mkdir(parents=True, exist_ok=True)
    done = shared / f"{key}.json"
    lock = shared / f"{key}.lock"
    try:
        handle = os.open(str(lock), os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return _wait_for(done, lock)
    with os.fdopen(handle, "w") as file:
        file.write(str(os.getpid()))
    result = run()
    partial = shared / f"{key}.{os.getpid()}.tmp"
    partial.write_text(json.dumps(result), encoding="utf-8")
    os.replace(str(partial), str(done))
    return result


def _wait_for(done: Path, lock: Path) -> Dict[str, Any]:
    pause = 0.01
    while not done.exists():
        time.sleep(pause)
        pause = min(pause * 2, 0.2)
        try:
            owner = int(lock.read_text() or "0")
        except (OSError, ValueError):
            continue
        if owner and not done.exists() and not _alive(owner):
            return {
                "": f"the pytest-xdist worker (pid {owner}) that ran the cases stopped "
                "before it wrote their results"
            }
    result: Dict[str, Any] = json.loads(done.read_text(encoding="utf-8"))
    return result


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


_KEY = pytest.StashKey["_Plugin"]()


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    # The controller of an xdist run names the run, so its workers share a folder (the
    # cases' results) that the controller removes at the end.
    if (
        not hasattr(config, "workerinput")
        and (config.getoption("voice_cases") or config.getini("voice_cases"))
        and getattr(config.option, "testrunuid", "absent") is None
    ):
        config.option.testrunuid = uuid.uuid4().hex


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    config = session.config
    plugin = _Plugin(config)  # a bad option is a pytest.UsageError here
    config.stash[_KEY] = plugin
    if plugin.settings.active and not config.option.collectonly:
        try:
            plugin.settings.runner = find_runner()
        except RunnerNotFoundError as error:
            raise pytest.UsageError(str(error)) from None


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    uid = getattr(config.option, "testrunuid", None)
    if uid and not hasattr(config, "workerinput"):
        shutil.rmtree(Path(tempfile.gettempdir()) / f"voice-harness-{uid}", ignore_errors=True)


def pytest_report_header(config: pytest.Config) -> Optional[str]:
    plugin = config.stash.get(_KEY, None)
    if plugin is None or not plugin.settings.active:
        return None
    settings = plugin.settings
    agent = settings.agent[1] if settings.agent else "none (the cases' own replays)"
    return (
        f"voice-harness: cases {settings.cases_arg}, agent {agent}, "
        f"runner {settings.runner or 'not found'}"
    )


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: List[pytest.Item]
) -> None:
    # Before -k, --deselect and --lf choose among the items: the cases are items like any.
    plugin = config.stash.get(_KEY, None)
    if plugin is None or not plugin.settings.active:
        return
    folder = plugin.settings.folder
    nodeid = _relative(folder, Path(config.rootpath))
    collector = VoiceCases.from_parent(session, name=nodeid, path=folder, nodeid=nodeid)
    cases = list(session.genitems(collector))
    plugin.collected = [c for c in cases if isinstance(c, VoiceCase)]
    items.extend(cases)


def pytest_collection_finish(session: pytest.Session) -> None:
    plugin = session.config.stash.get(_KEY, None)
    if plugin is not None and plugin.settings.active:
        plugin.selected = [i for i in session.items if isinstance(i, VoiceCase)]


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix() or "."
    except ValueError:
        return os.path.relpath(str(path), str(root)).replace(os.sep, "/")


# ---------------------------------------------------------------------------------------
# Collection


def _case_files(folder: Path) -> List[str]:
    """The case files under `folder`, relative, `/`-separated, sorted: the runner's rules
    (recursive `*.json`, no names starting with `.`, no symbolic links followed)."""
    found: List[str] = []
    for parent, folders, files in os.walk(str(folder), followlinks=False):
        folders[:] = [f for f in folders if not f.startswith(".")]
        for name in files:
            path = os.path.join(parent, name)
            if name.startswith(".") or not name.endswith(".json") or os.path.islink(path):
                continue
            found.append(os.path.relpath(path, str(folder)).replace(os.sep, "/"))
    return sorted(found)


class VoiceCases(pytest.Collector):
    """The folder of case files given by ``--voice-cases``: one :class:`VoiceCase` a file."""

    def collect(self) -> List[pytest.Item]:
        names = self.config.stash[_KEY].settings.names
        return [VoiceCase.from_parent(self, name=name, path=self.path / name) for name in names]


class VoiceCase(pytest.Item):
    """One case file, as a test: its result comes from the session's runner report."""

    def runtest(self) -> None:
        plugin: _Plugin = self.config.stash[_KEY]
        try:
            case = plugin.result(self)
        except VoiceRunError:
            raise
        except Exception as error:  # noqa: BLE001 - a bug here is still a failed item, not a crash
            raise VoiceRunError(
                f"{self.name}: the voice-harness plugin failed: {type(error).__name__}: {error}"
            ) from None
        self.user_properties.append(("test_id", case.get("test_id")))
        self.user_properties.append(("status", case.get("status")))
        if not case.get("as_expected"):
            raise VoiceCaseFailure(_explain(case, self.name, self.path, plugin.settings))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, (VoiceCaseFailure, VoiceRunError)):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> Tuple[Any, Optional[int], str]:
        return self.path, None, f"voice case {self.name}"


# ---------------------------------------------------------------------------------------
# Failure reports


def _explain(case: Dict[str, Any], name: str, path: Path, settings: _Settings) -> str:
    """A case that is not as expected, as plain text: why, then the exchange of each
    failing step (what the caller said, what the agent said, what was expected)."""
    test_id = case.get("test_id")
    head = f"{name}" + (f" ({test_id})" if test_id else "")
    lines = []
    if case.get("status") == "error":
        lines.append(f"{head}: the case could not be run:")
        lines.append(_indent(str(case.get("error") or case.get("reason") or "unknown error")))
    else:
        lines.append(f"{head}: {case.get('reason') or case.get('status')}")
        turns = _turns(path)
        failed = [s for s in case.get("steps") or [] if not s.get("passed")]
        for step in failed:
            lines.append("")
            lines.extend(_step(step, case, turns.get(step.get("step_order"))))
        others = [f for f in case.get("failures") or [] if not str(f).startswith("Step ")]
        for failure in others:
            lines.append("")
            lines.append(str(failure))
        if not failed:
            lines.append("")
            lines.append("the call:")
            lines.extend(_transcript(case.get("transcript") or [], None))
    lines.append("")
    rerun = [
        "voice-harness",
        "run",
        os.path.relpath(str(path), str(settings.cwd)),
        *settings.agent,
        *settings.extra,
    ]
    lines.append("rerun: " + " ".join(shlex.quote(a) for a in rerun))
    return "\n".join(lines)


def _step(step: Dict[str, Any], case: Dict[str, Any], turn: Optional[Dict[str, Any]]) -> List[str]:
    order = step.get("step_order")
    lines = [f"step {order} failed"]
    heard = step.get("actual_user_input")
    scripted = step.get("expected_user_input")
    lines.append(_row("caller said", heard if heard is not None else scripted))
    if scripted is not None and heard is not None and scripted != heard:
        lines.append(_row("(scripted)", scripted))
    lines.extend(_transcript(case.get("transcript") or [], order, tools_only=True))
    lines.append(_row("agent said", step.get("agent_response")))
    for expected in _expected(step, turn):
        lines.append(_row("expected", expected))
    if step.get("details"):
        lines.append(_row("why", step["details"]))
    return lines


def _expected(step: Dict[str, Any], turn: Optional[Dict[str, Any]]) -> List[str]:
    """What the step expected, from the case file's turn when it has one."""
    found = []
    if turn:
        if turn.get("exact_match_required"):
            phrase = turn.get("expected_agent_response")
            if phrase is None:
                phrase = " ".join(
                    str(k) for k in turn.get("expected_agent_response_keywords") or []
                )
            found.append(f"exactly {json.dumps(phrase)}")
        elif turn.get("expected_agent_response_keywords"):
            found.append("keywords " + json.dumps(turn["expected_agent_response_keywords"]))
        if turn.get("forbidden_keywords"):
            found.append("none of " + json.dumps(turn["forbidden_keywords"]))
        if turn.get("expected_tool_calls"):
            found.append("tool calls " + json.dumps(turn["expected_tool_calls"]))
        if turn.get("max_latency_ms") is not None:
            found.append(
                f"a reply within {turn['max_latency_ms']} ms (took {step.get('latency_ms')} ms)"
            )
    if turn:
        return found  # what is missing is the step's `why`
    if step.get("missing_keywords"):
        found.append("missing: " + ", ".join(str(k) for k in step["missing_keywords"]))
    if step.get("forbidden_found"):
        found.append("forbidden but said: " + ", ".join(str(k) for k in step["forbidden_found"]))
    if step.get("missing_tool_calls"):
        found.append("missing tool calls: " + ", ".join(str(k) for k in step["missing_tool_calls"]))
    return found


def _turns(path: Path) -> Dict[Any, Dict[str, Any]]:
    """The case file's turns by step_order, or nothing (a file the runner could read is
    JSON, but keep the report going whatever it holds)."""
    try:
        with open(path, encoding="utf-8") as file:
            data = json.load(file)
        return {t.get("step_order"): t for t in data.get("turns") or [] if isinstance(t, dict)}
    except (OSError, ValueError, AttributeError):
        return {}


def _transcript(rows: Sequence[Dict[str, Any]], order: Any, tools_only: bool = False) -> List[str]:
    lines = []
    for row in rows:
        if order is not None and row.get("step_order") != order:
            continue
        speaker = row.get("speaker")
        if speaker == "tool":
            call = f"{row.get('name')}({json.dumps(row.get('arguments'))})"
            lines.append(_row("agent called", f"{call} -> {json.dumps(row.get('result'))}"))
        elif not tools_only:
            lines.append(_row("caller" if speaker == "user" else str(speaker), row.get("text")))
    return lines


def _row(label: str, value: Any) -> str:
    text = "(nothing)" if value is None else str(value)
    return f"  {label + ':':<14}{text}"


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())
