"""The brand's own places in the demo: an external blog's feed, a sample website, a mailbox.

Unlike the social channels, these run through connectors that *fetch* (RSS,
IMAP) or that a browser calls (the website widget), so the demo plays the
other side for real:

- **The blog** "Vélo & Lumière": an RSS 2.0 feed served by the fake platform
  at `/blog/feed.xml` (with an `ETag`; `If-None-Match` gets a 304), a post
  every couple of days in French or English, most of them about Lumen. The
  RSS connector polls it and keeps the posts that mention the brand.
- **The sample site** `lumen.example`: a small product page at `/site/` (French)
  and `/site/en/` (English) embedding the website channel's widget with one
  `<script>` tag. The page's origin is the fake platform's, which is the
  channel's `site_url`, so the widget's CORS lets it in.
- **The mailbox** `support@lumen.example`: a `LoopbackMail` (pymap IMAP + aiosmtpd
  SMTP on 127.0.0.1). Customers' mail is put in with IMAP APPEND; the e-mail
  connector polls it, and the team's answers go out over SMTP to the same server.

Everything the history holds is generated from the seed and the time (slots),
so a re-run regenerates the same posts and mails with the same ids, and the
connectors' deduplication (guid, Message-ID) keeps one copy of each.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import html
import json
import logging
import random
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import getaddresses
from urllib.parse import urlsplit

from cercle.connectors.models import Channel
from cercle.connectors.website.connector import WIDGET_SOURCE
from cercle.connectors.website.inbound import WIDGET_PREFIX
from cercle.core import clock
from cercle.inbox.actions import do_change_status, do_reply
from cercle.inbox.choices import Direction, Status
from cercle.inbox.models import Conversation, Message
from cercle.pipeline.actions import do_create_channel, do_store_raw_events
from cercle.pipeline.poller import poll_channel
from cercle.pipeline.sender import send_due
from cercle.workspaces.models import Member, Workspace

from . import mailserver
from . import phrases as P
from .actions import do_repoint_channel
from .blogfeed import BlogPost, etag_of, render_feed
from .community import EPOCH, PARIS, Community, Persona

logger = logging.getLogger(__name__)

Progress = Callable[[str], None]

BLOG_KEY, SITE_KEY, MAIL_KEY = "blog", "site", "mailbox"
BLOG_NAME = "Blog Vélo & Lumière"
BLOG_HOST = "velo-lumiere.example"
SITE_NAME = "lumen.example"
MAIL_ADDRESS = "support@lumen.example"
MAIL_NAME = "support@lumen.example"
# Mail from customers: their own (fictional) providers.
MAIL_DOMAINS = ("courriel.example", "mail.example", "boite.example", "post.example")

# A blog post about every BLOG_EVERY_HOURS in the history; a mail about every MAIL_EVERY_HOURS;
# a visitor's message in the site's widget about every WIDGET_EVERY_HOURS.
BLOG_EVERY_HOURS = 40
MAIL_EVERY_HOURS = 7
WIDGET_EVERY_HOURS = 10
# In the live demo (at rate 1): a new mail every few minutes, a blog post now and then.
LIVE_MAIL_SECONDS = 180
LIVE_BLOG_SECONDS = 1200
# How often the worker polls these channels in the demo (seconds).
DEMO_POLL = {BLOG_KEY: 60, MAIL_KEY: 20}

BLOGGERS = {
    "fr": ("Claire Dumas", "Julien Pereira"),
    "en": ("Sam Whitfield",),
}

# Blog posts: (title, paragraphs); {product} is one of Lumen's products.
BLOG_TEMPLATES: dict[str, list[tuple[str, tuple[str, ...]]]] = {
    "fr": [
        (
            "Un mois avec Lumen : {product}",
            (
                "Tout le mois au quotidien avec un produit Lumen : {product}.",
                "Le montage prend dix minutes, l'appli Lumen Home est claire. "
                "Seul bémol : la notice papier est un peu courte.",
            ),
        ),
        (
            "Lumière et vélo : Lumen face aux grandes marques",
            (
                "Cinq marques comparées, dont Lumen avec ce modèle : {product}.",
                "Lumen gagne sur la lumière chaude, perd un point sur le prix.",
            ),
        ),
        (
            "Atelier : réparer soi-même un produit Lumen",
            (
                "Lumen publie ses pièces détachées ({product} compris) : nous avons testé.",
                "Il faut un tournevis Torx et vingt minutes. Bravo pour la réparabilité.",
            ),
        ),
        (
            "Salon du vélo : ce qu'on retient",
            (
                "Beaucoup de cargos cette année ; sur le stand Lumen : {product}.",
                "Le stand était bondé ; les prix restent élevés.",
            ),
        ),
    ],
    "en": [
        (
            "A long-term review: {product}, by Lumen",
            (
                "Six weeks of daily use: {product}, made by Lumen.",
                "Setup is painless and the Lumen Home app is tidy; battery life is "
                "a little below the advertised figure.",
            ),
        ),
        (
            "Commuter lights compared: Lumen and friends",
            (
                "We put four commuter setups through a wet November, Lumen's among them ({product}).",
                "Lumen wins on build quality, loses on price.",
            ),
        ),
    ],
}
# Now and then the blog writes about something else (the connector's keywords drop it).
OFF_TOPIC: dict[str, tuple[str, tuple[str, ...]]] = {
    "fr": (
        "Nos itinéraires d'automne en Bourgogne",
        ("Trois boucles de 40 km entre vignes et canaux.", "Pensez aux bonnes lumières !"),
    ),
    "en": (
        "Autumn rides along the Loire",
        ("Three gentle loops for a weekend.", "Bring a rain jacket."),
    ),
}

# Mail subjects per category; the body is the community's own text for that category.
SUBJECTS: dict[str, dict[str, tuple[str, ...]]] = {
    "fr": {
        "question": ("Question : {product}", "Renseignement : {product}", "Petite question"),
        "complaint": ("Problème : {product}", "Réclamation commande", "En panne : {product}"),
        "praise": ("Merci !", "Bravo : {product}"),
    },
    "en": {
        "question": ("Question about the {product}", "Quick question", "{product} enquiry"),
        "complaint": ("Problem with my {product}", "Order complaint", "{product} not working"),
        "praise": ("Thank you!", "Loving the {product}"),
    },
}
CATEGORIES = (("question", 0.5), ("complaint", 0.38), ("praise", 0.12))
FOLLOW_UPS = {
    "fr": (
        "Bonjour, je me permets de relancer : avez-vous pu regarder ?",
        "Des nouvelles ? Merci d'avance.",
        "J'ajoute une précision : c'est arrivé à nouveau ce matin.",
    ),
    "en": (
        "Hello, just following up: any news?",
        "Any update on this? Thanks.",
        "One more detail: it happened again this morning.",
    ),
}
THANKS = {
    "fr": ("Merci beaucoup, c'est réglé !", "Parfait, merci pour la réponse rapide.", "Merci !"),
    "en": ("Thanks a lot, all sorted!", "Perfect, thanks for the quick answer.", "Thank you!"),
}
# The team's answers by e-mail: a greeting, a line per category, a sign-off.
MAIL_REPLIES = {
    "fr": {
        "question": (
            "Bonjour {first},\n\nMerci pour votre message. Oui, c'est possible : "
            "la marche à suivre est dans notre aide en ligne, rubrique {product}."
        ),
        "complaint": (
            "Bonjour {first},\n\nNous sommes désolés pour ce souci ({product}). "
            "Nous vous envoyons une étiquette de retour aujourd'hui."
        ),
        "praise": "Bonjour {first},\n\nMerci, votre message a fait le tour de l'équipe !",
        "sign": "\n\nBelle journée,\n{agent}, service client Lumen",
    },
    "en": {
        "question": (
            "Hi {first},\n\nThanks for writing. Yes, it is possible: the steps are in "
            "our help centre, under {product}."
        ),
        "complaint": (
            "Hi {first},\n\nSorry about the trouble with your {product}. We are sending "
            "you a return label today."
        ),
        "praise": "Hi {first},\n\nThank you, the whole team has read your message!",
        "sign": "\n\nBest,\n{agent}, Lumen customer care",
    },
}


@dataclass(frozen=True, slots=True)
class Mail:
    """A customer's mail, as generated (delivered into the mailbox as RFC 5322 bytes)."""

    message_id: str
    sender: str
    sender_name: str
    subject: str
    body: str
    sent_at: datetime
    language: str
    category: str
    product: str
    in_reply_to: str = ""
    references: tuple[str, ...] = ()

    def raw(self) -> bytes:
        return mailserver.compose(
            sender=self.sender,
            sender_name=self.sender_name,
            to=MAIL_ADDRESS,
            subject=self.subject,
            body=self.body,
            message_id=self.message_id,
            in_reply_to=self.in_reply_to,
            references=self.references,
            date=self.sent_at,
        )


