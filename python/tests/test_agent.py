"""`voice_harness.serve` and `serve_http`: the agent side of the protocol."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
import threading
import urllib.request
from typing import Any, Dict, List, Optional

import pytest
import voice_harness
from voice_harness import AgentError, Event

START = {"event": "start", "call_id": "c", "test_id": "t", "persona": "p"}
END = {"event": "end", "call_id": "c"}


def user(text: str, step: int = 1) -> Dict[str, Any]:
    return {"event": "user", "call_id": "c", "step_order": step, "text": text}


def run(handler: Any, *events: Dict[str, Any]) -> List[Dict[str, Any]]:
    """`serve(handler)` over `events` as JSON lines; the answers it wrote."""
    stdin = io.StringIO("".join(json.dumps(e) + "\n" for e in events))
    stdout = io.StringIO()
    voice_harness.serve(handler, stdin=stdin, stdout=stdout)
    return [json.loads(line) for line in stdout.getvalue().splitlines()]


# ---- replies -------------------------------------------------------------------------------


def test_a_string_is_the_text_and_start_and_end_get_no_answer() -> None:
    seen: List[str] = []

    def handler(event: Event) -> Optional[str]:
        seen.append(event.kind)
        return f"heard {event['text']}" if event.kind == "user" else None

    assert run(handler, START, user("hi"), user("bye", 2), END) == [
        {"text": "heard hi"},
        {"text": "heard bye"},
    ]
    assert seen == ["start", "user", "user", "end"]


def test_a_dict_reply_is_sent_as_it_is() -> None:
    reply = {
        "text": "Bye",
        "end_call": True,
        "tool_calls": [{"name": "Log", "arguments": {}, "result": None}],
    }
    assert run(lambda e: reply if e.kind == "user" else None, START, user("x"), END) == [reply]


def test_none_says_nothing_to_silence_and_keypad_tones() -> None:
    silence = {"event": "silence", "call_id": "c", "step_order": 1, "ms": 6000}
    dtmf = {"event": "dtmf", "call_id": "c", "step_order": 2, "digits": "12#"}
    assert run(lambda e: None, START, silence, dtmf, END) == [{"text": ""}, {"text": ""}]


def test_a_reply_with_an_unknown_key_is_an_agent_error() -> None:
    answers = run(lambda e: {"txt": "typo"} if e.kind == "user" else None, START, user("x"))
    assert answers == [
        {
            "error": "the handler's reply to a 'user' event has unknown key(s) txt; a reply "
            "may have text, end_call, tool_calls or error"
        }
    ]


def test_a_reply_of_another_type_is_an_agent_error() -> None:
    (answer,) = run(lambda e: 42 if e.kind == "user" else None, START, user("x"))
    assert answer["error"].startswith("the handler returned int for a 'user' event;")


def test_it_stops_at_end_and_reads_no_further() -> None:
    stdin = io.StringIO("".join(json.dumps(e) + "\n" for e in (START, END, user("after the end"))))
    stdout = io.StringIO()
    voice_harness.serve(lambda e: "x", stdin=stdin, stdout=stdout)
    assert stdout.getvalue() == ""
    assert stdin.readline() == json.dumps(user("after the end")) + "\n"


def test_it_returns_at_end_of_input() -> None:
    assert run(lambda e: "hello", START, user("hi")) == [{"text": "hello"}]


def test_blank_lines_and_lines_that_are_not_json_are_skipped(
    capsys: pytest.CaptureFixture[str],
) -> None:
    stdin = io.StringIO("\nnot json\n" + json.dumps(user("hi")) + "\n")
    stdout = io.StringIO()
    voice_harness.serve(lambda e: "ok", stdin=stdin, stdout=stdout)
    assert stdout.getvalue() == '{"text": "ok"}\n'
    assert "a line that is not JSON" in capsys.readouterr().err


# ---- handler errors ------------------------------------------------------------------------


def test_an_exception_is_an_agent_error_with_the_traceback_on_stderr(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def handler(event: Event) -> str:
        raise ValueError("no model")

    (answer,) = run(handler, user("hi"))
    assert answer == {
        "error": "the handler raised ValueError on a 'user' event: no model "
        "(traceback on the agent's stderr)"
    }
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert 'raise ValueError("no model")' in err


def test_agent_error_is_the_error_without_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    def handler(event: Event) -> str:
        raise AgentError("model overloaded")

    assert run(handler, user("hi")) == [{"error": "model overloaded"}]
    assert capsys.readouterr().err == ""


def test_an_exception_on_start_answers_the_first_caller_event(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def handler(event: Event) -> Optional[str]:
        if event.kind == "start":
            raise KeyError("persona")
        return "fine"

    (answer,) = run(handler, START, user("hi"))
    assert answer["error"].startswith("the handler raised KeyError on a 'start' event")
    assert "Traceback" in capsys.readouterr().err


# ---- tools ---------------------------------------------------------------------------------


def tool_handler(event: Event) -> Optional[str]:
    if event.kind != "user":
        return None
    order = event.tool("lookup_order", {"order_id": "5512"})
    refund = event.tool("refund")
    return f"{order['eta']} / {refund}"


def test_a_tool_is_one_round_of_the_protocol() -> None:
    stdin = io.StringIO(
        "\n".join(
            json.dumps(e)
            for e in (
                user("where is it"),
                {"event": "tool_result", "call_id": "c", "id": "t1", "result": {"eta": "Fri"}},
                {"event": "tool_result", "call_id": "c", "id": "t2", "result": {"error": "no"}},
            )
        )
        + "\n"
    )
    stdout = io.StringIO()
    voice_harness.serve(tool_handler, stdin=stdin, stdout=stdout)
    assert [json.loads(line) for line in stdout.getvalue().splitlines()] == [
        {"tool_call": {"id": "t1", "name": "lookup_order", "arguments": {"order_id": "5512"}}},
        {"tool_call": {"id": "t2", "name": "refund", "arguments": {}}},
        {"text": "Fri / {'error': 'no'}"},
    ]


def test_a_call_that_ends_during_a_tool_round_stops_quietly(
    capsys: pytest.CaptureFixture[str],
) -> None:
    answers = run(tool_handler, user("where is it"))
    assert answers == [
        {"tool_call": {"id": "t1", "name": "lookup_order", "arguments": {"order_id": "5512"}}}
    ]
    assert capsys.readouterr().err == ""


def test_a_tool_cannot_be_asked_for_during_start(capsys: pytest.CaptureFixture[str]) -> None:
    def handler(event: Event) -> None:
        event.tool("x")

    (answer,) = run(handler, START, user("hi"))
    assert (
        "a tool can be run only while answering a user, silence or dtmf event" in (answer["error"])
    )


# ---- async handlers ------------------------------------------------------------------------


def test_an_async_handler_with_a_tool() -> None:
    import asyncio

    async def handler(event: Event) -> Optional[str]:
        if event.kind != "user":
            return None
        await asyncio.sleep(0)
        order = await event.atool("lookup_order", {"order_id": "1"})
        return f"it comes {order['eta']}"

    stdin = io.StringIO(
        json.dumps(user("hi"))
        + "\n"
        + json.dumps({"event": "tool_result", "call_id": "c", "id": "t1", "result": {"eta": "Fri"}})
        + "\n"
    )
    stdout = io.StringIO()
    voice_harness.serve(handler, stdin=stdin, stdout=stdout)
    assert [json.loads(line) for line in stdout.getvalue().splitlines()] == [
        {"tool_call": {"id": "t1", "name": "lookup_order", "arguments": {"order_id": "1"}}},
        {"text": "it comes Fri"},
    ]


def test_an_async_handler_that_raises_is_an_agent_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    async def handler(event: Event) -> str:
        raise RuntimeError("boom")

    (answer,) = run(handler, user("hi"))
    assert answer["error"].startswith("the handler raised RuntimeError on a 'user' event: boom")


# ---- as a real program ---------------------------------------------------------------------

PROGRAM = textwrap.dedent(
    """
    import voice_harness

    def answer(event):
        print("a stray print")  # goes to stderr: the protocol stays clean
        if event["event"] == "user":
            return "You said: " + event["text"]

    voice_harness.serve(answer)
    """
)


def readline(pipe: Any, timeout: float = 30.0) -> str:
    """One line from `pipe`, or a failure after `timeout` seconds."""
    line: List[str] = []
    reader = threading.Thread(target=lambda: line.append(pipe.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    assert line, f"no line within {timeout} s"
    return line[0]


def test_a_program_flushes_each_answer_and_prints_go_to_stderr(tmp_path: Any) -> None:
    script = tmp_path / "agent.py"
    script.write_text(PROGRAM, encoding="utf-8")
    # Without PYTHONUNBUFFERED (some shells set it), as most agents run: buffered stdout.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    process = subprocess.Popen(
        [sys.executable, str(script)],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdin is not None and process.stdout is not None
    try:
        process.stdin.write(json.dumps(START) + "\n" + json.dumps(user("hi")) + "\n")
        process.stdin.flush()
        # stdin stays open: the answer arrives only because serve flushed it.
        assert json.loads(readline(process.stdout)) == {"text": "You said: hi"}
        process.stdin.write(json.dumps(END) + "\n")
        process.stdin.flush()
        assert process.wait(timeout=30) == 0
        assert process.stdout.read() == ""
        assert process.stderr is not None
        assert process.stderr.read().count("a stray print") == 3
    finally:
        process.kill()
        process.communicate()


# ---- HTTP ----------------------------------------------------------------------------------


def post(url: str, body: Dict[str, Any]) -> Any:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        data = response.read()
        return response.status, (json.loads(data) if data else None)


HTTP_AGENT = """
import voice_harness

