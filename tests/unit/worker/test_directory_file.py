"""Directory files: JSON lines and CSV, with errors that name the line."""

from __future__ import annotations

import pytest

from streams.directory import read_directory_file
from streams.errors import DirectoryFileError
from streams.events.records import DirectoryStatus


def test_json_lines_as_the_simulator_writes_them(tmp_path):
    path = tmp_path / "directory.jsonl"
    path.write_text(
        '{"email": " Alice@Acme.com", "employee_id": "e1", "status": "active"}\n\n'
        '{"email": "bob@acme.com", "employee_id": "e2", "status": "deprovisioned"}\n'
        '{"email": "alice@acme.com", "employee_id": "e9"}\n'
    )
    records = read_directory_file(path, "org_1")
    assert [(r.email, r.employee_id, r.status, r.org_id) for r in records] == [
        ("alice@acme.com", "e9", DirectoryStatus.ACTIVE, "org_1"),
        ("bob@acme.com", "e2", DirectoryStatus.DEPROVISIONED, "org_1"),
    ]
    assert {r.source for r in records} == {"directory.jsonl"}


def test_csv_with_an_org_column(tmp_path):
    path = tmp_path / "people.CSV"
    path.write_text("Email,Employee_ID,Status,org_id\ncarol@acme.com,e3,ACTIVE,org_2\n")
    (record,) = read_directory_file(path, None)
    assert (record.org_id, record.email, record.employee_id) == ("org_2", "carol@acme.com", "e3")


@pytest.mark.parametrize(
    ("content", "org", "message"),
    [
        ('{"email": "a@b.c", "status": "gone"}\n', "o", ":1: status must be"),
        ('{"email": "a@b.c"}\nnot json\n', "o", ":2: not JSON"),
        ('{"email": "nope"}\n', "o", ":1: 'email'"),
        ('{"email": "a@b.c"}\n', None, "pass --org"),
        ("[1, 2]\n", "o", "expected a JSON object"),
    ],
)
def test_bad_lines_are_named(tmp_path, content, org, message):
    path = tmp_path / "d.jsonl"
    path.write_text(content)
    with pytest.raises(DirectoryFileError, match=message):
        read_directory_file(path, org)


def test_an_excel_byte_order_mark_is_accepted(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes("email,status\r\ndave@acme.com,active\r\n".encode("utf-8-sig"))
    (record,) = read_directory_file(path, "org_1")
    assert record.email == "dave@acme.com"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('email,name\na@acme.com,"Al\nb@acme.com,Bo\n', ":2: unbalanced quote"),
        ('email,name\na@acme.com,Al\nb@acme.com,"Bo\n', ":3: unbalanced quote"),
        ("email,name\na@acme.com," + "x" * 1025 + "\n", ":2: a field is longer than 1024"),
        ("email,name\na@acme.com," + "x" * 200_000 + "\n", ":2: a field is longer than 1024"),
        ("email,name\na@acme.com,Al\n\nb@acme.com,Bo,x\n", ":4: 3 fields, but the header has 2"),
        ("email,name\na@acme.com\n", ":2: 1 fields, but the header has 2"),
        ("email,name\nnot-an-address,Al\n", ":2: 'email' is missing or not an address"),
        ("email,name\nal@localhost,Al\n", ":2: 'email' is missing or not an address"),
        ("email,name\nal ice@acme.com,Al\n", ":2: 'email' is missing or not an address"),
        ('email,name\na@acme.com,"Al"x\n', ":2: not valid CSV"),
    ],
)
def test_malformed_csv_is_one_line_naming_the_line(tmp_path, content, message):
    path = tmp_path / "d.csv"
    path.write_text(content)
    with pytest.raises(DirectoryFileError, match=message) as raised:
        read_directory_file(path, "o")
    assert "\n" not in str(raised.value)
    assert len(str(raised.value)) < 300