def _slots(start: datetime, end: datetime, hours: float) -> range:
    size = timedelta(hours=hours)
    return range(int((start - EPOCH) / size), int((end - EPOCH) / size) + 1)


@dataclass
class OwnPlaces:
    """The blog feed, the sample site and the mailbox of one demo run (or one test)."""

    community: Community
    seed: int = 42
    # Where Cercle answers (for the widget's script tag); set by the demo once it knows it.
    cercle_url: str = ""
    mail: mailserver.LoopbackMail | None = None
    channels: dict[str, Channel] = field(default_factory=dict)
    posts: dict[str, BlogPost] = field(default_factory=dict)  # guid → post
    base_url: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _feed: tuple[bytes, str] | None = None

    # --- lifecycle ------------------------------------------------------------------

    def start_mail(self, say: Progress | None = None, password: str = "") -> bool:
        """Start the loopback mailbox; False (and a printed line) when pymap/aiosmtpd are missing.

        `password`: the mailbox's (the demo gives its login password, so a mail
        client can log in too); a random one if blank.
        """
        if not mailserver.available():
            if say:
                say(f"  no mailbox: {mailserver.MISSING_MESSAGE}")
            return False
        mail = mailserver.LoopbackMail(
            user=MAIL_ADDRESS, password=password or secrets.token_urlsafe(12)
        )
        try:
            self.mail = mail.start()
        except (OSError, RuntimeError) as exc:
            if say:
                say(f"  no mailbox: the loopback mail servers did not start ({exc})")
            return False
        mail.create("Sent")
        mail.file_into = (
            "Sent"  # like a host that keeps sent mail (the connector's reconcile reads it)
        )
        return True

    def stop(self) -> None:
        if self.mail is not None:
            self.mail.stop()
            self.mail = None

    # --- HTTP: the blog and the site --------------------------------------------------

    def page(
        self, method: str, raw_path: str, headers: dict[str, str]
    ) -> tuple[int, bytes, dict[str, str]] | None:
        """The fake platform's plain pages; None for any other path (the wires' API)."""
        path = urlsplit(raw_path).path
        if path == "/blog/feed.xml":
            body, etag = self.feed()
            if headers.get("if-none-match", "") == etag:
                return 304, b"", {"ETag": etag}
            return 200, body, {"Content-Type": "application/rss+xml; charset=utf-8", "ETag": etag}
        if path.startswith("/blog/"):
            with self._lock:
                post = next((p for p in self.posts.values() if urlsplit(p.link).path == path), None)
            if post is None:
                return 404, b"not found", {"Content-Type": "text/plain"}
            return 200, _post_page(post).encode(), {"Content-Type": "text/html; charset=utf-8"}
        if path in {"/site", "/site/", "/site/en", "/site/en/"}:
            lang = "en" if path.startswith("/site/en") else "fr"
            page = site_page(lang, self.widget_src())
            csp = f"script-src {self.cercle_url or 'none'}; object-src 'none'; base-uri 'none'"
            if not self.cercle_url:
                csp = "script-src 'none'; object-src 'none'; base-uri 'none'"
            return (
                200,
                page.encode(),
                {"Content-Type": "text/html; charset=utf-8", "Content-Security-Policy": csp},
            )
        return None

    def widget_src(self) -> str:
        site = self.channels.get(SITE_KEY)
        if site is None or not self.cercle_url:
            return ""
        return f"{self.cercle_url.rstrip('/')}/w/{site.uuid}/widget.js"

    def feed(self) -> tuple[bytes, str]:
        with self._lock:
            if self._feed is None:
                posts = sorted(self.posts.values(), key=lambda p: p.published)[-30:]
                body = render_feed(
                    BLOG_NAME,
                    f"{self.base_url}/blog/",
                    "Vélo, lumière et objets connectés — un blog indépendant.",
                    posts,
                )
                self._feed = (body, etag_of(body))
            return self._feed

    def publish(self, posts: list[BlogPost]) -> None:
        """Put posts on the blog (the feed changes, so does its ETag)."""
        with self._lock:
            for post in posts:
                self.posts[post.guid] = post
            self._feed = None

    # --- generated content ---------------------------------------------------------------

    def blog_post(self, rng: random.Random, when: datetime, guid: str) -> BlogPost:
        lang = "fr" if rng.random() < 0.65 else "en"
        products = P.PRODUCTS[lang]
        product = products[rng.randrange(len(products))]
        if rng.random() < 0.15:
            title, paragraphs = OFF_TOPIC[lang]
        else:
            title, paragraphs = rng.choice(BLOG_TEMPLATES[lang])
        title = title.replace("{product}", product)
        body = "".join(f"<p>{html.escape(p.replace('{product}', product))}</p>" for p in paragraphs)
        slug = guid.lower().replace(":", "-")
        return BlogPost(
            guid=f"{BLOG_HOST}:{guid}",
            title=title,
            link=f"{self.base_url}/blog/{slug}",
            author=rng.choice(BLOGGERS[lang]),
            published=when,
            html=body,
        )

    def blog_history(self, start: datetime, end: datetime) -> list[BlogPost]:
        posts = []
        for slot in _slots(start, end, BLOG_EVERY_HOURS):
            rng = random.Random(f"{self.seed}:blog:{slot}")
            when = EPOCH + timedelta(hours=BLOG_EVERY_HOURS * (slot + rng.random()))
            if start <= when <= end:
                posts.append(self.blog_post(rng, when, f"p{slot}"))
        return posts

    def _persona(self, rng: random.Random) -> Persona:
        people = [p for p in self.community.personas if p.mood not in {"bot", "troll"}]
        return rng.choice(people)

    def mail_from(self, rng: random.Random, when: datetime, ident: str) -> Mail:
        persona = self._persona(rng)
        lang = persona.author.language
        category = rng.choices([c for c, _ in CATEGORIES], [w for _, w in CATEGORIES])[0]
        product_index = rng.choice(persona.favourites)
        product = P.PRODUCTS[lang][product_index]
        text = self.community.text(rng, persona, category, product_index)
        first = persona.author.name.split(" ")[0]
        body = f"{text}\n\n{first}" if rng.random() < 0.7 else text
        domain = MAIL_DOMAINS[int(persona.author.id[1:] or 0) % len(MAIL_DOMAINS)]
        return Mail(
            message_id=f"{ident}.{self.seed}@{domain}",
            sender=f"{persona.author.handle}@{domain}",
            sender_name=persona.author.name,
            subject=rng.choice(SUBJECTS[lang][category]).replace("{product}", product),
            body=body,
            sent_at=when,
            language=lang,
            category=category,
            product=product,
        )

    def follow_up(self, rng: random.Random, first: Mail, when: datetime, text: str) -> Mail:
        """The customer writes again in the same thread (answering their own mail, or ours)."""
        return Mail(
            message_id=f"re{rng.randrange(10**9)}-{first.message_id}",
            sender=first.sender,
            sender_name=first.sender_name,
            subject=first.subject if first.subject.startswith("Re:") else f"Re: {first.subject}",
            body=text,
            sent_at=when,
            language=first.language,
            category=first.category,
            product=first.product,
            in_reply_to=first.message_id,
            references=(*first.references, first.message_id),
        )

    def mail_history(self, start: datetime, end: datetime) -> list[Mail]:
        """The customers' mails of [start, end]: one every few hours, a few chased up later."""
        mails = []
        for slot in _slots(start, end, MAIL_EVERY_HOURS):
            rng = random.Random(f"{self.seed}:mail:{slot}")
            hour = rng.uniform(0, MAIL_EVERY_HOURS)
            when = EPOCH + timedelta(hours=MAIL_EVERY_HOURS * slot + hour)
            local = when.astimezone(PARIS)
            if local.hour < 7 and rng.random() < 0.7:  # fewer mails at night
                continue
            if not start <= when <= end:
                continue
            mail = self.mail_from(rng, when, f"m{slot}")
            mails.append(mail)
            if mail.category != "praise" and rng.random() < 0.25:
                later = when + timedelta(hours=rng.uniform(3, 30))
                if later <= end:
                    text = rng.choice(FOLLOW_UPS[mail.language])
                    mails.append(self.follow_up(rng, mail, later, text))
        return mails

    def widget_history(self, start: datetime, end: datetime) -> dict[str, Mail]:
        """Visitors' comments and contact messages in the site's widget, as the widget view
        stores them (`{"widget": {…}}` bodies), by their inbox external id."""
        items: dict[str, Mail] = {}
        for slot in _slots(start, end, WIDGET_EVERY_HOURS):
            rng = random.Random(f"{self.seed}:widget:{slot}")
            when = EPOCH + timedelta(hours=WIDGET_EVERY_HOURS * (slot + rng.random()))
            if not start <= when <= end or when.astimezone(PARIS).hour < 7:
                continue
            item = self.mail_from(rng, when, f"h{slot}")
            items[f"{WIDGET_PREFIX}h{slot}.{self.seed}"] = item
        return items

    def widget_body(self, external_id: str, item: Mail) -> bytes:
        persona_key = f"{self.seed}:{item.sender}".encode()
        page = "/site/" if item.language == "fr" else "/site/en/"
        title = SITE_TEXT[item.language]["title"]
        return json.dumps(
            {
                "widget": {
                    "id": external_id.removeprefix(WIDGET_PREFIX),
                    "visitor": hashlib.sha256(persona_key).hexdigest()[:32],
                    "type": "comment" if item.category == "praise" else "contact",
                    "text": item.body,
                    "name": item.sender_name.split(" ")[0],
                    "page": {"url": f"{self.base_url}{page}", "title": title},
                    "created_at": item.sent_at.isoformat(),
                }
            }
        ).encode()

    def deliver(self, mails: list[Mail]) -> None:
        if self.mail is None:
            return
        self.mail.deliver_many([mail.raw() for mail in mails])


