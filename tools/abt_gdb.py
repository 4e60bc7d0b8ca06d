# tools/abt_gdb.py - async_backtrace.hpp's task tree from gdb: a live process
# (gdb -p PID), a stopped program, or a core file. It never calls into the
# inferior: it reads the registry through the symbol `abt_debug_layout`,
# which the header exports with C linkage, and the byte offsets recorded
# there (no type information needed, so a build without -g works too, and a
# change of the header's internals does not break it).
#
#   (gdb) source tools/abt_gdb.py
#   (gdb) abt-dump
#
# The output is the plain tree of abt::taskdump_tree(false); --group merges
# identical tasks and sibling subtrees ([×N]); --json gives the JSON of
# taskdump_json() (format_version 1, ungrouped, with wait times and ages:
# relative to now for a live process, to the newest recorded event for a
# core file; names and tags are not read). Unreadable
# memory (a torn registry in a core taken mid-update, a freed frame) is
# marked "[unreadable ...]" and the walk goes on with what it can read.
# Standard library and gdb only.

import json
import struct
import time

import gdb

MAGIC = 0x41425431
LAYOUT_VERSION = 1
MAX_FRAMES = 1_000_000  # a cycle in a torn list must not loop forever


class Unreadable(Exception):
    pass


class Memory:
    """Reads the inferior's memory; every failure becomes Unreadable."""

    def __init__(self):
        self.inferior = gdb.selected_inferior()

    def bytes(self, address, size):
        if address == 0:
            raise Unreadable("null pointer")
        try:
            return bytes(self.inferior.read_memory(address, size))
        except (gdb.MemoryError, gdb.error) as e:
            raise Unreadable("0x%x: %s" % (address, e))

    def u32(self, address):
        return struct.unpack("<I", self.bytes(address, 4))[0]

    def u64(self, address):
        return struct.unpack("<Q", self.bytes(address, 8))[0]

    def pointer(self, address):
        return self.u64(address)

    def string(self, address, limit=4096):
        if address == 0:
            return ""
        out = bytearray()
        while len(out) < limit:
            chunk = self.bytes(address + len(out), 64) if self._readable(address + len(out), 64) else \
                self.bytes(address + len(out), 1)
            end = chunk.find(b"\0")
            if end >= 0:
                out += chunk[:end]
                return out.decode("utf-8", "replace")
            out += chunk
        return out.decode("utf-8", "replace") + "..."

    def _readable(self, address, size):
        try:
            self.inferior.read_memory(address, size)
            return True
        except (gdb.MemoryError, gdb.error):
            return False


class Layout:
    """abt_debug_layout, field by field (see debug_layout in the header)."""

    FIELDS = ["registry_tasks", "registry_threads", "thread_next", "thread_roots", "frame_site_record",
              "frame_first_child", "frame_next_sibling", "frame_wait", "frame_wait_since", "frame_task_id",
              "site_function", "site_file", "site_line", "site_function_id", "frame_born"]

    def __init__(self, mem):
        try:
            address = int(gdb.parse_and_eval("(unsigned long)&abt_debug_layout"))
        except gdb.error:
            raise gdb.GdbError("abt-dump: no symbol abt_debug_layout: this program does not include "
                               "async_backtrace.hpp with ABT_ENABLED 1 (or its symbols are stripped)")
        magic, version, pointer_size, self.library_version = struct.unpack("<IIII", mem.bytes(address, 16))
        if magic != MAGIC:
            raise gdb.GdbError("abt-dump: abt_debug_layout has magic 0x%x, expected 0x%x" % (magic, MAGIC))
        if version != LAYOUT_VERSION or pointer_size != 8:
            raise gdb.GdbError("abt-dump: layout version %d with %d-byte pointers; this script reads version %d "
                               "with 8-byte pointers: use the script of the header's version" %
                               (version, pointer_size, LAYOUT_VERSION))
        self.registry, self.no_await_site = struct.unpack("<QQ", mem.bytes(address + 16, 16))
        values = struct.unpack("<%dI" % len(self.FIELDS), mem.bytes(address + 32, 4 * len(self.FIELDS)))
        for name, value in zip(self.FIELDS, values):
            setattr(self, name, value)


