"""Labelled person records for linkage benchmarks: people written 1-4 times, corrupted, with truth.

Each true person lives in one of six countries (US, GB, FR, DE, CA, AU) at an
address written the country's way ("42 Maple Street", "12 rue de la Paix",
"Hauptstraße 5") with a postcode in the country's real shape ("10115",
"75011", "SW1A 1AA", "K1A 0B1", "2000", a US ZIP or ZIP+4). Names come from
Zipf-weighted pools (a country-specific head, then a long shared tail of
made-up surnames), so a million records hold realistic namesakes: people who
share a name, and sometimes a birth year and a city, without being one person.

Every record of a person (the first one too) draws each corruption
independently at its own rate (:data:`RATES`): keyboard typos, OCR
confusions, given name and surname swapped, nicknames, initials, missing
fields, date-of-birth errors (day and month swapped, one digit off, year only,
wrong year), a moved address, postcode typos, accents dropped, upper case,
abbreviated street types, postcode written another way, a mistyped identity
number. The identity number (nine digits and a Luhn check digit) and the
phone and email are present on a share of records only (:data:`SHARES`).

The behaviour of this world is defined here and in :mod:`bench.person_pools`
alone: nothing is imported from the product's normalisers or matchers.
Draws are vectorised; string edits run on the few flagged rows only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from bench import person_pools as pools
from demo.name_pools import FEMALE_FIRST, LAST_NAMES, MALE_FIRST

#: Per-record corruption rates, each drawn independently.
RATES: dict[str, float] = {
    "given_typo": 0.04,
    "surname_typo": 0.05,
    "ocr": 0.02,
    "swapped": 0.015,
    "nickname": 0.06,
    "initial": 0.02,
    "no_given": 0.01,
    "no_surname": 0.02,
    "no_dob": 0.03,
    "no_street": 0.03,
    "no_city": 0.03,
    "no_postcode": 0.02,
    "dob_swap": 0.01,
    "dob_digit": 0.01,
    "dob_year_only": 0.01,
    "dob_wrong_year": 0.01,
    "moved": 0.06,
    "postcode_typo": 0.015,
    "ascii": 0.3,
    "upper": 0.25,
    "street_abbrev": 0.3,
    "postcode_style": 0.15,
    "id_typo": 0.005,
}
#: Share of records carrying each optional field.
SHARES: dict[str, float] = {"id_number": 0.5, "phone": 0.4, "email": 0.3}
#: Records per person and their probabilities (many people are written once).
COPIES = (1, 2, 3, 4)
COPY_P = (0.45, 0.3, 0.17, 0.08)
COLUMNS = (
    "rec_id",
    "given_name",
    "surname",
    "dob",
    "street",
    "city",
    "postcode",
    "country",
    "phone",
    "email",
    "id_number",
)


@dataclass(frozen=True)
class PersonWorld:
    """Generated records, the true person of each, and the corruptions each received."""

    records: pd.DataFrame  # COLUMNS, text (None where missing)
    truth: np.ndarray  # int64 person id per record
    flags: pd.DataFrame  # bool per RATES key: the corruption changed this record
    copy: np.ndarray  # int8: which copy of its person the record is (0 = first)


def _zipf(n: int, offset: float, power: float = 1.0) -> np.ndarray:
    w = 1.0 / (np.arange(n) + offset) ** power
    return w / w.sum()


def _house_numbers(rng: np.random.Generator, n: int) -> np.ndarray:
    # log-normal: most numbers small, a long tail into the thousands
    return np.minimum(np.ceil(rng.lognormal(2.8, 1.1, n)), 3_000).astype(np.int64)


def _made_up_surnames(rng: np.random.Generator, size: int) -> np.ndarray:
    """``size`` distinct syllable-built surnames (the Zipf tail shared by all countries)."""
    syl = np.array(pools.SYLLABLES, dtype=object)
    k = rng.choice([2, 3, 4], size=size * 2, p=[0.5, 0.4, 0.1])
    parts = syl[rng.integers(0, len(syl), size=(size * 2, 4))]
    names = ["".join(parts[i, : k[i]]).capitalize() for i in range(size * 2)]
    return np.array(list(dict.fromkeys(names))[:size], dtype=object)


def _given_pool(country: str) -> list[str]:
    english = [n for pair in zip(FEMALE_FIRST, MALE_FIRST) for n in pair]
    english = [n.title() for n in english]
    if country == "FR":
        return list(pools.GIVEN_EXTRA["FR"]) + english[:40]
    if country == "DE":
        return list(pools.GIVEN_EXTRA["DE"]) + english[:40]
    if country == "CA":
        return english[:60] + list(pools.GIVEN_EXTRA["FR"]) + english[60:]
    return english


def _surname_pool(country: str, tail: np.ndarray) -> np.ndarray:
    us = [n.title() for n in LAST_NAMES]
    head = list(pools.SURNAME_EXTRA.get(country, ())) + us + list(pools.SURNAME_EXTRA["ANY"])
    return np.concatenate([np.array(list(dict.fromkeys(head)), dtype=object), tail])


def _luhn_digit(body: np.ndarray) -> np.ndarray:
    """Luhn check digit of each row of a digit matrix (the identity number's last digit)."""
    d = body[:, ::-1].copy()
    d[:, ::2] *= 2
    d = np.where(d > 9, d - 9, d)
    return (10 - d.sum(axis=1) % 10) % 10


def _postcodes(rng: np.random.Generator, country: str, n: int) -> np.ndarray:
    """``n`` distinct postcodes in the country's real shape."""
    letters = np.array(list("ABCDEFGHJKLMNOPRSTUWXYZ"))
    if country in ("US", "DE"):
        codes = rng.choice(np.arange(1_001, 99_950), n, replace=False)
        return np.array([f"{c:05d}" for c in codes], dtype=object)
    if country == "FR":
        dept = rng.integers(1, 96, 3 * n)
        codes = np.unique(dept * 1000 + rng.integers(0, 100, 3 * n) * 10)
        return np.array([f"{c:05d}" for c in rng.permutation(codes)[:n]], dtype=object)
    if country == "AU":
        codes = rng.choice(np.arange(800, 7_999), min(n, 7_199), replace=False)
        return np.array([f"{c:04d}" for c in codes], dtype=object)
    out: dict[str, None] = {}
    while len(out) < n:
        m = 2 * n
        if country == "GB":
            area = np.array(["SW", "SE", "N", "E", "W", "EC", "M", "B", "L", "LS", "G", "EH"])
            a = area[rng.integers(0, len(area), m)]
            dist = rng.integers(1, 20, m)
            # a district letter only after a one-digit district (SW1A, EC1V): A9A / AA9A
            sub = np.where(
                (rng.random(m) < 0.15) & (dist < 10), letters[rng.integers(0, len(letters), m)], ""
            )
            inner = rng.integers(0, 10, m)
            l1, l2 = letters[rng.integers(0, 23, m)], letters[rng.integers(0, 23, m)]
            new = [f"{a[i]}{dist[i]}{sub[i]} {inner[i]}{l1[i]}{l2[i]}" for i in range(m)]
        else:  # CA: A1A 1A1
            first = np.array(list("ABCEGHJKLMNPRSTVXY"))[rng.integers(0, 18, m)]
            lt = np.array(list("ABCEGHJKLMNPRSTVWXYZ"))
            x = lt[rng.integers(0, len(lt), (m, 2))]
            dg = rng.integers(0, 10, (m, 3))
            new = [f"{first[i]}{dg[i, 0]}{x[i, 0]} {dg[i, 1]}{x[i, 1]}{dg[i, 2]}" for i in range(m)]
        out.update(dict.fromkeys(new))
    return np.array(list(out)[:n], dtype=object)


def _typo(s: str, r: np.ndarray) -> str:
    """One keyboard error: adjacent-key substitution, deletion, insertion or transposition."""
    if len(s) < 2:
        return s
    i = int(r[0] * len(s))
    kind = int(r[1] * 4)
    c = s[i]
    near = pools.KEY_NEIGHBOURS.get(c.lower(), "")
    if kind == 0 and near:
        n = near[int(r[2] * len(near))]
        return s[:i] + (n.upper() if c.isupper() else n) + s[i + 1 :]
    if kind == 1 and len(s) > 3:
        return s[:i] + s[i + 1 :]
    if kind == 2 and near:
        return s[: i + 1] + near[int(r[2] * len(near))] + s[i + 1 :]
    j = min(i + 1, len(s) - 1) if i < len(s) - 1 else i - 1
    a, b = sorted((i, j))
    return s[:a] + s[b] + s[a] + s[b + 1 :]


def _ocr(s: str, r: float) -> str:
    """One OCR confusion (0/O, 1/l, 5/S, rn/m, ...) at a random applicable place."""
    hits = [(a, b) for a, b in pools.OCR_CONFUSIONS if a in s]
    if not hits:
        return s
    a, b = hits[int(r * len(hits))]
    starts = [i for i in range(len(s)) if s.startswith(a, i)]
    i = starts[int(r * 7919) % len(starts)]
    return s[:i] + b + s[i + len(a) :]


def _postcode_typo(s: str, r: np.ndarray) -> str:
    """One mistyped character of a postcode, keeping digits digits and letters letters."""
    pos = [i for i, c in enumerate(s) if c.isalnum()]
    i = pos[int(r[0] * len(pos))]
    c = s[i]
    if c.isdigit():
        new = str((int(c) + 1 + int(r[1] * 9)) % 10)
    else:
        new = chr((ord(c.upper()) - 65 + 1 + int(r[1] * 25)) % 26 + 65)
    return s[:i] + new + s[i + 1 :]


def _phone(country: str, digits: str, intl: bool) -> str:
    if country in ("US", "CA"):
        return (
            f"+1 {digits[:3]} {digits[3:6]} {digits[6:]}"
            if intl
            else f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"
        )
    code = {"GB": "44", "FR": "33", "DE": "49", "AU": "61"}[country]
    nat = digits[1:]  # nine digits after the trunk 0
    if intl:
        return f"+{code} {nat[:1]} {nat[1:5]} {nat[5:]}"
    return (
        f"0{nat[:1]} {nat[1:5]} {nat[5:]}"
        if country != "FR"
        else "0" + " ".join([nat[0], nat[1:3], nat[3:5], nat[5:7], nat[7:9]])
    )


def _addresses(
    country: np.ndarray, number: np.ndarray, word: np.ndarray, kind: np.ndarray, abbrev: np.ndarray
) -> np.ndarray:
    """Street lines written each country's way."""
    out = np.empty(len(country), dtype=object)
    for i in range(len(country)):
        c, num, w, k, a = country[i], number[i], word[i], kind[i], int(abbrev[i])
        if c == "FR":
            typ = pools.STREET_TYPES_FR[k % len(pools.STREET_TYPES_FR)][a]
            out[i] = f"{num} {typ} {pools.STREET_NAMES_FR[w % len(pools.STREET_NAMES_FR)]}"
        elif c == "DE":
            typ = pools.STREET_TYPES_DE[k % len(pools.STREET_TYPES_DE)][a]
            out[i] = f"{pools.STREET_WORDS_DE[w % len(pools.STREET_WORDS_DE)]}{typ} {num}"
        else:
            typ = pools.STREET_TYPES_EN[k % len(pools.STREET_TYPES_EN)][a]
            out[i] = f"{num} {pools.STREET_WORDS_EN[w % len(pools.STREET_WORDS_EN)]} {typ}"
    return out


def generate_people(n_records: int, *, seed: int) -> PersonWorld:
    """``n_records`` person records with their truth and corruption flags.

    Parameters
    ----------
    n_records
        Exactly this many records are returned (the last person may be cut short).
    seed
        The same seed gives the same world.

    Returns
    -------
    PersonWorld
        Records in random order, the true person of each, the corruptions applied.
    """
    rng = np.random.default_rng(seed)
    copies = rng.choice(COPIES, size=max(n_records, 1), p=COPY_P)
    ends = np.cumsum(copies)
    n_people = int(np.searchsorted(ends, n_records)) + 1
    copies = copies[:n_people].copy()
    copies[-1] -= int(ends[n_people - 1]) - n_records
    person = np.repeat(np.arange(n_people), copies)
    starts = np.cumsum(copies) - copies  # after the last person is cut short
    copy = (np.arange(n_records) - np.repeat(starts, copies)).astype(np.int8)
    n = n_records

    # --- people: country, names, birth date, home locality and street, contacts
    countries = np.array(pools.COUNTRIES)
    p_country = rng.choice(len(countries), n_people, p=pools.COUNTRY_SHARE)
    tail = _made_up_surnames(rng, int(np.clip(n_people // 4, 2_000, 200_000)))
    given = np.empty(n_people, dtype=object)
    surname = np.empty(n_people, dtype=object)
    loc = np.zeros(n_people, dtype=np.int64)
    loc_post: list[np.ndarray] = []
    loc_city: list[np.ndarray] = []
    loc_base = np.zeros(len(countries) + 1, dtype=np.int64)
    for ci, c in enumerate(countries):
        idx = np.flatnonzero(p_country == ci)
        gp = np.array(_given_pool(c), dtype=object)
        given[idx] = gp[rng.choice(len(gp), len(idx), p=_zipf(len(gp), 4.0))]
        sp = _surname_pool(c, tail)
        surname[idx] = sp[rng.choice(len(sp), len(idx), p=_zipf(len(sp), 8.0, 0.95))]
        n_loc = max(30, len(idx) // 25)
        posts = _postcodes(rng, c, n_loc)
        cities = np.array(pools.CITIES[c], dtype=object)
        loc_post.append(posts)
        loc_city.append(cities[rng.choice(len(cities), len(posts), p=_zipf(len(cities), 2.0))])
        loc_base[ci + 1] = loc_base[ci] + len(posts)
        loc[idx] = loc_base[ci] + rng.choice(len(posts), len(idx), p=_zipf(len(posts), 30.0, 0.6))
    migrants = rng.random(n_people) < 0.05  # names from anywhere, in any country
    given[migrants] = rng.choice(np.array(pools.GIVEN_EXTRA["ANY"]), int(migrants.sum()))
    post_all, city_all = np.concatenate(loc_post), np.concatenate(loc_city)
    birth = np.datetime64("1930-01-01") + rng.integers(0, 76 * 365, n_people).astype(
        "timedelta64[D]"
    )
    street = np.stack([rng.integers(0, 997, n_people) for _ in range(2)], axis=1)
    number = _house_numbers(rng, n_people)
    plus4 = rng.integers(1, 9_999, n_people)
    phone_digits = rng.integers(10**9, 10**10 - 1, n_people)
    id_body = rng.integers(0, 10, (n_people, 9))
    id_digits = np.concatenate([id_body, _luhn_digit(id_body)[:, None]], axis=1)

    # --- records: copy the person, then corrupt
    f = pd.DataFrame(rng.random((n, len(RATES))) < np.array(list(RATES.values())), columns=[*RATES])
    u = rng.random((n, 4))  # spare uniforms for the string edits
    country = countries[p_country[person]]
    g = given[person].copy()
    s = surname[person].copy()
    nick = np.array([bool(f.nickname[i]) and g[i] in pools.NICKNAMES for i in range(n)])
    for i in np.flatnonzero(nick):
        options = pools.NICKNAMES[g[i]]
        g[i] = options[int(u[i, 0] * len(options))]
    f["nickname"] = nick
    f["initial"] &= ~nick
    g[f.initial.to_numpy()] = [x[0] + "." for x in g[f.initial.to_numpy()]]
    for col, arr in (("given_typo", g), ("surname_typo", s)):
        for i in np.flatnonzero(f[col].to_numpy()):
            arr[i] = _typo(arr[i], u[i])
    # moved: another locality of the same country, another street and number
    lo = loc[person].copy()
    moved = f.moved.to_numpy()
    ci = p_country[person[moved]]
    span = loc_base[ci + 1] - loc_base[ci]
    lo[moved] = loc_base[ci] + (rng.random(int(moved.sum())) * span).astype(np.int64)
    st = street[person].copy()
    st[moved] = rng.integers(0, 997, (int(moved.sum()), 2))
    num = number[person].copy()
    num[moved] = _house_numbers(rng, int(moved.sum()))
    addr = _addresses(country, num, st[:, 0], st[:, 1], f.street_abbrev.to_numpy())
    post = post_all[lo].copy()
    city = city_all[lo].copy()
    style = f.postcode_style.to_numpy()
    us = (country == "US") & style
    post[us] = [f"{p}-{q:04d}" for p, q in zip(post[us], plus4[person[us]])]
    spaced = np.isin(country, ["GB", "CA"]) & style
    post[spaced] = [
        p.replace(" ", "") if k < 0.6 else p.lower() for p, k in zip(post[spaced], u[spaced, 3])
    ]
    f["postcode_style"] = us | spaced
    for i in np.flatnonzero(f.postcode_typo.to_numpy()):
        post[i] = _postcode_typo(post[i], u[i])
    # OCR hits one of given name, surname, street, postcode
    ocr_changed = np.zeros(n, dtype=bool)
    for i in np.flatnonzero(f.ocr.to_numpy()):
        target = (g, s, addr, post)[int(u[i, 2] * 4)]
        before = target[i]
        target[i] = _ocr(before, u[i, 1])
        ocr_changed[i] = target[i] != before
    f["ocr"] = ocr_changed
    sw = f.swapped.to_numpy()
    g[sw], s[sw] = s[sw], g[sw].copy()
    for col, arr in (("ascii", g), ("ascii", s), ("ascii", addr), ("ascii", city)):
        rows = np.flatnonzero(f[col].to_numpy())
        arr[rows] = [x.translate(pools.ASCII_FOLD) for x in arr[rows]]
    up = f.upper.to_numpy()
    g[up] = [x.upper() for x in g[up]]
    s[up] = [x.upper() for x in s[up]]

    # --- date of birth and its errors (vectorised on year / month / day)
    ymd = birth[person].astype("datetime64[D]")
    y = ymd.astype("datetime64[Y]").astype(np.int64) + 1970
    m = ymd.astype("datetime64[M]").astype(np.int64) % 12 + 1
    d = (ymd - ymd.astype("datetime64[M]")).astype(np.int64) + 1
    wy = f.dob_wrong_year.to_numpy()
    y[wy] += np.array([-3, -2, -1, 1, 2, 3])[rng.integers(0, 6, int(wy.sum()))]
    dg = f.dob_digit.to_numpy()
    on_day = dg & (u[:, 1] < 0.5)
    new_day = d - d % 10 + (d % 10 + rng.integers(1, 10, n)) % 10
    day_ok = on_day & (new_day >= 1) & (new_day <= 28)
    d = np.where(day_ok, new_day, d)
    on_year = dg & ~day_ok
    y = np.where(on_year, y - y % 10 + (y % 10 + rng.integers(1, 10, n)) % 10, y)
    sw_dm = f.dob_swap.to_numpy() & (d <= 12) & (d != m)
    m, d = np.where(sw_dm, d, m), np.where(sw_dm, m, d)
    f["dob_swap"] = sw_dm
    dob = (
        pd.Series(y).astype(str).str.zfill(4)
        + "-"
        + pd.Series(m).astype(str).str.zfill(2)
        + "-"
        + pd.Series(d).astype(str).str.zfill(2)
    ).to_numpy(dtype=object)
    yo = f.dob_year_only.to_numpy()
    dob[yo] = [x[:4] for x in dob[yo]]

    # --- optional fields: identity number, phone, email
    has_id = rng.random(n) < SHARES["id_number"]
    ids = id_digits[person].copy()
    it = np.flatnonzero(f.id_typo.to_numpy())
    pos = rng.integers(0, 10, len(it))
    ids[it, pos] = (ids[it, pos] + rng.integers(1, 10, len(it))) % 10  # always another digit
    id_text = (
        pd.Series(ids @ (10 ** np.arange(9, -1, -1))).astype(str).str.zfill(10).to_numpy(object)
    )
    f["id_typo"] &= has_id
    has_phone = rng.random(n) < SHARES["phone"]
    has_email = rng.random(n) < SHARES["email"]
    intl = rng.random(n) < 0.5
    phone = np.full(n, None, dtype=object)
    for i in np.flatnonzero(has_phone):
        phone[i] = _phone(country[i], f"{phone_digits[person[i]]:010d}", bool(intl[i]))
    email = np.full(n, None, dtype=object)
    domains = np.array(pools.EMAIL_DOMAINS)
    for i in np.flatnonzero(has_email):
        p = person[i]
        local = f"{given[p]}.{surname[p]}".translate(pools.ASCII_FOLD).lower().replace(" ", "")
        email[i] = f"{local}{p % 97}@{domains[p % len(domains)]}"

    # --- missing fields last, so a dropped field is dropped whatever else happened
    for col, arr in (
        ("no_given", g),
        ("no_surname", s),
        ("no_dob", dob),
        ("no_street", addr),
        ("no_city", city),
        ("no_postcode", post),
    ):
        arr[f[col].to_numpy()] = None
    records = pd.DataFrame(
        {
            "given_name": g,
            "surname": s,
            "dob": dob,
            "street": addr,
            "city": city,
            "postcode": post,
            "country": country.astype(object),
            "phone": phone,
            "email": email,
            "id_number": np.where(has_id, id_text, None),
        }
    )
    order = rng.permutation(n)
    records = records.iloc[order].reset_index(drop=True)
    records.insert(0, "rec_id", [f"r{i:07d}" for i in range(n)])
    return PersonWorld(
        records=records,
        truth=person[order].astype(np.int64),
        flags=f.iloc[order].reset_index(drop=True),
        copy=copy[order],
    )


def write_people(directory: Path, *, n_records: int, seed: int) -> dict[str, Path]:
    """Write ``records_full.csv``, ``records_noid.csv`` (no identity number) and ``truth.csv``.

    Returns
    -------
    dict
        ``full``, ``noid`` and ``truth`` paths.
    """
    world = generate_people(n_records, seed=seed)
    directory.mkdir(parents=True, exist_ok=True)
    paths = {
        k: directory / f"{k if k == 'truth' else 'records_' + k}.csv"
        for k in ("full", "noid", "truth")
    }
    world.records.to_csv(paths["full"], index=False)
    world.records.drop(columns=["id_number"]).to_csv(paths["noid"], index=False)
    pd.DataFrame({"rec_id": world.records["rec_id"], "person_id": world.truth}).to_csv(
        paths["truth"], index=False
    )
    return paths
