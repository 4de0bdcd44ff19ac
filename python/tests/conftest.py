"""Shared fixtures: a small suite of case files and an agent written with the helper.

The package under test is the one installed in this environment (python/ci.sh installs it
with `pip install .`), runner binary included.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest

pytest_plugins = ["pytester"]

#: An agent program written with `voice_harness.serve`: answers from keywords in the line,
#: runs the `lookup_order` mock for order questions, and crashes on "crash".
AGENT = textwrap.dedent(
    """
    import sys
    import voice_harness

    def answer(event):
        if event["event"] != "user":
            return None
        text = event["text"].lower()
        if "crash" in text:
            sys.exit(3)
        if "order" in text:
            order = event.tool("lookup_order", {"order_id": "5512"})
            return f"Order 5512 arrives {order.get('eta', 'soon')}."
        if "bill" in text:
            return "Let me review your account."
        return {"text": "Goodbye!", "end_call": True}

    voice_harness.serve(answer)
    """
)


def case(test_id: str, turns: List[Dict[str, Any]], **more: Any) -> str:
    """A case file's text."""
    body: Dict[str, Any] = {"test_id": test_id, "persona": "Calm Customer", **more}
    body["turns"] = [{"step_order": n, **turn} for n, turn in enumerate(turns, 1)]
    return json.dumps(body, indent=1)


#: The suite: two cases that pass, one that fails, one negative case that fails as it
#: expects (so it passes), in two folders.
CASES = {
    "billing.json": case(
        "billing",
        [{"user_input": "Why is my bill so high?", "expected_agent_response_keywords": ["review"]}],
    ),
    "orders/lookup.json": case(
        "orders_lookup",
        [
            {
                "user_input": "Where is my order?",
                "expected_agent_response_keywords": ["friday"],
                "expected_tool_calls": [{"name": "lookup_order"}],
            }
        ],
        tools={"lookup_order": [{"match": {"order_id": "5512"}, "result": {"eta": "Friday"}}]},
    ),
    "orders/wrong.json": case(
        "orders_wrong",
        [{"user_input": "My bill doubled.", "expected_agent_response_keywords": ["overage"]}],
    ),
    "negative.json": case(
        "negative_bill",
        [{"user_input": "My bill doubled.", "expected_agent_response_keywords": ["overage"]}],
        expect={"status": "fail", "failure_steps": [1]},
    ),
}


@pytest.fixture
def suite(pytester: pytest.Pytester) -> Path:
    """The suite's cases in `cases/` and the agent in `agent.py`, in pytester's folder."""
    for name, text in CASES.items():
        path = pytester.path / "cases" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (pytester.path / "agent.py").write_text(AGENT, encoding="utf-8")
    return pytester.path


@pytest.fixture
def agent_command() -> str:
    """`--voice-agent` for the suite's agent (this interpreter, so the package is found)."""
    return f"{sys.executable} agent.py"


class Server:
    """An agent served by `voice_harness.serve_http` in a process of its own."""

    def __init__(self, script: Path, cwd: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(script)],
            cwd=str(cwd),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()  # the port, once it listens
        if not line.strip().isdigit():
            self.process.kill()
            _, stderr = self.process.communicate(timeout=10)
            raise AssertionError(f"the HTTP agent did not start: {line!r} {stderr}")
        self.url = f"http://127.0.0.1:{int(line)}/"

    def stop(self) -> str:
        """Stop it; its stderr."""
        self.process.kill()
        _, stderr = self.process.communicate(timeout=10)
        return stderr


@pytest.fixture
def http_agent(tmp_path: Path) -> Iterator[Any]:
    """Start `serve_http(handler, 0)` from a script's text; stopped after the test."""
    servers: List[Server] = []

    def start(source: str) -> Server:
        script = tmp_path / f"http_agent_{len(servers)}.py"
        script.write_text(textwrap.dedent(source), encoding="utf-8")
        server = Server(script, tmp_path)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def runner_env(extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """This process's environment without a runner override, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if k != "VOICE_HARNESS_BIN"}
    env.update(extra or {})
    return env
