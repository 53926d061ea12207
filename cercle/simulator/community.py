"""A living community around Lumen (smart lamps and e-bikes), in French and English.

`Community(seed)` holds ~220 recurring authors, each with a style (language,
politeness, emoji, typos, a signature phrase, favourite products, activity
level, mood), and the brand's posts on every simulated channel. It produces
platform-neutral `SimEvent`s: questions, complaints, praise, spam, trolling,
mild toxicity, mentions, shares, private messages, star reviews, a customer
coming back in their thread, customers helping each other, edits and deletes.

Volume follows the week in Europe/Paris time (quiet nights, lunch and evening
peaks, a later weekend morning) and, now and then, an outage sends a wave of
complaints on every channel. Everything is deterministic for a seed: the
events of an hour depend only on (seed, hour), so any window can be
regenerated identically, in any order.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from itertools import accumulate
from string import Formatter
from typing import NamedTuple, TypeVar
from zoneinfo import ZoneInfo

from . import phrases as P
from .channels import CHANNELS, ChannelSpec
from .wire.base import SimAuthor, SimEvent, SimPost

T = TypeVar("T")
PARIS = ZoneInfo("Europe/Paris")
# Hours are numbered from here (a Monday); an hour's events depend on (seed, hour number).
EPOCH = datetime(2026, 1, 5, tzinfo=UTC)
LANGUAGES = ("fr", "en")

# Events per day of the backfilled history (before rhythm and bursts).
HISTORY_PER_DAY = 40
# The live demo runs the same week much busier, so something happens every few seconds.
LIVE_PER_DAY = 2400

# Relative volume per local hour (mean 1): quiet nights, lunch and evening peaks.
HOURLY = (
    0.30, 0.16, 0.09, 0.06, 0.06, 0.10, 0.25, 0.55, 0.85, 1.00, 1.05, 1.15,
    1.55, 1.60, 1.15, 1.05, 1.05, 1.10, 1.35, 1.75, 1.85, 1.65, 1.20, 0.67,
)  # fmt: skip
# Monday … Sunday.
WEEKDAY = (1.12, 1.02, 1.0, 1.0, 0.95, 0.82, 0.9)
# Weekend mornings start later and Sunday evening is busier.
WEEKEND_SHAPE = {7: 0.5, 8: 0.6, 9: 0.75, 10: 0.9, 19: 1.1, 20: 1.15, 21: 1.15}

# How long after an item its aftermath (follow-up, peer answer, edit, deletion) may come.
AFTERMATH = timedelta(hours=4)
BASE_CATEGORIES = ("question", "complaint", "praise", "spam", "troll", "toxic", "mention", "share")
MOODS = {
    # question, complaint, praise, spam, troll, toxic, mention, share
    "curious": (5.0, 1.5, 1.5, 0, 0.1, 0, 0.8, 0.5),
    "grumpy": (2.0, 5.0, 0.4, 0, 0.4, 0.5, 0.8, 0.1),
    "fan": (1.5, 0.6, 5.0, 0, 0, 0, 1.5, 1.5),
    "balanced": (3.0, 2.5, 2.5, 0, 0.1, 0.05, 0.8, 0.6),
    "troll": (0.3, 1.0, 0.1, 0, 5.0, 2.0, 0.3, 0.1),
    "bot": (0, 0, 0, 1.0, 0, 0, 0, 0),
}
MOOD_MIX = (("curious", 0.26), ("grumpy", 0.18), ("fan", 0.2), ("balanced", 0.31), ("troll", 0.05))
REVIEW_STARS = (1, 2, 3, 4, 5)
REVIEW_WEIGHTS = (0.13, 0.09, 0.12, 0.26, 0.40)
PRICES = ("49", "89", "129", "199", "349", "1490", "2290", "3190")
# Brand accounts post as themselves: not part of the community.
BRAND_AUTHOR = SimAuthor(id="lumen-brand", name="Lumen", handle="lumen", language="fr")


@dataclass(frozen=True, slots=True)
class Persona:
    """A recurring author and the way they write."""

    author: SimAuthor
    mood: str
    politeness: float
    emoji_rate: float
    typo_rate: float
    shouty: bool
    signature: str
    favourites: tuple[int, ...]  # product indices
    activity: float
    channels: frozenset[str]
    category_cum: tuple[float, ...]  # cumulative weights over BASE_CATEGORIES


@dataclass(frozen=True, slots=True)
class Incident:
    """An outage: from `start` for `hours`, volume × `magnitude`, mostly complaints."""

    start: datetime
    hours: float
    magnitude: float
    post_text: str

    def active(self, when: datetime) -> bool:
        return self.start <= when < self.start + timedelta(hours=self.hours)


@cache
def _compiled(template: str) -> tuple[tuple[str, str], ...]:
    """(literal, slot) pairs of a template: filled by concatenation, much faster than format()."""
    return tuple(
        (literal, field or "") for literal, field, _spec, _conv in Formatter().parse(template)
    )


_STRIP_ACCENTS = str.maketrans("éèêëàâäîïôöûüùçÉÈÊÀÇ", "eeeeaaaiioouuucEEEAC")


def _pick(rng: random.Random, seq: Sequence[T]) -> T:
    """rng.choice without its overhead (the generator's hot path)."""
    return seq[int(rng.random() * len(seq))]


def _int(rng: random.Random, low: int, high: int) -> int:
    """rng.randint without its overhead."""
    return low + int(rng.random() * (high - low + 1))


# How each template slot that does not name a product is filled: (rng, language) → text.
_SLOT_FILLERS: dict[str, Callable[[random.Random, str], str]] = {
    "issue": lambda rng, lang: _pick(rng, P.ISSUES[lang]),
    "feature": lambda rng, lang: _pick(rng, P.FEATURES[lang]),
    "city": lambda rng, lang: _pick(rng, P.CITIES[lang]),
    "colour": lambda rng, lang: _pick(rng, P.COLOURS[lang]),
    "days": lambda rng, lang: str(_int(rng, 2, 21)),
    "order": lambda rng, lang: f"LM-{_int(rng, 10000, 99999)}",
    "price": lambda rng, lang: _pick(rng, PRICES),
    "version": lambda rng, lang: f"2.{_int(rng, 1, 9)}.{_int(rng, 0, 4)}",
    "n": lambda rng, lang: str(_int(rng, 3, 40)),
    "handle": lambda rng, lang: P.HANDLE,
    "name": lambda rng, lang: _pick(rng, P.FIRST_NAMES[lang]),
}


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 40:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


# The brand's team publishes in the day (Paris time): a post due at night goes out in the
# morning, so Insights → When has hours with several posts to compare.
PUBLISH_HOURS = range(8, 21)


def _office_hours(when: datetime, rng: random.Random) -> datetime:
    """`when`, or the next morning between 08:00 and 11:59 (Paris) when it falls at night."""
    local = when.astimezone(PARIS)
    if local.hour in PUBLISH_HOURS:
        return when
    day = local.date() + timedelta(days=1) if local.hour >= PUBLISH_HOURS.stop else local.date()
    morning = datetime(
        day.year, day.month, day.day, rng.randint(8, 11), rng.randint(0, 59), tzinfo=PARIS
    )
    return morning.astimezone(UTC)


def hour_weight(local: datetime) -> float:
    """Relative volume of the local hour starting at `local` (mean about 1 over a week)."""
    weekday = local.weekday()
    weight = HOURLY[local.hour] * WEEKDAY[weekday]
    if weekday >= 5:
        weight *= WEEKEND_SHAPE.get(local.hour, 1.0)
    return weight


class _Form(NamedTuple):
    """How an item is carried on its channel."""

    kind: str  # comment, mention, share, message, review
    category: str  # the category, adjusted to what the channel offers
    rating: int | None = None
    post: SimPost | None = None
    thread_id: str = ""


def _review_rating(rng: random.Random, category: str) -> int:
    """Stars of a review: complaints get 1-2, praise 4-5, anything else the usual spread."""
    rating = rng.choices(REVIEW_STARS, REVIEW_WEIGHTS)[0]
    if category == "complaint":
        return min(rating, 2)
    if category == "praise":
        return max(rating, 4)
    return rating


def _edited(rng: random.Random, first: SimEvent) -> SimEvent:
    """`first` edited a little later by its author, who adds that nothing changed."""
    note = "toujours pareil" if first.author.language == "fr" else "still the same"
    return SimEvent(
        id=first.id,
        type=first.type,
        op="edit",
        author=first.author,
        text=f"{first.text} (edit: {note})",
        created_at=first.created_at + timedelta(minutes=rng.uniform(1, 30)),
        post=first.post,
        thread_id=first.thread_id,
        category=first.category,
        topic=first.topic,
    )


def _deleted(rng: random.Random, first: SimEvent) -> SimEvent:
    """`first` deleted by its author a little later."""
    return SimEvent(
        id=first.id,
        type=first.type,
        op="delete",
        author=first.author,
        text="",
        created_at=first.created_at + timedelta(minutes=rng.uniform(5, 90)),
        post=first.post,
        category=first.category,
        topic=first.topic,
    )


class Community:
    """The Lumen community for one seed. Cheap to build; thread-safe once built (read-only)."""

    def __init__(
        self, seed: int = 42, authors: int = 220, channels: tuple[ChannelSpec, ...] = CHANNELS
    ) -> None:
        self.seed = seed
        self.channels = channels
        self.channel_keys = tuple(c.key for c in channels)
        self._channel_cum = tuple(accumulate(c.share for c in channels))
        rng = random.Random(seed)
        self.personas = self._make_personas(rng, authors)
        # Per channel: personas present there and their cumulative activity, for weighted picks.
        self._present: dict[str, tuple[list[Persona], list[float]]] = {}
        self._present_lang: dict[tuple[str, str], list[Persona]] = {}
        for spec in channels:
            people = [p for p in self.personas if spec.key in p.channels]
            self._present[spec.key] = (people, list(accumulate(p.activity for p in people)))
            for lang in LANGUAGES:
                self._present_lang[spec.key, lang] = [
                    p for p in people if p.author.language == lang and p.mood != "bot"
                ]
        self._posts: dict[tuple[str, int], SimPost] = {}
        self._incidents: dict[int, Incident | None] = {}

    # --- people ------------------------------------------------------------------

    def _make_personas(self, rng: random.Random, count: int) -> list[Persona]:
        personas = []
        moods = [mood for mood, _weight in MOOD_MIX]
        mood_weights = [weight for _mood, weight in MOOD_MIX]
        keys = [c.key for c in self.channels]
        shares = [c.share for c in self.channels]
        used_names: set[str] = set()
        for index in range(count):
            is_bot = index % 27 == 26  # a few spam accounts among the regulars
            lang = "fr" if rng.random() < 0.6 else "en"
            if is_bot:
                name = P.SPAM_NAMES[(index // 27) % len(P.SPAM_NAMES)]
                if name in used_names:
                    name = f"{name} {index}"
                handle = "".join(ch for ch in name.lower() if ch.isalnum() or ch == "_")[:20] + str(
                    index
                )
                mood = "bot"
            else:
                while True:
                    first = _pick(rng, P.FIRST_NAMES[lang])
                    last = _pick(rng, P.LAST_NAMES[lang])
                    name = f"{first} {last}" if rng.random() < 0.8 else f"{first} {last[0]}."
                    if name not in used_names:
                        break
                plain = (first + last).lower().translate(_STRIP_ACCENTS).replace("'", "")
                handle = _pick(
                    rng,
                    [
                        plain,
                        first.lower().translate(_STRIP_ACCENTS) + str(rng.randint(1, 99)),
                        plain[:10] + "_",
                    ],
                )
                mood = rng.choices(moods, mood_weights)[0]
            used_names.add(name)
            author = SimAuthor(
                id=f"u{index:04d}",
                name=name,
                handle=handle,
                language=lang,
                avatar=f"https://avatars.example/lumen/{index:04d}.png",
            )
            present = {rng.choices(keys, shares)[0] for _ in range(rng.randint(1, 4))}
            if is_bot:
                present.discard("reviews")
                present = present or {"facebook-like"}
            weights = MOODS[mood]
            personas.append(
                Persona(
                    author=author,
                    mood=mood,
                    politeness=rng.random(),
                    emoji_rate=_pick(rng, (0.0, 0.05, 0.2, 0.5, 0.8)),
                    typo_rate=_pick(rng, (0.0, 0.0, 0.05, 0.15, 0.35)),
                    shouty=mood in {"grumpy", "troll"} and rng.random() < 0.4,
                    signature=_pick(rng, P.SIGNATURES[lang]) if rng.random() < 0.2 else "",
                    favourites=tuple(rng.sample(range(len(P.PRODUCTS[lang])), 3)),
                    # A few very active regulars, a long tail of occasional ones.
                    activity=(1.0 / (1 + rng.random() * 20)) ** 0.8 * (0.3 if is_bot else 1.0),
                    channels=frozenset(present),
                    category_cum=tuple(accumulate(weights)),
                )
            )
        return personas

    def _pick_persona(self, rng: random.Random, channel: str) -> Persona:
        people, cum = self._present[channel]
        return people[bisect_right(cum, rng.random() * cum[-1]) if cum[-1] else 0]

    # --- the brand's posts and incidents ---------------------------------------------

    def post(self, spec: ChannelSpec, slot: int) -> SimPost:
        """The brand's post number `slot` on a channel (deterministic)."""
        key = (spec.key, slot)
        found = self._posts.get(key)
        if found is not None:
            return found
        rng = random.Random(f"{self.seed}:post:{spec.key}:{slot}")
        kind = rng.choices(("launch", "tip", "promo", "event"), (0.2, 0.35, 0.25, 0.2))[0]
        product = rng.randrange(len(P.PRODUCTS["fr"]))
        text = _pick(rng, P.POSTS[kind]).format(
            product_fr=P.PRODUCT_FORMS["fr"]["product"][product],
            product_en=P.PRODUCTS["en"][product],
            colour_fr=_pick(rng, P.COLOURS["fr"]),
            feature_fr=_pick(rng, P.FEATURES["fr"]),
            feature_en=_pick(rng, P.FEATURES["en"]),
            city_fr=_pick(rng, P.CITIES["fr"]),
            city_en=_pick(rng, P.CITIES["en"]),
            version=f"2.{rng.randint(1, 9)}",
        )
        published = _office_hours(
            EPOCH + timedelta(hours=slot * spec.post_every_hours + rng.uniform(-2, 2)), rng
        )
        post = SimPost(
            id=f"{spec.short}-post-{slot}",
            text=text,
            url=f"{spec.url}/posts/{slot}",
            published_at=published,
        )
        self._posts[key] = post
        return post

    def incident_on(self, day: date) -> Incident | None:
        """The outage of a (local) day, if there is one (about one day in nine)."""
        ordinal = day.toordinal()
        if ordinal in self._incidents:
            return self._incidents[ordinal]
        rng = random.Random(f"{self.seed}:incident:{ordinal}")
        incident = None
        if rng.random() < 0.11:
            start = datetime(
                day.year,
                day.month,
                day.day,
                rng.randint(8, 20),
                _pick(rng, (0, 15, 30, 45)),
                tzinfo=PARIS,
            )
            incident = Incident(
                start=start.astimezone(UTC),
                hours=rng.uniform(1.5, 4.5),
                magnitude=rng.uniform(3.0, 6.0),
                post_text=_pick(rng, P.OUTAGE_POSTS),
            )
        self._incidents[ordinal] = incident
        return incident

    def incidents_near(self, when: datetime) -> tuple[Incident, ...]:
        """Outages that may be going on around `when` (started that local day or the day before)."""
        day = when.astimezone(PARIS).date()
        found = (self.incident_on(day), self.incident_on(day - timedelta(days=1)))
        return tuple(i for i in found if i is not None)

    def incident_at(
        self, when: datetime, near: tuple[Incident, ...] | None = None
    ) -> Incident | None:
        """The outage going on at `when`, if any (`near`: `incidents_near` of a close time, to save work)."""
        for candidate in self.incidents_near(when) if near is None else near:
            if candidate.active(when):
                return candidate
        return None

    def _pick_post(
        self, rng: random.Random, spec: ChannelSpec, when: datetime, incident: Incident | None
    ) -> SimPost:
        if incident is not None and rng.random() < 0.5:
            return SimPost(
                id=f"{spec.short}-incident-{incident.start:%Y%m%d%H%M}",
                text=incident.post_text,
                url=f"{spec.url}/status/{incident.start:%Y%m%d%H%M}",
                published_at=incident.start + timedelta(minutes=20),
            )
        slot = int((when - EPOCH).total_seconds() // (spec.post_every_hours * 3600))
        back = 0
        while rng.random() < 0.45 and back < 6:  # mostly the latest posts
            back += 1
        post = self.post(spec, slot - back)
        if post.published_at > when:
            post = self.post(spec, slot - back - 1)
        return post

    # --- rhythm ---------------------------------------------------------------------

    def expected(self, hour_start: datetime, per_day: float) -> float:
        """Expected events in the hour starting at `hour_start` (UTC), bursts included."""
        weight = hour_weight(hour_start.astimezone(PARIS))
        incident = self.incident_at(hour_start + timedelta(minutes=30))
        if incident is not None:
            weight *= incident.magnitude
        return per_day / 24 * weight

    # --- text ---------------------------------------------------------------------

    def _slot(
        self, rng: random.Random, name: str, lang: str, persona: Persona, product: int
    ) -> str:
        forms = P.PRODUCT_FORMS[lang]
        if name in forms:
            return forms[name][product]
        if name.endswith("product2"):
            return forms[name[:-1]][(product + _int(rng, 1, 5)) % len(P.PRODUCTS[lang])]
        filler = _SLOT_FILLERS.get(name)
        return filler(rng, lang) if filler is not None else ""

    def _fill(
        self, rng: random.Random, template: str, lang: str, persona: Persona, product: int
    ) -> str:
        parts = []
        for literal, slot in _compiled(template):
            parts.append(literal)
            if slot:
                parts.append(self._slot(rng, slot, lang, persona, product))
        text = "".join(parts)
        # A sentence opening on a slot ("{my_product} …") still starts with a capital.
        return text[:1].upper() + text[1:] if template.startswith("{") else text

    def text(
        self,
        rng: random.Random,
        persona: Persona,
        category: str,
        product: int,
        rating: int | None = None,
    ) -> str:
        """What `persona` writes for `category`, in their own style."""
        lang = persona.author.language
        if rating is not None:
            template = _pick(rng, P.REVIEWS[lang][rating])
        else:
            template = _pick(rng, P.TEMPLATES[lang][category])
        core = self._fill(rng, template, lang, persona, product)
        if category == "spam":
            return core  # bots have no style but their own
        conversational = category in {"question", "complaint", "outage"} or rating is not None
        pieces = []
        if conversational and rng.random() < 0.22:
            pieces.append(self._fill(rng, _pick(rng, P.CONTEXT[lang]), lang, persona, product))
        pieces.append(core)
        if (
            persona.shouty
            and category in {"complaint", "toxic", "outage", "troll"}
            and rng.random() < 0.4
        ):
            pieces[-1] = core.upper().rstrip(".") + " !!!"[0 if lang == "fr" else 1 :]
        text = " ".join(pieces)
        if category in {"question", "complaint"} and rng.random() < persona.politeness * 0.7:
            register = "formal" if persona.politeness > 0.6 else "casual"
            text = f"{_pick(rng, P.GREETINGS[lang][register])} {text}"
            if persona.politeness > 0.7 and rng.random() < 0.5:
                text = f"{text} {_pick(rng, P.CLOSINGS[lang])}"
        if persona.signature and rng.random() < 0.3:
            text = f"{text} {persona.signature}"
        if rng.random() < persona.emoji_rate:
            emoji = _pick(rng, P.EMOJI.get(category, P.EMOJI["neutral"]))
            text = f"{text} {emoji * _pick(rng, (1, 1, 2, 3))}"
        if persona.typo_rate and rng.random() < persona.typo_rate * 2:
            text = self._typo(rng, text, lang)
        return text

    @staticmethod
    def _typo(rng: random.Random, text: str, lang: str) -> str:
        roll = rng.random()
        if roll < 0.3 and lang == "fr":
            return text.translate(_STRIP_ACCENTS)
        if roll < 0.45:
            return text[0].lower() + text[1:]
        words = text.split(" ")
        candidates = [i for i, w in enumerate(words) if len(w) > 4 and w.isalpha()]
        if not candidates:
            return text
        i = _pick(rng, candidates)
        w = words[i]
        j = rng.randrange(1, len(w) - 2)
        words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
        return " ".join(words)

    # --- events -----------------------------------------------------------------------

    def _pick_channel(self, rng: random.Random) -> ChannelSpec:
        return self.channels[bisect_right(self._channel_cum, rng.random() * self._channel_cum[-1])]

    def _pick_category(
        self, rng: random.Random, persona: Persona, incident: Incident | None
    ) -> str:
        """What the item is about: mostly the outage while one is going on, else the persona's mix."""
        if incident is not None and persona.mood != "bot" and rng.random() < 0.7:
            return "outage"
        cum = persona.category_cum
        return BASE_CATEGORIES[bisect_right(cum, rng.random() * cum[-1])]

    def _pick_form(
        self,
        rng: random.Random,
        spec: ChannelSpec,
        author: SimAuthor,
        category: str,
        when: datetime,
        incident: Incident | None,
    ) -> _Form:
        """How the channel carries an item of `category`: review, mention, share, DM or comment."""
        if spec.reviews >= 1.0 or (
            category in {"praise", "complaint"} and rng.random() < spec.reviews
        ):
            return _Form("review", "review", rating=_review_rating(rng, category))
        if category == "mention" and spec.mentions:
            return _Form("mention", category)
        if category == "share" and spec.shares:
            return _Form("share", category, post=self._pick_post(rng, spec, when, incident))
        if category in {"mention", "share"}:  # the channel has no such thing
            category = "praise" if category == "share" else "question"
        if spec.private_messages and rng.random() < (
            0.35 if category in {"complaint", "spam"} else 0.18
        ):
            return _Form("message", category, thread_id=f"dm-{spec.short}-{author.id}")
        if spec.post_every_hours:
            return _Form("comment", category, post=self._pick_post(rng, spec, when, incident))
        return _Form("mention", category)

    def make_events(
        self,
        rng: random.Random,
        when: datetime,
        id_base: str,
        near: tuple[Incident, ...] | None = None,
    ) -> list[tuple[str, SimEvent]]:
        """One community item at `when` (its channel, author, kind picked by `rng`) and its aftermath.

        The aftermath is what follows in the same thread later: the author
        coming back, another customer answering, an edit or a delete.
        """
        spec = self._pick_channel(rng)
        persona = self._pick_persona(rng, spec.key)
        author = persona.author
        incident = self.incident_at(when, near)
        product = (
            _pick(rng, persona.favourites)
            if rng.random() < 0.7
            else rng.randrange(len(P.PRODUCTS[author.language]))
        )
        category = self._pick_category(rng, persona, incident)
        form = self._pick_form(rng, spec, author, category, when, incident)
        first = SimEvent(
            id=f"{spec.short}-{id_base}",
            type=form.kind,
            author=author,
            text=self.text(rng, persona, form.category, product, form.rating),
            created_at=when,
            post=form.post,
            thread_id=form.thread_id,
            rating=form.rating,
            category=form.category,
            topic="panne" if category == "outage" else P.PRODUCT_TOPICS[product],
        )
        out = [(spec.key, first)]
        after = self._aftermath(rng, spec, persona, first, product)
        if after is not None:
            out.append((spec.key, after))
        return out

    def _aftermath(
        self, rng: random.Random, spec: ChannelSpec, persona: Persona, first: SimEvent, product: int
    ) -> SimEvent | None:
        """What may follow `first` later in its thread (at most one item)."""
        if first.type in {"comment", "message"} and first.category in {
            "question",
            "complaint",
            "outage",
        }:
            roll = rng.random()
            if roll < 0.22:  # the same customer comes back in their thread
                return self._followup(rng, persona, first, product)
            if roll < 0.30 and first.post is not None:  # another customer helps
                return self._peer_answer(rng, spec, persona, first, product)
            if roll < 0.33:  # a quick edit
                return _edited(rng, first)
            return None
        if first.category in {"troll", "toxic"} and first.type == "comment" and rng.random() < 0.12:
            return _deleted(rng, first)  # thought better of it
        return None

    def _followup(
        self, rng: random.Random, persona: Persona, first: SimEvent, product: int
    ) -> SimEvent:
        """The author writes again under their own item (a reply, or a DM in a private thread)."""
        later = first.created_at + timedelta(minutes=rng.uniform(4, 240))
        lang = persona.author.language
        again = self._fill(rng, _pick(rng, P.TEMPLATES[lang]["followup"]), lang, persona, product)
        return SimEvent(
            id=f"{first.id}-f",
            type="reply" if first.post is not None else "message",
            author=first.author,
            text=again,
            created_at=later,
            post=first.post,
            parent_id=first.id if first.post is not None else "",
            thread_id=first.thread_id,
            category="followup",
            topic=first.topic,
        )

    def _peer_answer(
        self, rng: random.Random, spec: ChannelSpec, persona: Persona, first: SimEvent, product: int
    ) -> SimEvent | None:
        """Another customer of the same language answers `first` (None when nobody else is there)."""
        peers = self._present_lang[spec.key, persona.author.language]
        peer = _pick(rng, peers) if peers else persona
        if peer is persona:
            return None
        return SimEvent(
            id=f"{first.id}-p",
            type="reply",
            author=peer.author,
            text=self.text(rng, peer, "peer", product),
            created_at=first.created_at + timedelta(minutes=rng.uniform(2, 180)),
            post=first.post,
            parent_id=first.id,
            category="peer",
            topic=first.topic,
        )

    def hour_events(
        self, hour_start: datetime, per_day: float = HISTORY_PER_DAY
    ) -> list[tuple[str, SimEvent]]:
        """The items of the hour starting at `hour_start` (UTC, on the hour), aftermath included.

        Depends only on (seed, hour, per_day): regenerating a window gives the same ids and texts.
        """
        number = int((hour_start - EPOCH).total_seconds() // 3600)
        rng = random.Random(self.seed * 1_000_003 + number)
        count = _poisson(rng, self.expected(hour_start, per_day))
        offsets = sorted(rng.random() * 3600 for _ in range(count))
        near = self.incidents_near(hour_start)
        events: list[tuple[str, SimEvent]] = []
        for n, offset in enumerate(offsets):
            events.extend(
                self.make_events(rng, hour_start + timedelta(seconds=offset), f"{number}-{n}", near)
            )
        return events

    def events_between(
        self, start: datetime, end: datetime, per_day: float = HISTORY_PER_DAY
    ) -> list[tuple[str, SimEvent]]:
        """Every item created in [start, end), in time order (aftermath past `end` is left out).

        Hours before `start` are generated too, as far back as an item's aftermath
        reaches (a follow-up comes up to 4 hours later), so an item created in the
        window by an earlier hour is not missed: a window regenerates exactly what
        a longer one holds of it.
        """
        hour = (start - AFTERMATH).astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        events: list[tuple[str, SimEvent]] = []
        while hour < end:
            events.extend(
                e for e in self.hour_events(hour, per_day) if start <= e[1].created_at < end
            )
            hour += timedelta(hours=1)
        events.sort(key=lambda e: e[1].created_at)
        return events

    def reaction(
        self, rng: random.Random, target: SimEvent, reply_id: str, when: datetime
    ) -> SimEvent | None:
        """The customer answers the brand's reply: thanks, or a follow-up question."""
        if target.from_brand or target.type in {"review", "share"}:
            return None
        persona = self.persona(target.author.id)
        if persona is None or persona.mood == "bot":
            return None
        unhappy = target.category in {"complaint", "outage", "toxic"}
        category = "still" if rng.random() < (0.5 if unhappy else 0.25) else "thanks"
        lang = persona.author.language
        product = persona.favourites[0]
        text = self._fill(rng, _pick(rng, P.TEMPLATES[lang][category]), lang, persona, product)
        private = bool(target.thread_id)
        return SimEvent(
            id=f"{target.id}-r{rng.randrange(10**8)}",
            type="message" if private else "reply",
            author=target.author,
            text=text,
            created_at=when,
            post=target.post,
            parent_id="" if private else reply_id,
            thread_id=target.thread_id,
            category=category,
            topic=target.topic,
        )

    def persona(self, author_id: str) -> Persona | None:
        """The persona behind an author id."""
        if not author_id.startswith("u"):
            return None
        try:
            index = int(author_id[1:])
        except ValueError:
            return None
        return self.personas[index] if 0 <= index < len(self.personas) else None


def generate_events(
    n: int, seed: int = 42, start: datetime | None = None, per_day: float = 20_000
) -> list[tuple[str, SimEvent]]:
    """`n` community items from `start` on, fast (for benchmarks): [(channel_key, SimEvent)].

    `per_day` sets the density (the default packs a busy brand's day); the
    rhythm and bursts still apply. Deterministic for (n, seed, start, per_day).
    """
    community = Community(seed)
    hour = (start or EPOCH).astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    events: list[tuple[str, SimEvent]] = []
    while len(events) < n:
        events.extend(community.hour_events(hour, per_day))
        hour += timedelta(hours=1)
    del events[n:]
    return events
