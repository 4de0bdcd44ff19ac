"""The agent side of the protocol (docs/agent-protocol.md) in a few lines of Python.

:func:`serve` speaks JSON lines on stdin/stdout (an agent started with `--agent-command`),
:func:`serve_http` one POST per event (an agent at `--agent-url`). Both call one *handler*
per event and turn what it returns into the protocol's answer. Standard library only, and
cheap to import: a program agent's start counts in its first reply's latency.
"""

from __future__ import annotations

import json
import sys
import threading
from typing import (
    IO,
    TYPE_CHECKING,
    Any,
    Awaitable,
    Callable,
    Dict,
    List,
    Optional,
    TypedDict,
    Union,
)

__all__ = [
    "AgentError",
    "CallEnded",
    "Event",
    "Handler",
    "Reply",
    "ReplyDict",
    "ToolCall",
    "serve",
    "serve_http",
]

#: Events the harness waits for an answer to; the others ("start", "end") need none.
REPLY_EVENTS = frozenset({"user", "silence", "dtmf", "tool_result"})
#: The keys a handler's dict reply may have.
REPLY_KEYS = frozenset({"text", "tool_calls", "end_call", "error", "tool_call"})


class ToolCall(TypedDict, total=False):
    """A tool call the agent ran itself, reported with its reply (`tool_calls`)."""

    name: str
    arguments: Dict[str, Any]
    result: Any


class ReplyDict(TypedDict, total=False):
    """A reply as a dict: what the agent says, and optionally more.

    ``text``: what the agent says (``""`` says nothing). ``end_call``: hang up after it.
    ``tool_calls``: calls the agent ran itself (``[{"name", "arguments", "result"}]``).
    ``error``: fail the step with ``agent error: ...`` and end the call.
    """

    text: str
    end_call: bool
    tool_calls: List[ToolCall]
    error: str


#: What a handler returns: the text to say, a :class:`ReplyDict`, or ``None`` (no reply
#: for ``start`` and ``end``; for a caller event, ``None`` says nothing: ``{"text": ""}``).
Reply = Union[str, ReplyDict, Dict[str, Any], None]
#: A handler: called with each :class:`Event`; a plain function or an ``async def``.
Handler = Callable[["Event"], Union[Reply, Awaitable[Reply]]]


class AgentError(Exception):
    """Raise it in a handler to answer ``{"error": message}`` (the step fails with
    ``agent error: message`` and the call ends), without a traceback on stderr."""


class CallEnded(Exception):
    """The harness ended the call while the handler waited for a tool's result (it timed
    out, or stdin closed). Let it propagate: :func:`serve` then stops quietly."""


if TYPE_CHECKING:
    _EventBase = Dict[str, Any]
else:
    _EventBase = dict  # typing's Dict costs an agent's start a little; dict is the same


class Event(_EventBase):
    """One event from the harness: the protocol's JSON object, as a dict.

    ``event["event"]`` is its kind (``start``, ``user``, ``silence``, ``dtmf``,
    ``tool_result``, ``end``); ``event.get("text")`` a caller's line, ``event["call_id"]``
    the call it belongs to. See docs/agent-protocol.md for every field.

    While answering a caller event, :meth:`tool` (or :meth:`atool` in an ``async def``
    handler) asks the harness to run one of the case's tool mocks and returns its result.
    """

    def __init__(self, data: Dict[str, Any], call: Optional["_Call"] = None) -> None:
        super().__init__(data)
        self._call = call

    @property
    def kind(self) -> str:
        """The event's kind: ``event["event"]``."""
        return str(self.get("event", ""))

    def tool(self, name: str, arguments: Optional[Dict[str, Any]] = None) -> Any:
        """Run the case's mock of tool ``name`` with ``arguments``; its result.

        One round of the protocol: a ``{"tool_call": ...}`` to the harness, its
        ``tool_result`` back. A call that no mock matches returns ``{"error": "..."}``, as
        the protocol says. Raises :class:`CallEnded` when the call ends meanwhile.
        """
        return self._round().ask(name, _arguments(name, arguments))

    async def atool(self, name: str, arguments: Optional[Dict[str, Any]] = None) -> Any:
        """:meth:`tool` for an ``async def`` handler: waits without blocking its loop."""
        return await self._round().ask_async(name, _arguments(name, arguments))

    def _round(self) -> "_Call":
        if self._call is None or self.kind not in REPLY_EVENTS:
            raise RuntimeError(
                f"event.tool() asked during a {self.kind!r} event; a tool can be run only "
                "while answering a user, silence or dtmf event"
            )
        return self._call


