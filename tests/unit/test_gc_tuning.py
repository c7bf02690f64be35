"""Long-running hub processes tune the cyclic garbage collector (see tune_garbage_collector)."""

import subprocess
import sys

PROBE = (
    "import gc; from hub.bootstrap import tune_garbage_collector; tune_garbage_collector(); "
    "print(gc.get_threshold(), gc.get_freeze_count() > 0, gc.isenabled())"
)


def test_start_up_objects_are_frozen_and_young_collections_are_rarer() -> None:
    # In a child process: freezing objects in the test process would keep them for good.
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=120
    ).stdout.strip()
    assert out == "(50000, 20, 20) True True"
