#!/usr/bin/env python3
"""Signs a report with an HMAC key read from a file.

An ordinary Python script: it takes the key file's path on its command line and knows nothing about
enclaves. Under `ccnodes container run` the key file exists only in the launcher's private,
memory-backed directory, written after attestation, and is wiped when the script exits.
"""
import hashlib
import hmac
import sys


def main() -> int:
    if len(sys.argv) != 4:
        print("usage: sign_report.py <key-file> <report-file> <output-file>", file=sys.stderr)
        return 2
    key_path, report_path, out_path = sys.argv[1:]
    try:
        with open(key_path, "rb") as f:
            key = f.read()
    except OSError as err:
        print(f"sign_report: cannot read the key: {err.strerror}", file=sys.stderr)
        return 3
    with open(report_path, "rb") as f:
        report = f.read()
    tag = hmac.new(key, report, hashlib.sha256).hexdigest()
    with open(out_path, "w", encoding="ascii") as f:
        f.write(tag + "\n")
    print(f"sign_report: signed {len(report)} bytes", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
