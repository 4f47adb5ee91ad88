"""The edge: the real Envoy in front of a fake gRPC upstream (tests/integration/gateway_fakes.py)."""
