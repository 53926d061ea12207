"""Writes of listening: searches, mentions found, and a mention promoted into the inbox."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import DateTimeField, ExpressionWrapper, F, Q
from django.utils.translation import gettext as _

from cercle.connectors.base import Author, Incoming
from cercle.connectors.models import Channel
from cercle.core import clock
from cercle.inbox.actions import do_receive
from cercle.inbox.models import Conversation, Message, Tombstone
from cercle.moderation.choices import Intent, Sentiment
from cercle.moderation.classify import label_texts
from cercle.moderation.language import detect_languages
from cercle.workspaces.actors import Actor, Automation, actor_fields, require
from cercle.workspaces.choices import AutomationKind, Permission
from cercle.workspaces.models import Activity

from . import alerts
from .alerts import Jump
from .dedupe import key_of
from .matcher import matches, parse_terms
from .models import ListeningSearch, Mention, PromoteWhen, UnavailableSource

MANAGE = Permission.MANAGE_WORKFLOW
# The Activity of a listening alert's start (notifications fan it out to the managers).
ALERT_VERB = "listening_alert"
MIN_RUN_EVERY = timedelta(minutes=1)


class ListeningRefused(ValueError):
    """The search cannot be saved as asked; the message says why."""


@dataclass(frozen=True)
class SearchFields:
    """What a manager types for a search (term lists as typed: commas or one per line)."""

    name: str
    all_of: str = ""
    any_of: str = ""
    none_of: str = ""
    languages: str = ""
    channel_ids: Sequence[int] = ()
    active: bool = True
    promote_when: str = ""


def _log(workspace_id: int, verb: str, actor: Actor | None, **data: object) -> None:
    Activity.objects.create(
        workspace_id=workspace_id,
        verb=verb,
        data=dict(data),
        created_at=clock.now(),
        **actor_fields(actor),
    )


def _apply(search: ListeningSearch, fields: SearchFields) -> None:
    name = " ".join(fields.name.split())[:120]
    if not name:
        raise ListeningRefused(_("Give the search a name."))
    search.name = name
    search.all_of = parse_terms(fields.all_of)
    search.any_of = parse_terms(fields.any_of)
    search.none_of = parse_terms(fields.none_of)
    search.languages = [t.lower()[:8] for t in parse_terms(fields.languages)]
    search.active = fields.active
    if fields.promote_when not in PromoteWhen.values:
        raise ListeningRefused(_("Choose when mentions are promoted."))
    search.promote_when = fields.promote_when
    if search.query.is_empty:
        raise ListeningRefused(_("Give at least one word to look for (all of, or any of)."))


def _set_channels(search: ListeningSearch, channel_ids: Sequence[int]) -> None:
    chosen = Channel.objects.filter(workspace_id=search.workspace_id, pk__in=list(channel_ids))
    search.channels.set(list(chosen))


def do_create_search(actor: Actor, workspace_id: int, fields: SearchFields) -> ListeningSearch:
    require(actor, MANAGE, workspace_id)
    with transaction.atomic():
        search = ListeningSearch(workspace_id=workspace_id, created_at=clock.now())
        _apply(search, fields)
        search.save()
        _set_channels(search, fields.channel_ids)
        _log(workspace_id, "listening_search_created", actor, search_id=search.pk, name=search.name)
    return search


def do_update_search(
    actor: Actor, search: ListeningSearch, fields: SearchFields
) -> ListeningSearch:
    require(actor, MANAGE, search.workspace_id)
    with transaction.atomic():
        search = ListeningSearch.objects.select_for_update().get(pk=search.pk)
        _apply(search, fields)
        search.save()
        _set_channels(search, fields.channel_ids)
        _log(
            search.workspace_id,
            "listening_search_updated",
            actor,
            search_id=search.pk,
            name=search.name,
        )
    return search


def do_set_search_interval(actor: Actor, search: ListeningSearch, every: timedelta) -> None:
    """How often the search runs (at least a minute)."""
    require(actor, MANAGE, search.workspace_id)
    every = max(every, MIN_RUN_EVERY)
    with transaction.atomic():
        ListeningSearch.objects.filter(pk=search.pk).update(run_every=every)
        _log(
            search.workspace_id,
            "listening_search_updated",
            actor,
            search_id=search.pk,
            name=search.name,
            run_every_seconds=int(every.total_seconds()),
        )
    search.run_every = every


def do_store_mentions(
    actor: Actor, search: ListeningSearch, channel: Channel, items: Sequence[Incoming]
) -> list[Mention]:
    """Keep the items that answer the search and are not known yet; label language and sentiment.

    A mention is stored once per workspace (its URL, else platform and id): the
    same post found by another search or through another source is skipped.
    """
    require(actor, Permission.VIEW, search.workspace_id)
    if channel.workspace_id != search.workspace_id:
        raise ListeningRefused("the channel belongs to another workspace")
    now = clock.now()
    candidates: dict[str, Incoming] = {}
    for item in items:
        if item.kind != "mention" or item.from_brand or not item.text.strip():
            continue
        candidates.setdefault(key_of(channel.platform, item.external_id, item.url), item)
    known = set(
        Mention.objects.filter(
            workspace_id=search.workspace_id, dedupe_key__in=list(candidates)
        ).values_list("dedupe_key", flat=True)
    )
    # An item erased (GDPR) or expired (retention) is never stored again (listening/privacy.py).
    erased = set(
        Tombstone.objects.filter(
            channel=channel, external_id__in=[i.external_id[:200] for i in candidates.values()]
        ).values_list("external_id", flat=True)
    )
    known |= {k for k, i in candidates.items() if i.external_id[:200] in erased}
    fresh = [(k, i) for k, i in candidates.items() if k not in known]
    if not fresh:
        return []
    languages = detect_languages([i.text for _k, i in fresh], search.languages)
    kept = [
        (key, item, lang)
        for (key, item), lang in zip(fresh, languages, strict=True)
        if matches(search.query, item.text, lang)
    ]
    if not kept:
        return []
    labels = label_texts([i.text for _k, i, _l in kept], [lang for *_x, lang in kept])
    created: list[Mention] = []
    for (key, item, lang), label in zip(kept, labels, strict=True):
        author = item.author or Author(external_id="")
        mention = Mention(
            workspace_id=search.workspace_id,
            search=search,
            channel=channel,
            external_id=item.external_id[:200],
            url=item.url[:1000] if item.url.startswith(("http://", "https://")) else "",
            author_external_id=author.external_id[:200],
            author_name=author.name[:200],
            author_handle=author.handle[:200],
            text=item.text,
            language=lang,
            sentiment=label.sentiment,
            intent=label.intent[:16],
            published_at=item.sent_at or now,
            found_at=now,
            dedupe_key=key,
        )
        try:
            with transaction.atomic():
                mention.save()
        except IntegrityError:  # stored meanwhile by a concurrent run
            continue
        created.append(mention)
    if created:
        _log(
            search.workspace_id,
            "mentions_found",
            actor,
            search_id=search.pk,
            channel_id=channel.pk,
            count=len(created),
        )
    return created


def do_promote_mention(actor: Actor, mention: Mention) -> Conversation:
    """Turn a mention into an inbox conversation on its channel (once: a second call returns it)."""
    require(actor, Permission.REPLY, mention.workspace_id)
    with transaction.atomic():
        mention = Mention.objects.select_for_update().select_related("channel").get(pk=mention.pk)
        if mention.conversation_id is not None:
            return Conversation.objects.get(pk=mention.conversation_id)
        item = Incoming(
            external_id=mention.external_id,
            kind="mention",
            author=Author(
                external_id=mention.author_external_id or mention.author_handle,
                name=mention.author_name,
                handle=mention.author_handle,
            ),
            text=mention.text,
            sent_at=mention.published_at,
            url=mention.url,
        )
        result = do_receive(mention.channel, [item])
        conversation = (
            result.conversations[0]
            if result.conversations
            else Message.objects.get(
                channel=mention.channel, external_id=mention.external_id
            ).conversation
        )
        mention.conversation = conversation
        mention.save(update_fields=["conversation"])
        _log(
            mention.workspace_id,
            "mention_promoted",
            actor,
            mention_id=mention.pk,
            conversation_id=conversation.pk,
        )
    return conversation


def wants_promotion(rule: str, mention: Mention) -> bool:
    """Whether a search's promote rule (`PromoteWhen`) takes this mention into the inbox."""
    if rule == PromoteWhen.ALWAYS:
        return True
    if rule == PromoteWhen.NEGATIVE:
        return mention.sentiment == Sentiment.NEGATIVE
    if rule == PromoteWhen.QUESTION:
        return mention.intent == Intent.QUESTION
    return False


