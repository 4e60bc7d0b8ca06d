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
# The output is the plain tree of abt::taskdump_tree(false), with the same
# rule for deep trees (lines are indented for 32 levels at most; a deeper
# line carries "[depth N]"); --group merges identical tasks and sibling
# subtrees ([×N]); --json gives the JSON of taskdump_json() (format_version
# 2: flat frames with depths; ungrouped, with wait times and ages: relative
# to now for a live process; for a core file, to when it was written (its
# file's time, placed on the program's clock by the clock pair the header
# keeps; without one, 0.2 builds, to the newest event recorded in the core);
# names and tags are not read). Unreadable memory (a torn registry in a core
# taken mid-update, a freed frame) is marked "[unreadable ...]" in its place
# and the walk goes on with every frame whose address it still knows (in
# JSON, such a task's view is "unreadable" and its "unreadable" lists why).
#
# Like the header, the tool never recurses over a tree: a task may be
# hundreds of thousands of frames deep (a recursive async walk). Each task
# is read into a flat list of nodes, depth first, each parent before its
# children, with its depth; every pass (grouping, the writers) is a loop
# over such lists. A frame costs one read of the inferior's memory (its
# fields in one piece); each site record is read once. 200,000 frames take
# about 2 s. Standard library and gdb only.

import json
import os
import re
import struct
import time

import gdb

MAGIC = 0x41425431
LAYOUT_VERSION = 1
MAX_FRAMES = 20_000_000  # per command: a torn list that never ends must not run forever (cycles are found)
INDENT_LEVELS = 32  # the header's indent_levels: deeper lines get "[depth N]"
TEE, CORNER, PIPE = "\u251c", "\u2514", "\u2502  "


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

    def string(self, address, limit=4096):
        """A NUL-terminated string: 64 bytes at a time, byte by byte where a chunk is unreadable (the end of a
        mapping)."""
        if address == 0:
            return ""
        out = bytearray()
        while len(out) < limit:
            try:
                chunk = self.bytes(address + len(out), 64)
            except Unreadable:
                chunk = self.bytes(address + len(out), 1)
            end = chunk.find(b"\0")
            if end >= 0:
                out += chunk[:end]
                return out.decode("utf-8", "replace")
            out += chunk
        return out.decode("utf-8", "replace") + "..."


class Layout:
    """abt_debug_layout, field by field (see debug_layout in the header)."""

    FIELDS = ["registry_tasks", "registry_threads", "thread_next", "thread_roots", "frame_site_record",
              "frame_first_child", "frame_next_sibling", "frame_wait", "frame_wait_since", "frame_task_id",
              "site_function", "site_file", "site_line", "site_function_id", "frame_born"]
    FRAME_FIELDS = ["frame_site_record", "frame_first_child", "frame_next_sibling", "frame_wait", "frame_wait_since",
                    "frame_task_id", "frame_born"]

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
        # Since 0.3.0: the registry's pair of clock readings (see clock_pair).
        self.clock_fields = None
        if self.library_version >= 300:
            self.clock_fields = struct.unpack("<III", mem.bytes(address + 32 + 4 * len(self.FIELDS), 12))
        # A frame's fields are read in one piece: from the first to the end of the last.
        offsets = [getattr(self, name) for name in self.FRAME_FIELDS]
        self.frame_start = min(offsets)
        self.frame_size = max(offsets) + 8 - self.frame_start


class Record:
    """A frame's fields as read from memory (`site` is an Unreadable when its pointer could not be read)."""
    __slots__ = ("site", "first_child", "next_sibling", "wait", "wait_since", "task_id", "born")


class Node:
    """A line of the tree: a frame (file is None when its site could not be read), or a note (`note` set)."""
    __slots__ = ("depth", "function", "file", "line", "state", "await_", "wait_since", "count", "note")

    def __init__(self, depth, note=None):
        self.depth, self.note, self.count = depth, note, 1
        self.function, self.file, self.line, self.state, self.await_, self.wait_since = None, None, 0, "running", \
            None, None

    def key(self):
        """What makes two nodes alike for grouping (not times)."""
        if self.note is not None:
            return ("note", self.note)
        return (self.function, self.file, self.line, self.state, self.await_)


class Task:
    """One task: its nodes depth first (nodes[0] is the root), or a group of identical tasks (count)."""
    __slots__ = ("ids", "count", "born", "view", "nodes", "errors")

    def __init__(self, task_id, born, view, nodes, errors=()):
        self.ids, self.count, self.born, self.view, self.nodes, self.errors = [task_id], 1, born, view, nodes, \
            list(errors)