# --- connecting ------------------------------------------------------------------------------


def connect_own_places(
    workspace: Workspace, places: OwnPlaces, base_url: str, *, demo_polling: bool = True
) -> dict[str, Channel]:
    """Connect the blog's RSS channel, the website channel and (when started) the mailbox (idempotent).

    A re-run finds each channel by its stable external id and points it at this
    run's fake platform and mailbox, as `connect_channels` does for the wires.
    """
    places.base_url = base_url.rstrip("/")
    blog_config: dict[str, object] = {
        "feed_url": f"{places.base_url}/blog/feed.xml",
        "keywords": "Lumen",
    }
    site_config: dict[str, object] = {"site_url": f"{places.base_url}/site/"}
    specs: list[tuple[str, str, str, str, dict[str, object], dict[str, object]]] = [
        (BLOG_KEY, "rss", BLOG_NAME, f"https://{BLOG_HOST}/feed.xml", blog_config, {}),
        (
            SITE_KEY,
            "website",
            SITE_NAME,
            SITE_NAME,
            site_config,
            {"webhook_secret": secrets.token_urlsafe(32)},
        ),
    ]
    if places.mail is not None:
        mail = places.mail
        mail_config: dict[str, object] = {
            "from_address": MAIL_ADDRESS,
            "imap_host": mail.host,
            "imap_port": str(mail.imap_port),
            "imap_tls": "none",
            "imap_user": mail.user,
            "mailbox": "INBOX",
            "sent_mailbox": "Sent",
            "smtp_host": mail.host,
            "smtp_port": str(mail.smtp_port),
            "smtp_tls": "none",
            "timeout": "10",
            "backfill_days": "60",
        }
        specs.append(
            (
                MAIL_KEY,
                "email",
                MAIL_NAME,
                MAIL_ADDRESS,
                mail_config,
                {"imap_password": mail.password},
            )
        )
    channels: dict[str, Channel] = {}
    for key, platform, name, external_id, config, credentials in specs:
        if demo_polling and key in DEMO_POLL:
            config["poll_interval"] = DEMO_POLL[key]
        existing = Channel.objects.filter(
            workspace=workspace, platform=platform, external_id=external_id
        ).first()
        if existing is None:
            channels[key] = do_create_channel(
                workspace,
                platform,
                name,
                external_id=external_id,
                config=config,
                credentials=credentials,
            )
        else:
            channels[key] = do_repoint_channel(existing, config, credentials)
    places.channels = channels
    return channels


