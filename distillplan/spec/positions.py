"""Where each key and value of a TOML document stands (line and column, 1-based).

``tomllib`` parses but forgets positions, so error messages would have nothing to point
at. This scanner walks the same text once more and records, for every key path, the
position of the key and of its value, and for every table the position of its header.
It runs only when there is an error to locate, so the valid-spec path never pays for it.
It is lenient: on text it does not understand it stops and keeps what it found.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

KeyPath = tuple[str | int, ...]
Pos = tuple[int, int]

_BARE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


@dataclass
class Positions:
    keys: dict[KeyPath, Pos] = field(default_factory=dict)
    values: dict[KeyPath, Pos] = field(default_factory=dict)
    tables: dict[KeyPath, Pos] = field(default_factory=dict)
    duplicates: list[tuple[KeyPath, Pos, Pos]] = field(default_factory=list)

    def locate(self, path: KeyPath, *, prefer_value: bool = True) -> Pos:
        """Best position for ``path``: its value or key, else the nearest enclosing
        table header or key, else the top of the file."""
        p = tuple(path)
        while p:
            if prefer_value and p in self.values:
                return self.values[p]
            if p in self.keys:
                return self.keys[p]
            if p in self.tables:
                return self.tables[p]
            p = p[:-1]
        return (1, 1)


class _Scanner:
    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0
        self.n = len(text)
        self.line_starts = [0] + [k + 1 for k, c in enumerate(text) if c == "\n"]
        self.out = Positions()
        self.aot: dict[KeyPath, int] = {}

    def pos(self, i: int) -> Pos:
        line = bisect.bisect_right(self.line_starts, i)
        return (line, i - self.line_starts[line - 1] + 1)

    def peek(self, k: int = 0) -> str:
        j = self.i + k
        return self.s[j] if j < self.n else ""

    def skip_ws(self, newlines: bool = False) -> None:
        while self.i < self.n:
            c = self.s[self.i]
            if c in " \t\r" or (newlines and c == "\n"):
                self.i += 1
            elif c == "#":
                while self.i < self.n and self.s[self.i] != "\n":
                    self.i += 1
            else:
                return

    def skip_line(self) -> None:
        while self.i < self.n and self.s[self.i] != "\n":
            self.i += 1

    def string(self) -> str:
        s, i = self.s, self.i
        if s.startswith('"""', i) or s.startswith("'''", i):
            q = s[i : i + 3]
            j = i + 3
            while j < self.n:
                if s[j] == "\\" and q == '"""':
                    j += 2
                    continue
                if s.startswith(q, j):
                    while j + 3 < self.n and s[j + 3] == q[0]:
                        j += 1  # up to two quotes may end the content
                    self.i = j + 3
                    return s[i + 3 : j]
                j += 1
            raise ValueError("unterminated string")
        q = s[i]
        j = i + 1
        buf: list[str] = []
        while j < self.n and s[j] != q and s[j] != "\n":
            if q == '"' and s[j] == "\\" and j + 1 < self.n:
                nxt = s[j + 1]
                buf.append({"n": "\n", "t": "\t", '"': '"', "\\": "\\"}.get(nxt, nxt))
                j += 2
                continue
            buf.append(s[j])
            j += 1
        if j >= self.n or s[j] != q:
            raise ValueError("unterminated string")
        self.i = j + 1
        return "".join(buf)

    def key(self) -> list[tuple[str, Pos]]:
        parts: list[tuple[str, Pos]] = []
        while True:
            self.skip_ws()
            start = self.i
            if self.peek() in ('"', "'"):
                name = self.string()
            else:
                while self.i < self.n and self.s[self.i] in _BARE:
                    self.i += 1
                name = self.s[start : self.i]
                if not name:
                    raise ValueError("expected a key")
            parts.append((name, self.pos(start)))
            self.skip_ws()
            if self.peek() == ".":
                self.i += 1
                continue
            return parts

    def record_key(self, path: KeyPath, key_pos: Pos) -> None:
        first = self.out.keys.get(path)
        if first is not None:
            self.out.duplicates.append((path, key_pos, first))
        else:
            self.out.keys[path] = key_pos

    def value(self, path: KeyPath) -> None:
        self.out.values.setdefault(path, self.pos(self.i))
        c = self.peek()
        if c in ('"', "'"):
            self.string()
        elif c == "[":
            self.i += 1
            idx = 0
            while True:
                self.skip_ws(newlines=True)
                if self.peek() == "]":
                    self.i += 1
                    return
                if not self.peek():
                    raise ValueError("unterminated array")
                self.value((*path, idx))
                idx += 1
                self.skip_ws(newlines=True)
                if self.peek() == ",":
                    self.i += 1
        elif c == "{":
            self.i += 1
            while True:
                self.skip_ws()
                if self.peek() == "}":
                    self.i += 1
                    return
                self.keyval(path)
                self.skip_ws()
                if self.peek() == ",":
                    self.i += 1
                elif self.peek() != "}":
                    raise ValueError("bad inline table")
        else:
            start = self.i
            while self.i < self.n and self.s[self.i] not in ",]}#\n":
                self.i += 1
            if self.i == start:
                raise ValueError("expected a value")

    def keyval(self, table: KeyPath) -> None:
        parts = self.key()
        if self.peek() != "=":
            raise ValueError("expected '='")
        self.i += 1
        self.skip_ws()
        path = table
        for name, kpos in parts:
            path = (*path, name)
            self.record_key(path, kpos)
        self.value(path)

    def header_path(self, parts: list[tuple[str, Pos]]) -> KeyPath:
        path: KeyPath = ()
        for name, _ in parts:
            path = (*path, name)
            if path in self.aot:
                path = (*path, self.aot[path] - 1)
        return path

    def run(self) -> Positions:
        while self.i < self.n:
            self.skip_ws(newlines=True)
            if self.i >= self.n:
                break
            start = self.i
            if self.s.startswith("[[", self.i):
                self.i += 2
                parts = self.key()
                base = (*self.header_path(parts[:-1]), parts[-1][0])
                self.aot[base] = self.aot.get(base, 0) + 1
                path = (*base, self.aot[base] - 1)
                self.out.tables.setdefault(base, self.pos(start))
                self.out.tables[path] = self.pos(start)
                self.table = path
            elif self.peek() == "[":
                self.i += 1
                path = self.header_path(self.key())
                if path in self.out.tables:
                    self.out.duplicates.append((path, self.pos(start), self.out.tables[path]))
                self.out.tables[path] = self.pos(start)
                self.table = path
            else:
                self.keyval(getattr(self, "table", ()))
            self.skip_line()
        return self.out


def scan(text: str) -> Positions:
    """Positions of every key, value and table in ``text`` (partial on malformed text)."""
    sc = _Scanner(text)
    try:
        return sc.run()
    except (ValueError, IndexError):
        return sc.out