def subtree_ends(nodes):
    """For each node, the index one past its subtree (from the depths alone)."""
    ends = [len(nodes)] * len(nodes)
    open_ = []
    for i, n in enumerate(nodes):
        while open_ and nodes[open_[-1]].depth >= n.depth:
            ends[open_.pop()] = i
        open_.append(i)
    return ends


class Dumper:
    def __init__(self):
        self.mem = Memory()
        self.layout = Layout(self.mem)
        self.frames_read = 0
        self.sites = {}  # address -> (function, file, line, function_id) or Unreadable: records never change

    # ---- reading ----
    def record(self, address):
        """A frame's fields, in one read where possible; Unreadable when the links or the wait cannot be read."""
        L, m = self.layout, self.mem
        self.frames_read += 1
        if self.frames_read > MAX_FRAMES:
            raise Unreadable("more than %d frames read: a torn list that does not end?" % MAX_FRAMES)
        try:
            block = m.bytes(address + L.frame_start, L.frame_size)
        except Unreadable:
            block = None

        def get(offset):
            if block is None:  # field by field, so that the message names the field that is unreadable
                return m.u64(address + offset)
            return struct.unpack_from("<Q", block, offset - L.frame_start)[0]

        r = Record()
        r.first_child, r.next_sibling, r.wait = get(L.frame_first_child), get(L.frame_next_sibling), get(L.frame_wait)
        try:
            r.site = get(L.frame_site_record)
        except Unreadable as e:
            r.site = e
        for name, offset in (("wait_since", L.frame_wait_since), ("task_id", L.frame_task_id),
                             ("born", L.frame_born)):
            try:
                setattr(r, name, get(offset))
            except Unreadable:
                setattr(r, name, 0)
        return r

    def site(self, address):
        if isinstance(address, Unreadable):
            raise address
        cached = self.sites.get(address)
        if cached is None:
            L, m = self.layout, self.mem
            try:
                cached = (m.string(m.u64(address + L.site_function)), m.string(m.u64(address + L.site_file)),
                          m.u32(address + L.site_line), m.u64(address + L.site_function_id))
            except Unreadable as e:
                cached = e
            self.sites[address] = cached
        if isinstance(cached, Unreadable):
            raise cached
        return cached

    def node(self, address, r, depth):
        n = Node(depth)
        try:
            n.function, n.file, n.line, function_id = self.site(r.site)
        except Unreadable as e:
            n.function, function_id = "[unreadable frame 0x%x: %s]" % (address, e), 1
        if r.wait != 0:
            n.state = "suspended" if function_id != 0 else "idle"
            n.wait_since = r.wait_since
            if r.wait != self.layout.no_await_site:
                try:
                    w = self.site(r.wait)
                    n.await_ = (w[1], w[2], w[0] if w[3] == 0 else "")
                except Unreadable as e:
                    n.await_ = ("[unreadable site 0x%x: %s]" % (r.wait, e), None, "")
        return n

    def task(self, root, r, published):
        """The task whose root is at `root` (record r). Depth first with a stack of the open frames' next
        siblings; a frame that cannot be read becomes a note in its place, and the walk goes on with the next
        frame whose address is known. A task with a running frame is shown as its root and [running]."""
        task_id, born = r.task_id, r.born
        nodes, errors, running = [], [], not published  # a thread's running root: only the root is stable
        seen = {root}
        after_open = []  # per open frame below the root: its next sibling (0: none)
        address, depth = root, 0
        while True:
            if r is not None:
                nodes.append(self.node(address, r, depth))
                running = running or r.wait == 0
                after = r.next_sibling if depth != 0 else 0  # a root's siblings are other tasks
                if r.first_child != 0 and published:
                    after_open.append(after)
                    address, depth = r.first_child, depth + 1
                else:
                    address = after
            else:
                address = 0
            while address == 0 and after_open:
                address = after_open.pop()
                depth -= 1
            if address == 0:
                break
            try:
                if address in seen:
                    raise Unreadable("0x%x is listed twice: a cycle in a torn list" % address)
                seen.add(address)
                r = self.record(address)
            except Unreadable as e:
                nodes.append(Node(depth, "[unreadable: %s]" % e))
                errors.append(str(e))
                r = None
        if running:
            root_node = nodes[0]
            root_node.state, root_node.await_, root_node.wait_since = "running", None, None
            return Task(task_id, born, "running", [root_node, Node(1, "[running]")])
        return Task(task_id, born, "unreadable" if errors else "whole", nodes, errors)

    def tasks(self):
        """Every task (published ones in the registry's order, then the threads' running roots), and the
        error that ended the registry's lists early (None)."""
        L, m = self.layout, self.mem
        result = []
        try:
            roots_seen = set()
            root = m.u64(L.registry + L.registry_tasks + L.frame_first_child)
            while root != 0:
                if root in roots_seen:
                    raise Unreadable("0x%x is listed twice: a cycle in a torn list" % root)
                roots_seen.add(root)
                r = self.record(root)
                if r.site != 0:  # else a dump's cursor (the inferior was stopped inside a dump)
                    result.append(self.task(root, r, True))
                root = r.next_sibling
            thread = m.u64(L.registry + L.registry_threads)
            threads_seen = set()
            while thread != 0 and thread not in threads_seen:
                threads_seen.add(thread)
                root = m.u64(thread + L.thread_roots + L.frame_first_child)
                while root != 0 and root not in roots_seen:
                    roots_seen.add(root)
                    r = self.record(root)
                    result.append(self.task(root, r, False))
                    root = r.next_sibling
                thread = m.u64(thread + L.thread_next)
        except Unreadable as e:
            return result, "[unreadable registry list: %s; the tasks above were read]" % e
        return result, None


