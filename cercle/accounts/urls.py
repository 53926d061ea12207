from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("settings/security/", views.security_page, name="security"),
    path(
        "settings/security/unlock/<int:member_id>",
        views.unlock_login,
        name="unlock",
    ),
]