def do_promote_by_rule(search: ListeningSearch, mentions: Sequence[Mention]) -> list[Conversation]:
    """Promote the mentions the search's rule asks for, as the search's automation.

    Idempotent like `do_promote_mention`: a mention already promoted is left as it is.
    """
    if not search.promote_when:
        return []
    actor = Automation(
        workspace_id=search.workspace_id,
        kind=AutomationKind.RULE,
        name=f"Listening: {search.name}"[:200],
        object_id=search.pk,
    )
    return [
        do_promote_mention(actor, mention)
        for mention in mentions
        if mention.conversation_id is None and wants_promotion(search.promote_when, mention)
    ]


def do_mark_source_unavailable(
    actor: Actor, channel: Channel, detail: str, retry_at: datetime
) -> UnavailableSource:
    """Note that the channel's platform refuses search to its plan; logged once, not at every try."""
    require(actor, Permission.VIEW, channel.workspace_id)
    with transaction.atomic():
        source, created = UnavailableSource.objects.select_for_update().get_or_create(
            channel=channel,
            defaults={
                "workspace_id": channel.workspace_id,
                "detail": detail[:500],
                "since": clock.now(),
                "retry_at": retry_at,
            },
        )
        if not created:
            source.detail, source.retry_at = detail[:500], retry_at
            source.save(update_fields=["detail", "retry_at"])
        else:
            _log(
                channel.workspace_id,
                "listening_source_unavailable",
                actor,
                channel_id=channel.pk,
                detail=detail[:500],
            )
    return source