# --- history -----------------------------------------------------------------------------------


def poll(channel: Channel) -> int:
    """Poll a channel until it is caught up, as the worker would (the backfill cannot wait for it)."""
    total = 0
    while True:
        got = poll_channel(channel)
        total += got
        if not got:
            return total


def store_history(
    places: OwnPlaces, start: datetime, end: datetime, say: Progress
) -> tuple[int, int]:
    """Publish the blog's posts and deliver the customers' mails of [start, end], then poll both."""
    posts = places.blog_history(start, end)
    places.publish(posts)
    mails = places.mail_history(start, end)
    places.deliver(mails)
    if SITE_KEY in places.channels:
        visits = places.widget_history(start, end)
        bodies = [places.widget_body(key, item) for key, item in visits.items()]
        do_store_raw_events(places.channels[SITE_KEY], bodies, source=WIDGET_SOURCE)
        say(f"  {SITE_KEY}: {len(bodies)} widget messages")
    received = 0
    if BLOG_KEY in places.channels:
        received += poll(places.channels[BLOG_KEY])
        say(f"  {BLOG_KEY}: {len(posts)} blog posts published")
    if MAIL_KEY in places.channels:
        received += poll(places.channels[MAIL_KEY])
        say(f"  {MAIL_KEY}: {len(mails)} e-mails delivered")
    return len(posts), len(mails)


