#!/usr/bin/env python3
"""A voice agent behind an OpenAI-compatible chat-completions API, as Vapi's or ElevenLabs'
"custom LLM" (or a model server) exposes it.

    python3 examples/agents/openai_agent.py 8000 &
    voice-harness run cases --agent-openai http://127.0.0.1:8000/v1

Each request carries the whole conversation; the answer streams as server-sent events
(`data: {chunk}` ... `data: [DONE]`), or comes as one JSON completion when the request says
`"stream": false`. Replies come from script.py, chosen by the request's `user` (the
harness sends the call id there); a reply with tools first answers with `tool_calls`, and
says the results once the harness sends them back as `tool` messages. Port 0 picks a free
port; the port is printed on the first line of stdout. Loopback only; standard library only.
"""

import json
import os
import re
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from script import SCRIPT  # noqa: E402


def answer(request):
    """The assistant's message for this request: {"content": ...} or {"tool_calls": [...]}."""
    messages = request["messages"]
    step = sum(1 for m in messages if m["role"] == "user") - 1
    replies = SCRIPT.get(request.get("user"), [])
    if step >= len(replies):
        return {"content": "Sorry, I did not catch that. Could you repeat it?"}
    reply = replies[step]
    if isinstance(reply, str):
        return {"content": reply}
    since_user = messages[max(i for i, m in enumerate(messages) if m["role"] == "user") + 1:]
    if reply.get("tools") and not since_user:
        time.sleep(reply.get("delay_s", 0))
        return {"tool_calls": [
            {"id": f"call_{i}", "type": "function",
             "function": {"name": name, "arguments": json.dumps(arguments)}}
            for i, (name, arguments) in enumerate(reply["tools"])]}
    # The tools' results, by name, from the tool messages that answered them.
    names = {c["id"]: c["function"]["name"]
             for m in since_user for c in m.get("tool_calls") or []}
    results = {names.get(m["tool_call_id"]): json.loads(m["content"])
               for m in since_user if m["role"] == "tool"}
    if not reply.get("tools"):
        time.sleep(reply.get("delay_s", 0))

    def value(match):
        result = results.get(match.group(1)) or {}
        return str(result.get(match.group(2), "?"))

    return {"content": re.sub(r"\{(\w+)\.(\w+)\}", value, reply["text"])}


class Server(ThreadingHTTPServer):
    request_queue_size = 128


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive

    def do_POST(self):
        if not self.path.endswith("/chat/completions"):
            return self.send_json(404, {"error": {"message": f"no route {self.path}"}})
        request = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
        message = answer(request)
        if not request.get("stream"):
            choice = {"index": 0, "message": {"role": "assistant", **message}}
            return self.send_json(200, {"object": "chat.completion", "choices": [choice]})
        # Streamed: the text a few words an event, tool calls with their arguments in pieces.
        chunks = []
        for i, call in enumerate(message.get("tool_calls", [])):
            head = {"index": i, "id": call["id"], "type": "function",
                    "function": {"name": call["function"]["name"], "arguments": ""}}
            chunks.append({"tool_calls": [head]})
            arguments = call["function"]["arguments"]
            for at in range(0, len(arguments), 8):
                piece = {"index": i, "function": {"arguments": arguments[at:at + 8]}}
                chunks.append({"tool_calls": [piece]})
        words = re.findall(r"\S+\s*", message.get("content", ""))
        for at in range(0, len(words), 3):
            chunks.append({"content": "".join(words[at:at + 3])})
        body = "".join(
            "data: " + json.dumps({"object": "chat.completion.chunk",
                                   "choices": [{"index": 0, "delta": delta}]}) + "\n\n"
            for delta in chunks) + "data: [DONE]\n\n"
        data = body.encode()
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def send_json(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):  # keep the test output quiet
        pass


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8000
    server = Server(("127.0.0.1", port), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
