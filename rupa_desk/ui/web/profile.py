"""The embedded browser's persistent profile: Rupa's web-app session survives restarts.

The practitioner signs in to Rupa's web app inside the checkout view once; the cookies are
forced persistent and kept in `AppPaths.web_profile_dir(environment, account)` (the signed-in
account's data folder), so the next checkout does not ask again, and the next person to sign
in on a shared PC gets a profile of their own. Nothing is written elsewhere: the HTTP cache
lives in memory.

Importing this module loads QtWebEngine; only `rupa_desk.ui.web.launcher` does, lazily.
"""

from __future__ import annotations

import logging
import re
import shutil

from PySide6.QtCore import QObject
from PySide6.QtWebEngineCore import QWebEngineProfile, QWebEngineProfileBuilder

from rupa_desk.paths import AppPaths, make_private_dir

log = logging.getLogger(__name__)


def build_checkout_profile(
    paths: AppPaths, environment: str, account: str, parent: QObject | None = None
) -> QWebEngineProfile:
    """A named, disk-based profile whose cookies and storage persist in the account's folder.

    QtWebEngine allows one profile per storage folder in a process, so build it once per
    account and share it between checkout views; delete it after its pages. The profile
    that earlier versions shared between the accounts of an environment is removed.
    """
    shared = paths.shared_web_profile_dir(environment)
    if shared.exists():
        shutil.rmtree(shared, ignore_errors=True)
        log.info("removed the web profile shared by every account (one per account now)")
    folder = paths.web_profile_dir(environment, account)
    make_private_dir(folder)
    builder = QWebEngineProfileBuilder()
    builder.setPersistentStoragePath(str(folder))
    builder.setCachePath(str(folder))
    builder.setHttpCacheType(QWebEngineProfile.HttpCacheType.MemoryHttpCache)
    builder.setPersistentCookiesPolicy(
        QWebEngineProfile.PersistentCookiesPolicy.ForcePersistentCookies
    )
    name = re.sub(r"[^A-Za-z0-9_-]", "_", f"rupa-checkout-{environment}-{account}")
    return builder.createProfile(name, parent)


def forget_checkout_profile(profile: QWebEngineProfile) -> None:
    """Clear what the profile holds in memory (cookies, visited links) before it is deleted,
    so that nothing Chromium still writes out afterwards carries the session."""
    profile.cookieStore().deleteAllCookies()
    profile.clearAllVisitedLinks()
