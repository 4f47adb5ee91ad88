"""The public REST gateway: Envoy configuration (config.py) and its child process (process.py)."""
