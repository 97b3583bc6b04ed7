"""Word lists of the person-level linkage generator (:mod:`bench.person_data`).

Kept apart from the generator so that its logic fits on a screen. Nothing here
comes from the product's normalisers: the nickname table, the accent folding
and the keyboard and OCR confusions are written for the benchmark, so the
generated world's behaviour is defined independently of the code it measures.
"""

from __future__ import annotations

# word lists read best packed; the formatter would put one word a line
# fmt: off

#: Countries, their share of people and their postcode shapes (see ``person_data._postcodes``).
COUNTRIES: tuple[str, ...] = ("US", "GB", "FR", "DE", "CA", "AU")
COUNTRY_SHARE: tuple[float, ...] = (0.35, 0.15, 0.15, 0.15, 0.1, 0.1)

#: Given names beyond the English pools of :mod:`demo.name_pools`, by country.
GIVEN_EXTRA: dict[str, tuple[str, ...]] = {
    "FR": (
        "Jean", "François", "Hélène", "Amélie", "Céline", "Jérôme", "Stéphane", "Frédéric",
        "Élodie", "Anaïs", "Noël", "Gaëlle", "Benoît", "Loïc", "Maël", "Léa", "Chloé",
        "Clément", "Théo", "Inès", "Zoé", "Raphaël", "Agnès", "Mathilde", "Camille",
        "Nicolas", "Julien", "Aurélie", "Sébastien", "Cécile", "Thérèse", "Josée",
    ),
    "DE": (
        "Jürgen", "Jörg", "Günter", "Björn", "Sören", "Käthe", "Bärbel", "Jörn", "Uwe",
        "Heinz", "Klaus", "Lukas", "Anna", "Lena", "Maximilian", "Sophie", "Jonas", "Leon",
        "Hannah", "Mia", "Paul", "Emma", "Dieter", "Ursula", "Wolfgang", "Gerhard", "Renée",
        "Hans", "Jens", "Sabine", "Matthias", "Stefan",
    ),
    "ANY": (
        "Søren", "Łukasz", "Małgorzata", "Wojciech", "José", "María", "Øystein", "Åsa",
        "Zoë", "Siobhán", "Niamh", "Ángel", "Iñaki", "Dagný", "Ömer", "Çağla", "Jiří",
        "Kateřina", "Mikołaj", "Bartłomiej", "Ståle", "Jesús", "Raúl", "Nuño",
    ),
}

#: Surnames ahead of the shared tail, by country (the pool's head is country-specific).
SURNAME_EXTRA: dict[str, tuple[str, ...]] = {
    "FR": (
        "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand",
        "Leroy", "Moreau", "Simon", "Laurent", "Lefèvre", "Michel", "David", "Bertrand",
        "Roux", "Vincent", "Fournier", "Morel", "Girard", "André", "Lefebvre", "Mercier",
        "Dupont", "Lambert", "Bonnet", "François", "Lecœur", "Crèvecœur", "Bœuf",
        "Chevalier", "Gauthier", "Rivière", "Lemaître", "Barthélemy", "Noël", "Benoît",
    ),
    "DE": (
        "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
        "Schulz", "Hoffmann", "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf",
        "Schröder", "Neumann", "Schwarz", "Zimmermann", "Braun", "Krüger", "Hofmann",
        "Hartmann", "Lange", "Schmitt", "Werner", "Schmitz", "Krause", "Meier", "Lehmann",
        "Köhler", "Jäger", "Groß", "Weiß", "Böhm", "Günther", "Möller", "Förster",
    ),
    "ANY": (
        "Kowalski", "Nowak", "Wiśniewski", "Wójcik", "Kowalczyk", "Kamiński", "Lewandowski",
        "Zieliński", "Szymański", "Woźniak", "Dąbrowski", "Łukasiewicz", "Søndergaard",
        "Jørgensen", "Østergaard", "Sørensen", "Ødegård", "Åberg", "Núñez", "Muñoz", "Peña",
        "Ibáñez", "González", "Fernández", "Martínez", "Sánchez", "Pérez", "Gómez", "Díaz",
        "Nguyen", "Singh", "Patel", "O'Brien", "O'Connor", "MacDonald", "Van der Berg",
    ),
}

#: Syllables of made-up surnames (the Zipf tail, shared by every country).
SYLLABLES: tuple[str, ...] = (
    "al", "bar", "ber", "car", "dan", "del", "fer", "gal", "har", "kal", "kov", "lan",
    "lin", "mar", "mor", "nel", "nor", "per", "ran", "ros", "san", "sel", "tan", "tor",
    "val", "ven", "wil", "zan", "bro", "che", "dra", "gre", "kri", "pla", "ste", "tro",
    "ski", "son", "man", "ton", "ley", "ett", "ini", "ez", "er", "ov", "ek", "is",
    "hau", "ber", "mann", "eau", "ier", "ard", "ville", "court", "by", "thorpe",
)

