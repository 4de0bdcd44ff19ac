#!/usr/bin/env python3
"""A voice agent as a program: JSON lines on stdin and stdout (docs/agent-protocol.md).

    voice-harness run cases --agent-command "python3 examples/agents/scripted_agent.py" --concurrency 2

(--concurrency about the number of cores: each call starts a Python process, and the start
counts in the first reply's latency, which cases/latency_budget.json budgets.)

`voice_harness.serve` reads each event, calls the handler (`script.handle`) and writes its
reply, flushed; it asks the harness for tool results and turns a handler's exception into
an agent error. Logs go to stderr (a `print` inside `serve` goes there too).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from script import handle, voice_harness  # noqa: E402 (script finds voice_harness)

if __name__ == "__main__":
    voice_harness.serve(handle)
