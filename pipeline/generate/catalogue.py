"""What the synthetic council offers and who staffs it: services, categories, teams,
job types, and the synthetic names, streets and number ranges people are made of.

Everything here is fictional. Phone numbers come only from Ofcom's ranges reserved
for drama (never allocated to anyone); e-mail domains are the RFC 2606 examples;
postcodes use the non-existent area ``ZX``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Location = Literal["street", "property", "postcode", "none"]

CONTACT_CENTRE = "Contact Centre"
GENERAL_QUEUE = "General"  # IVR option with no service of its own (defaults.yaml queue_service)


@dataclass(frozen=True)
class Work:
    """Works orders a category raises: how often, what job, which gangs, how fast."""

    probability: float
    job_type: str
    teams: tuple[str, ...]
    days_to_complete: float  # median, raise -> completion
    priorities: tuple[float, float, float, float]  # weights of P1..P4


@dataclass(frozen=True)
class Category:
    service: str
    name: str
    weight: float  # share of this service's demand
    location: Location  # what the case records as the problem's location
    back_office: tuple[str, ...]  # teams the case passes through after the front door
    days_to_close: float  # median days to close when no works order is involved
    work: Work | None = None
    emergency: bool = False  # has an out-of-hours phone line
    anonymous_share: float = 0.0  # share of digital reports made without contact details


@dataclass(frozen=True)
class Service:
    name: str
    weight: float  # share of all demand
    hub: str  # the service's own front office (owns digital cases, takes transfers)
    categories: tuple[Category, ...]


def _svc(name: str, weight: float, hub: str, *cats: Category) -> Service:
    return Service(name, weight, hub, cats)


SERVICES: tuple[Service, ...] = (
    _svc("Highways", 0.24, "Highways Hub",
         Category("Highways", "Pothole", 0.5, "street", ("Highways Hub", "Highways Inspection"), 12,
                  Work(0.8, "Pothole repair", ("Highways Gang North", "Highways Gang South",
                                               "Kerbline Surfacing (contractor)"), 9, (0.1, 0.3, 0.5, 0.1)),
                  anonymous_share=0.15),
         Category("Highways", "Streetlight out", 0.3, "street", ("Street Lighting",), 8,
                  Work(0.9, "Lamp replacement", ("Brightway Lighting (contractor)",), 6, (0.05, 0.25, 0.6, 0.1)),
                  anonymous_share=0.2),
         Category("Highways", "Blocked drain", 0.2, "street", ("Highways Hub", "Highways Inspection"), 10,
                  Work(0.7, "Gully clearance", ("Drainline (contractor)", "Highways Gang North"), 7,
                       (0.15, 0.35, 0.4, 0.1)))),
    _svc("Waste", 0.26, "Waste Ops",
         Category("Waste", "Missed bin", 0.55, "property", ("Waste Ops",), 3,
                  Work(0.5, "Missed collection return", ("Waste Crew North", "Waste Crew South"), 2,
                       (0.0, 0.6, 0.4, 0.0))),
         Category("Waste", "Fly-tipping", 0.25, "street", ("Waste Ops",), 5,
                  Work(0.9, "Fly-tip clearance", ("Street Cleansing",), 3, (0.1, 0.5, 0.4, 0.0)),
                  anonymous_share=0.3),
         Category("Waste", "Bulky waste", 0.2, "property", ("Waste Ops",), 10,
                  Work(1.0, "Bulky collection", ("Bulky Waste Crew",), 8, (0.0, 0.1, 0.7, 0.2)))),
    _svc("Housing Repairs", 0.2, "Repairs Triage",
         Category("Housing Repairs", "Damp and mould", 0.35, "property", ("Repairs Triage", "Damp Team"), 30,
                  Work(0.85, "Damp treatment", ("Dryhome Services (contractor)", "Damp Team Operatives"), 25,
                       (0.05, 0.25, 0.5, 0.2))),
         Category("Housing Repairs", "Broken boiler", 0.35, "property", ("Repairs Triage",), 5,
                  Work(0.95, "Boiler repair", ("Heatwise Engineers (contractor)",), 3, (0.4, 0.4, 0.2, 0.0)),
                  emergency=True),
         Category("Housing Repairs", "Leak", 0.3, "property", ("Repairs Triage",), 6,
                  Work(0.9, "Leak repair", ("Repairs Gang 1", "Repairs Gang 2"), 4, (0.3, 0.4, 0.3, 0.0)),
                  emergency=True)),
    _svc("Council Tax", 0.18, "Revenues",
         Category("Council Tax", "Bill query", 0.6, "none", ("Revenues",), 6),
         Category("Council Tax", "Direct debit", 0.4, "none", ("Revenues",), 4)),
    _svc("Environmental Health", 0.12, "EH Officers",
         Category("Environmental Health", "Noise", 0.55, "postcode", ("EH Officers",), 21),
         Category("Environmental Health", "Pest control", 0.45, "property", ("EH Officers",), 10,
                  Work(0.8, "Pest treatment", ("Pestaway (contractor)",), 6, (0.05, 0.35, 0.5, 0.1)))),
)

SERVICE_BY_NAME = {s.name: s for s in SERVICES}
# Street work inspectors raise on their own rounds (no case): proactive work.
PROACTIVE_WORK = tuple(c.work for s in SERVICES for c in s.categories
                       if c.work is not None and c.location == "street")

TARGET_DAYS = {"P1": 1, "P2": 7, "P3": 28, "P4": 90}

# First contact channel of a need and its share.
CHANNELS = (("phone", 0.5), ("web", 0.3), ("email", 0.07), ("app", 0.06),
            ("face_to_face", 0.04), ("social", 0.03))

# ------------------------------------------------------------------ synthetic people
# Forenames: most have nicknames in the `nicknames` table (William/Bill); a few carry
# accents or apostrophes so encodings are exercised.
FORENAMES = (
    "William", "Robert", "Margaret", "Elizabeth", "Katherine", "Richard", "James", "Thomas",
    "Susan", "Patricia", "Christopher", "Daniel", "Matthew", "Anthony", "Joseph", "Jonathan",
    "Alexander", "Victoria", "Rebecca", "Samantha", "Deborah", "Nicholas", "Benjamin", "Edward",
    "Charlotte", "Timothy", "Stephen", "Peter", "Michael", "David", "Andrew", "Catherine",
    "Henry", "Jennifer", "Jessica", "Frederick", "Dorothy", "Barbara", "Kenneth", "Gerald",
    "Raymond", "Josephine", "Abigail", "Eleanor", "Gwendolyn", "Siân", "Zoë", "Seán", "Priya",
    "Amara", "Tomasz", "Aisha", "Oluwaseun", "Mei", "Ruairi", "Niamh", "Hamza", "Imogen",
)
SURNAMES = (
    "Ashdown", "Bramley", "Calloway", "Dunmore", "Ellery", "Fairbrook", "Garside", "Hollins",
    "Ingleby", "Jessop", "Kettering", "Lockwood", "Marchbank", "Netherton", "Oakridge",
    "Pendleton", "Quarrie", "Rushworth", "Sandiford", "Thistlewood", "Underhill", "Varley",
    "Whitmore", "Yardley", "Ackroyd", "Bellingham", "Cheverton", "Dewhirst", "Eastwood",
    "Fennimore", "Greenhalgh", "Hebblethwaite", "Ibbotson", "Juniper", "Kirkbride", "Lindqvist",
    "Merriweather", "Nightingale", "O'Halloran", "Penhaligon", "Ravensworth", "Stainforth",
    "Tremayne", "Upton-Crane", "Valentine", "Wolstenholme", "Okonkwo", "Nowakowski", "Chaudhry",
    "Fitzwilliam", "MacAulay", "Davenport", "Brackenridge", "Coldwell", "Drinkwater", "Featherstone",
)
STREETS = (
    "Larkspur Close", "Mill Lane", "Orchard Way", "Kestrel Drive", "Beacon Road", "Tanner Street",
    "Willow Crescent", "Foundry Row", "Chapel Walk", "Heron Gardens", "Quarry Hill", "Bridge End",
    "Sycamore Avenue", "Weavers Court", "Ropewalk", "Cinder Lane", "Lantern Place", "Maltings Yard",
    "Brookside", "Hawthorn Rise", "Canal Street", "Mallard Way", "Fernbank Road", "Granary Lane",
    "Elm Terrace", "Tollgate Road", "Bluebell Grove", "Ashgrove", "Pinfold Lane", "Stonecroft",
)
STREET_ABBREVIATIONS = {"Close": "Cl", "Lane": "Ln", "Road": "Rd", "Street": "St", "Drive": "Dr",
                        "Avenue": "Ave", "Crescent": "Cres", "Gardens": "Gdns", "Terrace": "Terr",
                        "Place": "Pl", "Court": "Ct"}
POSTCODE_AREA = "ZX"  # not a UK postcode area: synthetic, yet shaped like one
POSTCODE_UNIT_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"  # Royal Mail never uses C I K M O V in the unit
EMAIL_DOMAINS = ("example.com", "example.org", "example.net")

# ------------------------------------------------------------------ phone numbers (E.164)
# Ofcom's drama ranges, and nothing else: 07700 900000-900999 is the only mobile block
# (pipeline/generate/numbers.py hands numbers out on first use, never twice while the
# 16,998 of them last).
MOBILE_BLOCK = "+447700900"
# 01632 960xxx is the fictional local area; 960000 and 960999 are left out because
# defaults.yaml blocks them as switchboard/test lines. Further drama blocks take the
# overflow and the numbers people ring from that no CRM record knows (work phones).
LOCAL_LANDLINE_BLOCK = "+441632960"
OTHER_LANDLINE_BLOCKS = ("+441134960", "+441144960", "+441154960", "+441164960", "+441174960",
                         "+441184960", "+441214960", "+441314960", "+441414960", "+441514960",
                         "+441614960", "+441914980", "+442079460", "+442896496", "+442920180")
WITHHELD = ("", "withheld")  # how the switch writes a hidden CLI
