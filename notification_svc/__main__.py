"""`python -m notification_svc [run | dlq list | dlq replay ID | dlq replay --all]`."""
from __future__ import annotations

import argparse
import asyncio
import sys

from mesh_common.config import EventBusSettings, NotificationSettings
from mesh_common.events import EventTopology, connect, ensure_streams
from mesh_common.logging import configure_logging
from mesh_common.tracing import configure_tracing
from mesh_common.tracing import shutdown as shutdown_tracing


async def _dlq(args: argparse.Namespace) -> int:
    from notification_svc import dlq

    settings = EventBusSettings()
    topology = EventTopology.from_settings(settings)
    nc = await asyncio.wait_for(connect(settings.nats_url, "notification-svc-dlq"), 10)
    try:
        js = nc.jetstream(timeout=5.0)
        await ensure_streams(js, topology)
        letters = await dlq.list_dead_letters(js, topology)
        if args.dlq_command == "list":
            if not letters:
                print("dead-letter stream is empty")
                return 0
            print(f"{'ID':>6}  {'FAILED AT':<25}  {'SUBJECT':<20}  {'EVENT ID':<36}  {'TRIES':>5}  REASON")
            for letter in letters:
                print(
                    f"{letter.seq:>6}  {letter.failed_at:<25}  {letter.subject:<20}  {letter.event_id or '-':<36}  "
                    f"{letter.deliveries or '-':>5}  {letter.reason}"
                )
            return 0
        chosen = letters if args.all else [dlq.find(letters, args.id)]
        if chosen == [None]:
            print(f"no dead letter with id or event id {args.id!r}; see `dlq list`", file=sys.stderr)
            return 1
        for letter in chosen:
            await dlq.replay(js, topology, letter)
            print(f"replayed {letter.seq} ({letter.subject} {letter.event_id or '-'})")
        return 0
    finally:
        await nc.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m notification_svc", description=__doc__.strip())
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("run", help="consume events and send emails until SIGTERM (default)")
    dlq_parser = commands.add_parser("dlq", help="inspect or replay the dead-letter stream")
    dlq_commands = dlq_parser.add_subparsers(dest="dlq_command", required=True)
    dlq_commands.add_parser("list", help="list dead-lettered messages with their reasons")
    replay = dlq_commands.add_parser("replay", help="publish dead letters to their subject again")
    which = replay.add_mutually_exclusive_group(required=True)
    which.add_argument("id", nargs="?", help="ID from `dlq list` (or an event id)")
    which.add_argument("--all", action="store_true", help="replay every dead letter")
    args = parser.parse_args(argv)

    if args.command == "dlq":
        sys.exit(asyncio.run(_dlq(args)))
    from notification_svc.service import serve

    settings = NotificationSettings()
    configure_logging("notification_svc", settings.log_level, settings.log_format)
    configure_tracing("notification-svc")
    try:
        asyncio.run(serve(settings))
    finally:
        shutdown_tracing()


if __name__ == "__main__":
    main()