class Dumper:
    def __init__(self):
        self.mem = Memory()
        self.layout = Layout(self.mem)
        self.frames_read = 0
        self.out = []

    # ---- reading ----
    def children(self, parent):
        """The frames linked below `parent` (a frame or a list sentinel)."""
        L, m = self.layout, self.mem
        child = m.pointer(parent + L.frame_first_child)
        while child != 0:
            self.frames_read += 1
            if self.frames_read > MAX_FRAMES:
                raise Unreadable("more than %d frames: a cycle in a torn list" % MAX_FRAMES)
            yield child
            child = m.pointer(child + L.frame_next_sibling)

    def site(self, address):
        L, m = self.layout, self.mem
        return {
            "function": m.string(m.pointer(address + L.site_function)),
            "file": m.string(m.pointer(address + L.site_file)),
            "line": m.u32(address + L.site_line),
            "function_id": m.pointer(address + L.site_function_id),
        }

    def frame(self, address):
        L, m = self.layout, self.mem
        return {"site": self.site(m.pointer(address + L.frame_site_record)),
                "wait": m.pointer(address + L.frame_wait)}

    # ---- a model of the tree (for --json and --group) ----
    def node(self, address):
        L, m = self.layout, self.mem
        f = self.frame(address)
        s = f["site"]
        wait = f["wait"]
        n = {"function": s["function"], "file": s["file"], "line": s["line"], "count": 1,
             "state": "running", "await": None, "wait_since": None, "awaits_task": None, "omitted_frames": 0,
             "children": [self.node(c) for c in self.children(address)]}
        if wait != 0:
            n["state"] = "suspended" if s["function_id"] != 0 else "idle"
            n["wait_since"] = m.u64(address + L.frame_wait_since)
            if wait != L.no_await_site:
                w = self.site(wait)
                n["await"] = {"file": w["file"], "line": w["line"],
                              "what": w["function"] if w["function_id"] == 0 else ""}
        return n

    def tasks(self):
        """Every task as a dict like a taskdump_json entry (times still absolute)."""
        L, m = self.layout, self.mem
        result = []

        def one(root, view):
            entry = {"ids": [m.u64(root + L.frame_task_id)], "count": 1, "name": "", "tags": {},
                     "born": m.u64(root + L.frame_born), "view": view}
            try:
                tree = self.node(root)
                if view == "whole" and self.subtree_running(root):
                    entry["view"] = "running"
                if entry["view"] == "running":
                    tree["children"], tree["state"], tree["await"], tree["wait_since"] = [], "running", None, None
            except Unreadable as e:
                entry["view"] = "unreadable"
                tree = {"function": "[unreadable: %s]" % e, "file": "", "line": 0, "count": 1, "state": "running",
                        "await": None, "wait_since": None, "awaits_task": None, "omitted_frames": 0, "children": []}
            entry["root"] = tree
            result.append(entry)

        for root in self.children(L.registry + L.registry_tasks):
            if m.pointer(root + L.frame_site_record) != 0:
                one(root, "whole")
        thread = m.pointer(L.registry + L.registry_threads)
        while thread != 0:
            for root in self.children(thread + L.thread_roots):
                one(root, "running")
            thread = m.pointer(thread + L.thread_next)
        return result

    def subtree_running(self, address):
        """Whether a frame of this subtree runs (its task is then shown as running)."""
        if self.mem.pointer(address + self.layout.frame_wait) == 0:
            return True
        return any(self.subtree_running(c) for c in self.children(address))

    # ---- writing (the format of taskdump_tree(false)) ----
    def frame_line(self, prefix, connector, address, show_state=True):
        try:
            f = self.frame(address)
        except Unreadable as e:
            self.out.append("%s%s\u257c [unreadable frame 0x%x: %s]\n" % (prefix, connector, address, e))
            return
        s = f["site"]
        text = "%s%s\u257c %s at %s:%d" % (prefix, connector, s["function"], s["file"], s["line"])
        if show_state:
            wait = f["wait"]
            if wait == 0:
                text += " [running]"
            elif wait != self.layout.no_await_site:
                try:
                    w = self.site(wait)
                    text += " suspended at %s:%d" % (w["file"], w["line"])
                    if w["function_id"] == 0 and w["function"]:
                        text += " (%s)" % w["function"]
                except Unreadable as e:
                    text += " suspended at [unreadable site 0x%x: %s]" % (wait, e)
        self.out.append(text + "\n")

    def subtree(self, address, indent, last):
        self.frame_line(indent, "\u2514" if last else "\u251c", address)
        kids = list(self.children(address))
        for i, c in enumerate(kids):
            self.subtree(c, indent + ("   " if last else "\u2502  "), i == len(kids) - 1)

    def task(self, root):
        try:
            running = self.subtree_running(root)
        except Unreadable as e:
            self.frame_line("", "", root, show_state=False)
            self.out.append("  \u2514\u2508 [unreadable: %s]\n" % e)
            return
        if running:
            self.frame_line("", "", root, show_state=False)
            self.out.append("  \u2514\u2508 [running]\n")
            return
        self.frame_line("", "", root)
        kids = list(self.children(root))
        for i, c in enumerate(kids):
            self.subtree(c, "  ", i == len(kids) - 1)

    def dump(self):
        L, m = self.layout, self.mem
        try:
            for root in self.children(L.registry + L.registry_tasks):
                if m.pointer(root + L.frame_site_record) == 0:
                    continue  # a dump's cursor (the inferior was stopped inside a dump)
                self.task(root)
            thread = m.pointer(L.registry + L.registry_threads)
            threads_seen = 0
            while thread != 0 and threads_seen < 100000:
                threads_seen += 1
                for root in self.children(thread + L.thread_roots):
                    self.frame_line("", "", root, show_state=False)
                    self.out.append("  \u2514\u2508 [running]\n")
                thread = m.pointer(thread + L.thread_next)
        except Unreadable as e:
            self.out.append("[unreadable registry list: %s; the tasks above were read]\n" % e)
        return "".join(self.out)


