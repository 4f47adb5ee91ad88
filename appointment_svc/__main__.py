"""`python -m appointment_svc [serve|migrate]`."""
from __future__ import annotations

import sys


def main() -> None:
    command = sys.argv[1] if len(sys.argv) > 1 else "serve"
    if command == "serve":
        from appointment_svc.entrypoints.server import main as serve

        serve()
    elif command == "migrate":
        import os

        from appointment_svc.adapters.migrate import upgrade_to_head

        # Migrations need the database and nothing else (a Job in a cluster carries only that).
        if not os.environ.get("DATABASE_URL"):
            sys.exit("DATABASE_URL is not set")
        upgrade_to_head(os.environ["DATABASE_URL"])
    else:
        sys.exit(f"unknown command {command!r}; use serve or migrate")


if __name__ == "__main__":
    main()
