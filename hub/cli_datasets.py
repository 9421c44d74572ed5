"""``hub datasets new FILE``: propose a standard schema, the column mapping and the geometry
for a CSV/XLSX, and write the drafted ``dataset.toml`` (the rules are ``etl.proposal``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from hub.settings import Settings

datasets_app = typer.Typer(help="Dataset definitions: draft one from a file.",
                           no_args_is_help=True)
console = Console(stderr=True)
out = Console()
DRAFT_NAME = "dataset.toml"


def _fail(message: str, code: int) -> None:
    console.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(code)


@datasets_app.command("new")
def datasets_new(
    file: Annotated[Path, typer.Argument(help="The CSV or XLSX file, as the city has it.")],
    dataset_id: Annotated[str | None, typer.Option(
        "--id", help="Dataset id (default: from the file name).")] = None,
    out_dir: Annotated[Path | None, typer.Option(
        "--out", help="Folder for dataset.toml (default: datasets/<id>).")] = None,
    sheet: Annotated[str | None, typer.Option(help="XLSX sheet (default: the first).")] = None,
    schema: Annotated[str | None, typer.Option(
        help="Use this schema (a file under schemas/) instead of the best match.")] = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing dataset.toml.")] = False,
) -> None:
    """Propose a schema, mapping and geometry for FILE and write a draft dataset.toml.

    Exits 2 when FILE cannot be read (the message names the file and the line) or an
    option names something unknown, 1 when a dataset.toml is already there (see --force).

    Example: [bold]hub datasets new toilets.xlsx --id kobe-toilets[/]
    """
    from etl.proposal import ProposalError, propose
    from etl.read import ReadError
    from hub.catalog import DATASET_ID

    settings = Settings()
    if dataset_id is not None and not DATASET_ID.match(dataset_id):
        _fail(f"--id {dataset_id!r} must match {DATASET_ID.pattern}", 2)
    if not file.is_file():
        _fail(f"{file}: no such file", 2)
    try:
        proposal = propose(file, settings.schemas_dir, dataset_id=dataset_id, sheet=sheet,
                           schema=schema)
    except ReadError as exc:
        _fail(str(exc), 2)
    except ProposalError as exc:
        _fail(f"{file.name}: {exc}", 2)
    print_proposal(proposal)
    folder = out_dir or settings.datasets_dir / proposal.dataset_id
    target = folder / DRAFT_NAME
    if target.exists() and not force:
        _fail(f"{target} exists; not overwritten (use --force)", 1)
    folder.mkdir(parents=True, exist_ok=True)
    target.write_text(proposal.draft, encoding="utf-8")
    _plain(f"wrote {target}: check the values marked 要確認, then "
           f"hub validate {proposal.dataset_id} {file}")


def print_proposal(proposal: Any) -> None:
    """The proposal as tables on a terminal, as plain lines otherwise (logs, pipes: no
    table cut into wrapped cells), the way the CLI prints validation reports."""
    out.print(f"{escape(proposal.file)}: {proposal.rows} rows, {len(proposal.headers)} "
              f"columns ({escape(proposal.encoding)})", highlight=False)
    if out.is_terminal:
        _tables(proposal)
    else:
        _lines(proposal)
    _plain(f"geometry: {proposal.geometry.kind}: {proposal.geometry.note}")
    if proposal.chosen.missing_required:
        _plain("required fields without a column: "
               + ", ".join(proposal.chosen.missing_required))
    if proposal.section_rows:
        rows = ", ".join(f"{row} {text}" for row, text in proposal.section_rows)
        _plain(f"section rows (headings, left out): {rows}")


def _plain(line: str) -> None:
    out.print(line, markup=False, highlight=False, emoji=False, soft_wrap=True)


def _missing(candidate: Any) -> str:
    return ", ".join(candidate.missing_required) or "-"


def _lines(proposal: Any) -> None:
    for c in proposal.candidates[:5]:
        chosen = "chosen " if c.schema == proposal.chosen.schema else ""
        _plain(f"{chosen}schema {c.schema} ({c.title_ja or c.title}): score {c.score:.2f}, "
               f"columns covered {c.coverage:.0%}, required fields missing: {_missing(c)}")
    for m in proposal.chosen.matches:
        _plain(f"column {m.header} -> {m.field} ({m.rule}, {m.confidence:.1f})")
    for header in proposal.unmapped:
        empty = " (empty)" if header in proposal.empty_columns else ""
        _plain(f"column {header} -> unmapped{empty}")


def _tables(proposal: Any) -> None:
    candidates = Table(title="Schemas, best first")
    candidates.add_column("schema", no_wrap=True)
    for column in ("title", "score", "columns covered", "required fields missing"):
        candidates.add_column(column, overflow="fold")
    for c in proposal.candidates[:5]:
        mark = "[bold green]→[/] " if c.schema == proposal.chosen.schema else ""
        candidates.add_row(mark + escape(c.schema), escape(c.title_ja or c.title),
                           f"{c.score:.2f}", f"{c.coverage:.0%}", escape(_missing(c)))
    out.print(candidates)
    mapping = Table(title=f"Column mapping ({escape(proposal.chosen.schema)})")
    for column in ("column", "field", "rule", "confidence"):
        mapping.add_column(column, overflow="fold")
    for m in proposal.chosen.matches:
        mapping.add_row(escape(m.header), escape(m.field), m.rule, f"{m.confidence:.1f}")
    for header in proposal.unmapped:
        empty = " (empty)" if header in proposal.empty_columns else ""
        mapping.add_row(escape(header), f"[yellow]unmapped{empty}[/]", "-", "-")
    out.print(mapping)
