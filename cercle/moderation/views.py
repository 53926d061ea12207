"""Moderation pages: rules (with a dry run before trusting them), the suggestion queue, house rules.

Rules and house rules are changed by members with `manage_workflow`; the queue
is worked by members who may moderate; the house rules have a public page the
team can link to from its platforms.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, F, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cercle.core import clock
from cercle.inbox.actions import ActionRefused
from cercle.inbox.models import Conversation, Message, Post
from cercle.workspaces.choices import Permission
from cercle.workspaces.decorators import member_required
from cercle.workspaces.middleware import current_member
from cercle.workspaces.models import Activity, Workspace

from . import suggestions
from .actions import (
    do_acknowledge_crisis,
    do_correct_label,
    do_decide_suggestion,
    do_save_custom_label,
    do_save_house_rule,
    do_save_rule,
    do_set_custom_label,
    do_undo_activity,
)
from .choices import SuggestionState
from .crisis import drivers
from .dryrun import dry_run
from .forms import HouseRuleForm, RuleForm
from .models import (
    CrisisAlert,
    CustomLabel,
    HouseRule,
    LabelExample,
    Rule,
    Suggestion,
    WorkspaceHead,
)
from .templatetags.moderation_tags import labels_context

DRY_RUN_WEEKS = (1, 4, 12)


@require_GET
@member_required(Permission.VIEW)
def rule_list(request: HttpRequest) -> HttpResponse:
    member = current_member(request)
    return render(
        request,
        "moderation/rules.html",
        {
            "rules": Rule.objects.filter(workspace_id=member.workspace_id).select_related(
                "house_rule"
            ),
            "house_rules": HouseRule.objects.filter(workspace_id=member.workspace_id),
            "pending": Suggestion.objects.filter(
                workspace_id=member.workspace_id, state=SuggestionState.PENDING
            ).count(),
            "can_manage": member.can(Permission.MANAGE_WORKFLOW),
            "house_form": HouseRuleForm(),
        },
    )


# The "under the post" condition picks among the workspace's latest posts.
RECENT_POSTS = 15


def recent_posts(workspace_id: int) -> list[Post]:
    return list(
        Post.objects.filter(workspace_id=workspace_id)
        .select_related("channel")
        .order_by(F("published_at").desc(nulls_last=True), "-id")[:RECENT_POSTS]
    )


@require_http_methods(["GET", "POST"])
@member_required(Permission.MANAGE_WORKFLOW)
def rule_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    member = current_member(request)
    rule = get_object_or_404(Rule, pk=pk, workspace_id=member.workspace_id) if pk else None
    form = RuleForm(request.POST or None, workspace=member.workspace, rule=rule)
    result = None
    if request.method == "POST" and form.is_valid():
        try:
            saved = do_save_rule(
                member,
                member.workspace,
                name=form.cleaned_data["name"],
                conditions=form.conditions(),
                actions=form.actions(),
                mode=form.cleaned_data["mode"],
                position=form.cleaned_data["position"],
                stop=form.cleaned_data["stop"],
                house_rule=form.cleaned_data["house_rule"],
                rule=rule,
            )
        except ValidationError as exc:
            form.add_error(None, exc.messages)
        else:
            messages.success(
                request, _("Rule saved. Try it on past messages before turning it on.")
            )
            return redirect("moderation:rule_edit", pk=saved.pk)
    if rule is not None:
        try:
            weeks = int(request.GET.get("weeks", "4"))
        except ValueError:
            weeks = 4
        result = dry_run(rule, weeks if weeks in DRY_RUN_WEEKS else 4)
    examples = []
    if result is not None:
        from cercle.inbox.models import Message

        examples = list(
            Message.objects.filter(pk__in=result.examples, workspace_id=member.workspace_id)
            .select_related("conversation")
            .order_by("-id")
        )
    return render(
        request,
        "moderation/rule_form.html",
        {
            "form": form,
            "rule": rule,
            "dry_run": result,
            "examples": examples,
            "weeks": DRY_RUN_WEEKS,
            "recent_posts": recent_posts(member.workspace_id),
        },
    )


@require_GET
@member_required(Permission.MODERATE)
def queue(request: HttpRequest) -> HttpResponse:
    member = current_member(request)
    suggestions = (
        Suggestion.objects.filter(workspace_id=member.workspace_id, state=SuggestionState.PENDING)
        .select_related("rule", "message__channel", "conversation__contact")
        .order_by("id")[:100]
    )
    return render(request, "moderation/queue.html", {"suggestions": suggestions})


@require_POST
@member_required(Permission.MODERATE)
def decide(request: HttpRequest, pk: int) -> HttpResponse:
    member = current_member(request)
    suggestion = get_object_or_404(Suggestion, pk=pk, workspace_id=member.workspace_id)
    try:
        do_decide_suggestion(member, suggestion, accept=request.POST.get("decision") == "accept")
    except ActionRefused as exc:
        messages.error(request, str(exc))
    return redirect("moderation:queue")


@require_POST
@member_required(Permission.ASSIGN)
def undo(request: HttpRequest, pk: int) -> HttpResponse:
    """Undo an automation's action from the conversation's timeline (members who may assign).

    From the timeline (HTMX) the conversation pane is re-drawn, the refusal in it;
    otherwise back to the conversation with a message.
    """
    from cercle.inbox.views import _after_action

    member = current_member(request)
    activity = get_object_or_404(Activity, pk=pk, workspace_id=member.workspace_id)
    error = ""
    try:
        do_undo_activity(member, activity)
    except (ActionRefused, PermissionDenied) as exc:
        error = str(exc) if isinstance(exc, ActionRefused) else _("Your role does not allow this.")
    conversation = (
        Conversation.objects.filter(
            pk=activity.conversation_id, workspace_id=member.workspace_id
        ).first()
        if activity.conversation_id is not None
        else None
    )
    if conversation is not None and getattr(request, "htmx", False):
        return _after_action(request, conversation, error=error, status=422 if error else 200)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, _("Undone."))
    if conversation is not None:
        return redirect("inbox:conversation", conversation.pk)
    return redirect("moderation:rules")


@require_POST
@member_required(Permission.MANAGE_WORKFLOW)
def house_rule_save(request: HttpRequest) -> HttpResponse:
    member = current_member(request)
    form = HouseRuleForm(request.POST)
    if form.is_valid():
        do_save_house_rule(member, member.workspace, **form.cleaned_data)
        messages.success(request, _("House rule saved."))
    else:
        messages.error(request, _("The house rule needs a number and both texts."))
    return redirect("moderation:rules")


@require_GET
def house_rules_public(request: HttpRequest, slug: str) -> HttpResponse:
    """The community's guidelines, public (the team links to it from its platforms)."""
    workspace = Workspace.objects.filter(slug=slug).first()
    if workspace is None:
        raise Http404
    rules = HouseRule.objects.filter(workspace=workspace)
    if not rules:
        raise Http404
    language = "fr" if (get_language() or "").startswith("fr") else "en"
    return render(
        request,
        "moderation/house_rules_public.html",
        {"workspace": workspace, "rules": [(r.number, r.text(language)) for r in rules]},
    )


