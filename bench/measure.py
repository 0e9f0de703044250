"""Run one command and record its wall time, CPU time and peak RSS as JSON.

    python bench/measure.py RESULT.json COMMAND [ARG...]

A small process of its own between the benchmark and the command under test: Linux
charges a process, at exec, the peak RSS of the memory it was forked with, so a command
started straight from the (large) benchmark process would report the benchmark's size.
Started from here it starts from this interpreter's few MB. Standard library only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time


def main(argv: list[str]) -> int:
    result_path, command = argv[0], argv[1:]
    started = time.perf_counter()
    proc = subprocess.Popen(command)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    proc.returncode = code = os.waitstatus_to_exitcode(status)
    with open(result_path, "w", encoding="utf-8") as out:
        # CPU seconds too: on a shared machine they move less with the neighbours than wall time
        json.dump({"seconds": seconds, "cpu_seconds": usage.ru_utime + usage.ru_stime,
                   "peak_rss_kib": usage.ru_maxrss, "returncode": code}, out)
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
