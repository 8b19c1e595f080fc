"""The coverage report's CSV encoder (service.coverage_formats.csv_line) writes exactly what
csv.writer's excel dialect writes, and what it writes reads back as the fields it was given."""

from __future__ import annotations

import csv
import io

from hypothesis import given
from hypothesis import strategies as st

from service.coverage_formats import csv_line

# Text as reports hold it (names, references, LTI subjects, evidence), with the characters
# that matter to CSV made likely.
TEXT = st.text(
    alphabet=st.one_of(st.sampled_from([",", '"', "\n", "\r", " ", ";", "'"]), st.characters()),
    max_size=30,
)


def _writer_line(fields: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(fields)
    return buffer.getvalue()


@given(st.lists(TEXT, min_size=2, max_size=8))
def test_same_as_csv_writer(fields):
    assert csv_line(fields) == _writer_line(fields)


@given(st.lists(TEXT, min_size=2, max_size=8))
def test_reads_back(fields):
    [read] = list(csv.reader(io.StringIO(csv_line(fields), newline="")))
    assert read == fields


def test_quotes_only_what_needs_it():
    assert csv_line(["a", "b c", "Ada, L", 'say "hi"', "two\nlines", ""]) == (
        'a,b c,"Ada, L","say ""hi""","two\nlines",\r\n'
    )