# ---- grouping: identical sibling subtrees, then identical tasks ----------------

def group_nodes(nodes, shapes):
    """Merges identical sibling subtrees (anywhere among their siblings) into the first of them, bottom up over
    the flat list; returns the kept nodes and the root's shape. A shape is a small number interned in `shapes`
    from the node's own key and its children's (shape, count) pairs, so keys do not grow with depth."""
    ends = subtree_ends(nodes)
    removed = bytearray(len(nodes))
    shape = [0] * len(nodes)
    for i in range(len(nodes) - 1, -1, -1):
        first = {}  # shape -> its first child
        c = i + 1
        while c < ends[i]:
            s = shape[c]
            if s in first:
                nodes[first[s]].count += nodes[c].count
                removed[c] = 1
            else:
                first[s] = c
            c = ends[c]
        key = (nodes[i].key(), tuple(sorted((s, nodes[k].count) for s, k in first.items())))
        shape[i] = shapes.setdefault(key, len(shapes))
    kept, i = [], 0
    while i < len(nodes):
        if removed[i]:
            i = ends[i]  # with its subtree
        else:
            kept.append(nodes[i])
            i += 1
    return kept, shape[0] if nodes else -1


def group_tasks(tasks):
    """Identical tasks (the same view and tree) as one, largest groups first."""
    shapes, index, groups = {}, {}, []
    for t in tasks:
        t.nodes, root_shape = group_nodes(t.nodes, shapes)
        key = (t.view, root_shape)
        if key in index:
            g = groups[index[key]]
            g.count += t.count
            g.ids += t.ids
        else:
            index[key] = len(groups)
            groups.append(t)
    groups.sort(key=lambda g: -g.count)  # stable: first seen first among equals
    return groups


# ---- writers ------------------------------------------------------------------

def depth_marker(depth):
    return "[depth %d] " % depth if depth > INDENT_LEVELS else ""


def tree_text(tasks, error):
    """The text of taskdump_tree(false) (or of a grouped dump without ids and times, as [×N] counts show)."""
    out = []
    for t in tasks:
        nodes = t.nodes
        ends = subtree_ends(nodes)
        prefixes = ["", "  "]  # prefixes[d]: what comes before the connector of the next node at depth d
        for i, n in enumerate(nodes):
            d = n.depth
            if d == 0:
                prefix = connector = ""
                count = t.count
            else:
                last = ends[i] == len(nodes) or nodes[ends[i]].depth < d
                prefix, connector, count = prefixes[d], CORNER if last else TEE, n.count
                del prefixes[d + 1:]
                prefixes.append(prefix + ("   " if last else PIPE) if d < INDENT_LEVELS else prefix)
            if n.note is not None:
                out.append("%s%s\u2508 %s%s\n" % (prefix, connector, depth_marker(d), n.note))
                continue
            text = "%s%s\u257c %s%s%s" % (prefix, connector, depth_marker(d), "[\u00d7%d] " % count if count > 1
                                          else "", n.function)
            if n.file is not None:
                text += " at %s:%d" % (n.file, n.line)
                if d == 0 and t.view == "running":
                    pass  # its state is not stable: the note says [running]
                elif n.state == "running":
                    text += " [running]"
                elif n.await_ is not None:
                    text += " suspended at %s:%s" % (n.await_[0], n.await_[1]) if n.await_[1] is not None else \
                        " suspended at %s" % n.await_[0]
                    if n.await_[2]:
                        text += " (%s)" % n.await_[2]
            out.append(text + "\n")
    if error is not None:
        out.append(error + "\n")
    return "".join(out)


