"""popen_fail: what a failing subprocess.Popen costs (issue 13).

    python3 popen_fail.py [N=300] [threaded]

Times N calls of subprocess.Popen(['/nonexistent...']), each failing with
FileNotFoundError (CPython spawns with vfork, the child's exec fails and
reports through a pipe). With "threaded", a second thread stays parked
on a threading.Event meanwhile, as in a threaded program (under libgreen
that arms the system call net). Prints the median wall time of one call
("popen_fail_us", robust to the other load of a shared machine) and the
CPU time per call of this process and its children ("popen_fail_cpu_us")."""
import resource
import statistics
import subprocess
import sys
import threading
import time

n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
stop = threading.Event()
other = None
if len(sys.argv) > 2 and sys.argv[2] == "threaded":
    other = threading.Thread(target=stop.wait)
    other.start()


def cpu():
    s = resource.getrusage(resource.RUSAGE_SELF)
    c = resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


walls = []
c0 = cpu()
for _ in range(n):
    t0 = time.perf_counter()
    try:
        subprocess.Popen(["/nonexistent/popen_fail"])
    except FileNotFoundError:
        pass
    walls.append(time.perf_counter() - t0)
c1 = cpu()
stop.set()
if other:
    other.join()
print("popen_fail_us %.1f us" % (statistics.median(walls) * 1e6))
print("popen_fail_cpu_us %.1f us" % ((c1 - c0) / n * 1e6))
