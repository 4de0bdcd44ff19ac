"""voice-harness for Python: the runner, an agent helper and a pytest plugin.

An agent in ten lines (docs/python.md)::

    import voice_harness

    def answer(event):
        if event["event"] == "user":
            return f"You said: {event['text']}"

    voice_harness.serve(answer)

Then ``voice-harness run cases --agent-command "python agent.py"``, or with pytest:
``pytest --voice-cases cases --voice-agent "python agent.py"``.

- :func:`serve` / :func:`serve_http`: the agent side of the protocol (JSON lines on
  stdin/stdout, or one POST per event), calling a handler per :class:`Event`.
- :func:`find_runner`: the path of the `voice-harness` runner binary installed with this
  package; ``python -m voice_harness ...`` runs it.
- The pytest plugin (``voice_harness.pytest_plugin``) is loaded by pytest itself.

Standard library only.
"""

from ._agent import (
    AgentError,
    CallEnded,
    Event,
    Handler,
    Reply,
    ReplyDict,
    ToolCall,
    serve,
    serve_http,
)
from ._runner import RunnerNotFoundError, find_runner

__all__ = [
    "AgentError",
    "CallEnded",
    "Event",
    "Handler",
    "Reply",
    "ReplyDict",
    "RunnerNotFoundError",
    "ToolCall",
    "find_runner",
    "serve",
    "serve_http",
]
