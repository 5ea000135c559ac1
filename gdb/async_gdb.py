# SPDX-License-Identifier: MIT
# async_gdb.py: gdb commands for the async fiber runtime, on a live process
# (gdb -p) or a core file, with a library built without debug information:
#
#   info fibers     every fiber of every runtime, one line each: its id, its
#                   name, its state (what it waits for), its entry function;
#                   under a "runtime <serial>" line per runtime
#   fiber bt ID     the backtrace of a parked fiber, unwound from its saved
#                   context; ID as `info fibers` prints it, or SERIAL.ID when
#                   several runtimes have a fiber with that id
#
# Nothing here uses DWARF types: the library exports `async_debug_registry`
# (src/core/debug_registry.cpp), which holds the address of the runtime list
# and the byte offsets of the fields read below. docs/debugging.md has more.
# `make install` puts this file in <prefix>/share/async/gdb/ and an auto-load
# stub next to the library's path under <prefix>/share/gdb/auto-load/.

import struct

import gdb
import gdb.unwinder

MAGIC = 0x474244434E595341  # "ASYNCDBG"
VERSION = 1

# debug_field indices (debug_registry.cpp; append-only).
(RT_TASKS, RT_TASK_CAPACITY, RT_SERIAL, RT_ID_BASE, RT_REG_NEXT, RT_CLOSING, TASK_SIZE, TASK_ID,
 TASK_NAME, TASK_STATE, TASK_WAIT, TASK_SP, TASK_FN, CTX_FRAME_SIZE, CTX_RBP, CTX_RET,
 CTX_ARCH) = range(17)

STATES = {1: "runnable", 2: "running", 3: "parked", 4: "stack", 5: "done"}
WAITS = {
    0: "parked", 1: "sleep", 2: "await", 3: "await", 4: "channel send", 5: "channel recv",
    6: "select", 7: "io read", 8: "io write", 9: "park", 10: "mutex", 11: "cond", 12: "sem",
    13: "waitgroup", 14: "rwlock", 15: "once", 16: "signal", 17: "blocking",
}
PARKED = 3
RUNNING = 2


def _inferior():
    inf = gdb.selected_inferior()
    if inf is None or inf.pid == 0:
        raise gdb.GdbError("async: no process or core file")
    return inf


def _read(inf, addr, size):
    return bytes(inf.read_memory(addr, size))


def _ptr(inf, addr):
    return struct.unpack("<Q", _read(inf, addr, 8))[0]


class Registry:
    """async_debug_registry, read once per command."""

    def __init__(self):
        try:
            addr = int(gdb.parse_and_eval("(unsigned long)&async_debug_registry"))
        except gdb.error:
            raise gdb.GdbError("async: no async_debug_registry: is libasync loaded?")
        self.inf = _inferior()
        magic, version, count, head = struct.unpack("<QIIQ", _read(self.inf, addr, 24))
        if magic != MAGIC:
            raise gdb.GdbError("async: async_debug_registry has a bad magic")
        if version != VERSION:
            raise gdb.GdbError("async: async_debug_registry version %d, this script knows %d" % (version, VERSION))
        self.off = struct.unpack("<%dI" % count, _read(self.inf, addr + 24, 4 * count))
        self.head = head

    def runtimes(self):
        """(serial, id_base, closing, task table bytes, capacity) per live runtime, newest first."""
        o = self.off
        rt = _ptr(self.inf, self.head)
        seen = set()
        while rt != 0 and rt not in seen:
            seen.add(rt)
            tasks = _ptr(self.inf, rt + o[RT_TASKS])
            capacity = _ptr(self.inf, rt + o[RT_TASK_CAPACITY])
            serial = _ptr(self.inf, rt + o[RT_SERIAL])
            id_base = _ptr(self.inf, rt + o[RT_ID_BASE])
            closing = _read(self.inf, rt + o[RT_CLOSING], 1)[0] != 0
            # The whole table in one read: one request per field would take
            # minutes for 100,000 fibers on a core file.
            table = b"" if closing else _read(self.inf, tasks, capacity * o[TASK_SIZE])
            yield serial, id_base, closing, table, capacity
            rt = _ptr(self.inf, rt + o[RT_REG_NEXT])

    def fibers(self, table, capacity):
        """(id, name pointer, state, wait, sp, fn) of each record in use."""
        o = self.off
        size = o[TASK_SIZE]
        for i in range(capacity):
            base = i * size
            state = table[base + o[TASK_STATE]]
            if state == 0:
                continue
            yield (struct.unpack_from("<Q", table, base + o[TASK_ID])[0],
                   struct.unpack_from("<Q", table, base + o[TASK_NAME])[0], state,
                   table[base + o[TASK_WAIT]],
                   struct.unpack_from("<Q", table, base + o[TASK_SP])[0],
                   struct.unpack_from("<Q", table, base + o[TASK_FN])[0])


class Names:
    """C strings and symbols, cached: thousands of fibers share a few."""

    def __init__(self, inf):
        self.inf = inf
        self.strings = {}
        self.symbols = {}

    def string(self, addr):
        if addr == 0:
            return ""
        if addr not in self.strings:
            try:
                raw = _read(self.inf, addr, 64)
                self.strings[addr] = raw.split(b"\0", 1)[0].decode("utf-8", "replace")
            except gdb.MemoryError:
                self.strings[addr] = "?"
        return self.strings[addr]

    def symbol(self, addr):
        if addr not in self.symbols:
            text = gdb.execute("info symbol 0x%x" % addr, to_string=True)
            # "name in section .text [of /path]", "name + 12 in ...", or "No symbol matches".
            name = text.split(" in section ", 1)[0] if " in section " in text else ""
            self.symbols[addr] = name if name and " + " not in name else "0x%x" % addr
        return self.symbols[addr]


