from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "cercle.accounts"
    label = "accounts"
