from django.urls import path

from . import views

app_name = "moderation"

urlpatterns = [
    path("moderation/rules/", views.rule_list, name="rules"),
    path("moderation/rules/new/", views.rule_edit, name="rule_new"),
    path("moderation/rules/<int:pk>/", views.rule_edit, name="rule_edit"),
    path("moderation/queue/", views.queue, name="queue"),
    path("moderation/queue/<int:pk>/", views.decide, name="decide"),
    path("moderation/undo/<int:pk>/", views.undo, name="undo"),
    path("moderation/crises/", views.crises, name="crises"),
    path("moderation/crises/<int:pk>/", views.crisis, name="crisis"),
    path(
        "moderation/crises/<int:pk>/acknowledge/",
        views.crisis_acknowledge,
        name="crisis_acknowledge",
    ),
    path("moderation/learning/", views.learning, name="learning"),
    path("moderation/labels/<int:pk>/", views.correct, name="correct"),
    path(
        "moderation/suggestions/<int:conversation_pk>/",
        views.reply_suggestions,
        name="reply_suggestions",
    ),
    path("moderation/house-rules/", views.house_rule_save, name="house_rule_save"),
    path("community/<slug:slug>/rules/", views.house_rules_public, name="house_rules_public"),
]
