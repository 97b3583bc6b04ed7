"""``prm roads``, ``prm isochrones``, ``prm territories ...`` and ``prm expansion ...``."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cli.common import _context, _fail, _path, _run, out

territories_app = typer.Typer(help="Liaison territory plans (versioned).", no_args_is_help=True)
expansion_app = typer.Typer(help="Expansion scenarios: candidate sites.", no_args_is_help=True)

app = typer.Typer()
app.add_typer(territories_app, name="territories")
app.add_typer(expansion_app, name="expansion")


@app.command()
def roads() -> None:
    """Load (or read from cache) the configured road network and summarise it."""
    ctx = _run(_context)
    from core.errors import RoadNetworkError

    try:
        G = ctx.graph
        router = ctx.router
    except RoadNetworkError as exc:
        _fail(exc)
    g = G.graph
    out.print(
        f"{g.get('source')}: {G.number_of_nodes():,} nodes, {G.number_of_edges():,} edges "
        f"(largest strongly connected drivable component), {int(router.boundary.sum()):,} "
        f"at the network edge; clipped ways dropped {g.get('clipped_ways', 0)}; "
        f"parsed in {g.get('load_seconds')} s; cache {ctx.settings.cache_dir}"
    )


@app.command()
def isochrones(
    site: Annotated[str | None, typer.Option(help="Only this site code.")] = None,
    minutes: Annotated[list[float] | None, typer.Option(help="Time limit (repeat).")] = None,
) -> None:
    """Isochrones per site: cells, truncated at the network edge, estimated (straight line)."""
    from service.placement.drivetime import isochrone_label
    from service.placement.drivetime import isochrones as compute

    ctx = _run(_context)
    iso = _run(compute, ctx, site_code=site, minutes=minutes)
    table = Table("isochrone", "cells", "snap m")
    for r in iso.summary.itertuples(index=False):
        table.add_row(
            isochrone_label(r.site_id, r.minutes, truncated=r.truncated, estimated=r.estimated),
            str(r.cell_count),
            "" if r.snap_m != r.snap_m else f"{r.snap_m:.0f}",
        )
    out.print(table)


def _pairs(values: list[str], what: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for v in values:
        if "=" not in v:
            raise typer.BadParameter(f"{what} must be LIAISON=VALUE, not {v!r}")
        k, val = v.split("=", 1)
        out.setdefault(k.strip(), []).append(val.strip())
    return out


@territories_app.command("build")
def territories_build(
    name: Annotated[str, typer.Argument(help="Plan name; each build is its next version.")],
    liaison: Annotated[list[str], typer.Option(help="Liaison name (repeat; k = their number).")],
    measure: Annotated[str, typer.Option(help="providers, potential or workload.")] = "providers",
    region: Annotated[str, typer.Option(help="catchments or providers.")] = "catchments",
    lock_cell: Annotated[list[str] | None, typer.Option(help="LIAISON=H3CELL (repeat).")] = None,
    lock_account: Annotated[
        list[str] | None, typer.Option(help="LIAISON=PROVIDER_ID (repeat).")
    ] = None,
) -> None:
    """Split the region into contiguous territories balanced on the measure, and store them."""
    from pydantic import ValidationError

    from core.errors import InputError, Problem
    from service.planning.schemas import TerritoryPlanCreate
    from service.planning.territories import build_plan

    try:
        accounts = {
            k: [int(x) for x in v] for k, v in _pairs(lock_account or [], "--lock-account").items()
        }
        data = TerritoryPlanCreate(
            name=name,
            liaisons=liaison,
            measure=measure,
            region=region,
            locked_cells=_pairs(lock_cell or [], "--lock-cell"),
            locked_accounts=accounts,
        )
    except (ValidationError, ValueError) as exc:
        _fail(InputError("invalid territory plan", problems=[Problem(str(exc))]))
    ctx = _run(_context)
    plan = _run(build_plan, ctx, data, created_by="cli")
    _show_plan(plan)


def _show_plan(plan: dict) -> None:
    bal = plan["balance_max_min"]
    out.print(
        f"plan {plan['name']} v{plan['version']}: balanced on {plan['measure']}, "
        f"max/min {'n/a (a territory has no load)' if bal is None else f'{bal:.3f}'}, "
        f"compactness {plan['compactness']:.2f}"
    )
    table = Table("#", "liaison", "load", "share", "cells", "compactness", "contiguous")
    for t in plan["territories"]:
        table.add_row(
            str(t["number"]),
            t["liaison"],
            f"{t['load']:,.1f}",
            f"{t['share']:.1%}",
            str(t["cells"]),
            f"{t['compactness']:.2f}",
            "yes" if t["contiguous"] else "NO",
        )
    out.print(table)


@territories_app.command("show")
def territories_show(name: str, version: Annotated[int | None, typer.Option()] = None) -> None:
    """A stored plan version (the newest by default)."""
    from service.planning.territories import get_plan

    _show_plan(_run(get_plan, _run(_context), name, version=version))


@expansion_app.command("plan")
def expansion_plan(
    name: str,
    candidates: Annotated[Path, typer.Argument(help="CSV: label, and lat+lon or postal_code.")],
    minutes: float = 15.0,
    pick: int = 1,
    measure: str = "providers",
    method: str = "auto",
    replace: bool = False,
) -> None:
    """Evaluate candidate sites against existing ones and pick the best N."""
    from pydantic import ValidationError

    from core.errors import InputError, Problem
    from service.planning.expansion import evaluate_scenario
    from service.planning.schemas import ScenarioCreate

    path = _path(candidates)
    with path.open(newline="", encoding="utf-8-sig") as fh:
        rows = [{k: (v or None) for k, v in r.items() if k} for r in csv.DictReader(fh)]
    try:
        data = ScenarioCreate.model_validate(  # the candidates are CSV text: not strict
            {
                "name": name,
                "candidates": rows,
                "minutes": minutes,
                "pick": pick,
                "measure": measure,
                "method": method,
                "replace": replace,
            },
            strict=False,
        )
    except ValidationError as exc:
        _fail(
            InputError(
                "invalid candidates",
                problems=[
                    Problem(e["msg"], file=path.name, field=".".join(map(str, e["loc"])))
                    for e in exc.errors()
                ],
            )
        )
    result = _run(evaluate_scenario, _run(_context), data)
    chosen = result["summary"]["chosen"]
    out.print(
        f"scenario {result['name']}: best {result['pick']} by {result['method']} "
        f"adds {result['added']:,.1f} {result['measure']}: {', '.join(chosen) or 'none'}"
        f" ({result['guarantee']})"
    )
    unpicked = result["summary"].get("unpicked", {})
    if unpicked:
        out.print(
            f"{len(chosen)} of {result['pick']} picked; {len(unpicked)} left unpicked: "
            + "; ".join(f"{label} ({why})" for label, why in sorted(unpicked.items()))
        )
    table = Table("candidate", "chosen", "white space", "cannibalised", "flags")
    for c in result["candidates"]:
        flags = ", ".join(
            f
            for f, on in (
                (c["flag"], c["flag"] is not None),
                ("estimated", c["estimated"]),
                ("truncated", c["truncated"]),
            )
            if on
        )
        table.add_row(
            c["label"],
            str(c["pick_order"] or ""),
            f"{c['white_space_providers']:,.0f}",
            f"{c['cannibalised_providers']:,.0f}",
            flags,
        )
    out.print(table)


@expansion_app.command("compare")
def expansion_compare(
    names: list[str],
    csv_out: Annotated[
        Path | None, typer.Option("--csv", help="Write the comparison here.")
    ] = None,
) -> None:
    """Scenarios side by side; --csv exports every candidate row."""
    from service.planning.expansion import compare_scenarios, scenarios_csv

    ctx = _run(_context)
    cmp = _run(compare_scenarios, ctx, names)
    table = Table("scenario", "minutes", "measure", "method", "added", "chosen")
    for s in cmp["scenarios"]:
        table.add_row(
            s["name"],
            f"{s['minutes']:g}",
            s["measure"],
            s["method"] + (" (optimal)" if s["optimal"] else ""),
            f"{s['added']:,.1f}",
            ", ".join(s["chosen"]),
        )
    out.print(table)
    if csv_out is not None:
        csv_out.write_text("".join(scenarios_csv(cmp)), encoding="utf-8")
        out.print(f"written {csv_out}")