def prime(places: OwnPlaces, start: datetime, end: datetime) -> None:
    """On a re-run: the blog shows its posts again and the new mailbox holds the history's mails."""
    places.publish(places.blog_history(start, end))
    places.deliver(places.mail_history(start, end))


def _reply_time(rng: random.Random, received: datetime) -> datetime:
    when = received + timedelta(minutes=rng.lognormvariate(4.2, 0.8))  # median about 1 h 10
    local = when.astimezone(PARIS)
    if local.hour < 8:
        when = local.replace(hour=9, minute=rng.randint(0, 59)).astimezone(UTC)
    elif local.hour >= 19:
        when = (
            (local + timedelta(days=1)).replace(hour=9, minute=rng.randint(0, 59)).astimezone(UTC)
        )
    return when


def mail_reply_text(mail: Mail, agent: Member) -> str:
    lang = mail.language if mail.language in MAIL_REPLIES else "en"
    texts = MAIL_REPLIES[lang]
    first = mail.sender_name.split(" ")[0]
    body = texts.get(mail.category, texts["question"]).format(first=first, product=mail.product)
    return body + texts["sign"].format(agent=agent.display_name or agent.initials)


def _close_thanked(
    thanked: list[tuple[Conversation, datetime, Member]], now: datetime, rng: random.Random
) -> None:
    """A "thank you" needs no answer: the team closed those threads a little later."""
    for conversation, later, agent in thanked:
        closing = later + timedelta(minutes=rng.uniform(5, 90))
        if closing < now:
            conversation.refresh_from_db()
            with clock.at(closing):
                do_change_status(agent, conversation, Status.CLOSED)


