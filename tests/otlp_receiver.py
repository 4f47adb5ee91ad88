"""A real OTLP/gRPC trace receiver for the tests: `python -m tests.otlp_receiver PORT FILE`.

It implements the collector's TraceService/Export and appends one JSON line per span to FILE
(service, name, kind, trace and span ids, parent). It runs as its own process: a gRPC server's
threads in the pytest process would make every later fork of a test unsafe (grpc/grpc#43055).
"""
from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from concurrent import futures
from pathlib import Path

from booking_mesh.embedded.ports import LOCALHOST, free_port, port_is_free


def _serve(port: int, out: Path) -> None:
    import grpc
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

    lock = threading.Lock()

    class Receiver(trace_service_pb2_grpc.TraceServiceServicer):
        def Export(self, request, context):
            lines = []
            for resource_spans in request.resource_spans:
                attributes = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        lines.append(json.dumps({
                            "service": attributes.get("service.name", ""),
                            "name": span.name,
                            "kind": span.kind,
                            "trace_id": span.trace_id.hex(),
                            "span_id": span.span_id.hex(),
                            "parent_span_id": span.parent_span_id.hex(),
                        }))  # fmt: skip
            with lock, out.open("a") as file:
                file.write("".join(line + "\n" for line in lines))
            return trace_service_pb2.ExportTraceServiceResponse()

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(Receiver(), server)
    server.add_insecure_port(f"{LOCALHOST}:{port}")
    server.start()
    server.wait_for_termination()


class OtlpReceiver:
    """The receiver process; `spans()` reads what it has received so far."""

    def __init__(self, directory: Path):
        self.port = free_port()
        self.file = directory / "spans.jsonl"
        self.file.touch()
        self._process = subprocess.Popen([sys.executable, "-m", "tests.otlp_receiver", str(self.port), str(self.file)])
        deadline = time.monotonic() + 30
        while port_is_free(self.port, LOCALHOST):
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the OTLP receiver did not start (exit code {self._process.poll()})")
            time.sleep(0.05)

    @property
    def endpoint(self) -> str:
        return f"http://{LOCALHOST}:{self.port}"

    def spans(self) -> list[dict]:
        return [json.loads(line) for line in self.file.read_text().splitlines() if line.strip()]

    def stop(self) -> None:
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()


if __name__ == "__main__":
    _serve(int(sys.argv[1]), Path(sys.argv[2]))
