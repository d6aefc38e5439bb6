"""A tiny process that starts the timed commands, so their peak RSS is their own.

Linux carries a process's peak RSS across exec, and a child forked from the bench (which holds
manifests, boto3 and moto) starts out as large as the bench. Forked from this small launcher
(`python -S -I`, a few MiB), a child's ru_maxrss is the command's own peak, as with /usr/bin/time.

Protocol: one JSON request a line on stdin ({"argv", "cwd", "env", "log"}), one JSON answer a
line on stdout ({"wall", "rss_kib", "exit_code"}).
"""

import json
import os
import sys
import time


def main() -> None:
    for line in sys.stdin:
        request = json.loads(line)
        start = time.perf_counter()
        pid = os.fork()
        if pid == 0:
            try:
                os.chdir(request["cwd"])
                out = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                null = os.open(os.devnull, os.O_RDONLY)
                os.dup2(null, 0)
                os.dup2(out, 1)
                os.dup2(out, 2)
                os.execve(request["argv"][0], request["argv"], request["env"])
            finally:
                os._exit(127)
        _, status, usage = os.wait4(pid, 0)
        wall = time.perf_counter() - start
        answer = {"wall": wall, "rss_kib": usage.ru_maxrss, "exit_code": os.waitstatus_to_exitcode(status)}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