def core_file_path():
    """The core file gdb reads, from `info target` (None for a live process)."""
    try:
        text = gdb.execute("info target", to_string=True)
    except gdb.error:
        return None
    match = re.search(r"Local core dump file:\s*`(.*)', file type", text)
    return match.group(1) if match else None


def clock_pair(dumper):
    """The registry's (coarse monotonic ns, wall ns) pair, taken together by
    the program (registry::clock_sequence in the header), or None."""
    fields = dumper.layout.clock_fields
    if fields is None:
        return None
    try:
        sequence, monotonic, wall = (dumper.mem.u64(dumper.layout.registry + offset) for offset in fields)
    except Unreadable:
        return None
    if sequence == 0 or sequence % 2 == 1:
        return None  # never written, or caught mid-write
    return monotonic, wall


def core_moment(dumper):
    """When the core file was written, on the program's monotonic clock:
    the file's time (its last write) placed on that clock through the
    program's clock pair. None when either is missing."""
    path, pair = core_file_path(), clock_pair(dumper)
    if path is None or pair is None:
        return None
    try:
        written = os.stat(path).st_mtime_ns
    except OSError:
        return None
    monotonic, wall = pair
    return monotonic + (written - wall)


def newest_event(tasks):
    newest = 0
    for t in tasks:
        newest = max(newest, t.born)
        for n in t.nodes:
            if n.wait_since:
                newest = max(newest, n.wait_since)
    return newest


def to_json(tasks, error, live, core_now=None):
    """taskdump_json()'s document, format_version 2: each task's frames flat, depth first, with their depths.
    Times run to now (live), to when the core file was written (core_now), or,
    without the program's clock pair, to the newest event recorded in the core."""
    if live:
        # The header's clock (CLOCK_MONOTONIC_COARSE: 6 on Linux, which Python does not name).
        now, relative_to = time.clock_gettime_ns(getattr(time, "CLOCK_MONOTONIC_COARSE", 6)), "now"
    elif core_now is not None:
        now, relative_to = max(core_now, newest_event(tasks)), "the time the core file was written"
    else:
        now, relative_to = newest_event(tasks), "the newest event recorded in the core file"

    entries = []
    for t in tasks:
        frames = []
        for n in t.nodes:
            if n.note is not None:
                continue  # [running] is the view; [unreadable ...] goes to "unreadable"
            wait = None if n.wait_since is None else max(0, now - n.wait_since)
            frames.append({"depth": n.depth, "function": n.function, "file": n.file or "", "line": n.line,
                           "count": n.count, "state": n.state,
                           "await": None if n.await_ is None else
                           {"file": n.await_[0], "line": n.await_[1] or 0, "what": n.await_[2]},
                           "wait_ns": None if wait is None else {"min": wait, "max": wait},
                           "awaits_task": None, "omitted_frames": 0})
        age = max(0, now - t.born)
        entry = {"ids": t.ids, "count": t.count, "name": "", "tags": {}, "age_ns": {"min": age, "max": age},
                 "view": t.view, "frames": frames}
        if t.errors:
            entry["unreadable"] = t.errors
        entries.append(entry)
    doc = {"format_version": 2, "generator": "tools/abt_gdb.py", "grouped": False,
           "times_relative_to": relative_to,
           "tasks": entries, "omitted_tasks": 0, "cycles": []}
    if error is not None:
        doc["unreadable_registry"] = error
    return json.dumps(doc, ensure_ascii=False) + "\n"


def is_core_file():
    try:
        return "core dump" in gdb.execute("info target", to_string=True)
    except gdb.error:
        return False


class AbtDump(gdb.Command):
    """Print async_backtrace.hpp's task tree (the format of abt::taskdump_tree(false)).
Usage: abt-dump [--json | --group] [--output FILE]
Works on a live process, a stopped program and a core file; runs no code in the inferior.
Lines are indented for 32 levels at most; a deeper frame's line says "[depth N]".
--json     the JSON of abt::taskdump_json() (format_version 2: each task's frames flat, with depths)
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
        tasks, error = dumper.tasks()
        if form == "json":
            live = not is_core_file()
            text = to_json(tasks, error, live, None if live else core_moment(dumper))
        elif form == "group":
            text = tree_text(group_tasks(tasks), error)
        else:
            text = tree_text(tasks, error)
        if output is None:
            gdb.write(text)
        else:
            with open(output, "w", encoding="utf-8") as f:
                f.write(text)


AbtDump()
