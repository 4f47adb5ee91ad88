"""CPU per bearer-token verification in the services: uncached (ES256 every time) vs the verifier's cache.

    python bench/tokens.py [--verifications 20000] [--tokens 100] [--json]

Both rows verify the same `--tokens` distinct tokens round-robin, as a few busy clients would send
them; "uncached" is a verifier with `cache_size=0`, "cached" the services' default verifier.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import machine_note
from mesh_common.auth import KeyPair, TokenVerifier, issue_token


def per_verify_us(verifier: TokenVerifier, headers: list[str], count: int) -> float:
    for header in headers:  # warm: the cached verifier has seen each token once, as after the first request
        verifier.verify(header)
    started = time.process_time()
    for i in range(count):
        verifier.verify(headers[i % len(headers)])
    return (time.process_time() - started) / count * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--verifications", type=int, default=20000)
    parser.add_argument("--tokens", type=int, default=100, help="distinct tokens in use")
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    args = parser.parse_args()

    keys = KeyPair.generate()
    headers = [f"Bearer {issue_token(keys, f'customer-{i}')}" for i in range(args.tokens)]
    uncached = per_verify_us(TokenVerifier(keys.jwks(), cache_size=0), headers, args.verifications)
    cached = per_verify_us(TokenVerifier(keys.jwks()), headers, args.verifications)
    print(f"\nTokenVerifier.verify, CPU per call, {args.verifications} calls over {args.tokens} tokens — {machine_note()}\n")
    print("| verifier | µs per verify |\n|---|---:|")
    print(f"| uncached (ES256 each time) | {uncached:.1f} |\n| cached (default) | {cached:.1f} |")
    print(f"\nsaved {uncached - cached:.1f} µs of CPU per authenticated request ({uncached / cached:.0f}× less)")
    if args.json:
        rows = [{"scenario": name, "verifications": args.verifications, "us_per_verify": round(us, 2)}
                for name, us in (("uncached", uncached), ("cached", cached))]  # fmt: skip
        print(json.dumps({"rows": rows}))


if __name__ == "__main__":
    main()