def answer(event):
    if event["event"] != "user":
        return None
    if event["text"] == "order":
        return "arrives " + event.tool("lookup_order", {"id": 1})["eta"]
    if event["text"] == "fail":
        raise ValueError("broken")
    return {"text": "hi " + event["call_id"], "end_call": True}

voice_harness.serve_http(answer, 0)
"""


def test_serve_http_answers_each_call(http_agent: Any) -> None:
    server = http_agent(HTTP_AGENT)
    for call in ("a", "b"):
        assert post(server.url, {"event": "start", "call_id": call, "test_id": "t"}) == (204, None)
    assert post(server.url, {**user("x"), "call_id": "b"}) == (
        200,
        {"text": "hi b", "end_call": True},
    )
    assert post(server.url, {**user("x"), "call_id": "a"})[1] == {"text": "hi a", "end_call": True}
    assert post(server.url, {"event": "end", "call_id": "a"}) == (204, None)


def test_serve_http_runs_a_tool_round_over_two_posts(http_agent: Any) -> None:
    server = http_agent(HTTP_AGENT)
    post(server.url, START)
    assert post(server.url, user("order")) == (
        200,
        {"tool_call": {"id": "t1", "name": "lookup_order", "arguments": {"id": 1}}},
    )
    result = {"event": "tool_result", "call_id": "c", "id": "t1", "result": {"eta": "Friday"}}
    assert post(server.url, result) == (200, {"text": "arrives Friday"})


def test_serve_http_answers_a_handler_error_as_an_agent_error(http_agent: Any) -> None:
    server = http_agent(HTTP_AGENT)
    post(server.url, START)
    status, body = post(server.url, user("fail"))
    assert status == 200
    assert body["error"].startswith("the handler raised ValueError on a 'user' event: broken")
    assert "Traceback" in server.stop()


def test_serve_http_with_an_async_handler(http_agent: Any) -> None:
    server = http_agent(
        """
        import asyncio
        import voice_harness

        async def answer(event):
            if event["event"] != "user":
                return None
            await asyncio.sleep(0)
            order = await event.atool("lookup_order")
            return "arrives " + order["eta"]

        voice_harness.serve_http(answer, 0)
        """
    )
    post(server.url, START)
    assert post(server.url, user("x"))[1]["tool_call"]["name"] == "lookup_order"
    result = {"event": "tool_result", "call_id": "c", "id": "t1", "result": {"eta": "Monday"}}
    assert post(server.url, result) == (200, {"text": "arrives Monday"})
