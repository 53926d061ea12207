"""Static files: plain names before `collectstatic`, hashed immutable compressed ones after."""

from __future__ import annotations

from django.core.management import call_command
from django.templatetags.static import static
from django.test import Client


def test_plain_names_before_any_collection(settings, tmp_path):
    settings.STATIC_ROOT = tmp_path
    assert static("css/cercle.css") == "/static/css/cercle.css"
    response = Client().get("/static/css/cercle.css")
    assert response.status_code == 200
    # Not hashed: a short cache, or an upgrade would leave browsers on old files.
    assert "immutable" not in response["Cache-Control"]


def test_collected_files_are_hashed_compressed_and_immutable(settings, tmp_path):
    settings.STATIC_ROOT = tmp_path
    # The vendored files' source map comments do not fail the collection.
    call_command("collectstatic", interactive=False, verbosity=0)
    url = static("css/cercle.css")
    assert url.startswith("/static/css/cercle.") and url != "/static/css/cercle.css"
    assert static("vendor/chartjs/chart.umd.min.js") != "/static/vendor/chartjs/chart.umd.min.js"
    response = Client().get(url, HTTP_ACCEPT_ENCODING="gzip")
    assert response.status_code == 200
    assert "immutable" in response["Cache-Control"] and response["Content-Encoding"] == "gzip"
    # The page links the hashed names.
    assert url in Client().get("/login/").content.decode()