@require_GET
@member_required(Permission.VIEW)
def crises(request: HttpRequest) -> HttpResponse:
    member = current_member(request)
    since = clock.now() - timedelta(days=30)
    alerts = CrisisAlert.objects.filter(workspace_id=member.workspace_id).filter(
        Q(ended_at__isnull=True) | Q(started_at__gte=since)
    )
    return render(
        request, "moderation/crises.html", {"alerts": alerts.select_related("channel")[:200]}
    )


@require_GET
@member_required(Permission.VIEW)
def crisis(request: HttpRequest, pk: int) -> HttpResponse:
    member = current_member(request)
    alert = get_object_or_404(
        CrisisAlert.objects.select_related("channel", "post", "acknowledged_by__user"),
        pk=pk,
        workspace_id=member.workspace_id,
    )
    return render(
        request,
        "moderation/crisis.html",
        {
            "alert": alert,
            "drivers": drivers(alert),
            "can_acknowledge": member.can(Permission.MODERATE),
        },
    )


@require_POST
@member_required(Permission.MODERATE)
def crisis_acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    member = current_member(request)
    alert = get_object_or_404(CrisisAlert, pk=pk, workspace_id=member.workspace_id)
    do_acknowledge_crisis(member, alert)
    messages.success(request, _("The alert is acknowledged: the team is on it."))
    return redirect("moderation:crisis", pk=alert.pk)


