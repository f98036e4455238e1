from io import StringIO

from rich.console import Console
from rich.table import Table

from kmslog.report.safe import clean, text


def test_clean_escapes_terminal_controls_and_bidi():
    assert clean("a\x1b[31mred\x07") == "a\\x1b[31mred\\x07"
    assert clean("x\u202ey") == "x\\u202ey"
    assert clean("line\nbreak") == "line\\x0abreak"
    assert clean(None) == ""
    assert clean("ordinary text é") == "ordinary text é"


def test_text_is_never_markup():
    out = StringIO()
    console = Console(file=out, force_terminal=True, width=200, color_system="standard")
    table = Table()
    table.add_column("ua")
    table.add_row(text("[bold red]boom[/] \x1b]0;title\x07"))
    console.print(table)
    rendered = out.getvalue()
    assert "[bold red]boom[/]" in rendered
    assert "\x1b]0;" not in rendered
    assert "\x07" not in rendered
