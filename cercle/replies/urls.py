from django.urls import path

from . import views

app_name = "replies"

urlpatterns = [
    path("settings/replies/", views.saved_replies, name="settings"),
    path("settings/replies/new/", views.saved_reply_edit, name="new"),
    path("settings/replies/<int:pk>/", views.saved_reply_edit, name="edit"),
    path("settings/replies/<int:pk>/delete/", views.saved_reply_delete, name="delete"),
    path("replies/pick/<int:conversation_pk>/", views.picker, name="picker"),
    path("settings/approvals/", views.approval_settings, name="approval_settings"),
    path("approvals/", views.approvals, name="approvals"),
    path("approvals/<int:pk>/approve/", views.approve, name="approve"),
    path("approvals/<int:pk>/reject/", views.reject, name="reject"),
    path("approvals/<int:pk>/withdraw/", views.withdraw, name="withdraw"),
]
