"""`python -m appointment_svc [serve|migrate]`."""
from __future__ import annotations

import sys


def main() -> None:
    command = sys.argv[1] if len(sys.argv) > 1 else "serve"
    if command == "serve":
        from appointment_svc.entrypoints.server import main as serve

        serve()
    elif command == "migrate":
        from appointment_svc.adapters.migrate import upgrade_to_head
        from mesh_common.config import AppointmentSettings

        upgrade_to_head(AppointmentSettings().database_url)
    else:
        sys.exit(f"unknown command {command!r}; use serve or migrate")


if __name__ == "__main__":
    main()
