"""Pre-visit brief for a hunter: one provider on one page, as JSON and printable HTML.

Profile, referral history and trend, tier, colleagues in the same
organisation who refer, last interactions, contact preferences, workflow
status and the prospect score with its explanation per site.
"""

from __future__ import annotations

import html

from sqlalchemy import select

from core.country import display_phone
from core.errors import NotFoundError
from data.models import ClinicSite, Prospect, Provider, ReferrerStat
from service.context import AppContext
from service.prospecting.crm import get_preferences, list_interactions
from service.prospecting.referrals import referrer_activity
from service.prospecting.workflow import get_status

__all__ = ["BRIEF_STYLE", "brief", "brief_html", "brief_section"]

#: The printable pages' style (a brief, a visit day sheet).
BRIEF_STYLE = (
    "body{font:12pt/1.4 system-ui,sans-serif;max-width:48em;margin:1.5em auto}"
    "table{border-collapse:collapse;width:100%;margin:.4em 0}"
    "td,th{border:1px solid #bbb;padding:2px 6px;text-align:left}"
    ".none{color:#777}@media print{body{margin:0}}"
)

_PROFILE_FIELDS = (
    "id",
    "npi",
    "display_name",
    "entity_type",
    "credential",
    "taxonomy_code",
    "classification",
    "organization_name",
    "address_1",
    "city",
    "state",
    "postal_code",
    "phone",
    "is_active",
)


def brief(ctx: AppContext, provider_id: int) -> dict:
    """The brief as a JSON-ready dict (404 for an unknown provider)."""
    with ctx.sessions() as session:
        prov = session.get(Provider, provider_id)
        if prov is None:
            raise NotFoundError(f"no provider with id {provider_id}")
        colleagues = []
        if prov.organization_id is not None:
            rows = session.execute(
                select(
                    Provider.id,
                    Provider.display_name,
                    Provider.classification,
                    ReferrerStat.tier,
                    ReferrerStat.referrals_window,
                    ReferrerStat.last_referral,
                )
                .join(ReferrerStat, ReferrerStat.provider_id == Provider.id)
                .where(
                    Provider.organization_id == prov.organization_id,
                    Provider.id != prov.id,
                    ReferrerStat.referring.is_(True),
                )
                .order_by(ReferrerStat.referrals_window.desc(), Provider.id)
                .limit(20)
            ).all()
            colleagues = [
                {
                    "provider_id": r[0],
                    "display_name": r[1],
                    "classification": r[2],
                    "tier": r[3],
                    "referrals_window": r[4],
                    "last_referral": r[5].isoformat() if r[5] else None,
                }
                for r in rows
            ]
        prospects = [
            {
                "site_code": code,
                "score": p.score,
                "segment": p.segment,
                "profile": p.profile,
                "drive_minutes": p.drive_minutes,
                "distance_km": p.distance_km,
                "components": p.components,
            }
            for p, code in session.execute(
                select(Prospect, ClinicSite.site_code)
                .join(ClinicSite, ClinicSite.id == Prospect.site_id)
                .where(Prospect.provider_id == provider_id)
                .order_by(Prospect.score.desc())
            ).all()
        ]
        prefs = get_preferences(session, provider_id)
        profile = {f: getattr(prov, f) for f in _PROFILE_FIELDS}
    return {
        "provider": profile,
        "referrals": referrer_activity(ctx, provider_id, weeks=8, months=12),
        "colleagues_referring": colleagues,
        "interactions": [
            i.model_dump(mode="json") for i in list_interactions(ctx, provider_id, limit=5)
        ],
        "preferences": prefs.model_dump(mode="json") if prefs else None,
        "workflow": get_status(ctx, provider_id).model_dump(mode="json"),
        "prospects": prospects,
    }


def _e(value: object) -> str:
    return "" if value is None else html.escape(str(value))


def _table(headers: list[str], rows: list[list[object]]) -> str:
    if not rows:
        return "<p class='none'>none</p>"
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def brief_section(data: dict) -> str:
    """The body of the printable brief (every value escaped), for a page of one or several."""
    p, r = data["provider"], data["referrals"]
    prefs = data["preferences"] or {}
    wf = data["workflow"]
    parts = [
        f"<h1>{_e(p['display_name'])}</h1>",
        f"<p>NPI {_e(p['npi'])} · {_e(p['classification'] or p['taxonomy_code'])} · "
        f"{_e(p['organization_name'])}<br>{_e(p['address_1'])}, {_e(p['city'])} {_e(p['state'])} "
        f"{_e(p['postal_code'])} · phone {_e(display_phone(p['phone']))}</p>",
        f"<p>Status <b>{_e(wf['status'])}</b>, liaison {_e(wf['assigned_to'] or 'unassigned')} · "
        f"prefers {_e(prefs.get('channel') or 'no channel given')}, reports as "
        f"{_e(prefs.get('report_format') or 'no format given')}</p>",
        "<h2>Referrals</h2>",
        f"<p>Tier <b>{_e(r['tier'] or '-')}</b> · {r['referrals_window']} in window, "
        f"{r['referrals_total']} in all · last month {r['last_month']} vs 3-month average "
        f"{r['prev_3_month_avg']} (trend {_e(r['trend'] or '-')}) · first {_e(r['first_referral'])}, "
        f"last {_e(r['last_referral'])}{' · lapsed' if r['lapsed'] else ''}</p>",
        _table(
            ["month", "referrals"], [[m["period_start"][:7], m["referrals"]] for m in r["monthly"]]
        ),
        "<h2>Colleagues who refer</h2>",
        _table(
            ["name", "specialty", "tier", "in window", "last"],
            [
                [
                    c["display_name"],
                    c["classification"],
                    c["tier"],
                    c["referrals_window"],
                    c["last_referral"],
                ]
                for c in data["colleagues_referring"]
            ],
        ),
        "<h2>Last interactions</h2>",
        _table(
            ["when", "kind", "liaison", "summary"],
            [
                [i["occurred_at"][:16], i["kind"], i["liaison"], i["summary"]]
                for i in data["interactions"]
            ],
        ),
        "<h2>Score</h2>",
    ]
    for pr in data["prospects"]:
        parts.append(f"<h3>{_e(pr['site_code'])}: {pr['score']:.1f} ({_e(pr['segment'])})</h3>")
        parts.append(
            _table(
                ["component", "value", "weight", "points", "why"],
                [
                    [c["name"], c["value"], c["weight"], c["points"], c["reason"]]
                    for c in pr["components"]
                ],
            )
        )
    if not data["prospects"]:
        parts.append("<p class='none'>not a scored prospect</p>")
    return "".join(parts)


def brief_html(data: dict) -> str:
    """A printable, self-contained HTML page of :func:`brief` (every value escaped)."""
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>Brief: {_e(data['provider']['display_name'])}</title>"
        f"<style>{BRIEF_STYLE}</style></head><body>{brief_section(data)}</body></html>"
    )