def work_mailbox(
    workspace: Workspace, places: OwnPlaces, now: datetime, seed: int, say: Progress
) -> int:
    """Answer the older mail threads by e-mail like the team did; some customers thank them back.

    The answers go through the real sender and the e-mail connector, so over SMTP
    to the loopback server; the customers' thanks come back through IMAP.
    """
    channel = places.channels.get(MAIL_KEY)
    if channel is None or places.mail is None:
        return 0
    members = list(Member.objects.filter(workspace=workspace).select_related("user").order_by("id"))
    agents = [m for m in members if m.can("reply")]
    if not agents:
        return 0
    rng = random.Random(seed * 17 + 3)
    by_id = {m.message_id: m for m in places.mail_history(now - timedelta(days=60), now)}
    conversations = Conversation.objects.filter(
        workspace=workspace, channel=channel, status__in=[Status.NEW, Status.OPEN]
    ).order_by("id")
    thanks: list[Mail] = []
    thanked: list[tuple[Conversation, datetime, Member]] = []
    replied = 0
    for conversation in conversations:
        first_in = (
            Message.objects.filter(conversation=conversation, direction=Direction.INBOUND)
            .order_by("sent_at", "id")
            .first()
        )
        mail = by_id.get((first_in.external_id or "") if first_in else "")
        if mail is None or first_in is None:
            continue
        when = _reply_time(rng, conversation.last_inbound_at or mail.sent_at)
        if when >= now - timedelta(minutes=10) or rng.random() < 0.15:
            continue  # recent, or still waiting for someone to pick it up
        agent = rng.choice(agents)
        with clock.at(when):
            do_reply(agent, conversation, mail_reply_text(mail, agent))
            while send_due(limit=20):
                pass
            if when < now - timedelta(days=1) and rng.random() < 0.7:
                do_change_status(agent, conversation, Status.CLOSED)
        replied += 1
        sent = (
            Message.objects.filter(conversation=conversation, direction=Direction.OUTBOUND)
            .exclude(external_id="")
            .order_by("-id")
            .first()
        )
        if sent is not None and rng.random() < 0.35:
            later = when + timedelta(minutes=rng.uniform(20, 300))
            if later < now:
                ours = Mail(
                    message_id=sent.external_id or "",
                    sender=MAIL_ADDRESS,
                    sender_name="",
                    subject=mail.subject
                    if mail.subject.startswith("Re:")
                    else f"Re: {mail.subject}",
                    body="",
                    sent_at=when,
                    language=mail.language,
                    category=mail.category,
                    product=mail.product,
                    references=(mail.message_id,),
                )
                reply = places.follow_up(rng, ours, later, rng.choice(THANKS[mail.language]))
                thanks.append(_as_customer(reply, mail))
                thanked.append((conversation, later, agent))
    places.deliver(thanks)
    if thanks:
        poll(channel)
    _close_thanked(thanked, now, rng)
    say(f"  {MAIL_KEY}: answered {replied} e-mail threads, {len(thanks)} thanked back")
    return replied


