"""A text table file as rows: its bytes decoded (gzip, UTF-8 or UTF-16, else Windows-1252) and
split by a sniffed delimiter, with CSV quoting where it holds (``table.read_table`` reads columns)."""

from __future__ import annotations

import csv
import gzip
import io
import re
import warnings
from pathlib import Path

from ..errors import DataError

TEXT_EXTENSIONS = frozenset({".csv", ".tsv", ".txt", ".tab"})
GZIP_MAGIC = b"\x1f\x8b"
NOT_TABLES = {".xlsx": "an Excel workbook", ".xls": "an Excel workbook", ".xlsm": "an Excel workbook",
              ".ods": "a LibreOffice spreadsheet", ".numbers": "a Numbers spreadsheet",
              ".json": "a JSON file", ".jsonl": "a JSON-lines file", ".parquet": "a Parquet file",
              ".zip": "a ZIP archive"}
SAVE_AS_CSV = "Save it as CSV UTF-8 (Excel: File > Save As > CSV UTF-8)."
csv.field_size_limit(2**31 - 1)  # a long text is cut to MAX_TEXT_CHARS by read_table, not refused by csv


def is_table_path(path: str | Path) -> bool:
    """True for a file whose extension marks a text table, gzip-compressed or not (``a.csv.gz``)."""
    suffixes = [s.lower() for s in Path(path).suffixes[-2:]]
    return bool(suffixes) and (suffixes[-1] in TEXT_EXTENSIONS
                               or (suffixes[-1] == ".gz" and suffixes[0] in TEXT_EXTENSIONS))


def read_text_file(path: Path) -> str:
    """File contents as text: UTF-16 when it starts with a UTF-16 byte-order mark or looks like
    UTF-16 (a NUL in every other byte: Excel's "Unicode text"); else UTF-8 (BOM removed). A UTF-8
    file with a few invalid bytes keeps its UTF-8 text (the bad bytes become U+FFFD, with a warning
    naming the first line); a file with no valid UTF-8 beyond ASCII is read as Windows-1252 (latin-1
    plus the curly quotes and euro sign of Windows Excel), with a warning. A ``.gz`` is decompressed."""
    raw = _read_bytes(path)
    if raw[:2] == GZIP_MAGIC:
        raise DataError(f"{path} is gzip-compressed, not text. Name it {path.name}.gz, or decompress it.")
    if raw[:4] == b"PK\x03\x04":
        raise DataError(f"{path} is a ZIP archive (an Excel .xlsx workbook?), not text. Save it as CSV "
                        "UTF-8 (Excel: File > Save As > CSV UTF-8).")
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff") or _looks_utf16(raw):
        try:
            return raw.decode("utf-16" if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else _utf16_order(raw))
        except UnicodeDecodeError as err:
            raise DataError(f"{path} looks like UTF-16 but does not decode ({err.reason} at byte "
                            f"{err.start}). Save it as UTF-8.") from None
    if b"\x00" in raw[:4096]:  # an image or other binary file under a text name
        raise DataError(f"{path} is a binary file (it holds NUL bytes), not text. Give a CSV/TSV or "
                        ".txt file saved as text (UTF-8).")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        first_bad = raw[:err.start].count(b"\n") + 1
    text = raw.decode("utf-8-sig", errors="replace")
    n_bad = text.count("\ufffd")
    if sum(ord(c) > 127 for c in text) - n_bad > n_bad:  # more good non-ASCII letters than bad bytes
        warnings.warn(f"{path}: {n_bad} bytes are not valid UTF-8 (first on line {first_bad}); they "
                      "were replaced by \ufffd. Save the file as UTF-8.", stacklevel=3)
        return text
    # Windows Excel saves "CSV" as cp1252: latin-1 would turn its 0x92 (’) into an invisible U+0092
    raw = raw.removeprefix(b"\xef\xbb\xbf")  # a UTF-8 BOM read as cp1252 would be 'ï»¿' in the header
    try:
        text, encoding = raw.decode("cp1252"), "latin-1 (Windows-1252, with its curly quotes and euro sign)"
    except UnicodeDecodeError:  # one of the 5 bytes cp1252 leaves undefined
        text, encoding = raw.decode("latin-1"), "latin-1"
    warnings.warn(f"{path} is not valid UTF-8; read it as {encoding}. Save it as UTF-8 to be sure.",
                  stacklevel=3)
    return text


def _read_bytes(path: Path) -> bytes:
    """The file's bytes; a ``.gz`` decompressed, a spreadsheet or JSON file refused with the fix."""
    suffix = path.suffix.lower()
    if suffix in NOT_TABLES:
        raise DataError(f"{path} is {NOT_TABLES[suffix]}; handful reads texts from CSV/TSV (or .txt, one "
                        f"text per line). {SAVE_AS_CSV}")
    if suffix != ".gz":
        return path.read_bytes()
    try:
        return gzip.decompress(path.read_bytes())
    except (OSError, EOFError) as err:
        raise DataError(f"{path} is named .gz but does not decompress ({err}). Give the CSV itself, "
                        "or compress it again with gzip.") from None