#: Nicknames by formal given name (English, French, German, Polish); a copy may use one.
NICKNAMES: dict[str, tuple[str, ...]] = {
    "Robert": ("Bob", "Rob", "Bobby"),
    "William": ("Bill", "Will", "Liam"),
    "Richard": ("Rick", "Dick", "Rich"),
    "James": ("Jim", "Jimmy", "Jamie"),
    "Michael": ("Mike", "Mick"),
    "John": ("Jack", "Johnny"),
    "Joseph": ("Joe", "Joey"),
    "Thomas": ("Tom", "Tommy"),
    "Charles": ("Charlie", "Chuck"),
    "Christopher": ("Chris", "Kit"),
    "Daniel": ("Dan", "Danny"),
    "Matthew": ("Matt",),
    "Anthony": ("Tony",),
    "Steven": ("Steve",),
    "Andrew": ("Andy", "Drew"),
    "Edward": ("Ed", "Ted", "Eddie"),
    "Elizabeth": ("Liz", "Beth", "Betty", "Eliza"),
    "Margaret": ("Maggie", "Peggy", "Meg"),
    "Katherine": ("Kate", "Kathy", "Katie"),
    "Jennifer": ("Jen", "Jenny"),
    "Patricia": ("Pat", "Patty", "Trish"),
    "Susan": ("Sue", "Susie"),
    "Deborah": ("Debbie", "Deb"),
    "Rebecca": ("Becky",),
    "Alexander": ("Alex", "Sasha", "Xander"),
    "Nicholas": ("Nick",),
    "Benjamin": ("Ben",),
    "Samuel": ("Sam",),
    "Jonathan": ("Jon",),
    "Timothy": ("Tim",),
    "Kimberly": ("Kim",),
    "Victoria": ("Vicky", "Tori"),
    "Nicolas": ("Nico",),
    "Frédéric": ("Fred",),
    "Stéphane": ("Steph",),
    "Maximilian": ("Max",),
    "Matthias": ("Matze",),
    "Wolfgang": ("Wolf",),
    "Łukasz": ("Łukaszek",),
    "Małgorzata": ("Gosia",),
    "Wojciech": ("Wojtek",),
    "José": ("Pepe",),
    "Jesús": ("Chuy",),
}

#: Accent folding as people type without the key: a table of its own, not the product's.
ASCII_FOLD = str.maketrans(
    {
        **dict.fromkeys("àáâãäåā", "a"), **dict.fromkeys("ÀÁÂÃÄÅĀ", "A"),
        **dict.fromkeys("èéêëēę", "e"), **dict.fromkeys("ÈÉÊËĒĘ", "E"),
        **dict.fromkeys("ìíîïī", "i"), **dict.fromkeys("ÌÍÎÏĪ", "I"),
        **dict.fromkeys("òóôõöøō", "o"), **dict.fromkeys("ÒÓÔÕÖØŌ", "O"),
        **dict.fromkeys("ùúûüū", "u"), **dict.fromkeys("ÙÚÛÜŪ", "U"),
        "ç": "c", "Ç": "C", "ñ": "n", "Ñ": "N", "ł": "l", "Ł": "L", "ś": "s", "Ś": "S",
        "ź": "z", "ż": "z", "Ż": "Z", "ć": "c", "ń": "n", "ą": "a", "ř": "r", "ě": "e",
        "ğ": "g", "ş": "s", "Ş": "S", "ý": "y", "ß": "ss", "œ": "oe", "Œ": "OE", "æ": "ae",
        "Æ": "AE", "å": "a", "Å": "A", "ð": "d",
    }
)

#: Keyboard neighbours on a QWERTY layout (typos hit an adjacent key).
KEY_NEIGHBOURS: dict[str, str] = {
    "q": "wa", "w": "qes", "e": "wrd", "r": "etf", "t": "ryg", "y": "tuh", "u": "yij",
    "i": "uok", "o": "ipl", "p": "ol", "a": "qsz", "s": "adwx", "d": "sfec", "f": "dgrv",
    "g": "fhtb", "h": "gjyn", "j": "hkum", "k": "jli", "l": "kop", "z": "asx", "x": "zsc",
    "c": "xdv", "v": "cfb", "b": "vgn", "n": "bhm", "m": "nj",
}

#: OCR confusions, both ways where the scanner makes both mistakes.
OCR_CONFUSIONS: tuple[tuple[str, str], ...] = (
    ("0", "O"), ("O", "0"), ("o", "0"), ("1", "l"), ("l", "1"), ("I", "1"), ("i", "1"),
    ("5", "S"), ("S", "5"), ("s", "5"), ("rn", "m"), ("m", "rn"), ("8", "B"), ("B", "8"),
    ("cl", "d"), ("e", "c"), ("h", "b"), ("vv", "w"), ("2", "Z"), ("6", "G"),
)