def work_site(
    workspace: Workspace, places: OwnPlaces, now: datetime, seed: int, say: Progress
) -> int:
    """Answer most older widget messages from the inbox (the visitor reads it in the widget)."""
    channel = places.channels.get(SITE_KEY)
    if channel is None:
        return 0
    agents = [
        m
        for m in Member.objects.filter(workspace=workspace).select_related("user").order_by("id")
        if m.can("reply")
    ]
    if not agents:
        return 0
    rng = random.Random(seed * 13 + 1)
    items = places.widget_history(now - timedelta(days=60), now)
    replied = 0
    conversations = Conversation.objects.filter(
        workspace=workspace, channel=channel, status__in=[Status.NEW, Status.OPEN]
    ).order_by("id")
    for conversation in conversations:
        last_in = (
            Message.objects.filter(conversation=conversation, direction=Direction.INBOUND)
            .order_by("-sent_at", "-id")
            .first()
        )
        item = items.get((last_in.external_id or "") if last_in else "")
        if item is None:
            continue
        when = _reply_time(rng, conversation.last_inbound_at or item.sent_at)
        if when >= now - timedelta(minutes=10) or rng.random() < 0.2:
            continue
        agent = rng.choice(agents)
        text = mail_reply_text(item, agent).replace("\n\n", " ").replace("\n", " ")
        with clock.at(when):
            do_reply(agent, conversation, text)
            while send_due(limit=20):
                pass
            if when < now - timedelta(days=1) and rng.random() < 0.7:
                do_change_status(agent, conversation, Status.CLOSED)
        replied += 1
    say(f"  {SITE_KEY}: answered {replied} widget threads")
    return replied


def _as_customer(reply: Mail, customer: Mail) -> Mail:
    return Mail(
        message_id=reply.message_id,
        sender=customer.sender,
        sender_name=customer.sender_name,
        subject=reply.subject,
        body=reply.body,
        sent_at=reply.sent_at,
        language=customer.language,
        category=customer.category,
        product=customer.product,
        in_reply_to=reply.in_reply_to,
        references=reply.references,
    )


# --- the live demo ----------------------------------------------------------------------------


class LiveOwnPlaces(threading.Thread):
    """New mail every few minutes and a blog post now and then; customers answer the team's mail.

    The worker's poller brings them in (every DEMO_POLL seconds); nothing is pushed.
    """

    def __init__(
        self, places: OwnPlaces, rate: float = 1.0, seed: int = 5, tick: float = 2.0
    ) -> None:
        super().__init__(name="sim-own-places", daemon=True)
        self.places = places
        self.rate = rate
        self.tick = tick
        self.rng = random.Random(seed)
        self.stopping = threading.Event()
        self.run_id = f"L{int(datetime.now(UTC).timestamp())}"
        self._count = 0
        # Mails the SMTP server received that were looked at. The backfill's answers are not:
        # it thanked back for them itself, in the past (thanking them again now would burst).
        self._answered = len(places.mail.received) if places.mail is not None else 0
        self._later: list[tuple[datetime, Mail]] = []
        self.delivered = 0
        self.published = 0

    def stop(self) -> None:
        self.stopping.set()

    def run(self) -> None:
        while not self.stopping.wait(self.tick):
            try:
                self.step(datetime.now(UTC), self.tick)
            except Exception:  # the demo keeps living through a hiccup
                logger.exception("own places step failed")

    def step(self, now: datetime, seconds: float) -> None:
        rng = self.rng
        mails: list[Mail] = []
        if self.places.mail is not None and rng.random() < seconds * self.rate / LIVE_MAIL_SECONDS:
            self._count += 1
            mail = self.places.mail_from(rng, now, f"{self.run_id}-{self._count}")
            mails.append(mail)
            if mail.category != "praise" and rng.random() < 0.2:
                later = now + timedelta(seconds=rng.uniform(120, 600))
                self._later.append(
                    (
                        later,
                        self.places.follow_up(
                            rng, mail, later, rng.choice(FOLLOW_UPS[mail.language])
                        ),
                    )
                )
        if rng.random() < seconds * self.rate / LIVE_BLOG_SECONDS:
            self._count += 1
            post = self.places.blog_post(rng, now, f"{self.run_id}-{self._count}")
            self.places.publish([post])
            self.published += 1
        self._thanks_for_answers(now)
        due = [m for when, m in self._later if when <= now]
        self._later = [(w, m) for w, m in self._later if w > now]
        mails.extend(due)
        self.places.deliver(mails)
        self.delivered += len(mails)

    def _thanks_for_answers(self, now: datetime) -> None:
        """Some customers answer the team's mail a little later (the SMTP server saw it go out)."""
        mail = self.places.mail
        if mail is None:
            return
        received = mail.received[self._answered :]
        self._answered += len(received)
        for item in received:
            message = email.message_from_bytes(item.data, policy=email.policy.default)
            ours = str(message.get("Message-ID", "")).strip().strip("<>")
            to = getaddresses([str(message.get("To", ""))])
            if not ours or not to or self.rng.random() >= 0.3:
                continue
            name, address = to[0]
            part = message.get_body(("plain",))
            text = str(part.get_content()) if part is not None else ""
            lang = "fr" if text.lstrip().startswith("Bonjour") else "en"
            later = now + timedelta(seconds=self.rng.uniform(30, 180))
            references = tuple(
                r.strip("<>") for r in str(message.get("References", "")).split() if r.strip()
            )
            self._later.append(
                (
                    later,
                    Mail(
                        message_id=f"thanks{self.rng.randrange(10**9)}@{address.split('@')[-1]}",
                        sender=address,
                        sender_name=name,
                        subject=str(message.get("Subject", "")),
                        body=self.rng.choice(THANKS[lang]),
                        sent_at=later,
                        language=lang,
                        category="praise",
                        product="",
                        in_reply_to=ours,
                        references=(*references, ours),
                    ),
                )
            )


