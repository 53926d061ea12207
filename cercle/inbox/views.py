"""The team inbox: three panes, the conversation pane and the buttons that call actions."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from cercle.workspaces.decorators import member_required


@member_required("view")
def index(request: HttpRequest) -> HttpResponse:
    """The inbox home: views, list, conversation."""
    return render(request, "inbox/index.html", {})
