"""Find migration files, parse their names and header directives, checksum them.

Loading never parses SQL: it reads each file once for its checksum and header, so that
``sqlmigrate_status`` on thousands of files costs little more than reading them.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import itertools
import operator
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from .frozen import Frozen, builder, frozen_dataclass
from .problems import Problem

FILE_NAME_PATTERN = "NNN-kebab-description.sql"
FILE_NAME_RE = re.compile(r"(?P<number>[0-9]+)-(?P<slug>[a-z0-9]+(?:-[a-z0-9]+)*)\.sql")
DOWN_SUFFIX = ".down.sql"
# The history table's version column (models.SchemaMigration.version) holds this many characters.
MAX_VERSION_LENGTH = 255
CHECKSUM_PREFIX = "sha256:"

DIRECTIVE_RE = re.compile(rb"--\s*sqlmigrate\s*:(?P<rest>.*)")
NO_TRANSACTION = "no-transaction"
ALLOW_EMPTY = "allow-empty"
DEPENDS_ON = "depends-on"
FLAG_DIRECTIVES = frozenset({NO_TRANSACTION, ALLOW_EMPTY})
# app.0002_name: a Django migration; app:003-kebab-name: an app's SQL migration.
DEPENDENCY_RE = re.compile(
    r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+|:[0-9]+-[a-z0-9]+(?:-[a-z0-9]+)*)"
)

# Numbers this far apart are timestamps, not a sequence with gaps.
SEQUENTIAL_LIMIT = 100_000
_UTF8_BOM = codecs.BOM_UTF8
_CHUNK = 1 << 20
# Files up to this size are searched whole for "sqlmigrate" before their header is parsed, and
# read with one read() call.
_HEADER_FAST_PATH = _SMALL_FILE = 1 << 16
_O_BINARY = getattr(os, "O_BINARY", 0)  # Windows


class SourceError(Exception):
    """The file cannot be used as SQL text at all (unreadable, not UTF-8, a NUL byte)."""

    def __init__(self, message: str, line: int | None = None, code: str = "E004") -> None:
        super().__init__(message)
        self.line = line
        self.code = code


def line_and_column(source: bytes, offset: int) -> tuple[int, int]:
    """1-based line and character column of a byte offset, as an editor shows them."""
    line_start = source.rfind(b"\n", 0, offset) + 1
    column = len(source[line_start:offset].decode("utf-8", "replace")) + 1
    return source.count(b"\n", 0, offset) + 1, column


def _nul_byte(source: bytes) -> SourceError:
    """A NUL byte ends a C string: libpq would silently cut the statement at it."""
    line, column = line_and_column(source, source.index(b"\0"))
    return SourceError(
        f"contains a NUL byte (0x00) at line {line}, column {column}. SQL text cannot hold one: "
        "PostgreSQL's and SQLite's client libraries end the statement there, silently, so the "
        "file is refused on every database. Remove it; binary data belongs in a literal such "
        "as X'00' or '\\x00'::bytea.",
        line=line,
        code="E017",
    )


def _unreadable(exc: OSError) -> str:
    from .oserrors import what_to_do

    hint = what_to_do(exc)
    return f"cannot be read: {exc.strerror or exc}." + (f" {hint}" if hint else "")


def check_utf8(raw: bytes) -> None:
    """Raise SourceError at the first invalid byte, without decoding the whole file at once."""
    if raw.isascii():
        return
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(raw)
    for start in range(0, len(raw), _CHUNK):
        try:
            decoder.decode(view[start : start + _CHUNK], final=start + _CHUNK >= len(raw))
        except UnicodeDecodeError as exc:
            offset = start + exc.start
            # The decoder may hold back a partial character from the previous chunk.
            offset = max(0, offset - len(decoder.getstate()[0]))
            line = raw.count(b"\n", 0, offset) + 1
            raise SourceError(
                f"is not valid UTF-8: byte 0x{raw[offset]:02x} at byte offset {offset} "
                f"(line {line}) cannot be decoded. Save the file as UTF-8.",
                line=line,
            ) from None


def normalize(raw: bytes) -> bytes:
    """The text that is checksummed and run: no BOM, LF line breaks (Windows == Linux)."""
    if raw.startswith(_UTF8_BOM):
        raw = raw[len(_UTF8_BOM) :]
    if b"\r" in raw:
        raw = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return raw


def checksum(source: bytes) -> str:
    return CHECKSUM_PREFIX + hashlib.sha256(source).hexdigest()


def read_source(path: str | Path) -> bytes:
    """Read, validate and normalise one migration file.

    In as few system calls and function calls as possible: status reads thousands of files.
    """
    try:
        fd = os.open(path, os.O_RDONLY | _O_BINARY)
        try:
            raw = os.read(fd, _SMALL_FILE)
            if len(raw) == _SMALL_FILE:  # a regular file reads short only at its end
                # A big file: one buffer sized from fstat, never a second copy of it.
                os.lseek(fd, 0, os.SEEK_SET)
                with io.FileIO(fd, closefd=False) as file:
                    raw = file.readall()
        finally:
            os.close(fd)
    except OSError as exc:
        raise SourceError(_unreadable(exc)) from None
    if not raw.isascii():
        check_utf8(raw)
    if b"\r" in raw or raw.startswith(_UTF8_BOM):
        raw = normalize(raw)
    if b"\0" in raw:
        raise _nul_byte(raw)
    return raw


def read_header(path: str | Path) -> bytes:
    """The leading comment block of a file, normalised, without reading the rest of it."""
    lines = []
    try:
        with open(path, "rb") as file:
            for line in file:
                stripped = line.strip()
                if stripped.startswith(_UTF8_BOM):
                    stripped = stripped[len(_UTF8_BOM) :].strip()
                if stripped and not stripped.startswith(b"--"):
                    break
                lines.append(line)
    except OSError as exc:
        raise SourceError(_unreadable(exc)) from None
    return normalize(b"".join(lines))


def version_number(version: str) -> tuple[str | None, int] | None:
    """``(app_label, number)`` of a version as the history stores it, if it has one."""
    label, _, stem = version.rpartition(":")
    digits = stem.partition("-")[0]
    if not (digits.isascii() and digits.isdigit()):
        return None
    return label or None, int(digits)


def _migration_names(
    entries: list[os.DirEntry[str]], is_dir: Callable[[os.DirEntry[str]], bool]
) -> list[str]:
    return [
        name
        for entry in entries
        if (name := entry.name).endswith(".sql") and not name.startswith(".") and not is_dir(entry)
    ]


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def describe(slug: str) -> str:
    """``create-users-table`` -> ``Create users table``."""
    words = slug.replace("-", " ")
    return words[:1].upper() + words[1:]


class Header(NamedTuple):
    flags: frozenset[str] = frozenset()
    depends_on: tuple[str, ...] = ()
    problems: tuple[Problem, ...] = ()


_NO_DIRECTIVES = Header()


def parse_header(source: bytes, path: str | Path) -> Header:
    """Read ``-- sqlmigrate: <directive>`` lines from the comment block at the top of a file."""
    if len(source) <= _HEADER_FAST_PATH and b"sqlmigrate" not in source:
        return _NO_DIRECTIVES  # most files: no directive anywhere (DIRECTIVE_RE is case-sensitive)
    flags: set[str] = set()
    depends_on: list[str] = []
    problems: list[Problem] = []
    position, line_number = 0, 0
    while position < len(source):
        end = source.find(b"\n", position)
        end = len(source) if end == -1 else end
        line = source[position:end].strip()
        position, line_number = end + 1, line_number + 1
        if not line:
            continue
        if not line.startswith(b"--"):
            break
        match = DIRECTIVE_RE.match(line)
        if match is None:
            continue
        words = match["rest"].decode("utf-8", "replace").split()
        directive, arguments = (words[0].lower(), words[1:]) if words else ("", [])
        if directive in FLAG_DIRECTIVES and not arguments:
            flags.add(directive)
        elif directive == DEPENDS_ON and arguments:
            for argument in arguments:
                if DEPENDENCY_RE.fullmatch(argument):
                    depends_on.append(argument)
                else:
                    problems.append(
                        Problem(
                            "E012",
                            "depends-on takes <app_label>.<migration_name> (a Django "
                            "migration) or <app_label>:<version> (an app's SQL migration), "
                            f"got {argument!r}.",
                            hint=(
                                "Examples: -- sqlmigrate: depends-on auth.0012_alter_user, "
                                "-- sqlmigrate: depends-on billing:003-add-invoices"
                            ),
                            path=Path(path),
                            line=line_number,
                        )
                    )
        else:
            known = ", ".join(sorted([*FLAG_DIRECTIVES, f"{DEPENDS_ON} <app>.<migration>"]))
            shown = " ".join(words) or "(nothing)"
            problems.append(
                Problem(
                    "E003",
                    f"unknown sqlmigrate directive {shown!r}.",
                    hint=f"Known directives: {known}. Fix the typo or remove the line.",
                    path=Path(path),
                    line=line_number,
                )
            )
    return Header(frozenset(flags), tuple(depends_on), tuple(problems))


@frozen_dataclass
class SqlMigration(Frozen):
    """One migration file, as found on disk.

    The path is kept as a string (``path`` builds the ``Path``): status loads thousands of
    these, and a ``Path`` each costs more than reading a small file. The loader builds them
    with ``frozen.builder``, at a named tuple's cost.
    """

    version: str
    number: int
    file: str
    checksum: str
    flags: frozenset[str] = frozenset()
    depends_on: tuple[str, ...] = ()
    app_label: str | None = None
    down: str | None = None  # the file that undoes it (NNN-name.down.sql), if there is one

    @property
    def path(self) -> Path:
        return Path(self.file)

    @property
    def name(self) -> str:
        """``Create users table`` for ``001-create-users-table``."""
        return describe(self.version.rpartition(":")[2].split("-", 1)[1])

    @property
    def transactional(self) -> bool:
        return NO_TRANSACTION not in self.flags

    @property
    def allow_empty(self) -> bool:
        return ALLOW_EMPTY in self.flags

    def read(self) -> bytes:
        """The normalised SQL, refusing a file that changed since it was loaded."""
        source = read_source(self.file)
        if checksum(source) != self.checksum:
            raise SourceError(
                "changed on disk while migrations were running. Run the command again."
            )
        return source


_sql_migration = builder(SqlMigration)


@dataclass
class LoadResult:
    migrations: list[SqlMigration] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def by_version(self) -> dict[str, SqlMigration]:
        return {migration.version: migration for migration in self.migrations}


def numbering_gaps(
    migrations: Sequence[SqlMigration], app_label: str | None = None
) -> list[Problem]:
    """A warning when numbers are skipped; timestamps (large numbers) are never sequential."""
    numbers = [m.number for m in migrations]
    if not numbers or numbers[-1] >= SEQUENTIAL_LIMIT:
        return []
    gaps = _missing_numbers(numbers)
    if not gaps:
        return []
    return [
        Problem(
            "W001",
            f"migration numbers {', '.join(gaps)} are missing from the sequence "
            f"{numbers[0]}..{numbers[-1]}" + (f" of app {app_label!r}." if app_label else "."),
            hint="Harmless if those files were never committed; check for a lost file.",
        )
    ]


def _missing_numbers(numbers: Sequence[int]) -> list[str]:
    gaps = []
    for low, high in itertools.pairwise(numbers):
        first, last = low + 1, high - 1
        if first == last:
            gaps.append(str(first))
        elif first < last:
            gaps.append(f"{first}-{last}")
    return gaps


class MigrationLoader:
    """Scan migration folders into one sequence ordered by number.

    Folders merge: a number may appear once across all of them. Files that don't end in
    ``.sql`` (README.md, .gitkeep), hidden files and ``*.down.sql`` rollback files are not
    migrations; any other ``.sql`` file must follow ``NNN-kebab-description.sql``.
    """

    def __init__(
        self, dirs: Iterable[Path], app_label: str | None = None, *, headers_only: bool = False
    ) -> None:
        self.dirs = list(dirs)
        self.app_label = app_label
        # The system checks run on every manage.py command: they read only the header
        # comments, never a whole (possibly huge) file, and leave ``checksum`` empty.
        self.headers_only = headers_only

    def version_of(self, file_stem: str) -> str:
        return f"{self.app_label}:{file_stem}" if self.app_label else file_stem

    def load(self) -> LoadResult:
        result = LoadResult()
        by_number: dict[int, SqlMigration] = {}
        for directory in self.dirs:
            # Strings, not Path objects: joining and sorting Paths dominates with many files.
            prefix = os.path.join(directory, "")
            names = self._sql_files(directory, result.problems)
            # NNN-name.down.sql undoes NNN-name.sql (sqlmigrate_rollback runs it).
            downs = {n[: -len(DOWN_SUFFIX)]: n for n in names if n.endswith(DOWN_SUFFIX)}
            for file_name in names:
                down = None
                if downs:
                    if file_name.endswith(DOWN_SUFFIX):
                        continue
                    down = downs.pop(file_name[: -len(".sql")], None)
                migration = self._load_file(
                    prefix, file_name, result.problems, None if down is None else prefix + down
                )
                if migration is None:
                    continue
                other = by_number.get(migration.number)
                if other is not None:
                    result.problems.append(self._duplicate(other, migration, by_number))
                    continue
                by_number[migration.number] = migration
            for orphan in downs.values():
                result.problems.append(
                    Problem(
                        "W004",
                        f"{orphan} undoes {orphan[: -len(DOWN_SUFFIX)]}.sql, which is not in the "
                        "folder.",
                        hint="Rename it after the migration it undoes, or remove it.",
                        path=Path(prefix + orphan),
                    )
                )
        result.migrations = sorted(by_number.values(), key=operator.attrgetter("number"))
        return result

    def _sql_files(self, directory: Path, problems: list[Problem]) -> list[str]:
        try:
            entries = list(os.scandir(directory))
        except FileNotFoundError:
            problems.append(
                Problem(
                    "E005",
                    f"the migrations folder {directory} does not exist.",
                    hint="Create it (sqlmigrate_create does), or fix SQLMIGRATE_DIRS.",
                    path=directory,
                )
            )
            return []
        except NotADirectoryError:
            problems.append(
                Problem(
                    "E005",
                    f"{directory} is a file, but SQLMIGRATE_DIRS lists folders.",
                    hint="Point SQLMIGRATE_DIRS at the folder that holds the .sql files.",
                    path=directory,
                )
            )
            return []
        except OSError as exc:
            from .oserrors import what_to_do

            problems.append(
                Problem(
                    "E005",
                    f"the migrations folder {directory} cannot be read: {exc.strerror}.",
                    hint=what_to_do(exc),
                    path=directory,
                )
            )
            return []
        try:
            names = _migration_names(entries, os.DirEntry.is_dir)
        except OSError:  # a link into a folder this user may not search: read_source says so
            names = _migration_names(entries, _is_dir)
        names.sort()
        return names

    def _load_file(
        self, prefix: str, file_name: str, problems: list[Problem], down: str | None = None
    ) -> SqlMigration | None:
        file = prefix + file_name
        match = FILE_NAME_RE.fullmatch(file_name)
        if match is None:
            problems.append(
                Problem(
                    "E001",
                    f"{file_name!r} is not a valid migration file name.",
                    hint=(
                        f"Name migration files {FILE_NAME_PATTERN}: a number, a dash, and "
                        "lowercase words of letters and digits joined by single dashes, for "
                        "example 001-create-users-table.sql."
                    ),
                    path=Path(file),
                )
            )
            return None
        version = self.version_of(file_name[: -len(".sql")])
        if len(version) > MAX_VERSION_LENGTH:
            problems.append(
                Problem(
                    "E001",
                    f"its version {version[:40]}... is {len(version)} characters long; the "
                    f"history table's version column holds {MAX_VERSION_LENGTH}.",
                    hint="Shorten the description in the file name.",
                    path=Path(file),
                )
            )
            return None
        try:
            source = read_header(file) if self.headers_only else read_source(file)
        except SourceError as exc:
            problems.append(Problem(exc.code, str(exc), path=Path(file), line=exc.line))
            return None
        header = parse_header(source, file)
        if header.problems:
            problems.extend(header.problems)
            if any(problem.is_error for problem in header.problems):
                return None
        return _sql_migration(
            version,
            int(match["number"]),
            file,
            "" if self.headers_only else checksum(source),
            header.flags,
            header.depends_on,
            self.app_label,
            down,
        )

    def _duplicate(
        self, first: SqlMigration, second: SqlMigration, taken: dict[int, SqlMigration]
    ) -> Problem:
        if first.path.name == second.path.name:
            return Problem(
                "E002",
                f"{first.path.name} is in two migration folders: {first.path} and {second.path}.",
                hint="Keep one copy; a migration must exist once.",
                path=second.path,
                version=second.version,
            )
        free = max(taken) + 1
        width = len(second.path.name.split("-", 1)[0])
        return Problem(
            "E002",
            f"migration number {second.number} is used twice: {first.path} and {second.path}.",
            hint=(
                "This usually comes from two branches that each added a migration. Renumber "
                f"the one not yet applied anywhere, for example to {free:0{width}d}."
            ),
            path=second.path,
            version=second.version,
        )
