#!/usr/bin/env python3
"""A voice agent as an HTTP service: one POST per event, the event as the JSON body.

    python3 examples/agents/http_agent.py 8080 &
    voice-harness run cases --agent-url http://127.0.0.1:8080/

A "user" event's response body is the reply ({"text": ...} or {"error": ...}); "start" and
"end" get an empty 204. Port 0 picks a free port; the port is printed on the first line of
stdout. Listens on loopback only. Standard library only.
"""

import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from script import Call  # noqa: E402

CALLS = {}


class Server(ThreadingHTTPServer):
    # The default listen backlog is 5: a runner with many calls in flight (-j 20) has more
    # connections waiting than that, and the kernel resets the rest.
    request_queue_size = 128


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("content-length", 0))
        event = json.loads(self.rfile.read(length))
        kind, call_id = event.get("event"), event.get("call_id")
        if kind == "start":
            CALLS[call_id] = Call(event["test_id"])
            return self.reply(204, None)
        if kind == "end":
            CALLS.pop(call_id, None)
            return self.reply(204, None)
        if kind in ("user", "silence", "dtmf") and call_id in CALLS:
            text = event.get("text") or event.get("digits") or ""
            return self.reply(200, CALLS[call_id].answer(text))
        if kind == "tool_result" and call_id in CALLS:
            return self.reply(200, CALLS[call_id].tool_result(event))
        return self.reply(400, {"error": f"unexpected event {kind!r} for call {call_id!r}"})

    def reply(self, status, body):
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):  # keep the test output quiet
        pass


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8080
    server = Server(("127.0.0.1", port), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
