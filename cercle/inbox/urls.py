from django.urls import path

app_name = "inbox"

urlpatterns: list = []