#: Cities by country (the first are the largest and hold most postcodes).
CITIES: dict[str, tuple[str, ...]] = {
    "US": (
        "New York", "Los Angeles", "Chicago", "Houston", "Phoenix", "Philadelphia",
        "San Antonio", "San Diego", "Dallas", "San Jose", "Austin", "Columbus", "Denver",
        "Boston", "Seattle", "Nashville", "Portland", "Detroit", "Memphis", "Louisville",
        "Springfield", "Greenville", "Franklin", "Madison", "Clinton", "Salem",
    ),
    "GB": (
        "London", "Birmingham", "Manchester", "Leeds", "Glasgow", "Liverpool", "Bristol",
        "Sheffield", "Edinburgh", "Cardiff", "Leicester", "Nottingham", "Newcastle upon Tyne",
        "Brighton", "Oxford", "Cambridge", "York", "Bath", "Stoke-on-Trent", "Kingston upon Hull",
    ),
    "FR": (
        "Paris", "Marseille", "Lyon", "Toulouse", "Nice", "Nantes", "Strasbourg",
        "Montpellier", "Bordeaux", "Lille", "Rennes", "Reims", "Saint-Étienne", "Besançon",
        "Orléans", "Nîmes", "Clermont-Ferrand", "Aix-en-Provence", "Châlons-en-Champagne",
        "Saint-Denis", "Évry", "Angoulême",
    ),
    "DE": (
        "Berlin", "Hamburg", "München", "Köln", "Frankfurt am Main", "Stuttgart",
        "Düsseldorf", "Leipzig", "Dortmund", "Essen", "Bremen", "Dresden", "Hannover",
        "Nürnberg", "Duisburg", "Bochum", "Münster", "Göttingen", "Lübeck", "Würzburg",
    ),
    "CA": (
        "Toronto", "Montréal", "Calgary", "Ottawa", "Edmonton", "Winnipeg", "Mississauga",
        "Vancouver", "Brampton", "Hamilton", "Québec", "Surrey", "Laval", "Halifax",
        "Trois-Rivières", "Lévis", "Saskatoon", "Regina", "Victoria", "St. John's",
    ),
    "AU": (
        "Sydney", "Melbourne", "Brisbane", "Perth", "Adelaide", "Gold Coast", "Canberra",
        "Newcastle", "Wollongong", "Geelong", "Hobart", "Townsville", "Cairns", "Darwin",
        "Toowoomba", "Ballarat", "Bendigo", "Launceston", "Mackay", "Albury",
    ),
}

#: Street name words; English-speaking countries share them.
STREET_WORDS_EN: tuple[str, ...] = (
    "Main", "High", "Church", "Station", "Park", "Victoria", "Maple", "Oak", "Cedar", "Elm",
    "Washington", "Lincoln", "Mill", "King", "Queen", "George", "Albert", "Bridge", "Green",
    "North", "South", "Spring", "Forest", "Lake", "Hill", "River", "Sunset", "Windsor",
    "York", "Manor", "Orchard", "Chestnut", "Willow", "Meadow", "Pine", "Walnut",
)
#: (full, abbreviated) street types of English-speaking countries.
STREET_TYPES_EN: tuple[tuple[str, str], ...] = (
    ("Street", "St"), ("Road", "Rd"), ("Avenue", "Ave"), ("Lane", "Ln"), ("Drive", "Dr"),
    ("Court", "Ct"), ("Close", "Cl"), ("Crescent", "Cres"), ("Place", "Pl"), ("Way", "Way"),
)
STREET_NAMES_FR: tuple[str, ...] = (
    "de la Paix", "Victor Hugo", "Jean Jaurès", "Émile Zola", "Pasteur", "de l'Église",
    "des Lilas", "du Cœur Volant", "Saint-Michel", "de la République", "Gambetta",
    "du Général de Gaulle", "des Écoles", "de Verdun", "Voltaire", "du Château", "Nationale",
    "de la Gare", "des Acacias", "Jean Moulin", "Molière", "de Bretagne", "du Moulin",
)
STREET_TYPES_FR: tuple[tuple[str, str], ...] = (
    ("rue", "r."), ("avenue", "av."), ("boulevard", "bd"), ("place", "pl."),
    ("chemin", "ch."), ("allée", "all."), ("impasse", "imp."),
)
STREET_WORDS_DE: tuple[str, ...] = (
    "Haupt", "Bahnhof", "Schul", "Garten", "Dorf", "Berg", "Kirch", "Linden", "Goethe",
    "Schiller", "Wald", "Mühlen", "Birken", "Ring", "Feld", "Rosen", "Friedrich", "Blumen",
    "Sonnen", "Wiesen", "Buchen", "Jäger", "Mozart", "Beethoven",
)
STREET_TYPES_DE: tuple[tuple[str, str], ...] = (
    ("straße", "str."), ("weg", "weg"), ("allee", "allee"), ("platz", "pl."), ("gasse", "g."),
)

#: Email domains (emails are written but neither tool is given them).
EMAIL_DOMAINS: tuple[str, ...] = (
    "gmail.com", "yahoo.com", "outlook.com", "hotmail.co.uk", "orange.fr", "web.de",
    "gmx.de", "bigpond.com", "shaw.ca", "icloud.com",
)
# fmt: on
