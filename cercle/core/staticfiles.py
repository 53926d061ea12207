"""Static files: hashed, compressed names once collected, so browsers may keep them for a year.

`cercle manage collectstatic` (run by `cercle serve --collectstatic`, the demo and
the upgrade steps of docs/deploy.md) writes each file under a name that holds a
hash of its content, gzip- and brotli-compressed, and a manifest. Templates then
link those names and whitenoise serves them as immutable: an upgrade changes the
names, so no browser keeps an old stylesheet. Before any collection (a checkout,
the tests) the plain names are linked and served, never an error.
"""

from __future__ import annotations

from typing import Any

from django.core.files.storage import FileSystemStorage
from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticStorage(CompressedManifestStaticFilesStorage):  # type: ignore[misc]  # untyped
    # Cercle ships no source maps: the vendored files' sourceMappingURL comments stay as
    # they are instead of failing the collection (Django would hash the missing .map).
    patterns = (
        (
            "*.css",
            (
                r"""(?P<matched>url\(['"]{0,1}\s*(?P<url>.*?)["']{0,1}\))""",
                (
                    r"""(?P<matched>@import\s*["']\s*(?P<url>.*?)["'])""",
                    """@import url("%(url)s")""",
                ),
            ),
        ),
    )
    manifest_strict = False

    def url(self, name: Any, force: bool = False) -> str:
        try:
            return str(super().url(name, force))
        except ValueError:
            # Not collected yet: the plain name, served by whitenoise from the app folders.
            return FileSystemStorage.url(self, name)
