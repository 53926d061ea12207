"""Routes of the inbox: the three-pane page, the conversation pane and its actions, the live stream."""

from django.urls import path

from . import live, views

app_name = "inbox"

urlpatterns = [
    path("", views.index, name="index"),
]
