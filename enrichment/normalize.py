"""Normalisation of names, phones, postal codes, states and street addresses.

Pure string functions used both by the readers (to fill the standard record)
and by the linker (to compare records). ``None`` and blank input give ``""``
for the ``normalize_*`` text functions and ``None`` for the value parsers.

Not handled yet: non-Latin scripts (letters that have no ASCII decomposition
are dropped), phone numbers other than US and French ones, and name particles beyond a
short list (VAN, VON, DE, DA, DEL, DELLA, DI, LA, LE, MC, ST, BIN, AL).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

#: Leading honorifics removed from names.
TITLES = frozenset({"DR", "DOCTOR", "MR", "MRS", "MS", "MISS", "MX", "PROF", "PROFESSOR", "REV"})

#: Professional credentials and degrees (written without punctuation).
CREDENTIALS = frozenset(
    {
        "MD",
        "DO",
        "PHD",
        "NP",
        "PAC",
        "PA",
        "FACS",
        "FACP",
        "FACC",
        "FAAP",
        "FACOG",
        "FAAFP",
        "FACEP",
        "FACG",
        "FCCP",
        "RN",
        "APRN",
        "CNP",
        "FNP",
        "FNPC",
        "FNPBC",
        "ANP",
        "DNP",
        "CRNA",
        "CNM",
        "DPM",
        "DDS",
        "DMD",
        "OD",
        "DC",
        "PT",
        "DPT",
        "OT",
        "OTR",
        "PSYD",
        "LCSW",
        "LPC",
        "MPH",
        "MBA",
        "MS",
        "MSN",
        "BSN",
        "RPH",
        "PHARMD",
        "MBBS",
        "AUD",
        "CCCSLP",
        "SLP",
        "LAC",
        "LMT",
        "RD",
        "LD",
        "CRNP",
        "ARNP",
        "DABR",
        "MMSC",
        "MSC",
        "DACVS",
        "ATC",
        "FHM",
        "DMSC",
    }
)

#: Generational suffixes.
SUFFIXES = frozenset({"JR", "SR", "II", "III", "IV", "V"})

#: Surname particles kept with the last name in "First Last" order.
PARTICLES = frozenset(
    {"VAN", "VON", "DE", "DA", "DEL", "DELLA", "DI", "LA", "LE", "MC", "ST", "BIN", "AL"}
)

#: Common US given-name nicknames -> canonical given name (upper case).
#: An ambiguous nickname (CHRIS, ALEX, PAT, ...) maps to one canonical form only.
NICKNAMES: dict[str, str] = {
    "BOB": "ROBERT",
    "BOBBY": "ROBERT",
    "ROB": "ROBERT",
    "ROBBIE": "ROBERT",
    "BERT": "ROBERT",
    "BILL": "WILLIAM",
    "BILLY": "WILLIAM",
    "WILL": "WILLIAM",
    "WILLIE": "WILLIAM",
    "LIAM": "WILLIAM",
    "LIZ": "ELIZABETH",
    "LIZZIE": "ELIZABETH",
    "BETH": "ELIZABETH",
    "BETSY": "ELIZABETH",
    "BETTY": "ELIZABETH",
    "ELIZA": "ELIZABETH",
    "LISA": "ELIZABETH",
    "JIM": "JAMES",
    "JIMMY": "JAMES",
    "JAMIE": "JAMES",
    "MIKE": "MICHAEL",
    "MIKEY": "MICHAEL",
    "MICK": "MICHAEL",
    "KATE": "KATHERINE",
    "KATIE": "KATHERINE",
    "KATHY": "KATHERINE",
    "KAT": "KATHERINE",
    "CATHERINE": "KATHERINE",
    "KATHRYN": "KATHERINE",
    "CATHY": "KATHERINE",
    "JOHNNY": "JOHN",
    "JACK": "JOHN",
    "JOE": "JOSEPH",
    "JOEY": "JOSEPH",
    "TOM": "THOMAS",
    "TOMMY": "THOMAS",
    "DICK": "RICHARD",
    "RICK": "RICHARD",
    "RICH": "RICHARD",
    "RICKY": "RICHARD",
    "DAVE": "DAVID",
    "DAVEY": "DAVID",
    "DAN": "DANIEL",
    "DANNY": "DANIEL",
    "CHRIS": "CHRISTOPHER",
    "KIT": "CHRISTOPHER",
    "STEVE": "STEVEN",
    "STEPHEN": "STEVEN",
    "TONY": "ANTHONY",
    "ANDY": "ANDREW",
    "DREW": "ANDREW",
    "MATT": "MATTHEW",
    "NICK": "NICHOLAS",
    "ED": "EDWARD",
    "EDDIE": "EDWARD",
    "TED": "EDWARD",
    "NED": "EDWARD",
    "CHUCK": "CHARLES",
    "CHARLIE": "CHARLES",
    "GREG": "GREGORY",
    "JEFF": "JEFFREY",
    "JON": "JONATHAN",
    "KEN": "KENNETH",
    "KENNY": "KENNETH",
    "LARRY": "LAWRENCE",
    "LEN": "LEONARD",
    "LENNY": "LEONARD",
    "PAT": "PATRICK",
    "PETE": "PETER",
    "RAY": "RAYMOND",
    "RON": "RONALD",
    "RONNIE": "RONALD",
    "SAM": "SAMUEL",
    "SAMMY": "SAMUEL",
    "TIM": "TIMOTHY",
    "BEN": "BENJAMIN",
    "ALEX": "ALEXANDER",
    "AL": "ALBERT",
    "FRED": "FREDERICK",
    "HANK": "HENRY",
    "HARRY": "HENRY",
    "GERRY": "GERALD",
    "JERRY": "GERALD",
    "DON": "DONALD",
    "DOUG": "DOUGLAS",
    "PHIL": "PHILIP",
    "PHILLIP": "PHILIP",
    "ABBY": "ABIGAIL",
    "PEGGY": "MARGARET",
    "MAGGIE": "MARGARET",
    "MEG": "MARGARET",
    "MARGE": "MARGARET",
    "SUE": "SUSAN",
    "SUSIE": "SUSAN",
    "SUZANNE": "SUSAN",
    "JENNY": "JENNIFER",
    "JEN": "JENNIFER",
    "PATTY": "PATRICIA",
    "TRISH": "PATRICIA",
    "TRICIA": "PATRICIA",
    "BARB": "BARBARA",
    "DEB": "DEBORAH",
    "DEBBIE": "DEBORAH",
    "DEBRA": "DEBORAH",
    "CINDY": "CYNTHIA",
    "SANDY": "SANDRA",
    "MANDY": "AMANDA",
    "VICKY": "VICTORIA",
    "TORI": "VICTORIA",
    "BECKY": "REBECCA",
    "JUDY": "JUDITH",
    "NANCY": "ANN",
    "ANNIE": "ANN",
    "ANNA": "ANN",
    "ANNE": "ANN",
    "TERRY": "TERESA",
    "TERESA": "TERESA",
    "THERESA": "TERESA",
    "ZACH": "ZACHARY",
    "ZACK": "ZACHARY",
    "JAKE": "JACOB",
    "HAL": "HAROLD",
    "KIM": "KIMBERLY",
    "PAM": "PAMELA",
    "STEPH": "STEPHANIE",
    "JESS": "JESSICA",
    "JESSIE": "JESSICA",
    "JACKIE": "JACQUELINE",
    "LEXI": "ALEXIS",
    "DOT": "DOROTHY",
    "DOTTIE": "DOROTHY",
    "MANNY": "EMMANUEL",
    "NATE": "NATHAN",
    "GABE": "GABRIEL",
}

#: USPS street-suffix, directional and unit-designator abbreviations (Publication 28).
USPS_ABBREVIATIONS: dict[str, str] = {
    "STREET": "ST",
    "STR": "ST",
    "AVENUE": "AVE",
    "AV": "AVE",
    "AVEN": "AVE",
    "ROAD": "RD",
    "DRIVE": "DR",
    "DRV": "DR",
    "BOULEVARD": "BLVD",
    "BOUL": "BLVD",
    "LANE": "LN",
    "COURT": "CT",
    "PLACE": "PL",
    "PARKWAY": "PKWY",
    "PKY": "PKWY",
    "HIGHWAY": "HWY",
    "CIRCLE": "CIR",
    "TERRACE": "TER",
    "SQUARE": "SQ",
    "TRAIL": "TRL",
    "PLAZA": "PLZ",
    "EXPRESSWAY": "EXPY",
    "FREEWAY": "FWY",
    "CENTER": "CTR",
    "CENTRE": "CTR",
    "TURNPIKE": "TPKE",
    "ALLEY": "ALY",
    "CROSSING": "XING",
    "POINT": "PT",
    "HEIGHTS": "HTS",
    "ROUTE": "RTE",
    "PIKE": "PIKE",
    "NORTH": "N",
    "SOUTH": "S",
    "EAST": "E",
    "WEST": "W",
    "NORTHEAST": "NE",
    "NORTHWEST": "NW",
    "SOUTHEAST": "SE",
    "SOUTHWEST": "SW",
    "SUITE": "STE",
    "SUIT": "STE",
    "APARTMENT": "APT",
    "BUILDING": "BLDG",
    "BLD": "BLDG",
    "FLOOR": "FL",
    "FLR": "FL",
    "ROOM": "RM",
    "DEPARTMENT": "DEPT",
    "UNIT": "UNIT",
    # French street types written both ways (Bd / Boulevard, av. / avenue)
    "BD": "BLVD",
    "BVD": "BLVD",
    "AVE": "AVE",
    "CHEMIN": "CHE",
    "CHE": "CHE",
    "IMPASSE": "IMP",
    "ALLEE": "ALL",
    "FAUBOURG": "FBG",
    "FG": "FBG",
}

#: Legal-form words dropped from organisation names ("Capital Clinic, LLC" = "CAPITAL CLINIC").
LEGAL_FORMS = frozenset(
    {
        "LLC",
        "INC",
        "INCORPORATED",
        "PC",
        "PLLC",
        "PA",
        "LLP",
        "LP",
        "LTD",
        "CORP",
        "CORPORATION",
        "CO",
        "COMPANY",
        "SA",
        "SAS",
        "SASU",
        "SARL",
        "SCM",
        "SELARL",
        "SCP",
        "SELAS",
        "EURL",
        "THE",
    }
)

#: US state and territory names -> USPS code.
STATE_CODES: dict[str, str] = {
    "ALABAMA": "AL",
    "ALASKA": "AK",
    "ARIZONA": "AZ",
    "ARKANSAS": "AR",
    "CALIFORNIA": "CA",
    "COLORADO": "CO",
    "CONNECTICUT": "CT",
    "DELAWARE": "DE",
    "DISTRICT OF COLUMBIA": "DC",
    "FLORIDA": "FL",
    "GEORGIA": "GA",
    "HAWAII": "HI",
    "IDAHO": "ID",
    "ILLINOIS": "IL",
    "INDIANA": "IN",
    "IOWA": "IA",
    "KANSAS": "KS",
    "KENTUCKY": "KY",
    "LOUISIANA": "LA",
    "MAINE": "ME",
    "MARYLAND": "MD",
    "MASSACHUSETTS": "MA",
    "MICHIGAN": "MI",
    "MINNESOTA": "MN",
    "MISSISSIPPI": "MS",
    "MISSOURI": "MO",
    "MONTANA": "MT",
    "NEBRASKA": "NE",
    "NEVADA": "NV",
    "NEW HAMPSHIRE": "NH",
    "NEW JERSEY": "NJ",
    "NEW MEXICO": "NM",
    "NEW YORK": "NY",
    "NORTH CAROLINA": "NC",
    "NORTH DAKOTA": "ND",
    "OHIO": "OH",
    "OKLAHOMA": "OK",
    "OREGON": "OR",
    "PENNSYLVANIA": "PA",
    "RHODE ISLAND": "RI",
    "SOUTH CAROLINA": "SC",
    "SOUTH DAKOTA": "SD",
    "TENNESSEE": "TN",
    "TEXAS": "TX",
    "UTAH": "UT",
    "VERMONT": "VT",
    "VIRGINIA": "VA",
    "WASHINGTON": "WA",
    "WEST VIRGINIA": "WV",
    "WISCONSIN": "WI",
    "WYOMING": "WY",
    "PUERTO RICO": "PR",
    "GUAM": "GU",
    "VIRGIN ISLANDS": "VI",
    "AMERICAN SAMOA": "AS",
    "NORTHERN MARIANA ISLANDS": "MP",
    "ARMED FORCES AMERICAS": "AA",
    "ARMED FORCES EUROPE": "AE",
    "ARMED FORCES PACIFIC": "AP",
}
_STATE_SET = frozenset(STATE_CODES.values())

_SPACES = re.compile(r"\s+")
_NON_ALNUM = re.compile(r"[^A-Z0-9 ]+")
_EXTENSION = re.compile(r"(?i)\s*(?:x|ext\.?|extension|#)\s*\d+\s*$")


def strip_accents(s: str) -> str:
    """Decompose (NFKD) and drop combining marks: ``"Müller" -> "Muller"``."""
    decomposed = unicodedata.normalize("NFKD", s)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@lru_cache(maxsize=1 << 18)
def _ascii_upper(s: str) -> str:
    return strip_accents(s).upper().encode("ascii", "ignore").decode("ascii")


def _token_key(token: str) -> str:
    """A token without punctuation, for title/credential lookup: ``"Ph.D."`` -> ``"PHD"``."""
    return re.sub(r"[^A-Z0-9]", "", _ascii_upper(token))


def _is_credential(token: str) -> bool:
    return _token_key(token) in CREDENTIALS


@lru_cache(maxsize=1 << 18)  # registries repeat names: normalise each spelling once
def normalize_name(s: str | None) -> str:
    """Upper-case ASCII name without punctuation, titles, credentials or suffixes.

    Leading titles (DR, MR, ...) are removed; trailing credentials and
    generational suffixes are removed after a comma, or without one while more
    than two words remain (so ``"John Do"`` keeps its surname). Hyphens become
    spaces, apostrophes and periods vanish.

    Examples
    --------
    >>> normalize_name("Dr. José O'Neil-Smith, M.D., FACS")
    'JOSE ONEIL SMITH'
    """
    if s is None:
        return ""
    parts = [p for p in _ascii_upper(s).split(",") if _token_key(p)]
    # comma-separated trailing parts made only of credentials/suffixes are dropped outright
    while len(parts) > 1 and all(
        _token_key(w) in CREDENTIALS or _token_key(w) in SUFFIXES for w in parts[-1].split()
    ):
        parts.pop()
    tokens = [t for t in " ".join(parts).split() if _token_key(t)]
    while len(tokens) > 1 and _token_key(tokens[0]) in TITLES:
        tokens.pop(0)
    # without a comma a trailing "DO" may be a surname: keep at least two tokens
    while len(tokens) > 2 and (
        _token_key(tokens[-1]) in CREDENTIALS or _token_key(tokens[-1]) in SUFFIXES
    ):
        tokens.pop()
    text = " ".join(tokens).replace("'", "").replace(".", "").replace("-", " ")
    return _SPACES.sub(" ", _NON_ALNUM.sub(" ", text)).strip()


def _clean_token(token: str) -> str:
    return token.strip().strip(".,;").strip()


def split_full_name(s: str | None) -> dict[str, str | None]:
    """Split a free-text person name into its parts.

    Handles ``"Last, First M"``, ``"Last, First M, MD"``, ``"Dr. First M. Last, MD"``,
    ``"First Last"`` and ``"FIRST M LAST MD"``. Parts keep the input's case;
    periods are dropped from initials; credentials are joined with ``", "``.

    Returns
    -------
    dict
        Keys named as in the standard record: ``name_prefix``, ``first_name``,
        ``middle_name``, ``last_name``, ``name_suffix``, ``credential`` (``None``
        when absent). A single word is taken as the last name.
    """
    out: dict[str, str | None] = dict.fromkeys(
        ("name_prefix", "first_name", "middle_name", "last_name", "name_suffix", "credential")
    )
    if s is None:
        return out
    parts = [p.strip() for p in s.split(",") if p.strip()]
    if not parts:
        return out
    creds: list[str] = []
    suffixes: list[str] = []
    # trailing comma-separated parts made only of credentials / suffixes
    while len(parts) > 1:
        words = parts[-1].split()
        if words and all(_is_credential(w) or _token_key(w) in SUFFIXES for w in words):
            suffixes[:0] = [_clean_token(w) for w in words if _token_key(w) in SUFFIXES]
            creds[:0] = [w.strip(",;") for w in words if _token_key(w) not in SUFFIXES]
            parts.pop()
        else:
            break
    last_first = len(parts) >= 2
    if last_first:
        last_words = parts[0].split()
        while len(last_words) > 1 and _token_key(last_words[-1]) in SUFFIXES:
            suffixes.insert(0, _clean_token(last_words.pop()))
        rest = " ".join(parts[1:]).split()
    else:
        last_words = []
        rest = parts[0].split()
    rest = [w for w in (_clean_token(w) for w in rest) if w]
    prefixes: list[str] = []
    while len(rest) > 1 and _token_key(rest[0]) in TITLES:
        prefixes.append(rest.pop(0))
    # keep the given name (and, in "First Last" order, the surname) whatever they look like
    keep = 1 if last_first else 2
    trailing: list[str] = []
    while len(rest) > keep and (
        _token_key(rest[-1]) in SUFFIXES or _token_key(rest[-1]) in CREDENTIALS
    ):
        trailing.insert(0, rest.pop())
    suffixes[:0] = [w for w in trailing if _token_key(w) in SUFFIXES]
    creds[:0] = [w for w in trailing if _token_key(w) not in SUFFIXES]
    if not last_first:
        if len(rest) == 1:
            last_words, rest = rest, []
        else:
            cut = len(rest) - 1
            while cut > 1 and _token_key(rest[cut - 1]) in PARTICLES:
                cut -= 1
            last_words, rest = rest[cut:], rest[:cut]
    out["name_prefix"] = " ".join(_clean_token(p) for p in prefixes) or None
    out["last_name"] = " ".join(_clean_token(w) for w in last_words) or None
    out["first_name"] = rest[0] if rest else None
    out["middle_name"] = " ".join(rest[1:]) or None
    out["name_suffix"] = " ".join(suffixes) or None
    out["credential"] = ", ".join(creds) or None
    return out


def canonical_first_name(s: str | None) -> str:
    """Normalised first given name mapped through :data:`NICKNAMES` (``"Bob"`` -> ``"ROBERT"``)."""
    name = normalize_name(s)
    if not name:
        return ""
    first = name.split()[0]
    return NICKNAMES.get(first, first)


def normalize_phone(s: str | None) -> str | None:
    """Ten-digit US phone number, or ``None`` when the input is not one.

    Punctuation, a trailing extension (``x123``, ``ext. 4``) and a leading
    country code ``1`` are removed; area codes starting with 0 or 1 are refused.

    Examples
    --------
    >>> normalize_phone("+1 (614) 555-0100 ext. 12")
    '6145550100'
    """
    if s is None:
        return None
    digits = re.sub(r"\D", "", _EXTENSION.sub("", s))
    if len(digits) == 11 and digits[0] == "1":
        digits = digits[1:]
    if len(digits) != 10 or digits[0] in "01":
        return None
    return digits


def normalize_postal_code(s: str | None, *, pad_short: bool = False) -> str | None:
    """Five-digit US ZIP code from ``"43215"``, ``"43215-1234"`` or ``"432151234"``.

    Parameters
    ----------
    s
        Raw postal code.
    pad_short
        Left-pad 3- and 4-digit values with zeros (spreadsheets drop the leading
        zero of New England ZIP codes).

    Returns
    -------
    str or None
        ``None`` when the value is not a US ZIP / ZIP+4.
    """
    if s is None:
        return None
    text = s.strip()
    if re.fullmatch(r"\d{5}(?:-?\d{4})?", text):
        return text[:5]
    if pad_short and re.fullmatch(r"\d{3,4}", text):
        return text.zfill(5)
    if pad_short and re.fullmatch(r"\d{7,8}", text):
        return text.zfill(9)[:5]
    return None


def normalize_state(s: str | None) -> str | None:
    """USPS two-letter state code from a code or a full name, else ``None``."""
    if s is None:
        return None
    text = _SPACES.sub(" ", _NON_ALNUM.sub(" ", _ascii_upper(s))).strip()
    if text in _STATE_SET:
        return text
    return STATE_CODES.get(text)


@lru_cache(maxsize=1 << 18)
def normalize_org_name(s: str | None) -> str:
    """Upper-case ASCII organisation name without punctuation or legal forms.

    Examples
    --------
    >>> normalize_org_name("Capital Internal Medicine, L.L.C.")
    'CAPITAL INTERNAL MEDICINE'
    """
    if s is None:
        return ""
    text = _ascii_upper(s).replace(".", "").replace("'", "").replace("&", " AND ")
    tokens = _SPACES.sub(" ", _NON_ALNUM.sub(" ", text)).split()
    kept = [t for t in tokens if t not in LEGAL_FORMS]
    return " ".join(kept or tokens)


@lru_cache(maxsize=1 << 18)
def normalize_address(s: str | None) -> str:
    """Upper-case street line with USPS abbreviations and no punctuation.

    Examples
    --------
    >>> normalize_address("123 North Main Street, Suite 200")
    '123 N MAIN ST STE 200'
    """
    if s is None:
        return ""
    text = _ascii_upper(s).replace("#", " # ").replace(".", "").replace("'", "")
    text = re.sub(r"[^A-Z0-9# ]+", " ", text)
    tokens = [USPS_ABBREVIATIONS.get(t, t) for t in text.split()]
    out: list[str] = []
    for i, tok in enumerate(tokens):
        # "# 200" after a unit designator is redundant; alone it means a unit
        if tok == "#" and out and out[-1] in {"STE", "APT", "UNIT", "RM", "FL", "BLDG", "DEPT"}:
            continue
        if tok == "#" and i + 1 < len(tokens):
            out.append("STE")
            continue
        out.append(tok)
    return " ".join(out)
