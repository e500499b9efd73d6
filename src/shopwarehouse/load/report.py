"""The closing summary of a load: one line per entity, then every rejected file with its reason."""

from __future__ import annotations

from collections import defaultdict

from shopwarehouse.load.loader import FileOutcome, LoadSummary
from shopwarehouse.load.tables import Status

COUNTED = (Status.LOADED, Status.DUPLICATE, Status.QUARANTINED, Status.SKIPPED)
HEADER = ("entity", "files", *COUNTED, "rows", "MB", "seconds")


def summary_table(summary: LoadSummary) -> str:
    by_entity: dict[str, list[FileOutcome]] = defaultdict(list)
    for outcome in summary.outcomes:
        by_entity[outcome.entity].append(outcome)
    lines = [_row(entity, outcomes, summary.load_seconds[entity]) for entity, outcomes in by_entity.items()]
    lines.append(_row("total", summary.outcomes, sum(summary.load_seconds.values())))
    widths = [max(len(str(line[i])) for line in [HEADER, *lines]) for i in range(len(HEADER))]

    def render(cells: tuple[str, ...]) -> str:
        return "  ".join(
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        )

    title = f"load {summary.load_id}: {summary.seconds:.1f} s"
    if summary.dry_run:
        title += " (dry run: files validated, nothing written; 'loaded' counts the files that would load)"
    text = [title, render(HEADER), *map(render, lines)]
    if summary.rejected:
        text.append(f"{len(summary.rejected)} file(s) quarantined:")
        text += [f"  {outcome.reason}" for outcome in summary.rejected]
    return "\n".join(text)


def _row(name: str, outcomes: list[FileOutcome], load_seconds: float) -> tuple[str, ...]:
    def count(*statuses: Status) -> str:
        return str(sum(1 for outcome in outcomes if outcome.status in statuses))

    worked = [outcome for outcome in outcomes if outcome.status != Status.SKIPPED]
    return (
        name,
        str(len(outcomes)),
        count(Status.LOADED, Status.VALID),  # a dry run's valid files would load
        *(count(status) for status in COUNTED[1:]),
        f"{sum(outcome.rows for outcome in outcomes):,}",
        f"{sum(outcome.size for outcome in worked) / 1e6:.1f}",
        f"{sum(outcome.seconds for outcome in worked) + load_seconds:.1f}",
    )
