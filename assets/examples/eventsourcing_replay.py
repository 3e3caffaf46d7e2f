#!/usr/bin/env python3
"""eventscope command reducer for aggregates of the Python `eventsourcing` library (9.x).

Replays with the library's own code: each stored event is turned back into the library's
domain event object by the library's Mapper (topic resolution, transcoding of typed values,
upcasting of old class versions), applied with the event's own ``mutate()``, and the state
is the library's ``Snapshot.take(aggregate).state`` — the same dict the library stores in
its snapshots. eventscope compares it with stored snapshots and shows it in time travel.

Usage (the module that defines your aggregates must be importable under the same name your
application used when it stored the events, because topics name it):

    eventscope state STORE STREAM --reducer-cmd \
        "python3 assets/examples/eventsourcing_replay.py --path DIR_WITH_YOUR_MODULE --module domain"

or in eventscope.toml beside the store:

    [reducers.BankAccount]
    command = "python3 eventsourcing_replay.py --path . --module domain"

Protocol: JSON Lines on stdin/stdout, see eventscope's README ("Command reducers").
States are written as plain JSON: Decimal, datetime and UUID values become strings the way
eventscope shows the library's typed values (str(Decimal), isoformat(), hyphenated UUID).
"""

from __future__ import annotations

import argparse
import copy
import importlib
import json
import sys
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID


def plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", action="append", default=[], help="add to sys.path (repeatable)")
    parser.add_argument("--module", required=True, help="module that defines the aggregates (topic prefix)")
    args = parser.parse_args()
    for path in reversed(args.path):
        sys.path.insert(0, path)

    importlib.import_module(args.module)
    from eventsourcing.application import Application
    from eventsourcing.domain import Snapshot
    from eventsourcing.persistence import StoredEvent

    # The application's mapper, with the library's default transcodings (UUID, Decimal,
    # datetime, …) — the same ones the application used to store the events.
    app = Application(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    mapper = app.mapper

    aggregate: Any = None
    # States handed out by "state", so that "load" can resume from them exactly.
    exported: dict[str, Any] = {}

    def answer(obj: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(obj, default=plain, ensure_ascii=False) + "\n")
        sys.stdout.flush()

    def current_state() -> Any:
        if aggregate is None:
            return None
        return Snapshot.take(aggregate).state

    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            request = json.loads(line)
            op = request.get("op")
            if op == "init":
                aggregate = None
                answer({"ok": True})
            elif op == "load":
                key = json.dumps(request.get("state"), sort_keys=True, ensure_ascii=False)
                if key not in exported:
                    answer({"ok": False, "error": "unsupported: load only resumes states this process exported"})
                else:
                    aggregate = copy.deepcopy(exported[key])
                    answer({"ok": True})
            elif op == "apply":
                event = request["event"]
                stored = event["stored"]
                stored_event = StoredEvent(
                    originator_id=UUID(event["streamId"]),
                    originator_version=event["version"],
                    topic=f"{args.module}:{event['type']}",
                    state=json.dumps(stored, ensure_ascii=False).encode("utf-8"),
                )
                domain_event = mapper.to_domain_event(stored_event)
                aggregate = domain_event.mutate(aggregate)
                answer({"ok": True})
            elif op == "state":
                state = current_state()
                text = json.dumps(state, default=plain, ensure_ascii=False, sort_keys=True)
                if len(exported) > 2000:
                    exported.clear()
                exported[text] = copy.deepcopy(aggregate)
                answer({"ok": True, "state": json.loads(text)})
            else:
                answer({"ok": False, "error": f"unknown op {op!r}"})
        except Exception as error:  # noqa: BLE001 - reported to eventscope, which names the event
            answer({"ok": False, "error": f"{type(error).__name__}: {error}"})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
