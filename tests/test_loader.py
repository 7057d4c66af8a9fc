"""The loader: file names, order, folders, header directives, checksums, encodings."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from django_sqlmigrate.loader import (
    MigrationLoader,
    checksum,
    describe,
    normalize,
    numbering_gaps,
    read_source,
)

from .conftest import REPO_ROOT
from .helpers import other_user, other_user_name

SQL = Path(__file__).parent / "sql"


def codes(result: object) -> list[str]:
    return [problem.code for problem in result.problems]  # type: ignore[attr-defined]


class TestNamesAndOrder:
    def test_versions_names_and_numeric_order(self) -> None:
        result = MigrationLoader([SQL / "basic"]).load()
        assert [m.version for m in result.migrations] == [
            "001-create-users-table",
            "002-add-email-verification",
            "010-add-reset-token-fields",
        ]
        assert [m.name for m in result.migrations] == [
            "Create users table",
            "Add email verification",
            "Add reset token fields",
        ]
        assert [m.number for m in result.migrations] == [1, 2, 10]

    def test_order_is_by_number_not_by_string(self, tmp_path: Path) -> None:
        for name in ["999-y.sql", "1000-x.sql", "2-b.sql"]:
            (tmp_path / name).write_text("SELECT 1;")
        result = MigrationLoader([tmp_path]).load()
        assert [m.version for m in result.migrations] == ["2-b", "999-y", "1000-x"]

    def test_bad_names_are_errors_and_other_files_are_ignored(self) -> None:
        result = MigrationLoader([SQL / "bad_names"]).load()
        assert [m.version for m in result.migrations] == ["001-ok"]
        bad = [p for p in result.problems if p.code == "E001"]
        assert sorted(p.path.name for p in bad if p.path) == ["002-Add Thing.sql", "add-thing.sql"]
        assert "NNN-kebab-description.sql" in bad[0].format()

    @pytest.mark.parametrize(
        "name",
        ["1-x-.sql", "1--x.sql", "01_x.sql", "x-1.sql", "1-X.sql", "1-.sql", "1-a b.sql"],
    )
    def test_rejected_names(self, tmp_path: Path, name: str) -> None:
        (tmp_path / name).write_text("SELECT 1;")
        assert codes(MigrationLoader([tmp_path]).load()) == ["E001"]

    def test_duplicate_number_names_both_files_and_suggests_a_free_number(self) -> None:
        result = MigrationLoader([SQL / "duplicate_numbers"]).load()
        (problem,) = [p for p in result.problems if p.code == "E002"]
        text = problem.format()
        assert "006-add-a.sql" in text
        assert "006-add-b.sql" in text
        assert "for example to 007" in text

    def test_folders_merge_into_one_sequence(self, tmp_path: Path) -> None:
        first, second = tmp_path / "a", tmp_path / "b"
        first.mkdir()
        second.mkdir()
        (first / "001-one.sql").write_text("SELECT 1;")
        (second / "002-two.sql").write_text("SELECT 2;")
        (first / "003-three.sql").write_text("SELECT 3;")
        result = MigrationLoader([first, second]).load()
        assert [m.version for m in result.migrations] == ["001-one", "002-two", "003-three"]
        assert result.problems == []

    def test_same_file_name_in_two_folders_is_an_error(self, tmp_path: Path) -> None:
        for folder in ("a", "b"):
            (tmp_path / folder).mkdir()
            (tmp_path / folder / "001-one.sql").write_text("SELECT 1;")
        result = MigrationLoader([tmp_path / "a", tmp_path / "b"]).load()
        (problem,) = result.problems
        assert problem.code == "E002"
        assert "001-one.sql is in two migration folders" in problem.message

    def test_missing_folder_is_an_error_naming_it(self, tmp_path: Path) -> None:
        result = MigrationLoader([tmp_path / "nope"]).load()
        (problem,) = result.problems
        assert problem.code == "E005"
        assert str(tmp_path / "nope") in problem.message

    def test_gaps_are_a_warning(self, tmp_path: Path) -> None:
        for name in ["001-a.sql", "002-b.sql", "005-c.sql", "007-d.sql"]:
            (tmp_path / name).write_text("SELECT 1;")
        (problem,) = numbering_gaps(MigrationLoader([tmp_path]).load().migrations)
        assert problem.code == "W001"
        assert "3-4, 6 are missing" in problem.message

    def test_timestamps_are_not_gaps(self, tmp_path: Path) -> None:
        (tmp_path / "20240101120000-a.sql").write_text("SELECT 1;")
        (tmp_path / "20240305090000-b.sql").write_text("SELECT 1;")
        assert numbering_gaps(MigrationLoader([tmp_path]).load().migrations) == []

    def test_describe(self) -> None:
        assert describe("add-2fa-to-users") == "Add 2fa to users"


class TestDirectives:
    def test_flags_and_unknown_directive(self) -> None:
        result = MigrationLoader([SQL / "directives"]).load()
        (migration,) = result.migrations
        assert migration.allow_empty
        assert migration.transactional
        (problem,) = result.problems
        assert problem.code == "E003"
        assert problem.line == 1
        assert "'no-transactoin'" in problem.message
        assert "no-transaction" in problem.hint

    def test_directives_only_count_in_the_header(self, tmp_path: Path) -> None:
        (tmp_path / "001-a.sql").write_text(
            "-- comment\n\n-- sqlmigrate: no-transaction\nSELECT 1;\n-- sqlmigrate: allow-empty\n"
        )
        (migration,) = MigrationLoader([tmp_path]).load().migrations
        assert migration.flags == frozenset({"no-transaction"})
        assert not migration.transactional

    def test_depends_on_needs_app_and_migration(self, tmp_path: Path) -> None:
        (tmp_path / "001-a.sql").write_text(
            "-- sqlmigrate: depends-on auth.0012_alter_user_first_name_max_length\n"
            "-- sqlmigrate: depends-on nonsense\nSELECT 1;"
        )
        result = MigrationLoader([tmp_path]).load()
        assert [p.code for p in result.problems] == ["E012"]
        assert result.problems[0].line == 2


class TestChecksums:
    def test_checksum_is_prefixed_sha256_of_the_text(self, tmp_path: Path) -> None:
        (tmp_path / "001-a.sql").write_bytes(b"SELECT 1;\n")
        (migration,) = MigrationLoader([tmp_path]).load().migrations
        assert migration.checksum == "sha256:" + hashlib.sha256(b"SELECT 1;\n").hexdigest()

    def test_crlf_cr_and_bom_do_not_change_the_checksum(self, tmp_path: Path) -> None:
        variants = {
            "lf": b"SELECT 1;\nSELECT 2;\n",
            "crlf": b"SELECT 1;\r\nSELECT 2;\r\n",
            "cr": b"SELECT 1;\rSELECT 2;\r",
            "bom": b"\xef\xbb\xbfSELECT 1;\r\nSELECT 2;\n",
        }
        sums = set()
        for folder, content in variants.items():
            (tmp_path / folder).mkdir()
            (tmp_path / folder / "001-a.sql").write_bytes(content)
            (migration,) = MigrationLoader([tmp_path / folder]).load().migrations
            sums.add(migration.checksum)
        assert sums == {checksum(b"SELECT 1;\nSELECT 2;\n")}

    def test_content_changes_do_change_it(self) -> None:
        assert checksum(b"SELECT 1;") != checksum(b"SELECT 2;")

    def test_normalize_keeps_a_bom_in_the_middle(self) -> None:
        assert normalize(b"a\xef\xbb\xbfb") == b"a\xef\xbb\xbfb"

    def test_invalid_utf8_names_the_file_and_byte_offset(self, tmp_path: Path) -> None:
        (tmp_path / "001-latin1.sql").write_bytes(b"SELECT 1;\nSELECT 'caf\xe9';\n")
        result = MigrationLoader([tmp_path]).load()
        assert result.migrations == []
        (problem,) = result.problems
        assert problem.code == "E004"
        assert problem.path == tmp_path / "001-latin1.sql"
        assert "byte 0xe9 at byte offset 21 (line 2)" in problem.message

    def test_invalid_utf8_offset_past_the_first_chunk(self, tmp_path: Path) -> None:
        body = ("-- é\n" * 300_000).encode()  # multi-byte characters across 1 MiB chunks
        path = tmp_path / "001-big.sql"
        path.write_bytes(body + b"\xff")
        with pytest.raises(Exception, match=f"at byte offset {len(body)} "):
            read_source(path)

    def test_read_refuses_a_file_changed_after_loading(self, tmp_path: Path) -> None:
        path = tmp_path / "001-a.sql"
        path.write_text("SELECT 1;")
        (migration,) = MigrationLoader([tmp_path]).load().migrations
        path.write_text("SELECT 2;")
        with pytest.raises(Exception, match="changed on disk"):
            migration.read()


class TestBytesNoDatabaseTakes:
    def test_nul_byte_names_line_and_column(self, tmp_path: Path) -> None:
        # Lines and columns are counted after CRLF is normalised, in characters.
        (tmp_path / "001-nul.sql").write_bytes(b"SELECT 1;\r\nSELECT 'caf\xc3\xa9\x00';\r\n")
        result = MigrationLoader([tmp_path]).load()
        assert result.migrations == []
        (problem,) = result.problems
        assert (problem.code, problem.line) == ("E017", 2)
        assert problem.message.startswith("contains a NUL byte (0x00) at line 2, column 13.")

    def test_read_refuses_a_nul_byte_too(self, tmp_path: Path) -> None:
        path = tmp_path / "001-nul.sql"
        path.write_bytes(b"\x00")
        with pytest.raises(Exception, match="at line 1, column 1"):
            read_source(path)


class TestVersionLength:
    def test_version_longer_than_the_history_column_is_refused(self, tmp_path: Path) -> None:
        # A file name holds 255 bytes, ".sql" included: only an app label makes it longer.
        (tmp_path / f"001-{'a' * 243}.sql").write_text("SELECT 1;")  # billing:001-...: 255
        (tmp_path / f"002-{'b' * 244}.sql").write_text("SELECT 1;")  # 256
        result = MigrationLoader([tmp_path], "billing").load()
        assert [len(m.version) for m in result.migrations] == [255]
        (problem,) = result.problems
        assert problem.code == "E001"
        assert problem.path == tmp_path / f"002-{'b' * 244}.sql"
        assert "is 256 characters long; the history table's version column holds 255" in (
            problem.message
        )


class TestPermissions:
    """Files and folders the user running the command may not read: a Problem, not a crash."""

    LOAD = (
        "import sys\n"
        "from pathlib import Path\n"
        "from django_sqlmigrate.loader import MigrationLoader\n"
        "for problem in MigrationLoader([Path(sys.argv[1])]).load().problems:\n"
        "    print(problem.code, problem.format())\n"
    )

    def load_as_other_user(self, folder: Path) -> list[str]:
        result = subprocess.run(
            [*other_user(), sys.executable, "-c", self.LOAD, str(folder)],
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT), "PYTHONDONTWRITEBYTECODE": "1"},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout.splitlines()

    def test_an_unreadable_file(self, shared_tmp: Path) -> None:
        (shared_tmp / "001-readable.sql").write_text("SELECT 1;\n")
        secret = shared_tmp / "002-unreadable.sql"
        secret.write_text("SELECT 2;\n")
        secret.chmod(0o000)
        # A link into a folder this user may not search: stat() fails as reading does.
        private = shared_tmp / "private"
        private.mkdir()
        (private / "003-kept.sql").write_text("SELECT 3;\n")
        linked = shared_tmp / "003-linked.sql"
        linked.symlink_to(private / "003-kept.sql")
        private.chmod(0o000)
        denied = (
            "cannot be read: Permission denied. The user running the command "
            f"({other_user_name()}) lacks the permission: give that user access (chmod, chown), "
            "or run the command as the user who owns the files."
        )
        assert self.load_as_other_user(shared_tmp) == [
            f"E004 {secret}: {denied}",
            f"E004 {linked}: {denied}",
        ]

    def test_an_unreadable_folder(self, shared_tmp: Path) -> None:
        folder = shared_tmp / "sql"
        folder.mkdir()
        folder.chmod(0o000)
        (problem,) = self.load_as_other_user(folder)
        assert problem == (
            f"E005 {folder}: the migrations folder {folder} cannot be read: Permission denied. "
            f"The user running the command ({other_user_name()}) lacks the permission: give "
            "that user access (chmod, chown), or run the command as the user who owns the files."
        )


class TestDownFiles:
    def test_a_down_file_is_paired_with_its_migration(self, tmp_path: Path) -> None:
        (tmp_path / "001-a.sql").write_text("CREATE TABLE a (id INTEGER);")
        (tmp_path / "001-a.down.sql").write_text("DROP TABLE a;")
        (tmp_path / "002-b.sql").write_text("CREATE TABLE b (id INTEGER);")
        result = MigrationLoader([tmp_path]).load()
        assert [(m.version, m.down) for m in result.migrations] == [
            ("001-a", str(tmp_path / "001-a.down.sql")),
            ("002-b", None),
        ]
        assert result.problems == []

    def test_a_down_file_without_its_migration_is_a_warning(self, tmp_path: Path) -> None:
        (tmp_path / "001-a.sql").write_text("SELECT 1;")
        (tmp_path / "002-b.down.sql").write_text("DROP TABLE b;")
        result = MigrationLoader([tmp_path]).load()
        assert [m.version for m in result.migrations] == ["001-a"]
        (problem,) = result.problems
        assert (problem.code, problem.path) == ("W004", tmp_path / "002-b.down.sql")
        assert problem.message == "002-b.down.sql undoes 002-b.sql, which is not in the folder."
