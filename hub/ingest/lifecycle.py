"""Walking an aggregate's lifecycle to the state a source reports, one allowed step at a time."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping

from domain.errors import InvalidTransitionError

# state -> {next state: action name}
Graph = Mapping[str, Mapping[str, str]]

APPROVAL: Graph = {
    "draft": {"submitted": "submit"},
    "submitted": {"approved": "approve", "rejected": "reject", "draft": "recall"},
    "rejected": {"draft": "reopen", "submitted": "submit"},
    "approved": {"billed": "bill", "submitted": "unapprove", "locked": "lock"},
    "billed": {"locked": "lock", "approved": "release"},
    "locked": {},
}

MILESTONE: Graph = {
    "planned": {"delivered": "deliver"},
    "delivered": {"accepted": "accept", "planned": "reject_delivery"},
    "accepted": {"billing_ready": "make_billing_ready"},
    "billing_ready": {"billed": "bill"},
    "billed": {"billing_ready": "release"},
}

CONTRACT: Graph = {
    "draft": {"signed": "sign"},
    "signed": {"active": "activate", "terminated": "terminate"},
    "active": {"closed": "close", "terminated": "terminate"},
    "closed": {},
    "terminated": {},
}

INVOICE: Graph = {
    "draft": {"issued": "issue"},
    "issued": {"paid": "pay", "void": "void"},
    "paid": {},
    "void": {},
}

KNOWLEDGE_ASSET: Graph = {
    "draft": {"published": "publish"},
    "published": {"archived": "archive"},
    "archived": {"published": "unarchive"},
}


def path(graph: Graph, entity: str, current: str, target: str) -> list[str]:
    """The shortest list of actions from the current state to the target (empty if there)."""
    if current == target:
        return []
    seen = {current}
    queue: deque[tuple[str, list[str]]] = deque([(current, [])])
    while queue:
        state, actions = queue.popleft()
        for following, action in graph.get(state, {}).items():
            if following == target:
                return [*actions, action]
            if following not in seen:
                seen.add(following)
                queue.append((following, [*actions, action]))
    raise InvalidTransitionError(entity, current, f"become {target}")


def walk(
    graph: Graph, entity: str, current: str, target: str, perform: Callable[[str], None]
) -> list[str]:
    """Performs each action of the path in order (each one checks its own rules)."""
    actions = path(graph, entity, current, target)
    for action in actions:
        perform(action)
    return actions
