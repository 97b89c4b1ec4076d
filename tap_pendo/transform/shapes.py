"""dict -> dict by a table of per-name entries, compiled into straight-line code per row
shape: the fast path of the transform."""

from typing import Callable, NamedTuple, Optional

from ..timefmt import SECONDS_TEXT, TimeTexts
from .values import DateTime, RepeatingDateTime, Unconvertible

MAX_ROW_SHAPES = 256  # compiled functions per mapper; rarer shapes take the plain path
MAX_SEEN_SHAPES = 4096
COMPILE_AFTER = 16  # rows of one shape before it is compiled


class Copy:
    """The `fast_type` of an entry whose value is copied as it is, whatever it is."""


class Entry(NamedTuple):
    """What becomes of one input name.

    A value of `fast_type` becomes `fast(value)` (stays as it is when `fast` is
    None; DateTime: epoch ms to RFC3339), any other value goes through `convert`.
    """

    column: str
    fast_type: type
    fast: Optional[object]
    convert: Optional[Callable]


SKIP = None  # the entry of a name that is not a selected column


class ShapeMapper:
    """Maps rows by `entry_for(name) -> Entry or SKIP`, memoized per name.

    Pendo sends the rows of one source with the same keys, so the mapper compiles
    straight-line code per key shape once a shape has come COMPILE_AFTER times;
    until then (and for rare shapes) rows take `plainly`, which gives the same
    records. Names reach the generated source only as repr literals; functions
    are passed in, not spelled. The mapper owns its caches: entries, compiled
    shapes, and the RFC3339 texts of its times.
    """

    def __init__(self, entry_for: Callable, times: Optional[TimeTexts] = None):
        self._entry_for = entry_for
        self._times = times or TimeTexts()
        self._entries: dict = {}
        self._compiled: dict = {}
        self._seen: dict = {}  # key shape -> rows of it mapped without compiling
        # The last compiled shape of each length. Rows of one source come in a few shapes,
        # told apart by their length; the compiled code looks its names up, and a row of
        # another shape of that length (a missing name) takes `_by_shape`.
        self._by_length: dict = {}
        self.map = self._make_map()

    def entry(self, name: str) -> Optional[Entry]:
        """The memoized entry of one input name."""
        if name in self._entries:
            return self._entries[name]
        entry = self._entries[name] = self._entry_for(name)
        return entry

    def __call__(self, row: dict) -> dict:
        return self.map(row)

    def _make_map(self) -> Callable:
        """The mapping as a closure: the fastest call for the hot loop."""
        by_length = self._by_length
        by_shape = self._by_shape

        def map_row(row: dict) -> dict:
            compiled = by_length.get(len(row))
            if compiled is not None:
                return compiled(row)
            return by_shape(row)

        return map_row

    def _by_shape(self, row: dict) -> dict:
        return self._find(tuple(row))(row)

    def _find(self, keys: tuple) -> Callable:
        """The function that maps rows of this shape: compiled once the shape recurs."""
        compiled = self._compiled.get(keys)
        if compiled is None:
            # Compiling costs as much as mapping a hundred rows: only for shapes that recur.
            seen = self._seen.get(keys, 0) + 1
            if seen < COMPILE_AFTER:
                if len(self._seen) > MAX_SEEN_SHAPES:
                    self._seen.clear()
                self._seen[keys] = seen
                return self.plainly
            compiled = self._compile(keys)
        self._by_length[len(keys)] = compiled
        return compiled

    def _compile(self, keys: tuple) -> Callable:
        if len(self._compiled) >= MAX_ROW_SHAPES or not keys:
            return self.plainly
        times = self._times
        env = {
            "M": times.minutes,
            "S": SECONDS_TEXT,
            "R": times.repeated,
            "r": times.repeating,
            "by_shape": self._by_shape,
        }
        items = []
        for i, name in enumerate(keys):
            entry = self.entry(name)
            if entry is SKIP:
                continue
            env[f"t{i}"], env[f"f{i}"], env[f"c{i}"] = entry.fast_type, entry.fast, entry.convert
            if entry.fast is None:
                value = f"v{i}"
            elif entry.fast is RepeatingDateTime:
                value = f"(R.get(v{i}) or r(v{i}))"
            elif entry.fast is DateTime:
                # Inlined: two calls per row less, a tenth of an event row's cost.
                value = f"M[v{i} // 60000] + S[v{i} % 60000]"
            else:
                value = f"f{i}(v{i})"
            if entry.fast_type is Copy:
                items.append(f"{entry.column!r}: v{i}")
            else:
                items.append(f"{entry.column!r}: {value} if type(v{i}) is t{i} else c{i}(v{i})")
        # Looked up by name, not unpacked by position: a row of the same length but other
        # names misses one and takes the shape's own path; the order of names is free.
        lookups = "".join(f"        v{i} = row[{name!r}]\n" for i, name in enumerate(keys))
        source = (
            f"def compiled(row):\n    try:\n{lookups}    except KeyError:\n"
            f"        return by_shape(row)\n    return {{{', '.join(items)}}}\n"
        )
        exec(source, env)  # noqa: S102 - see the class docstring
        self._compiled[keys] = env["compiled"]
        return env["compiled"]

    def plainly(self, row: dict) -> dict:
        """The same mapping name by name; an Unconvertible names its output column."""
        out = {}
        for name, value in row.items():
            entry = self.entry(name)
            if entry is SKIP:
                continue
            if entry.fast_type is Copy:
                out[entry.column] = value
            elif type(value) is entry.fast_type:
                out[entry.column] = self._fast(entry.fast, value)
            else:
                try:
                    out[entry.column] = entry.convert(value)
                except Unconvertible as error:
                    error.column = entry.column
                    raise
        return out

    def _fast(self, fast, value):
        if fast is None:
            return value
        if fast is RepeatingDateTime:
            return self._times.repeating(value)
        if fast is DateTime:
            return self._times.text(value)
        return fast(value)
