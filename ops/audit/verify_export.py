"""Re-verifies a pshub audit export offline, with nothing but the Python standard library.

    python verify_export.py export.jsonl

Each line's hash must equal sha256(prev_hash || the compact JSON array of its covered fields),
each prev_hash must be the previous line's hash, and positions must follow one another. Where
a line carries the stored `state`, its sha256 must equal `state_sha256`. Exit code 0: intact.
"""

import hashlib
import json
import sys

FIELDS = (
    "position",
    "entity",
    "aggregate_id",
    "version",
    "topic",
    "state_sha256",
    "recorded_at",
    "occurred_at",
    "system",
    "message_id",
    "correlation_id",
    "causation_id",
    "actor",
)


def main(path):
    previous = None
    with open(path, encoding="utf-8") as lines:
        for number, text in enumerate(lines, 1):
            event = json.loads(text)
            if previous is not None and (
                event["position"] != previous["position"] + 1
                or event["prev_hash"] != previous["hash"]
            ):
                return f"line {number}: position {event['position']} does not follow"
            if (
                "state" in event
                and hashlib.sha256(event["state"].encode("utf-8")).hexdigest()
                != event["state_sha256"]
            ):
                return f"line {number}: state does not match its digest"
            covered = json.dumps(
                [event[name] for name in FIELDS], separators=(",", ":"), ensure_ascii=False
            ).encode()
            digest = hashlib.sha256(bytes.fromhex(event["prev_hash"]) + covered).hexdigest()
            if digest != event["hash"]:
                return f"line {number}: hash does not match position {event['position']}"
            previous = event
    return None


if __name__ == "__main__":
    problem = main(sys.argv[1])
    print(problem or "intact")
    sys.exit(1 if problem else 0)
