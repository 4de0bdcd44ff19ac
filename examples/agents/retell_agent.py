#!/usr/bin/env python3
"""A voice agent as a Retell custom-LLM WebSocket server.

    python3 examples/agents/retell_agent.py 8080 &
    voice-harness run cases/voice --agent-retell ws://127.0.0.1:8080/llm-websocket

Retell (here: the harness) opens WS_URL/<call id>. The server sends its begin message, a
`response` with response_id 0 (empty: the caller speaks first; put a greeting in it to
speak first), then answers each `response_required` / `reminder_required` with `response`
events for that response_id: the text a few words at a time, then `content_complete`, with
`end_call` to hang up. `update_only` and `ping_pong` need no answer (a server may echo
`ping_pong`). Replies come from script.py, chosen by the call id.

Standard library only: the few lines of WebSocket (RFC 6455) a server needs are below, for
text messages from one client. In production use a library: `pip install websockets`
(then `async for message in websocket: ...` replaces `read_message`). Port 0 picks a free
port; the port is printed on the first line of stdout. Loopback only.
"""

import base64
import hashlib
import json
import os
import re
import socketserver
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from script import Call  # noqa: E402

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def read_exact(stream, n):
    data = stream.read(n)
    if len(data) < n:
        raise EOFError
    return data


def read_message(stream):
    """The next text message from the client (masked frames), or None when it closes."""
    parts = []
    while True:
        first, second = read_exact(stream, 2)
        opcode, length = first & 0x0F, second & 0x7F
        if length == 126:
            length = struct.unpack(">H", read_exact(stream, 2))[0]
        elif length == 127:
            length = struct.unpack(">Q", read_exact(stream, 8))[0]
        mask = read_exact(stream, 4)
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(read_exact(stream, length)))
        if opcode == 0x8:
            return None
        if opcode in (0x9, 0xA):  # ping, pong: nothing to do for this example
            continue
        parts.append(payload)
        if first & 0x80:
            return b"".join(parts).decode()


def send_message(stream, value):
    data = json.dumps(value).encode()
    if len(data) < 126:
        header = struct.pack(">BB", 0x81, len(data))
    elif len(data) < 65536:
        header = struct.pack(">BBH", 0x81, 126, len(data))
    else:
        header = struct.pack(">BBQ", 0x81, 127, len(data))
    stream.write(header + data)
    stream.flush()


def respond(stream, response_id, message):
    """`message` ({"text", "end_call"?}) as streamed `response` events."""
    words = re.findall(r"\S+\s*", message.get("text", ""))
    for at in range(0, len(words), 3):
        send_message(stream, {"response_type": "response", "response_id": response_id,
                              "content": "".join(words[at:at + 3]), "content_complete": False})
    send_message(stream, {"response_type": "response", "response_id": response_id,
                          "content": "", "content_complete": True,
                          "end_call": bool(message.get("end_call"))})


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        request = self.rfile.readline().decode()
        headers = {}
        while True:
            line = self.rfile.readline().decode().strip()
            if not line:
                break
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        accept = base64.b64encode(
            hashlib.sha1((headers["sec-websocket-key"] + GUID).encode()).digest()).decode()
        self.wfile.write((
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Accept: {accept}\r\n\r\n").encode())
        call_id = request.split()[1].rstrip("/").rsplit("/", 1)[-1]
        call = Call(call_id)
        send_message(self.wfile, {"response_type": "config",
                                  "config": {"auto_reconnect": False, "call_details": False}})
        respond(self.wfile, 0, {"text": ""})  # the begin message: the caller speaks first
        try:
            while (text := read_message(self.rfile)) is not None:
                event = json.loads(text)
                kind = event.get("interaction_type")
                if kind == "ping_pong":
                    send_message(self.wfile, {"response_type": "ping_pong",
                                              "timestamp": event.get("timestamp")})
                if kind not in ("response_required", "reminder_required"):
                    continue
                # A Retell server runs its own tools, each reported to Retell with
                # tool_call_invocation and tool_call_result; this example has none.
                message = call.answer(lambda name, arguments: {})
                if isinstance(message, str):
                    message = {"text": message}
                respond(self.wfile, event["response_id"], message)
        except (EOFError, ConnectionError):
            pass


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    request_queue_size = 128


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8080
    server = Server(("127.0.0.1", port), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