def do_clear_source_unavailable(actor: Actor, channel: Channel) -> None:
    """The channel's search works again (the plan changed)."""
    require(actor, Permission.VIEW, channel.workspace_id)
    with transaction.atomic():
        deleted, _rows = UnavailableSource.objects.filter(channel=channel).delete()
        if deleted:
            _log(channel.workspace_id, "listening_source_available", actor, channel_id=channel.pk)


def do_watch_alert(actor: Actor, search: ListeningSearch, now: datetime) -> Jump | None:
    """Start or end the search's alert episode; a `listening_alert` Activity when one starts.

    The Activity is what the notifications app fans out to the workspace's
    managers; while the jump lasts nothing more is logged, and when the figures
    are calm again the episode ends (a later jump is a new one).
    """
    require(actor, Permission.VIEW, search.workspace_id)
    jump = alerts.check(search, now)
    with transaction.atomic():
        locked = ListeningSearch.objects.select_for_update().get(pk=search.pk)
        if jump is None:
            if locked.alert_since is not None:
                locked.alert_since = None
                locked.save(update_fields=["alert_since"])
            search.alert_since = None
            return None
        if locked.alert_since is None:
            locked.alert_since = now
            locked.save(update_fields=["alert_since"])
            _log(
                search.workspace_id,
                ALERT_VERB,
                actor,
                search_id=search.pk,
                name=search.name,
                volume=jump.volume,
                negative=jump.negative,
                last_day=jump.last_day,
                usual_day=round(jump.usual_day, 1),
                negative_share=round(jump.negative_share, 2),
            )
        search.alert_since = locked.alert_since
    return jump


def due_searches() -> list[ListeningSearch]:
    """Active searches whose own interval (`run_every`) has passed since their last run (or never run)."""
    due_at = ExpressionWrapper(F("last_run_at") + F("run_every"), output_field=DateTimeField())
    return list(
        ListeningSearch.objects.filter(active=True)
        .alias(due_at=due_at)
        .filter(Q(last_run_at__isnull=True) | Q(due_at__lte=clock.now()))
        .order_by("pk")
    )


def do_mark_search_run(search: ListeningSearch) -> None:
    ListeningSearch.objects.filter(pk=search.pk).update(last_run_at=clock.now())
