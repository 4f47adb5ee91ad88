"""Developer tooling for running the booking mesh locally (`booking-mesh` command)."""