def _arguments(name: str, arguments: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"a tool's name must be a non-blank string, not {name!r}")
    if arguments is None:
        return {}
    if not isinstance(arguments, dict):
        raise TypeError(f"a tool's arguments must be a dict, not {type(arguments).__name__}")
    return arguments


class _Call:
    """One call's tool rounds; the transport says how a message goes out and comes back."""

    def __init__(self) -> None:
        self.calls = 0

    def next_id(self) -> str:
        self.calls += 1
        return f"t{self.calls}"

    def ask(self, name: str, arguments: Dict[str, Any]) -> Any:  # pragma: no cover
        raise NotImplementedError

    async def ask_async(self, name: str, arguments: Dict[str, Any]) -> Any:  # pragma: no cover
        raise NotImplementedError


def _tool_result(sent_id: str, event: Optional[Dict[str, Any]]) -> Any:
    if event is None or event.get("event") == "end":
        raise CallEnded(f"the call ended while waiting for the result of tool call {sent_id}")
    if event.get("event") != "tool_result" or event.get("id") != sent_id:
        raise RuntimeError(
            f"expected the tool_result of tool call {sent_id} from the harness, got "
            f"{json.dumps(event)[:200]}"
        )
    return event.get("result")


def _message(kind: str, reply: Any) -> Dict[str, Any]:
    """The protocol's answer for a handler's `reply` to an event of `kind`."""
    if reply is None:
        return {"text": ""}
    if isinstance(reply, str):
        return {"text": reply}
    if isinstance(reply, dict):
        unknown = sorted(str(key) for key in reply if key not in REPLY_KEYS)
        if unknown:
            raise AgentError(
                f"the handler's reply to a {kind!r} event has unknown key(s) "
                f"{', '.join(unknown)}; a reply may have text, end_call, tool_calls or error"
            )
        return dict(reply)
    raise AgentError(
        f"the handler returned {type(reply).__name__} for a {kind!r} event; return the "
        "text to say (str), a dict with text / end_call / tool_calls, or None"
    )


def _failure(error: BaseException, kind: str) -> Dict[str, Any]:
    """`{"error": ...}` for a handler that raised; the traceback goes to stderr."""
    if isinstance(error, AgentError):
        return {"error": str(error)}
    import traceback  # only when a handler fails: a program agent starts faster

    traceback.print_exception(type(error), error, error.__traceback__, file=sys.stderr)
    sys.stderr.flush()
    detail = str(error)
    return {
        "error": f"the handler raised {type(error).__name__} on a {kind!r} event"
        + (f": {detail}" if detail else "")
        + " (traceback on the agent's stderr)"
    }


def _warn(text: str) -> None:
    print(f"voice_harness: {text}", file=sys.stderr, flush=True)


def _is_awaitable(value: Any) -> bool:
    return hasattr(type(value), "__await__")


