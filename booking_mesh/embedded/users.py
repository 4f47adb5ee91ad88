"""Running the dev mesh as root (containers, CI): servers that refuse root get a system user.

PostgreSQL's postmaster exits at once when started as root (a superuser process reachable over
the network could overwrite any file). Rather than making every root user of the dev mesh
create an account by hand, a server that declares ``refuses_root`` is started as a dedicated
system user, created on first use. Nothing here runs as a normal user.
"""

from __future__ import annotations

import logging
import os
import pwd
import shutil
import stat
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

from booking_mesh.embedded.errors import ServiceError

log = logging.getLogger(__name__)

SYSTEM_USER = "booking-mesh"
_account_lock = threading.Lock()


@dataclass(frozen=True)
class Account:
    uid: int
    gid: int

    def spawn_options(self) -> dict:
        return {"user": self.uid, "group": self.gid, "extra_groups": []}  # drop root's groups too


def running_as_root() -> bool:
    return os.geteuid() == 0


def system_account(name: str = SYSTEM_USER, *, refused_by: str = "PostgreSQL") -> Account:
    """The system user `name`, created once if it does not exist yet."""
    with _account_lock:
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            useradd = shutil.which("useradd") or "/usr/sbin/useradd"
            cmd = [useradd, "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name]
            try:
                subprocess.run(cmd, check=True, capture_output=True, text=True)
            except (OSError, subprocess.CalledProcessError) as exc:
                detail = getattr(exc, "stderr", None) or exc
                raise ServiceError(
                    f"{refused_by} refuses to run as root and creating the system user '{name}' failed "
                    f"({detail}); create it yourself or run as a normal user"
                ) from exc
            log.warning("created system user '%s' to run %s (it refuses to run as root)", name, refused_by)
            entry = pwd.getpwnam(name)
        return Account(entry.pw_uid, entry.pw_gid)


def grant_traverse(paths: list[Path], account: Account) -> None:
    """Let the account reach `paths` by adding o+x to ancestor dirs it cannot enter (e.g. /root is 0700)."""
    granted = []
    for path in paths:
        for directory in reversed(Path(path).resolve().parents):
            st = directory.stat()
            if (
                st.st_uid == account.uid
                or (st.st_gid == account.gid and st.st_mode & stat.S_IXGRP)
                or st.st_mode & stat.S_IXOTH
            ):
                continue
            directory.chmod(stat.S_IMODE(st.st_mode) | stat.S_IXOTH)
            granted.append(str(directory))
    if granted:
        log.warning("gave user uid=%d traverse permission (o+x) on: %s", account.uid, ", ".join(granted))


def chown_tree(root: Path, account: Account) -> None:
    os.chown(root, account.uid, account.gid)
    for dirpath, dirnames, filenames in os.walk(root):
        for entry in dirnames + filenames:
            os.chown(os.path.join(dirpath, entry), account.uid, account.gid, follow_symlinks=False)


def hand_over_to_system_user(server: str, *, reach: list[Path], own: list[Path]) -> Account:
    """Called only when running as root, for a server that refuses root: the server will run as
    the system user, which gets traverse permission on every path of `reach` and owns each
    directory of `own` (its data must stay its own across restarts)."""
    account = system_account(refused_by=server)
    grant_traverse([*reach, *own], account)
    for directory in own:
        if directory.stat().st_uid != account.uid:
            chown_tree(directory, account)
    return account
