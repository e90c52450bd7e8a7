"""Deterministic per-user, per-day activity: engagement counts, tokens and cost.

Nothing is stored: every figure is a pure function of (seed, user index, day), derived from a
keyed BLAKE2b digest, so a 100 000-user org costs no memory for its history and the same seed
always yields the same numbers. Revisions (late data, restatements) scale the final figures by
a factor that depends only on how old the day is when it is read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from hashlib import blake2b

CHAT, CODE, COWORK, OFFICE, DESIGN, SCIENCE = 1, 2, 4, 8, 16, 32
OFFICE_APPS = ("excel", "outlook", "powerpoint", "word")
PRODUCTS = ("chat", "claude_code", "cowork", "office_agent", "claude_design")
MODELS = ("claude-sonnet-4-6", "claude-opus-4-6", "claude-haiku-4-5")
_ACTIVE_PER_256 = (0, 64, 154, 230)

# Cents per token: (uncached input, cache read, cache write 5m, cache write 1h, output).
_PRICES = {
    "claude-sonnet-4-6": tuple(map(Decimal, ("0.0003", "0.00003", "0.000375", "0.0006", "0.0015"))),
    "claude-opus-4-6": tuple(map(Decimal, ("0.0015", "0.00015", "0.001875", "0.003", "0.0075"))),
    "claude-haiku-4-5": tuple(map(Decimal, ("0.0001", "0.00001", "0.000125", "0.0002", "0.0005"))),
}
DISCOUNT = Decimal("0.8")
MICRO = Decimal("0.000001")


def digest(key: bytes, *parts: object) -> bytes:
    """64 pseudo-random bytes for ``parts`` under the org's seed ``key``."""
    return blake2b("|".join(map(str, parts)).encode(), digest_size=64, key=key).digest()


@dataclass(frozen=True, slots=True)
class Traits:
    """How one person uses Claude: activity level 0-3, product flags, model, tools."""

    level: int
    flags: int
    model: str
    connectors: tuple[tuple[int, bool], ...]
    skills: tuple[int, ...]
    project: int

    @classmethod
    def draw(
        cls, key: bytes, index: int, n_connectors: int, n_skills: int, n_projects: int
    ) -> Traits:
        b = digest(key, "traits", index)
        level = (0, 1, 1, 2, 2, 2, 3, 3)[b[0] % 8]
        flags = CHAT if b[1] < 235 else 0
        for flag, threshold in ((CODE, 80), (COWORK, 56), (OFFICE, 40), (DESIGN, 14), (SCIENCE, 6)):
            if b[2 + flag.bit_length()] < threshold:
                flags |= flag
        connectors = tuple(
            sorted({b[10 + i] % n_connectors: b[20 + i] < 64 for i in range(b[9] % 4)}.items())
        )
        skills = tuple(sorted({b[30 + i] % n_skills for i in range(b[29] % 3)}))
        return cls(
            level=level,
            flags=flags or CHAT,
            model=MODELS[(0, 0, 0, 1, 2)[b[40] % 5]],
            connectors=connectors,
            skills=skills,
            project=b[41] % n_projects,
        )


