"""A block as read: its keywords' values in typed attributes, completed by the section's post().

Each section module declares one `Section` subclass per keepalived block (ExaBGP's
configuration sections are the model): the attributes are the keywords the block owns, typed
as the walker converts them (keywords.txt keeps arity, range, alias and messages), and
`post()` completes them into the frozen model with keepalived's defaults and checks. The
walker sets only declared attributes, so a keyword a section does not declare is one nobody
reads (tests/config/test_sections.py holds the table and the classes to each other).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, NamedTuple

from pykeepalived.config.diagnostics import Loc

if TYPE_CHECKING:
    from pykeepalived.config.model import Script
    from pykeepalived.config.sections.completion import Completion

REGISTRY: dict[str, type[Section]] = {}  # keywords.txt section -> its class


class Entry(NamedTuple):
    """One line of a value block (`virtual_ipaddress { ... }`): its words and where."""

    words: tuple[str, ...]
    loc: Loc


class Section:
    """The values of one block; a subclass per section, registered by its `SECTION` name."""

    SECTION: ClassVar[str] = ""
    FIELDS: ClassVar[frozenset[str]] = frozenset()  # the attributes the walker may set
    LISTS: ClassVar[tuple[str, ...]] = ()  # the blocks and value blocks it holds (Sequence[...])

    args: tuple[str, ...]
    loc: Loc
    end_line: int
    locs: dict[str, Loc]  # attribute -> the line that set it

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        annotations: dict[str, str] = {}
        for klass in reversed(cls.__mro__):
            if klass is not Section and issubclass(klass, Section):
                # not inspect.get_annotations: that import costs -t ~5 ms
                annotations.update(klass.__dict__.get("__annotations__", {}))  # noqa: RUF063
        cls.FIELDS = frozenset(n for n, t in annotations.items() if not t.startswith("ClassVar"))
        cls.LISTS = tuple(n for n, t in annotations.items() if t.startswith("Sequence["))
        for name in cls.LISTS:
            # none written: an empty tuple shared by every instance; the walker's add() gives
            # an instance its own list at the first item (10,000 real servers would otherwise
            # each allocate a list per checker kind)
            setattr(cls, name, ())
        if cls.SECTION:
            REGISTRY[cls.SECTION] = cls

    def __init__(self, args: tuple[str, ...], loc: Loc, end_line: int) -> None:
        self.args = args
        self.loc = loc
        self.end_line = end_line
        self.locs = {}

    def set(self, attr: str, value: object, loc: Loc) -> None:
        """Store a keyword's value and the line that set it; a keyword the section does not
        declare is nobody's: checked by the walker, then dropped here."""
        if attr in self.FIELDS:
            setattr(self, attr, value)
            self.locs[attr] = loc

    def own(self, attr: str) -> list[object]:
        """This instance's own list for a block or value-block attribute (the walker fills
        it; a value block written empty still gets one)."""
        items: list[object] | None = self.__dict__.get(attr)
        if items is None:
            items = self.__dict__[attr] = []
        return items

    def add(self, attr: str, item: object) -> None:
        self.own(attr).append(item)

    def keyword_script(self, cx: Completion, attr: str, kind: str = "notify") -> Script | None:
        """The script keyword ATTR of this block (`COMMAND [USER [GROUP]]`), read at the line
        that wrote it; None when it was not written. A mistyped ATTR fails every load."""
        w: tuple[str, ...] | None = getattr(self, attr)
        return cx.script(w, self.where(attr), kind) if w else None

    def where(self, attr: str) -> Loc:
        """The line that set `attr`, else the block's own line (where keepalived reports)."""
        return self.locs.get(attr, self.loc)

    @property
    def end(self) -> Loc:
        """The block's closing brace: where keepalived reports what a block lacks."""
        return Loc(self.loc.file, self.end_line)

    def merge(self, other: Section) -> None:
        """keepalived reads a repeated block (global_defs) as one: later values win, lists
        grow."""
        for name in other.FIELDS:
            value = getattr(other, name)
            if name in self.LISTS:
                for item in value:
                    self.add(name, item)
            elif value is not None:
                setattr(self, name, value)
        self.locs.update(other.locs)
