from django.urls import path

from cercle.pipeline import hooks, views, widget

app_name = "pipeline"

urlpatterns = [
    path("hooks/<uuid:channel_uuid>", hooks.webhook, name="webhook"),
    # The website widget (called from other sites, without cookies): see pipeline/widget.py.
    path("w/<uuid:channel_uuid>/widget.js", widget.widget_js, name="widget_js"),
    path("w/<uuid:channel_uuid>/messages", widget.submit, name="widget_submit"),
    path("w/<uuid:channel_uuid>/thread", widget.thread, name="widget_thread"),
    path("channels/", views.channel_list, name="list"),
    path("channels/add/", views.channel_add, name="add"),
    path("channels/add/<slug:platform>/", views.channel_add_manual, name="add_manual"),
    path("channels/oauth/callback/", views.oauth_callback, name="oauth_callback"),
    path("channels/<int:channel_id>/test/", views.channel_test, name="test"),
    path("channels/<int:channel_id>/reconnect/", views.channel_reconnect, name="reconnect"),
    path("channels/<int:channel_id>/disconnect/", views.channel_disconnect, name="disconnect"),
]
