"""A test-only fault hook: stop a publish at a named stage so a test can kill it there.

Fault hook, harmless when unset. With ``HUB_FAULT_PAUSE_AT`` naming a stage (``read``,
``validate``, ``copy``, ``index``, ``register``), the process reaching that stage writes the
stage's name to the file ``HUB_FAULT_READY_FILE`` names (when set) and then sleeps until it is
killed. The kill tests (``tests/integration/test_publish_kill.py``) use it to SIGKILL ``hub
publish`` at each stage and check that nothing half-made is ever visible. The variables are
read when a stage is reached, never at import time.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

PAUSE_AT_ENV = "HUB_FAULT_PAUSE_AT"
READY_FILE_ENV = "HUB_FAULT_READY_FILE"
STAGES = ("read", "validate", "copy", "index", "register")


def fault_point(stage: str) -> None:
    """Pause here for good when the fault hook names ``stage``; otherwise do nothing."""
    if os.environ.get(PAUSE_AT_ENV) != stage:
        return
    ready = os.environ.get(READY_FILE_ENV)
    if ready:
        Path(ready).write_text(stage)
    while True:  # until the test's SIGKILL
        time.sleep(3600)