def _state_text(state, wait):
    if state == PARKED:
        return WAITS.get(wait, "parked")
    return STATES.get(state, "state%d" % state)


class InfoFibers(gdb.Command):
    """List every fiber of every async runtime: id, name, state, entry function."""

    def __init__(self):
        super().__init__("info fibers", gdb.COMMAND_STATUS)

    def invoke(self, arg, from_tty):
        reg = Registry()
        names = Names(reg.inf)
        out = []
        for serial, id_base, closing, table, capacity in reg.runtimes():
            out.append("runtime %d%s\n" % (serial, " closing" if closing else ""))
            for fid, name, state, wait, sp, fn in reg.fibers(table, capacity):
                out.append('  %d "%s" %s fn=%s\n' % (fid - id_base, names.string(name),
                                                     _state_text(state, wait), names.symbol(fn)))
                if len(out) >= 4096:
                    gdb.write("".join(out))
                    out = []
        gdb.write("".join(out))


def _find_fiber(reg, spec):
    serial_want = None
    if "." in spec:
        serial_text, spec = spec.split(".", 1)
        serial_want = int(serial_text)
    want = int(spec)
    found = []
    for serial, id_base, closing, table, capacity in reg.runtimes():
        if serial_want is not None and serial != serial_want:
            continue
        for fid, name, state, wait, sp, fn in reg.fibers(table, capacity):
            if fid - id_base == want:
                found.append((serial, state, wait, sp))
    if not found:
        raise gdb.GdbError("async: no fiber %s" % spec)
    if len(found) > 1:
        raise gdb.GdbError("async: fiber %s is in several runtimes (%s): say SERIAL.ID"
                           % (spec, ", ".join(str(f[0]) for f in found)))
    return found[0]


# (stack pointer, frame pointer, program counter) register names per
# debug_registry ctx_arch.
ARCH_REGS = {1: ("rsp", "rbp", "rip"), 2: ("sp", "x29", "pc")}


class _FrameId:
    def __init__(self, sp, pc):
        self.sp = sp
        self.pc = pc


class FiberUnwinder(gdb.unwinder.Unwinder):
    """While `fiber bt` runs: the caller of the selected thread's newest frame
    is made the fiber's innermost frame, as the switch would resume it. An
    unwinder only tells gdb where registers were saved, so it works on a core
    file (whose registers cannot be written) as on a live process (whose
    registers stay untouched)."""

    def __init__(self):
        super().__init__("async fiber")
        self.regs = None  # (names, {name: value}) while active

    def __call__(self, pending_frame):
        if self.regs is None or pending_frame.level() != 0:
            return None
        names, values = self.regs
        sp = pending_frame.read_register(names[0])
        pc = pending_frame.read_register(names[2])
        # gdb stops at a caller whose frame lies below its callee's ("inner
        # to this frame"), and the fiber's stack may lie anywhere: frame 0
        # says it lies just below the fiber's innermost frame.
        info = pending_frame.create_unwind_info(_FrameId(gdb.Value(values[names[0]] - 16).cast(sp.type), pc))
        for name in names:
            info.add_saved_register(name, gdb.Value(values[name]).cast(pc.type if name == names[2] else sp.type))
        return info


_unwinder = FiberUnwinder()
gdb.unwinder.register_unwinder(None, _unwinder, replace=True)


def _frame_line(level, frame):
    pc = frame.pc()
    name = frame.name() or "??"
    where = gdb.solib_name(pc)
    return "#%-2d 0x%016x in %s ()%s\n" % (level, pc, name, " from " + where if where else "")


class FiberPrefix(gdb.Command):
    """Commands on one fiber: fiber bt ID."""

    def __init__(self):
        super().__init__("fiber", gdb.COMMAND_STACK, prefix=True)

    def invoke(self, arg, from_tty):
        raise gdb.GdbError("usage: fiber bt ID")


class FiberBt(gdb.Command):
    """fiber bt ID: the backtrace of a parked fiber, from its saved context."""

    def __init__(self):
        super().__init__("fiber bt", gdb.COMMAND_STACK)

    def invoke(self, arg, from_tty):
        argv = gdb.string_to_argv(arg)
        if len(argv) != 1:
            raise gdb.GdbError("usage: fiber bt ID")
        reg = Registry()
        o = reg.off
        serial, state, wait, sp = _find_fiber(reg, argv[0])
        if state == RUNNING:
            raise gdb.GdbError("async: fiber %s is running: `bt` on its thread shows it" % argv[0])
        if sp == 0:
            raise gdb.GdbError("async: fiber %s has not started: no stack yet" % argv[0])
        names = ARCH_REGS.get(o[CTX_ARCH])
        if names is None:
            raise gdb.GdbError("async: unknown architecture %d" % o[CTX_ARCH])
        # The switch returns to the saved return address with the stack
        # pointer past its frame (x86_64: the return address is the frame's
        # last slot; arm64 restores sp past the whole frame).
        values = {names[0]: sp + o[CTX_FRAME_SIZE], names[1]: _ptr(reg.inf, sp + o[CTX_RBP]),
                  names[2]: _ptr(reg.inf, sp + o[CTX_RET])}
        _unwinder.regs = (names, values)
        gdb.invalidate_cached_frames()
        try:
            frame = gdb.newest_frame().older()  # frame 0 is the thread's own
            level = 0
            out = []
            while frame is not None and level < 256:
                out.append(_frame_line(level, frame))
                frame = frame.older()
                level += 1
            gdb.write("".join(out))
        finally:
            _unwinder.regs = None
            gdb.invalidate_cached_frames()


InfoFibers()
FiberPrefix()
FiberBt()