@require_http_methods(["GET", "POST"])
@member_required(Permission.VIEW)
def learning(request: HttpRequest) -> HttpResponse:
    member = current_member(request)
    if request.method == "POST":
        try:
            do_save_custom_label(
                member,
                member.workspace_id,
                request.POST.get("name", ""),
                request.POST.get("description", ""),
            )
        except PermissionDenied:
            return HttpResponse(_("Only managers and admins add labels."), status=403)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("The label is added: set it on messages to teach it."))
        return redirect("moderation:learning")
    custom = list(CustomLabel.objects.filter(workspace_id=member.workspace_id))
    names = {label.task: label.name for label in custom} | {
        "sentiment": _("Sentiment"),
        "intent": _("Intent"),
        "needs_reply": _("Needs a reply"),
        "hide": _("Should be hidden"),
    }
    heads = WorkspaceHead.objects.filter(workspace_id=member.workspace_id).order_by("task")
    counts = (
        LabelExample.objects.filter(workspace_id=member.workspace_id)
        .values("task")
        .annotate(count=Count("id"))
        .order_by("task")
    )
    return render(
        request,
        "moderation/learning.html",
        {
            "heads": [{"name": names.get(h.task, h.task), "head": h} for h in heads],
            "examples": [
                {"name": names.get(row["task"], row["task"]), "count": row["count"]}
                for row in counts
            ],
            "custom_labels": custom,
            "can_manage": member.can(Permission.MANAGE_WORKFLOW),
        },
    )


@require_POST
@member_required(Permission.VIEW)
def correct(request: HttpRequest, pk: int) -> HttpResponse:
    """One click on a label: the member's label replaces the model's and becomes an example."""
    member = current_member(request)
    message = get_object_or_404(Message, pk=pk, workspace_id=member.workspace_id)
    try:
        if "custom" in request.POST:
            label_pk, _sep, value = request.POST["custom"].partition(":")
            label = get_object_or_404(
                CustomLabel,
                pk=int(label_pk) if label_pk.isdigit() else 0,
                workspace_id=member.workspace_id,
            )
            do_set_custom_label(member, message, label, applies=value == "yes")
        else:
            task = request.POST.get("task") or next(
                (t for t in ("sentiment", "intent", "needs_reply") if t in request.POST), ""
            )
            do_correct_label(
                member, message, task, request.POST.get(task, request.POST.get("label", ""))
            )
    except PermissionDenied:
        return HttpResponse(_("Your role does not allow correcting labels."), status=403)
    except ActionRefused as refused:
        return HttpResponse(str(refused), status=422)
    if request.headers.get("HX-Request"):
        return render(request, "moderation/_labels.html", labels_context(message))
    return redirect("inbox:conversation", pk=message.conversation_id)


@require_GET
@member_required(Permission.VIEW)
def reply_suggestions(request: HttpRequest, conversation_pk: int) -> HttpResponse:
    """The reply box's suggestions: similar answered messages with their answers, saved replies."""
    from cercle.inbox import queries as inbox_queries
    from cercle.replies.models import SavedReply
    from cercle.replies.queries import fill

    member = current_member(request)
    conversation = inbox_queries.conversation_for(member, conversation_pk)
    message = (
        Message.objects.filter(
            conversation=conversation,
            workspace_id=member.workspace_id,
            direction="inbound",
            deleted_at__isnull=True,
        )
        .exclude(text="")
        .order_by("-sent_at", "-id")
        .first()
    )
    similar = suggestions.similar_answered(message) if message is not None else []
    saved = list(
        SavedReply.objects.filter(workspace_id=member.workspace_id).prefetch_related("versions")[
            :500
        ]
    )
    ranked = (
        suggestions.rank_by_relevance(
            message.text,
            [answered.answer.text for answered in similar],
            [
                (r.pk, " ".join([r.title, *r.tags, *(v.text for v in r.versions.all())]))
                for r in saved
            ],
        )
        if message is not None
        else []
    )
    by_pk = {r.pk: r for r in saved}
    filled = [fill(by_pk[pk], conversation, member) for pk, _score in ranked]
    # Each borrowed answer greets the person being answered, not its first addressee.
    contacts = {
        c.pk: c
        for c in Conversation.objects.filter(
            workspace_id=member.workspace_id,
            pk__in={found.message.conversation_id for found in similar},
        )
        .select_related("contact")
        .only("contact__display_name")
    }
    offered = [
        {
            "message": found.message,
            "similarity": found.similarity,
            "answer_text": suggestions.readdress(
                found.answer.text,
                earlier.contact
                if (earlier := contacts.get(found.message.conversation_id))
                else None,
                conversation.contact,
            ),
        }
        for found in similar
    ]
    return render(
        request,
        "moderation/_reply_suggestions.html",
        {
            "similar": offered,
            "saved": [f for f in filled if f is not None][: suggestions.SAVED_REPLIES],
        },
    )
