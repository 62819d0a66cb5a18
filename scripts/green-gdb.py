# green-gdb.py: list libgreen's green threads in gdb, live or in a core.
#
#   gdb -p PID -x scripts/green-gdb.py -ex green-threads
#   gdb PROGRAM CORE -x scripts/green-gdb.py -ex green-threads
#
# gdb sees one OS thread; this walks libgreen's own list of green
# threads instead. For each: id, name, state, what it waits on, and its
# stack. A suspended thread's registers are where jump_fcontext saved
# them (rbp at ctx+0x30, the resume address at ctx+0x38), so its stack is
# followed through the frame-pointer chain: libgreen's frames always have
# one; the program's may not, and the walk stops where the chain ends.
# Needs libgreen built with its symbols (the default -g build).
import gdb

STATES = {0: "ready", 1: "running", 2: "blocked", 3: "exited"}
MAX_FRAMES = 32


def describe(pc):
    """'func+off at file:line' or 'func+off in object' for a code address."""
    try:
        sal = gdb.find_pc_line(pc)
        block = gdb.block_for_pc(pc)
    except RuntimeError:
        sal, block = None, None
    name = None
    while block is not None and block.function is None:
        block = block.superblock
    if block is not None and block.function is not None:
        name = "%s+%d" % (block.function.print_name, pc - block.start)
    if name is None:
        info = gdb.execute("info symbol 0x%x" % pc, to_string=True).strip()
        name = info if not info.startswith("No symbol") else "0x%x" % pc
    if sal is not None and sal.symtab is not None:
        return "%s at %s:%d" % (name, sal.symtab.filename, sal.line)
    return name


def read_ptr(addr):
    ptr = gdb.lookup_type("void").pointer().pointer()
    return int(gdb.Value(addr).cast(ptr).dereference())


def yield_resume():
    """Where a thread suspended in green_yield resumes, or None."""
    try:
        return int(gdb.parse_and_eval("(long)&green__yield_resume"))
    except gdb.error:
        return None


def frames(rbp, pc, ctx=None):
    """Return addresses up the frame-pointer chain from (rbp, pc). A
    thread suspended in green_yield (no frame of its own) has its
    caller's return address just above the saved context."""
    out = [pc]
    if ctx is not None and pc == yield_resume():
        out.append(read_ptr(ctx + 0x40))
    for _ in range(MAX_FRAMES):
        if rbp == 0 or rbp & 7:
            break
        try:
            ret, nxt = read_ptr(rbp + 8), read_ptr(rbp)
        except gdb.MemoryError:
            break
        if ret == 0:
            break
        out.append(ret)
        if nxt <= rbp:
            break
        rbp = nxt
    return out


class GreenThreads(gdb.Command):
    """List libgreen's green threads, what each waits on, and its stack."""

    def __init__(self):
        super().__init__("green-threads", gdb.COMMAND_USER)

    def invoke(self, arg, from_tty):
        try:
            sched = gdb.parse_and_eval("green__s")
        except gdb.error:
            raise gdb.GdbError("no libgreen here (symbol green__s not found)")
        current = None
        try:
            current = int(gdb.parse_and_eval("green__current"))
        except gdb.error:
            pass
        t = sched["all"]
        oldest = t
        while int(oldest) and int(oldest["all_next"]):
            oldest = oldest["all_next"]
        t = oldest
        while int(t):
            self.show(t, current)
            t = t["all_prev"]

    def show(self, t, current):
        state = STATES.get(int(t["state"]), "?")
        name = t["name"].string()
        line = "thread %d" % int(t["id"])
        if name:
            line += ' "%s"' % name
        line += ": " + state
        if state == "blocked":
            line += ", waits on %s" % str(t["wait_kind"]).replace("W_", "").lower()
            if str(t["wait_kind"]) in ("W_FD", "W_POLL"):
                line += " %d" % int(t["wait_fd"])
            else:
                line += " %s" % t["wait_obj"]
        gdb.write(line + "\n")
        ctx = None
        if int(t) == current:
            sched = gdb.parse_and_eval("green__s")
            if bool(sched["in_loop"]):
                # Waiting in libev (no frame pointers): start from the
                # frame that entered the loop.
                fp = int(sched["loop_fp"])
                rbp, pc = read_ptr(fp), read_ptr(fp + 8)
            else:
                rbp = int(gdb.parse_and_eval("$rbp"))
                pc = int(gdb.parse_and_eval("$pc"))
        else:
            ctx = int(t["ctx"])
            if ctx == 0:
                return
            rbp, pc = read_ptr(ctx + 0x30), read_ptr(ctx + 0x38)
        for i, addr in enumerate(frames(rbp, pc, ctx)):
            gdb.write("  #%-2d 0x%016x %s\n" % (i, addr, describe(addr)))


GreenThreads()
