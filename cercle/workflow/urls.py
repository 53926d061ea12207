from django.urls import path

from . import views

app_name = "workflow"

urlpatterns = [
    path("settings/sla/", views.settings_page, name="settings"),
    path("settings/sla/hours/new/", views.business_hours_edit, name="hours_new"),
    path("settings/sla/hours/<int:pk>/", views.business_hours_edit, name="hours_edit"),
    path("settings/sla/policies/new/", views.policy_edit, name="policy_new"),
    path("settings/sla/policies/<int:pk>/", views.policy_edit, name="policy_edit"),
    path("settings/sla/policies/<int:pk>/delete/", views.policy_delete, name="policy_delete"),
    path("settings/routing/", views.routing_page, name="routing"),
    path("settings/routing/channels/<int:pk>/", views.channel_routing, name="channel_routing"),
]