def day_counts(key: bytes, index: int, traits: Traits, day: date) -> dict[str, int] | None:
    """The final engagement counts of one person on one day, or None if they were inactive."""
    b = digest(key, "day", index, day.toordinal())
    chance = _ACTIVE_PER_256[traits.level] // (3 if day.weekday() >= 5 else 1)
    if b[0] >= chance:
        return None
    level, flags = traits.level, traits.flags
    c: dict[str, int] = {}
    if flags & CHAT:
        messages = 1 + b[1] % (10 * level + 5)
        used_connectors = b[4] % 6 if traits.connectors else 0
        c.update(
            chat_messages=messages,
            chat_thinking=messages // (2 + b[2] % 5),
            chat_conversations=1 + messages // (3 + b[3] % 4),
            chat_connectors=used_connectors,
            chat_distinct_connectors=min(len(traits.connectors), 1 + b[5] % 3)
            if used_connectors
            else 0,
            chat_artifacts=b[6] % 3,
            chat_files=b[7] % 4,
            chat_projects_created=int(b[8] < 8),
            chat_projects_used=int(b[9] < 100),
            chat_shared_artifacts=b[10] % 2,
            chat_skills=min(len(traits.skills), b[11] % 3),
            chat_shared_conversations=b[12] % 3,
            web_searches=b[47] % 6,
        )
    if flags & CODE and b[13] < 200:
        sessions = 1 + b[14] % (2 * level + 1)
        added = sessions * (b[17] + 20)
        c.update(
            code_sessions=sessions,
            code_commits=b[15] % 4,
            code_prs=int(b[16] < 60),
            code_added=added,
            code_removed=added * (b[18] % 60) // 100,
            code_artifacts=b[19] % 2,
            code_edit_ok=b[20] % 30,
            code_edit_no=b[21] % 4,
            code_multi_ok=b[22] % 8,
            code_multi_no=b[23] % 2,
            code_notebook_ok=b[24] % 2,
            code_write_ok=b[25] % 10,
            code_write_no=b[26] % 2,
        )
    if flags & COWORK and b[27] < 180:
        skills_used = b[33] % 4
        c.update(
            cowork_messages=1 + b[28] % 12,
            cowork_actions=b[29] % 20,
            cowork_sessions=1 + b[30] % 3,
            cowork_connectors=b[31] % 4 if traits.connectors else 0,
            cowork_dispatch=b[32] % 3,
            cowork_skills=skills_used,
            cowork_distinct_skills=min(skills_used, 2),
            cowork_artifacts=b[34] % 2,
        )
    if flags & OFFICE and b[35] < 200:
        app = OFFICE_APPS[b[35] % 4]
        skills_used = b[38] % 3
        c.update(
            {
                f"office_{app}_messages": 1 + b[36] % 8,
                f"office_{app}_sessions": 1 + b[37] % 2,
                f"office_{app}_skills": skills_used,
                f"office_{app}_distinct_skills": min(1, skills_used),
            }
        )
    if flags & DESIGN and b[39] < 150:
        c.update(design_messages=1 + b[40] % 10, design_sessions=1, design_created=b[41] % 2)
    if flags & SCIENCE and b[42] < 150:
        c.update(
            science_messages=1 + b[43] % 10,
            science_sessions=1,
            science_delegations=b[44] % 3,
            science_jobs=b[45] % 2,
            science_skills=b[46] % 2,
        )
    if not c:
        return None
    tokens_seed = b[48:56]
    c["_tokens_seed"] = int.from_bytes(tokens_seed, "little")
    return c


def revise(counts: dict[str, int], shortfall: float) -> dict[str, int]:
    """Counts as first reported, ``shortfall`` (0-1) below the final figures; small ones exact."""
    if shortfall <= 0:
        return counts
    return {
        name: value if value < 10 or name.startswith("_") else int(value * (1 - shortfall))
        for name, value in counts.items()
    }


TokenTuple = tuple[int, int, int, int, int, int, int]
"""(uncached input, cache read, cache write 5m, cache write 1h, output, web searches, requests)."""


def product_tokens(counts: dict[str, int]) -> dict[str, TokenTuple]:
    """A full day's token usage per product, derived from that day's engagement."""
    seed = counts.get("_tokens_seed", 0)
    spread = 1 + (seed & 0xFF) / 255
    work = {
        "chat": (counts.get("chat_messages", 0) * 1200, counts.get("chat_messages", 0)),
        "claude_code": (
            counts.get("code_sessions", 0) * 40_000,
            counts.get("code_sessions", 0) * 25,
        ),
        "cowork": (counts.get("cowork_messages", 0) * 3000, counts.get("cowork_messages", 0) * 3),
        "office_agent": (
            sum(v for k, v in counts.items() if k.startswith("office_") and k.endswith("_messages"))
            * 2000,
            sum(
                v for k, v in counts.items() if k.startswith("office_") and k.endswith("_messages")
            ),
        ),
        "claude_design": (
            (counts.get("design_messages", 0) + counts.get("science_messages", 0)) * 2500,
            counts.get("design_messages", 0) + counts.get("science_messages", 0),
        ),
    }
    result: dict[str, TokenTuple] = {}
    for position, (product, (base, requests)) in enumerate(work.items()):
        if not base:
            continue
        uncached = int(base * spread)
        knob = (seed >> (8 * (position + 1))) & 0xFF
        result[product] = (
            uncached,
            uncached * (knob % 8),
            uncached // 10 * (knob % 3),
            uncached // 20 if knob < 30 else 0,
            uncached // 4 + knob * 10,
            counts.get("web_searches", 0) if product == "chat" else 0,
            requests,
        )
    return result


def scale_tokens(tokens: TokenTuple, fraction: float) -> TokenTuple:
    """Tokens as reported when only ``fraction`` of the day is covered or revised."""
    if fraction >= 1:
        return tokens
    return tuple(int(value * fraction) for value in tokens)  # type: ignore[return-value]


def cost_cents(tokens: TokenTuple, model: str) -> tuple[Decimal, Decimal]:
    """(amount, list amount) in cents for ``tokens`` on ``model``, six decimals."""
    prices = _PRICES[model]
    listed = sum(
        (Decimal(count) * price for count, price in zip(tokens[:5], prices, strict=True)),
        Decimal(0),
    )
    return (listed * DISCOUNT).quantize(MICRO), listed.quantize(MICRO)
