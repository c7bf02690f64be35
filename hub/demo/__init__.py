"""`pshub demo`: a realistic, deterministic demo firm, recorded through the domain.

Planning (`plan_demo`) is pure: a seed and a scale give the same records every time.
Loading (`load_demo`) records the plan in batches, once.
"""

from hub.demo.load import DemoError, DemoSummary, load_demo
from hub.demo.plan import DemoPlan, first_record_id, plan_demo
from hub.demo.script import DemoPlanError, DemoSpec

__all__ = [
    "DemoError",
    "DemoPlan",
    "DemoPlanError",
    "DemoSpec",
    "DemoSummary",
    "first_record_id",
    "load_demo",
    "plan_demo",
]
