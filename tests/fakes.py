"""Stand-ins for services that live outside this machine, run as real servers on loopback.

The OpenAI-compatible model is the benchmark's own stub (``assistant.evaluation.llm_stub``), so tests
and ``assistant bench http --engine llm`` talk to the same endpoint.
"""

from __future__ import annotations

import socket

from assistant.evaluation.llm_stub import Fault, OpenAIStub, copying_reply

__all__ = ["Fault", "OpenAIStub", "copying_reply", "free_port"]


def free_port() -> int:
    """A loopback port nobody is listening on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
