"""The embedded browser's persistent profile: Rupa's web-app session survives restarts.

The practitioner signs in to Rupa's web app inside the checkout view once; the cookies are
forced persistent and kept in `AppPaths.web_profile_dir(environment)` (the app's data folder,
per environment), so the next checkout does not ask again. Nothing is written elsewhere: the
HTTP cache lives in memory.

Importing this module loads QtWebEngine; only `rupa_desk.ui.web.launcher` does, lazily.
"""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtWebEngineCore import QWebEngineProfile, QWebEngineProfileBuilder

from rupa_desk.paths import AppPaths


def build_checkout_profile(
    paths: AppPaths, environment: str, parent: QObject | None = None
) -> QWebEngineProfile:
    """A named, disk-based profile whose cookies and storage persist in the data folder.

    QtWebEngine allows one profile per storage folder in a process, so build it once per
    environment and share it between checkout views; delete it after its pages.
    """
    folder = paths.web_profile_dir(environment)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    builder = QWebEngineProfileBuilder()
    builder.setPersistentStoragePath(str(folder))
    builder.setCachePath(str(folder))
    builder.setHttpCacheType(QWebEngineProfile.HttpCacheType.MemoryHttpCache)
    builder.setPersistentCookiesPolicy(
        QWebEngineProfile.PersistentCookiesPolicy.ForcePersistentCookies
    )
    return builder.createProfile(f"rupa-checkout-{environment}", parent)
