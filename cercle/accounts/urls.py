from django.urls import path

from . import sso, views

app_name = "accounts"

urlpatterns = [
    path("settings/security/", views.security_page, name="security"),
    path("settings/security/sign-in", views.sign_in_policy, name="sign_in_policy"),
    path(
        "settings/security/reset-two-factor/<int:member_id>",
        views.reset_two_factor,
        name="reset_two_factor",
    ),
    path("account/two-factor/", views.two_factor_page, name="two_factor"),
    path("login/verify/", views.verify_page, name="verify"),
    path("login/sso/", sso.sso_start, name="sso_start"),
    path("login/sso/callback/", sso.sso_callback, name="sso_callback"),
    path(
        "settings/security/unlock/<int:member_id>",
        views.unlock_login,
        name="unlock",
    ),
]