# --- pages ------------------------------------------------------------------------------------

SITE_TEXT = {
    "fr": {
        "title": "Lampe Halo — Lumen",
        "tagline": "La lampe de bureau qui suit votre journée.",
        "points": (
            "Lumière chaude le soir, froide le matin, réglée par l'appli Lumen Home.",
            "Pièces détachées disponibles dix ans.",
            "Livraison en 48 h en France métropolitaine.",
        ),
        "price": "129 €",
        "other": ("English", "/site/en/"),
        "widget": "Une question, un avis ? Le bouton en bas à droite écrit à l'équipe Lumen.",
        "no_widget": "Le widget apparaît quand la démo tourne.",
    },
    "en": {
        "title": "Halo lamp — Lumen",
        "tagline": "The desk lamp that follows your day.",
        "points": (
            "Warm light at night, cool in the morning, set from the Lumen Home app.",
            "Spare parts available for ten years.",
            "Delivered in 48 hours across Europe.",
        ),
        "price": "€129",
        "other": ("Français", "/site/"),
        "widget": "A question, a thought? The button at the bottom right writes to the Lumen team.",
        "no_widget": "The widget appears while the demo runs.",
    },
}


def site_page(lang: str, widget_src: str) -> str:
    """The sample product page; the widget is its one script (no inline script)."""
    text = SITE_TEXT[lang]
    other_label, other_href = text["other"]
    points = "".join(f"<li>{html.escape(p)}</li>" for p in text["points"])
    script = (
        f'<script src="{html.escape(widget_src)}" async></script>'
        if widget_src
        else f"<p><em>{html.escape(str(text['no_widget']))}</em></p>"
    )
    return f"""<!doctype html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(str(text["title"]))}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; padding: 0 1rem;
       color: #222; line-height: 1.5; }}
header {{ display: flex; justify-content: space-between; align-items: baseline; }}
.price {{ font-size: 1.5rem; font-weight: 600; }}
</style>
</head>
<body>
<header><strong>Lumen</strong> <a href="{other_href}">{html.escape(str(other_label))}</a></header>
<h1>{html.escape(str(text["title"]))}</h1>
<p>{html.escape(str(text["tagline"]))}</p>
<ul>{points}</ul>
<p class="price">{html.escape(str(text["price"]))}</p>
<p>{html.escape(str(text["widget"]))}</p>
{script}
</body>
</html>
"""


def _post_page(post: BlogPost) -> str:
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(post.title)}</title>'
        f"</head><body><h1>{html.escape(post.title)}</h1>"
        f"<p><em>{html.escape(post.author)}</em></p>{post.html}</body></html>"
    )
