"""Phone numbers and e-mail addresses that are synthetic and, while the pool lasts, unique.

Ofcom's drama ranges hold only 1,000 mobiles and 15,998 usable landlines. Handing a
number to every simulated person up front would exhaust them at a thousand people, and
a number shared by unrelated people makes the pipeline's shared-number rule attribute
one person's calls to another: an error of the generator, not of the pipeline. So a
number is taken from the pool the first time it is rung from or written on a CRM record
(most people never contact the council), and never handed out twice while the pool
lasts. When the mobiles run out, mobiles come from the landline blocks (and the last
landlines from the mobile block); when all 16,998 are gone, numbers are reused in order
(``NumberBook.reused`` counts them; docs/generator.md says at what size that happens).

E-mail addresses are unique per person: a second Andrew Underhill gets a numbered address,
as a mail provider would insist.
"""

from __future__ import annotations

from pipeline.generate import catalogue as cat
from pipeline.generate.draws import Draws
from pipeline.generate.mess import email_address

# Keys name a number before it exists: ("mobile", person, n), ("former", person),
# ("landline", household uprn), ("other", person).
NumberKey = tuple


def drama_landlines() -> list[str]:
    """Every landline drama number the generator may use, local block first (without its
    first and last numbers: the switchboard/test lines that defaults.yaml blocks)."""
    local = [f"{cat.LOCAL_LANDLINE_BLOCK}{i:03d}" for i in range(1, 999)]
    return local + [f"{block}{i:03d}" for block in cat.OTHER_LANDLINE_BLOCKS for i in range(1000)]


class NumberBook:
    """Allocates drama-range numbers on first use, each to one key only while the pool lasts."""

    def __init__(self, d: Draws):
        order = list(range(1000))
        for i in range(999, 0, -1):  # seeded Fisher-Yates so mobile numbers look scattered
            j = d.below(i + 1)
            order[i], order[j] = order[j], order[i]
        self._mobiles = [f"{cat.MOBILE_BLOCK}{n:03d}" for n in order]
        self._landlines = drama_landlines()
        # Household landlines count up through the landline pool, other phones (and
        # mobiles once the mobile block is gone) down from its end, so each kind stays
        # in its own blocks for as long as possible.
        self._next_mobile = 0
        self._next_up = 0
        self._next_down = len(self._landlines) - 1
        self._issued: dict[NumberKey, str] = {}
        self.reused = 0  # numbers handed out again after the whole pool ran out

    @property
    def size(self) -> int:
        return len(self._mobiles) + len(self._landlines)

    @property
    def issued(self) -> int:
        return len(self._issued)

    def number(self, key: NumberKey) -> str:
        """The number ``key`` stands for, allocated now if this is its first use."""
        found = self._issued.get(key)
        if found is None:
            found = self._issued[key] = self._allocate(key[0])
        return found

    def _allocate(self, kind: str) -> str:
        sources = {"mobile": (self._mobile, self._down), "former": (self._mobile, self._down),
                   "landline": (self._up, self._mobile)}.get(kind, (self._down, self._mobile))
        for source in sources:
            number = source()
            if number:
                return number
        pool = self._mobiles + self._landlines
        self.reused += 1
        return pool[(self.reused - 1) % len(pool)]

    def _mobile(self) -> str | None:
        if self._next_mobile == len(self._mobiles):
            return None
        self._next_mobile += 1
        return self._mobiles[self._next_mobile - 1]

    def _up(self) -> str | None:
        if self._next_up > self._next_down:
            return None
        self._next_up += 1
        return self._landlines[self._next_up - 1]

    def _down(self) -> str | None:
        if self._next_up > self._next_down:
            return None
        self._next_down -= 1
        return self._landlines[self._next_down + 1]


class EmailBook:
    """E-mail addresses unique per person (case-insensitively)."""

    def __init__(self) -> None:
        self._taken: set[str] = set()

    def address(self, forename: str, surname: str, pattern: int, number: int, domain: str) -> str:
        """The usual address for this pattern, or, if someone already has it, the same
        local part with the smallest free number appended."""
        candidate = email_address(forename, surname, pattern, number, domain)
        local, _, host = candidate.partition("@")
        n = 1
        while candidate.lower() in self._taken:
            n += 1
            candidate = f"{local}{n}@{host}"
        self._taken.add(candidate.lower())
        return candidate
