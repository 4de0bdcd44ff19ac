#!/usr/bin/env python3
"""A voice agent as an HTTP service: one POST per event, the event as the JSON body.

    python3 examples/agents/http_agent.py 8080 &
    voice-harness run cases --agent-url http://127.0.0.1:8080/

`voice_harness.serve_http` answers a caller event with the handler's reply as JSON
({"text": ...}, a {"tool_call": ...} first when the handler runs a tool, or {"error": ...})
and "start" and "end" with an empty 204. Port 0 picks a free port; the port is printed on
the first line of stdout. Listens on loopback only. The same handler as scripted_agent.py.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from script import handle, voice_harness  # noqa: E402 (script finds voice_harness)

if __name__ == "__main__":
    voice_harness.serve_http(handle, int(sys.argv[1]) if len(sys.argv) > 1 else 8080)