def is_core_file():
    try:
        return "core dump" in gdb.execute("info target", to_string=True)
    except gdb.error:
        return False


def newest_event(tasks):
    newest = 0

    def walk(n):
        nonlocal newest
        if n.get("wait_since"):
            newest = max(newest, n["wait_since"])
        for c in n["children"]:
            walk(c)

    for t in tasks:
        newest = max(newest, t["born"])
        walk(t["root"])
    return newest


def to_json(tasks, live):
    # The header's clock (CLOCK_MONOTONIC_COARSE: 6 on Linux, which Python does not name).
    now = time.clock_gettime_ns(getattr(time, "CLOCK_MONOTONIC_COARSE", 6)) if live else newest_event(tasks)

    def finish(n):
        since = n.pop("wait_since")
        n["wait_ns"] = None if since is None else {"min": max(0, now - since), "max": max(0, now - since)}
        for c in n["children"]:
            finish(c)

    for t in tasks:
        age = max(0, now - t.pop("born"))
        t["age_ns"] = {"min": age, "max": age}
        finish(t["root"])
    doc = {"format_version": 1, "generator": "tools/abt_gdb.py", "grouped": False, "omitted_tasks": 0,
           "times_relative_to": "now" if live else "the newest event recorded in the core file",
           "tasks": tasks, "cycles": []}
    return json.dumps(doc, ensure_ascii=False) + "\n"


def signature(n):
    kids = sorted(signature(c) + "*%d" % c["count"] for c in n["children"])
    w = n["await"] or {}
    return "%s|%s|%s|%s|%s:%s(%s)" % (n["function"], n["file"], n["line"], n["state"], w.get("file"), w.get("line"),
                                     ";".join(kids))


def group(nodes):
    """Identical nodes (same signature) as one with a count, first seen first."""
    merged, index = [], {}
    for n in nodes:
        n["children"] = group(n["children"])
        key = signature(n)
        if key in index:
            merged[index[key]]["count"] += n["count"]
        else:
            index[key] = len(merged)
            merged.append(n)
    return merged


def grouped_text(tasks):
    for t in tasks:
        t["root"]["view"] = t["view"]
    roots = group([t["root"] for t in tasks])
    roots.sort(key=lambda n: -n["count"])
    out = []

    def line(prefix, connector, n, show_state=True):
        count = "[\u00d7%d] " % n["count"] if n["count"] > 1 else ""
        text = "%s%s\u257c %s%s at %s:%d" % (prefix, connector, count, n["function"], n["file"], n["line"])
        if show_state:
            if n["state"] == "running":
                text += " [running]"
            elif n["await"] is not None:
                text += " suspended at %s:%d" % (n["await"]["file"], n["await"]["line"])
                if n["await"]["what"]:
                    text += " (%s)" % n["await"]["what"]
        out.append(text + "\n")

    def subtree(n, indent, last):
        line(indent, "\u2514" if last else "\u251c", n)
        for i, c in enumerate(n["children"]):
            subtree(c, indent + ("   " if last else "\u2502  "), i == len(n["children"]) - 1)

    for r in roots:
        if r["view"] != "whole":
            line("", "", r, show_state=False)
            out.append("  \u2514\u2508 [%s]\n" % r["view"])
            continue
        line("", "", r)
        for i, c in enumerate(r["children"]):
            subtree(c, "  ", i == len(r["children"]) - 1)
    return "".join(out)


class AbtDump(gdb.Command):
    """Print async_backtrace.hpp's task tree (the format of abt::taskdump_tree(false)).
Usage: abt-dump [--json | --group] [--output FILE]
Works on a live process, a stopped program and a core file; runs no code in the inferior.
--json     the JSON of abt::taskdump_json() (format_version 1)
--group    identical tasks and sibling subtrees merged, with counts ([\u00d7N])
--output FILE writes to FILE instead of the terminal."""

    def __init__(self):
        super().__init__("abt-dump", gdb.COMMAND_DATA)

    def invoke(self, argument, from_tty):
        args = gdb.string_to_argv(argument)
        output, form = None, "tree"
        while args:
            option = args.pop(0)
            if option == "--output" and args:
                output = args.pop(0)
            elif option in ("--json", "--group"):
                form = option[2:]
            else:
                raise gdb.GdbError("abt-dump: unknown argument %r; usage: abt-dump [--json | --group] [--output FILE]"
                                   % option)
        dumper = Dumper()
        if form == "json":
            text = to_json(dumper.tasks(), live=not is_core_file())
        elif form == "group":
            text = grouped_text(dumper.tasks())
        else:
            text = dumper.dump()
        if output is None:
            gdb.write(text)
        else:
            with open(output, "w", encoding="utf-8") as f:
                f.write(text)


AbtDump()
