"""Superset's settings for `make bi` (and the compose `superset` service): SUPERSET_CONFIG_PATH names this file.

It runs inside Superset's own venv, which has none of the project's packages: only ``include.config`` and
``include.warehouse.secrets`` (standard library and PyYAML, which Superset has) are imported, from the checkout
this file is in (config reads the dbt vars its constants come from).
Metadata in SQLite under the state folder, the secret key generated once into ``.local/secrets/``
(or ``SQW_SUPERSET_SECRET_KEY``), the UI in Chinese, and nothing that calls outside: the Content Security
Policy allows this server alone, so the browser loads no pixel, map tile or web font from elsewhere.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from include import config
from include.warehouse.secrets import get_secret

HOME = config.STATE_DIR / "superset"
HOME.mkdir(parents=True, exist_ok=True)

SECRET_KEY = get_secret("superset_secret_key")
SQLALCHEMY_DATABASE_URI = f"sqlite:///{HOME / 'superset.db'}"
DATA_DIR = str(HOME)

BABEL_DEFAULT_LOCALE = "zh"
LANGUAGES = {"zh": {"flag": "cn", "name": "简体中文"}, "en": {"flag": "us", "name": "English"}}

# Nothing leaves the machine: no analytics pixel, no map tiles, no web fonts (the system's CJK font renders Chinese).
SCARF_ANALYTICS = False
MAPBOX_API_KEY = ""
THEME_FONT_URL_ALLOWED_DOMAINS: list[str] = []
_SELF = ["'self'"]
TALISMAN_ENABLED = True
TALISMAN_CONFIG = {
    "content_security_policy": {
        "base-uri": _SELF,
        "default-src": _SELF,
        "img-src": [*_SELF, "blob:", "data:"],
        "worker-src": [*_SELF, "blob:"],
        "connect-src": _SELF,
        "object-src": "'none'",
        "style-src": [*_SELF, "'unsafe-inline'"],
        "font-src": [*_SELF, "data:"],
        "script-src": [*_SELF, "'strict-dynamic'"],
    },
    "content_security_policy_nonce_in": ["script-src"],
    "force_https": False,
    "session_cookie_secure": False,
}
CONTENT_SECURITY_POLICY_WARNING = False

RATELIMIT_STORAGE_URI = "memory://"
# The marts are small (a row per county and month): no result cache, every chart reads the published tables.
DATA_CACHE_CONFIG = {"CACHE_TYPE": "NullCache"}
