"""popen_fail: what a failing subprocess.Popen costs (issue 13).

    python3 popen_fail.py [N=200] [threaded]

Times N calls of subprocess.Popen(['/nonexistent...']), each failing with
FileNotFoundError (CPython spawns with vfork, the child's exec fails and
reports through a pipe), best of 3 rounds. With "threaded", a second
thread stays parked on a threading.Event meanwhile, as in a threaded
program (under libgreen that arms the system call net). Prints
"popen_fail_us VALUE us"."""
import subprocess
import sys
import threading
import time

n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
stop = threading.Event()
other = None
if len(sys.argv) > 2 and sys.argv[2] == "threaded":
    other = threading.Thread(target=stop.wait)
    other.start()
best = float("inf")
for _ in range(3):
    t0 = time.perf_counter()
    for _ in range(n):
        try:
            subprocess.Popen(["/nonexistent/popen_fail"])
        except FileNotFoundError:
            pass
    best = min(best, (time.perf_counter() - t0) / n)
stop.set()
if other:
    other.join()
print("popen_fail_us %.1f us" % (best * 1e6))
