"""Routes of the inbox: the three-pane page, the conversation pane and its actions, the live stream."""

from django.urls import path

from . import collab_views, live, views

app_name = "inbox"

urlpatterns = [
    path("", views.index, name="index"),
    path("views/", views.views_pane, name="views"),
    path("new-count/", views.new_count, name="new_count"),
    path("live/", live.live, name="live"),
    path("c/<int:pk>/", views.conversation, name="conversation"),
    path("c/<int:pk>/timeline/", views.timeline, name="timeline"),
    path("c/<int:pk>/send/", views.send, name="send"),
    path("c/<int:pk>/assign/", views.assign, name="assign"),
    path("c/<int:pk>/status/", views.change_status, name="status"),
    path("c/<int:pk>/tag/", views.tag, name="tag"),
    path("c/<int:pk>/untag/<int:tag_pk>/", views.untag, name="untag"),
    path("m/<int:message_pk>/moderate/", views.moderate, name="moderate"),
    path("outbox/<int:outbox_pk>/retry/", views.retry, name="retry"),
    # Collision detection: server drafts and presence (inbox/collab_views.py).
    path("c/<int:pk>/draft/", collab_views.save_draft, name="draft"),
    path("c/<int:pk>/draft/discard/", collab_views.discard_draft, name="discard_draft"),
    path("presence/", collab_views.heartbeat, name="presence"),
    path("presence/leave/", collab_views.leave, name="presence_leave"),
]
