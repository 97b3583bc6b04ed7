"""Name pools and the ways people write a provider's name differently.

The pools are common US given names and surnames (by frequency rank in public
census and SSA tables), stored as tuples: constant data, not mutable state.
The variant helpers turn a registry-style name (``ROBERT J SMITH MD``) into the
forms a clinic's spreadsheet or a referral fax uses (``Dr. Bob Smith``,
``Smith, Robert``, ``Dr. R. Smith``), including a one-character typo.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "FEMALE_FIRST",
    "LAST_NAMES",
    "MALE_FIRST",
    "MIDDLE_INITIALS",
    "NICKNAMES",
    "free_text_name",
    "list_style_name",
    "title_case",
    "typo",
]

FEMALE_FIRST: tuple[str, ...] = (
    "MARY", "PATRICIA", "JENNIFER", "LINDA", "ELIZABETH", "BARBARA", "SUSAN", "JESSICA",
    "SARAH", "KAREN", "LISA", "NANCY", "BETTY", "MARGARET", "SANDRA", "ASHLEY", "KIMBERLY",
    "EMILY", "DONNA", "MICHELLE", "CAROL", "AMANDA", "DOROTHY", "MELISSA", "DEBORAH",
    "STEPHANIE", "REBECCA", "SHARON", "LAURA", "CYNTHIA", "KATHLEEN", "AMY", "ANGELA",
    "SHIRLEY", "ANNA", "BRENDA", "PAMELA", "EMMA", "NICOLE", "HELEN", "SAMANTHA",
    "KATHERINE", "CHRISTINE", "DEBRA", "RACHEL", "CAROLYN", "JANET", "CATHERINE", "MARIA",
    "HEATHER", "DIANE", "RUTH", "JULIE", "OLIVIA", "JOYCE", "VIRGINIA", "VICTORIA", "KELLY",
    "LAUREN", "CHRISTINA", "JOAN", "EVELYN", "JUDITH", "MEGAN", "ANDREA", "CHERYL", "HANNAH",
    "JACQUELINE", "MARTHA", "GLORIA", "TERESA", "ANN", "SARA", "MADISON", "FRANCES",
    "KATHRYN", "JANICE", "JEAN", "ABIGAIL", "ALICE", "JUDY", "SOPHIA", "GRACE", "DENISE",
    "AMBER", "DORIS", "MARILYN", "DANIELLE", "BEVERLY", "ISABELLA", "THERESA", "DIANA",
    "NATALIE", "BRITTANY", "CHARLOTTE", "MARIE", "KAYLA", "ALEXIS", "LORI", "PRIYA",
    "MEI", "FATIMA", "AISHA", "ANJALI", "YUKI", "LEILA", "NADIA", "ELENA", "SOFIA",
)

MALE_FIRST: tuple[str, ...] = (
    "JAMES", "ROBERT", "JOHN", "MICHAEL", "DAVID", "WILLIAM", "RICHARD", "JOSEPH", "THOMAS",
    "CHRISTOPHER", "CHARLES", "DANIEL", "MATTHEW", "ANTHONY", "MARK", "DONALD", "STEVEN",
    "ANDREW", "PAUL", "JOSHUA", "KENNETH", "KEVIN", "BRIAN", "GEORGE", "TIMOTHY", "RONALD",
    "JASON", "EDWARD", "JEFFREY", "RYAN", "JACOB", "GARY", "NICHOLAS", "ERIC", "JONATHAN",
    "STEPHEN", "LARRY", "JUSTIN", "SCOTT", "BRANDON", "BENJAMIN", "SAMUEL", "GREGORY",
    "ALEXANDER", "PATRICK", "FRANK", "RAYMOND", "JACK", "DENNIS", "JERRY", "TYLER", "AARON",
    "JOSE", "ADAM", "NATHAN", "HENRY", "ZACHARY", "DOUGLAS", "PETER", "KYLE", "NOAH",
    "ETHAN", "JEREMY", "CHRISTIAN", "WALTER", "KEITH", "AUSTIN", "ROGER", "TERRY", "SEAN",
    "GERALD", "CARL", "DYLAN", "HAROLD", "JORDAN", "JESSE", "BRYAN", "LAWRENCE", "ARTHUR",
    "GABRIEL", "BRUCE", "LOGAN", "BILLY", "JOE", "ALAN", "JUAN", "ELIJAH", "WILLIE",
    "ALBERT", "WAYNE", "RANDY", "MASON", "VINCENT", "LIAM", "ROY", "BOBBY", "CALEB",
    "THEODORE", "RAJESH", "WEI", "AHMED", "HIROSHI", "OMAR", "SANJAY", "VIKRAM", "HASSAN",
)

LAST_NAMES: tuple[str, ...] = (
    "SMITH", "JOHNSON", "WILLIAMS", "BROWN", "JONES", "GARCIA", "MILLER", "DAVIS",
    "RODRIGUEZ", "MARTINEZ", "HERNANDEZ", "LOPEZ", "GONZALEZ", "WILSON", "ANDERSON",
    "THOMAS", "TAYLOR", "MOORE", "JACKSON", "MARTIN", "LEE", "PEREZ", "THOMPSON", "WHITE",
    "HARRIS", "SANCHEZ", "CLARK", "RAMIREZ", "LEWIS", "ROBINSON", "WALKER", "YOUNG",
    "ALLEN", "KING", "WRIGHT", "SCOTT", "TORRES", "NGUYEN", "HILL", "FLORES", "GREEN",
    "ADAMS", "NELSON", "BAKER", "HALL", "RIVERA", "CAMPBELL", "MITCHELL", "CARTER",
    "ROBERTS", "GOMEZ", "PHILLIPS", "EVANS", "TURNER", "DIAZ", "PARKER", "CRUZ", "EDWARDS",
    "COLLINS", "REYES", "STEWART", "MORRIS", "MORALES", "MURPHY", "COOK", "ROGERS",
    "GUTIERREZ", "ORTIZ", "MORGAN", "COOPER", "PETERSON", "BAILEY", "REED", "KELLY",
    "HOWARD", "RAMOS", "KIM", "COX", "WARD", "RICHARDSON", "WATSON", "BROOKS", "CHAVEZ",
    "WOOD", "JAMES", "BENNETT", "GRAY", "MENDOZA", "RUIZ", "HUGHES", "PRICE", "ALVAREZ",
    "CASTILLO", "SANDERS", "PATEL", "MYERS", "LONG", "ROSS", "FOSTER", "JIMENEZ", "POWELL",
    "JENKINS", "PERRY", "RUSSELL", "SULLIVAN", "BELL", "COLEMAN", "BUTLER", "HENDERSON",
    "BARNES", "GONZALES", "FISHER", "VASQUEZ", "SIMMONS", "ROMERO", "JORDAN", "PATTERSON",
    "ALEXANDER", "HAMILTON", "GRAHAM", "REYNOLDS", "GRIFFIN", "WALLACE", "MORENO", "WEST",
    "COLE", "HAYES", "BRYANT", "HERRERA", "GIBSON", "ELLIS", "TRAN", "MEDINA", "AGUILAR",
    "STEVENS", "MURRAY", "FORD", "CASTRO", "MARSHALL", "OWENS", "HARRISON", "FERNANDEZ",
    "MCDONALD", "WOODS", "WASHINGTON", "KENNEDY", "WELLS", "VARGAS", "HENRY", "CHEN",
    "FREEMAN", "WEBB", "TUCKER", "GUZMAN", "BURNS", "CRAWFORD", "OLSON", "SIMPSON",
    "PORTER", "HUNTER", "GORDON", "MENDEZ", "SILVA", "SHAW", "SNYDER", "MASON", "DIXON",
    "MUNOZ", "HUNT", "HICKS", "HOLMES", "PALMER", "WAGNER", "BLACK", "ROBERTSON", "BOYD",
    "ROSE", "STONE", "SALAZAR", "FOX", "WARREN", "MILLS", "MEYER", "RICE", "SCHMIDT",
    "GARZA", "DANIELS", "FERGUSON", "NICHOLS", "STEPHENS", "SOTO", "WEAVER", "RYAN",
    "GARDNER", "PAYNE", "GRANT", "DUNN", "KELLEY", "SPENCER", "HAWKINS", "ARNOLD", "PIERCE",
    "HANSEN", "PETERS", "SANTOS", "HART", "BRADLEY", "KNIGHT", "ELLIOTT", "CUNNINGHAM",
    "DUNCAN", "ARMSTRONG", "HUDSON", "CARROLL", "LANE", "RILEY", "ANDREWS", "RAY", "BERRY",
    "PERKINS", "HOFFMAN", "JOHNSTON", "MATTHEWS", "PENA", "RICHARDS", "WILLIS", "CARPENTER",
    "LAWRENCE", "SANDOVAL", "SHAH", "SINGH", "WANG", "ZHANG", "LIU", "KUMAR", "YAMAMOTO",
    "KOWALSKI", "SCHNEIDER", "MUELLER", "OBRIEN", "OCONNOR", "VANDERBILT", "DEANGELO",
)

NICKNAMES: dict[str, tuple[str, ...]] = {
    "ROBERT": ("BOB", "ROB", "BOBBY"), "WILLIAM": ("BILL", "WILL"), "RICHARD": ("RICK", "DICK"),
    "JAMES": ("JIM", "JIMMY"), "MICHAEL": ("MIKE",), "JOHN": ("JACK",), "JOSEPH": ("JOE",),
    "THOMAS": ("TOM",), "CHRISTOPHER": ("CHRIS",), "DANIEL": ("DAN", "DANNY"),
    "MATTHEW": ("MATT",), "ANTHONY": ("TONY",), "DONALD": ("DON",), "STEVEN": ("STEVE",),
    "STEPHEN": ("STEVE",), "ANDREW": ("ANDY", "DREW"), "KENNETH": ("KEN",), "TIMOTHY": ("TIM",),
    "RONALD": ("RON",), "EDWARD": ("ED", "TED"), "JEFFREY": ("JEFF",), "NICHOLAS": ("NICK",),
    "JONATHAN": ("JON",), "BENJAMIN": ("BEN",), "SAMUEL": ("SAM",), "GREGORY": ("GREG",),
    "ALEXANDER": ("ALEX",), "PATRICK": ("PAT",), "RAYMOND": ("RAY",), "GERALD": ("JERRY",),
    "LAWRENCE": ("LARRY",), "THEODORE": ("TED",), "ZACHARY": ("ZACH",), "DOUGLAS": ("DOUG",),
    "JACOB": ("JAKE",), "CHARLES": ("CHUCK", "CHARLIE"), "PETER": ("PETE",), "HAROLD": ("HAL",),
    "ELIZABETH": ("LIZ", "BETH", "BETSY"), "PATRICIA": ("PAT", "TRISH"), "JENNIFER": ("JEN", "JENNY"),
    "SUSAN": ("SUE",), "MARGARET": ("PEGGY", "MAGGIE", "MEG"), "KIMBERLY": ("KIM",),
    "DEBORAH": ("DEB", "DEBBIE"), "DEBRA": ("DEB",), "REBECCA": ("BECKY",), "CYNTHIA": ("CINDY",),
    "KATHLEEN": ("KATHY",), "KATHERINE": ("KATE", "KATIE"), "CATHERINE": ("CATHY",),
    "CHRISTINE": ("CHRIS",), "SAMANTHA": ("SAM",), "PAMELA": ("PAM",), "VICTORIA": ("VICKY",),
    "ABIGAIL": ("ABBY",), "STEPHANIE": ("STEPH",), "JESSICA": ("JESS",), "JACQUELINE": ("JACKIE",),
    "ALEXIS": ("LEXI",), "JUDITH": ("JUDY",), "DOROTHY": ("DOT",), "KATHRYN": ("KATE",),
}

MIDDLE_INITIALS = "ABCDEFGHJKLMNPRSTW"

_KEYBOARD_NEIGHBOURS = {
    "A": "SQ", "B": "VN", "C": "XV", "D": "SF", "E": "WR", "F": "DG", "G": "FH", "H": "GJ",
    "I": "UO", "J": "HK", "K": "JL", "L": "K", "M": "N", "N": "BM", "O": "IP", "P": "O",
    "Q": "W", "R": "ET", "S": "AD", "T": "RY", "U": "YI", "V": "CB", "W": "QE", "X": "ZC",
    "Y": "TU", "Z": "X",
}


def title_case(text: str) -> str:
    """``"MCDONALD"`` -> ``"Mcdonald"``, ``"MARY-ANN"`` -> ``"Mary-Ann"`` (spreadsheet style)."""
    return "-".join(part.capitalize() for part in text.split("-"))


def typo(name: str, rng: np.random.Generator) -> str:
    """Introduce exactly one keyboard-style error into ``name``.

    One of: a neighbouring key substituted, two adjacent letters swapped, or a
    letter dropped (never the first letter, so blocking keys still agree).
    Names of three letters or fewer are returned unchanged.

    Parameters
    ----------
    name
        Upper-case name.
    rng
        Seeded generator.
    """
    if len(name) <= 3:
        return name
    pos = int(rng.integers(1, len(name) - 1))
    kind = int(rng.integers(0, 3))
    chars = list(name)
    if kind == 0 and chars[pos] in _KEYBOARD_NEIGHBOURS:
        options = _KEYBOARD_NEIGHBOURS[chars[pos]]
        chars[pos] = options[int(rng.integers(0, len(options)))]
    elif kind == 1 and chars[pos] != chars[pos + 1]:
        chars[pos], chars[pos + 1] = chars[pos + 1], chars[pos]
    else:
        del chars[pos]
    out = "".join(chars)
    return out if out != name else name[:pos] + name[pos + 1 :]


def list_style_name(
    first: str,
    last: str,
    middle: str,
    credential: str,
    rng: np.random.Generator,
    *,
    allow_typo: bool = True,
) -> tuple[str, dict[str, bool]]:
    """A clinic-spreadsheet rendering of a provider's name.

    Parameters
    ----------
    first, last, middle, credential
        Registry (upper-case) name parts; ``middle`` may be empty.
    rng
        Seeded generator.
    allow_typo
        Whether a one-character typo may be introduced (about 7% of names).

    Returns
    -------
    name : str
        E.g. ``"Dr. Bob Smith"``, ``"Smith, Robert J"``, ``"Robert Smith, MD"``.
    flags : dict
        Which distortions were applied: ``nickname``, ``typo``, ``last_first``.
    """
    flags = {"nickname": False, "typo": False, "last_first": False}
    given = first
    nick = NICKNAMES.get(first)
    if nick and rng.random() < 0.45:
        given = nick[int(rng.integers(0, len(nick)))]
        flags["nickname"] = True
    family = last
    if allow_typo and rng.random() < 0.07:
        if rng.random() < 0.7:
            family = typo(last, rng)
        else:
            given = typo(given, rng)
        flags["typo"] = True
    g, f = title_case(given), title_case(family)
    mid = f" {middle[0]}" if middle and rng.random() < 0.3 else ""
    style = rng.random()
    doctor = credential.replace(".", "") in {"MD", "DO", "DPM", "DDS", "DMD", "DC"}
    if style < 0.25:
        flags["last_first"] = True
        return f"{f}, {g}{mid}", flags
    if style < 0.6 and doctor:
        return f"Dr. {g}{mid} {f}", flags
    if style < 0.85 and credential:
        return f"{g}{mid} {f}, {credential.replace('.', '')}", flags
    return f"{g}{mid} {f}", flags


def free_text_name(first: str, last: str, credential: str, rng: np.random.Generator) -> str:
    """How a referral form names a referrer without an NPI.

    Returns one of ``"Dr. R. Smith"``, ``"Dr Smith"``, ``"Robert Smith MD"``,
    ``"SMITH, ROBERT"`` or ``"R Smith, PA-C"``, chosen at random.
    """
    cred = credential.replace(".", "")
    doctor = cred in {"MD", "DO", "DPM", "DDS", "DMD", "DC"}
    f, g = title_case(last), title_case(first)
    style = int(rng.integers(0, 5))
    if style == 0 and doctor:
        return f"Dr. {g[0]}. {f}"
    if style == 1 and doctor:
        return f"Dr {g} {f}"
    if style == 2 and cred:
        return f"{g} {f} {cred}"
    if style == 3:
        return f"{last}, {first}"
    return f"{g[0]} {f}, {cred}" if cred else f"{g} {f}"
