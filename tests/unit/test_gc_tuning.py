"""Long-running hub processes tune the cyclic garbage collector (hub/collector.py). Each probe
runs in a child process: freezing objects in the test process would keep them for good."""

import subprocess
import sys


def _probe(code: str) -> str:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    ).stdout.strip()


def test_start_up_objects_are_frozen_and_young_collections_are_rarer() -> None:
    out = _probe(
        "import gc; from hub.collector import tune_garbage_collector; tune_garbage_collector(); "
        "print(gc.get_threshold(), gc.get_freeze_count() > 0, gc.isenabled())"
    )
    assert out == "(50000, 20, 20) True True"


def test_a_full_collection_freezes_what_it_leaves_and_a_sweep_hands_it_back() -> None:
    out = _probe(
        "import gc, time\n"
        "from hub.collector import tune_garbage_collector\n"
        "tune_garbage_collector(sweep_every=0.5)\n"
        "before = gc.get_freeze_count()\n"
        "kept = [[i] for i in range(10_000)]\n"
        "gc.collect()\n"
        "frozen = gc.get_freeze_count() - before\n"
        "time.sleep(0.6)\n"
        "gc.collect()\n"  # the sweep: everything is walked again by the next one
        "print(frozen >= 10_000, gc.get_freeze_count())"
    )
    assert out == "True 0"


def test_cycles_are_still_collected_after_a_freeze() -> None:
    out = _probe(
        "import gc, weakref\n"
        "from hub.collector import tune_garbage_collector\n"
        "tune_garbage_collector()\n"
        "class Node: pass\n"
        "a, b = Node(), Node(); a.b, b.a = b, a\n"
        "gone = weakref.ref(a)\n"
        "del a, b\n"
        "gc.collect()\n"
        "print(gone() is None)"
    )
    assert out == "True"
