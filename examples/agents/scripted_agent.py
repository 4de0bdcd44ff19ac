#!/usr/bin/env python3
"""A voice agent as a program: JSON lines on stdin, one JSON reply per "user" event.

    voice-harness run cases --agent-command "python3 examples/agents/scripted_agent.py" --concurrency 2

(--concurrency about the number of cores: each call starts a Python process, and the start
counts in the first reply's latency, which cases/latency_budget.json budgets.)

Protocol (docs/agent-protocol.md): {"event": "start", ...} once, {"event": "user",
"step_order", "text"} per caller line (answer with {"text": ...}, optionally "end_call":
true, or {"error": ...}; or first ask for a tool with {"tool_call": {"id", "name",
"arguments"}} and get {"event": "tool_result", "id", "name", "result"}, as many times as
needed), {"event": "end"} last; then stdin closes. Never print anything else to stdout: use
stderr for logs. Standard library only.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from script import Call  # noqa: E402


def main():
    call = None
    for line in sys.stdin:
        event = json.loads(line)
        kind = event.get("event")
        if kind == "start":
            call = Call(event["test_id"])
            print(f"call {event['call_id']} started", file=sys.stderr)
        elif kind in ("user", "silence", "dtmf"):
            # A silence has "ms", keypad tones have "digits"; this script answers them all
            # in order. A user event after a barge-in has "interrupted": {"heard": ...}.
            text = event.get("text") or event.get("digits") or ""
            reply = call.answer(text) if call else {"error": "no start event"}
            print(json.dumps(reply), flush=True)
        elif kind == "tool_result":
            print(json.dumps(call.tool_result(event)), flush=True)
        elif kind == "end":
            break


if __name__ == "__main__":
    main()