class _Loop:
    """One asyncio loop for every ``async def`` handler call, made on first use (so a
    plain handler never pays for importing asyncio), on a thread of its own."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.loop: Any = None

    def get(self) -> Any:
        with self._lock:
            if self.loop is None:
                import asyncio

                self.loop = asyncio.new_event_loop()
                threading.Thread(
                    target=self.loop.run_forever, name="voice-harness-asyncio", daemon=True
                ).start()
            return self.loop

    def run(self, awaitable: Any) -> Any:
        import asyncio

        async def wrap() -> Any:
            return await awaitable

        return asyncio.run_coroutine_threadsafe(wrap(), self.get()).result()

    def close(self) -> None:
        with self._lock:
            if self.loop is not None:
                self.loop.call_soon_threadsafe(self.loop.stop)
                self.loop = None


def _call_handler(handler: Handler, event: Event, loop: _Loop) -> Any:
    reply = handler(event)
    if _is_awaitable(reply):
        reply = loop.run(reply)
    return reply


# ---------------------------------------------------------------------------------------
# JSON lines on stdin/stdout


class _ProgramCall(_Call):
    def __init__(
        self, read: Callable[[], Optional[Dict[str, Any]]], write: Callable[[Any], None]
    ) -> None:
        super().__init__()
        self.read = read
        self.write = write
        self.lock = threading.Lock()

    def ask(self, name: str, arguments: Dict[str, Any]) -> Any:
        with self.lock:
            sent = self.next_id()
            self.write({"tool_call": {"id": sent, "name": name, "arguments": arguments}})
            return _tool_result(sent, self.read())

    async def ask_async(self, name: str, arguments: Dict[str, Any]) -> Any:
        import asyncio

        return await asyncio.get_running_loop().run_in_executor(None, self.ask, name, arguments)


def serve(
    handler: Handler, *, stdin: Optional[IO[str]] = None, stdout: Optional[IO[str]] = None
) -> None:
    """Run an agent program: read each event from stdin, answer with `handler`'s reply.

    `handler(event)` is called with each :class:`Event` (a dict); for a caller event
    (``user``, ``silence``, ``dtmf``) it returns what to say: a ``str``, a
    :class:`ReplyDict` (``text`` / ``tool_calls`` / ``end_call``), or ``None`` to say
    nothing; for ``start`` and ``end`` its return value is not used. An ``async def``
    handler works the same. Each answer is one JSON line, flushed at once.

    A handler that raises answers ``{"error": ...}`` (the step fails with ``agent error:``
    and the call ends), with the traceback on stderr; raise :class:`AgentError` for an
    error without a traceback. An exception during ``start`` is the answer to the next
    caller event. While `serve` runs, ``print()`` writes to stderr, so a stray print
    cannot corrupt the protocol. Returns after the ``end`` event or at end of input.

    `stdin` / `stdout` default to the process's (tests pass their own streams).
    """
    reader = sys.stdin if stdin is None else stdin
    writer = sys.stdout if stdout is None else stdout
    redirect = stdout is None
    saved = sys.stdout
    if redirect:
        sys.stdout = sys.stderr

    def write(message: Any) -> None:
        writer.write(json.dumps(message) + "\n")
        writer.flush()

    def read() -> Optional[Dict[str, Any]]:
        while True:
            line = reader.readline()
            if not line:
                return None
            if not line.strip():
                continue
            try:
                event = json.loads(line)
            except ValueError as error:
                _warn(f"a line that is not JSON ({error}): {line[:200]!r}")
                continue
            if isinstance(event, dict):
                return event
            _warn(f"a line that is not a JSON object: {line[:200]!r}")

    loop = _Loop()
    pending: Optional[Dict[str, Any]] = None  # an error raised on "start", answered next
    call = _ProgramCall(read, write)
    try:
        while True:
            data = read()
            if data is None:
                return
            kind = str(data.get("event", ""))
            if kind == "start":
                call = _ProgramCall(read, write)
            event = Event(data, call)
            if pending is not None and kind in REPLY_EVENTS:
                write(pending)  # the handler failed on "start": this call cannot go on
                pending = None
                continue
            try:
                reply = _call_handler(handler, event, loop)
                answer = _message(kind, reply) if kind in REPLY_EVENTS else None
            except CallEnded:
                return
            except Exception as error:  # noqa: BLE001 - every handler error is the agent's answer
                answer = _failure(error, kind)
            if kind in REPLY_EVENTS:
                write(answer)
            elif answer is not None and "error" in answer:
                pending = answer
            if kind == "end":
                return
    finally:
        loop.close()
        if redirect:
            sys.stdout = saved


# ---------------------------------------------------------------------------------------
# HTTP: one POST per event


class _HttpCall(_Call):
    """A call's turn in progress: the handler runs on a thread of its own, and each message
    it sends (a tool call, then the reply) answers the POST that is waiting."""

    def __init__(self) -> None:
        import queue  # here, not at the top: a program agent never needs it

        super().__init__()
        self.outbox: "queue.Queue[Dict[str, Any]]" = queue.Queue()
        self.waiter: Optional[Callable[[Dict[str, Any]], None]] = None
        self.pending: Optional[Dict[str, Any]] = None
        self.lock = threading.Lock()

    def ask(self, name: str, arguments: Dict[str, Any]) -> Any:
        import queue

        inbox: "queue.Queue[Optional[Dict[str, Any]]]" = queue.Queue()
        sent = self.next_id()
        self.waiter = inbox.put
        self.outbox.put({"tool_call": {"id": sent, "name": name, "arguments": arguments}})
        return _tool_result(sent, inbox.get())

    async def ask_async(self, name: str, arguments: Dict[str, Any]) -> Any:
        import asyncio

        loop = asyncio.get_running_loop()
        future = loop.create_future()
        sent = self.next_id()

        def wake(event: Dict[str, Any]) -> None:
            loop.call_soon_threadsafe(future.set_result, event)

        self.waiter = wake
        self.outbox.put({"tool_call": {"id": sent, "name": name, "arguments": arguments}})
        return _tool_result(sent, await future)


def serve_http(
    handler: Handler,
    port: int = 8080,
    *,
    host: str = "127.0.0.1",
    ready: Optional[Callable[[int], None]] = None,
) -> None:
    """Run an agent as an HTTP service: one ``POST`` per event, the event as the body.

    The same `handler` and replies as :func:`serve` (``async def`` too); ``start`` and
    ``end`` are answered ``204``, a caller event with the reply as JSON (a tool call first
    when the handler asks :meth:`Event.tool`). Calls are told apart by ``call_id`` and may
    be many at once: a plain handler runs on a thread per turn, an ``async def`` one on a
    single asyncio loop. Listens on `host` (loopback by default) at `port` (``0`` picks a
    free one); `ready(port)` is called once it listens (default: print the port on stdout,
    flushed). Runs until interrupted (Ctrl-C returns quietly).
    """
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    loop = _Loop()
    calls: Dict[str, _HttpCall] = {}
    calls_lock = threading.Lock()

    def run_turn(call: _HttpCall, event: Event, kind: str) -> None:
        try:
            message = _message(kind, _call_handler(handler, event, loop))
        except CallEnded:
            return
        except Exception as error:  # noqa: BLE001 - every handler error is the agent's answer
            message = _failure(error, kind)
        call.outbox.put(message)

    class Server(ThreadingHTTPServer):
        # The default listen backlog is 5: a runner with many calls in flight has more
        # connections waiting than that, and the kernel resets the rest.
        request_queue_size = 128
        daemon_threads = True

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: the runner keeps a pool of connections

        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            try:
                length = int(self.headers.get("content-length") or 0)
                data = json.loads(self.rfile.read(length) or b"null")
            except ValueError as error:
                return self.answer(400, {"error": f"the request body is not JSON: {error}"})
            if not isinstance(data, dict):
                return self.answer(400, {"error": "the request body is not a JSON object"})
            kind, call_id = str(data.get("event", "")), str(data.get("call_id", ""))
            with calls_lock:
                if kind == "start" or call_id not in calls:
                    calls[call_id] = _HttpCall()
                call = calls[call_id]
                if kind == "end":
                    del calls[call_id]
            if kind not in REPLY_EVENTS:
                try:
                    _call_handler(handler, Event(data, call), loop)
                except Exception as error:  # noqa: BLE001
                    call.pending = _failure(error, kind)
                if kind == "end" and call.waiter is not None:
                    call.waiter({"event": "end"})  # a turn still waiting for a tool ends
                return self.answer(204, None)
            if call.pending is not None:
                message, call.pending = call.pending, None
                return self.answer(200, message)
            if kind == "tool_result" and call.waiter is not None:
                waiter, call.waiter = call.waiter, None
                waiter(data)
            else:
                turn = (call, Event(data, call), kind)
                threading.Thread(target=run_turn, args=turn, daemon=True).start()
            return self.answer(200, call.outbox.get())

        def answer(self, status: int, body: Optional[Dict[str, Any]]) -> None:
            self.send_response(status)
            if body is None:  # 204: no body, and so no content-length (RFC 9110)
                self.end_headers()
                return
            data = json.dumps(body).encode()
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass  # one line per request on stderr would drown the agent's own logs

    server = Server((host, port), Handler)
    bound = int(server.server_address[1])
    if ready is None:
        print(bound, flush=True)
    else:
        ready(bound)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        loop.close()
