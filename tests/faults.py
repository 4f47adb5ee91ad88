"""Fault injection on the real servers the tests run."""
from __future__ import annotations

import contextlib

import psutil


@contextlib.contextmanager
def frozen(server):
    """SIGSTOP the server's whole process tree for the duration of the block: it keeps accepting
    TCP connections (the kernel does that) and answers nothing, like a hung or partitioned host."""
    root = psutil.Process(server.pid)
    tree = [root, *root.children(recursive=True)]
    for process in tree:
        process.suspend()
    try:
        yield
    finally:
        for process in tree:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.resume()
