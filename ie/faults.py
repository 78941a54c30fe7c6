"""Fault injection for crash tests: ``IE_FAULT=<stage>:<iteration>:<point>`` kills the process with SIGKILL
when the loop reaches that point, exactly as ``kill -9`` would. A no-op unless the variable is set."""

from __future__ import annotations

import os
import signal


def fault_point(name: str) -> None:
    if os.environ.get("IE_FAULT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
