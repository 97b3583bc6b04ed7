"""A generated clinic (bench.referral_world) written into a database as loads leave it.

Golden records with coordinates and H3 cells, the practices with their member
counts, the MRI sites, referral events linked to their providers and the
contact log: what the scoring models learn from, without running the whole
pipeline in every test.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pandas as pd

from bench.referral_world import generate_world, load_params
from data.models import ClinicSite, Organization, Provider, ReferralEvent
from data.models.prospecting import Interaction
from geo.h3grid import latlng_to_cells


def _cells(lat: float, lon: float) -> dict[str, int]:
    return {f"h3_r{r}": int(latlng_to_cells(lat, lon, r)[0]) for r in (7, 8, 9)}


def small_world(providers: int):
    params = load_params()
    return generate_world(
        seed=3,
        params=dataclasses.replace(
            params, world=dataclasses.replace(params.world, providers=providers)
        ),
    )


def load_world(ctx, world, *, with_referrals: bool = True) -> None:
    prov = world.providers
    with ctx.sessions.begin() as s:
        for site in world.sites.itertuples():
            s.add(ClinicSite(site_code=site.site_code, name=site.name, service_line="MRI",
                             lat=site.lat, lon=site.lon, **_cells(site.lat, site.lon)))  # fmt: skip
        orgs = {}
        for org_id, size in (
            prov.groupby("organization_id")["practice_size_reported"].first().items()
        ):
            org = Organization(org_key=f"w{org_id}", name=f"Practice {org_id}",
                               member_count=0 if pd.isna(size) else int(size))  # fmt: skip
            s.add(org)
            orgs[org_id] = org
        s.flush()
        ids = {}
        for p in prov.itertuples():
            row = Provider(
                cluster_key=f"w{p.provider_id}", npi=str(p.npi),
                entity_type="organization" if str(p.entity_type) == "2" else "individual",
                display_name=f"{p.last_name}", first_name=p.first_name, last_name=p.last_name,
                taxonomy_code=p.taxonomy_code, classification=p.classification,
                is_active=True, geocode_precision="street",
                organization_id=orgs[p.organization_id].id, lat=p.lat, lon=p.lon,
                **_cells(p.lat, p.lon),
            )  # fmt: skip
            s.add(row)
            s.flush()
            ids[p.provider_id] = row.id
        if with_referrals:
            s.add_all(
                ReferralEvent(external_id=r.external_id, referral_date=pd.Timestamp(r.referral_date).date(),
                              provider_id=ids[r.provider_id_truth], site_code=r.site_code)
                for r in world.referrals.itertuples()
            )  # fmt: skip
        by_npi = dict(zip(prov["npi"].astype(str), prov["provider_id"], strict=True))
        s.add_all(
            Interaction(provider_id=ids[by_npi[str(i.npi)]], kind=i.kind, external_id=i.external_id,
                        occurred_at=datetime.combine(pd.Timestamp(i.date).date(), datetime.min.time(), UTC))
            for i in world.interactions.itertuples()
            if str(i.npi) in by_npi
        )  # fmt: skip