def _looks_utf16(raw: bytes) -> bool:
    """No byte-order mark, but a NUL in every other byte of the start (UTF-16 ASCII text)."""
    head = raw[:400]
    return len(head) >= 4 and (head[1::2].count(0) == len(head) // 2 or head[0::2].count(0) == (len(head) + 1) // 2)


def _utf16_order(raw: bytes) -> str:
    return "utf-16-le" if raw[1:2] == b"\x00" else "utf-16-be"


def _sniff_delimiter(sample: str, path: Path) -> str:
    if path.suffix.lower() in (".tsv", ".tab") and "\t" in sample:  # else a CSV under a .tsv name
        return "\t"
    if _tabs_on_every_line(sample):  # prose holds commas, hardly ever tabs: ``cold soup, sadly<TAB>bad``
        return "\t"
    try:
        return csv.Sniffer().sniff(sample, delimiters=",\t;|").delimiter
    except csv.Error:
        return "\t" if sample.count("\t") > sample.count(",") else ","


def _tabs_on_every_line(sample: str) -> bool:
    """The same number (1 or more) of tabs on every line of the sample (the last one left out when
    it was cut short): a tab-separated table, however many commas its texts hold."""
    lines = [line for line in sample.split("\n")[:-1] if line.strip()]
    counts = {line.count("\t") for line in lines}
    return len(counts) == 1 and 0 not in counts


def table_rows(path: Path) -> tuple[list[list[str]], list[int], str]:
    """Rows of the table, the line each starts on, and its delimiter.

    Quotes are read as CSV quoting unless that swallows line breaks in a file whose lines
    all split into the same number of fields without it, and the quoting does not hold
    strictly: then the quotes are part of the text (``a "so-called" classic<TAB>1``, or a line
    that starts with a quote), and only fields quoted from end to end lose their quotes. Rows
    with nothing in them (a line of spaces, Excel's ``,,``) are skipped like blank lines.
    """
    # universal newlines, as open() reads: old Mac Excel ends rows with a lone \r, which the csv
    # reader refuses ("new-line character seen in unquoted field") and line splits would miss
    text = read_text_file(path).replace("\r\n", "\n").replace("\r", "\n")
    declared = re.match(r'"?sep=(.)"?\n', text)  # Excel's "sep=;" first line names the delimiter
    if declared:
        text = "\n" + text[declared.end():]  # a blank line in its place keeps the line numbers
    delimiter = declared.group(1) if declared else _sniff_delimiter(text[:20_000], path)
    quoted, starts = _numbered_rows(csv.reader(io.StringIO(text), delimiter=delimiter))
    if '"' not in text:
        return quoted, starts, delimiter
    lines = text.split("\n")  # not splitlines: U+0085 is text
    numbered = [(n + 1, line.split(delimiter)) for n, line in enumerate(lines)
                if line.replace(delimiter, "").strip()]
    literal = [row for _, row in numbered]
    same_width = len({len(r) for r in literal}) == 1
    swallowed = len(quoted) != len(literal) or any("\n" in f for r in quoted for f in r)
    if same_width and swallowed and not _quoting_holds(text, delimiter):
        return [[_unquote(f) for f in row] for row in literal], [n for n, _ in numbered], delimiter
    return quoted, starts, delimiter


def _numbered_rows(reader) -> tuple[list[list[str]], list[int]]:
    """The reader's non-empty rows and the line each starts on (blank lines counted)."""
    rows, starts, read = [], [], 0
    for row in reader:
        if any(field.strip() for field in row):
            rows.append(row)
            starts.append(read + 1)
        read = reader.line_num
    return rows, starts


def _quoting_holds(text: str, delimiter: str) -> bool:
    """Whether the text reads as strict CSV (each quoted field closed right before a delimiter or a
    line end) into rows of one width: then line breaks inside quotes belong to the texts (a review
    of two lines), even when each of its lines happens to hold as many delimiters as a row."""
    try:
        rows = [r for r in csv.reader(io.StringIO(text), delimiter=delimiter, strict=True)
                if any(f.strip() for f in r)]
    except csv.Error:  # a stray quote: it opens a field that never closes cleanly
        return False
    return len({len(r) for r in rows}) == 1


def _unquote(field: str) -> str:
    stripped = field.strip()
    if len(stripped) >= 2 and stripped[0] == stripped[-1] == '"':
        return stripped[1:-1].replace('""', '"')
    return field

