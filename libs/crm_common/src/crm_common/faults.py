"""Fault injection for the platform's fault tests, switched on only by CRM_FAULT in the environment.

`CRM_FAULT=kill_after_commit` kills the process with SIGKILL right after a transaction that wrote
events has committed and before they are published (the crash the outbox relay exists for).
"""
import os
import signal

from crm_common.config import env


def maybe_kill_after_commit() -> None:
    if env("CRM_FAULT") == "kill_after_commit":
        os.kill(os.getpid(), signal.SIGKILL)
