from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

app_name = "workspaces"

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("workspace/switch", views.switch_workspace, name="switch"),
    path("settings/members/", views.members_page, name="members"),
    path("settings/members/<int:member_id>/role", views.change_role, name="change_role"),
    path("settings/members/<int:member_id>/capacity", views.set_capacity, name="set_capacity"),
    path(
        "settings/members/<int:member_id>/deactivate",
        views.deactivate_member,
        name="deactivate",
    ),
    path(
        "settings/members/<int:member_id>/reactivate",
        views.reactivate_member,
        name="reactivate",
    ),
    path(
        "settings/invitations/<int:invitation_id>/revoke",
        views.revoke_invitation,
        name="revoke_invitation",
    ),
    path("invitation/<str:token>/", views.accept_invitation, name="accept"),
    path("settings/teams/", views.teams_page, name="teams"),
    path("settings/teams/<int:team_id>/", views.change_team, name="change_team"),
    path("settings/workspace/", views.workspace_settings, name="settings"),
    path("settings/audit/", views.audit_page_view, name="audit"),
    path("profile/", views.profile_page, name="profile"),
]
