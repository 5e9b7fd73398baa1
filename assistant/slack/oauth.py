"""Installs into many workspaces: slack_bolt's OAuth flow, with slack_sdk's SQLAlchemy stores.

Installations (one bot token per workspace) and OAuth states live in the conversation
database, so every process and instance that shares the store shares the installs. Bolt then
authorizes each request from the installation of the workspace it came from, and its
token-revocation listeners delete an installation on ``tokens_revoked`` / ``app_uninstalled``.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore

log = logging.getLogger("assistant.slack")

INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
BOT_SCOPES = ("app_mentions:read", "chat:write", "im:history", "commands")
STATE_EXPIRATION_S = 600
_CREATE_ATTEMPTS = 5


def oauth_settings(client_id: str, client_secret: str, engine: sa.engine.Engine,
                   redirect_uri: str | None) -> OAuthSettings:
    installations = SQLAlchemyInstallationStore(client_id=client_id, engine=engine, logger=log)
    states = SQLAlchemyOAuthStateStore(expiration_seconds=STATE_EXPIRATION_S, engine=engine, logger=log)
    _create_tables(installations, states)
    return OAuthSettings(
        client_id=client_id, client_secret=client_secret, scopes=list(BOT_SCOPES), redirect_uri=redirect_uri,
        install_path=INSTALL_PATH, redirect_uri_path=REDIRECT_PATH, install_page_rendering_enabled=False,
        # Authorize from the bot rows: tokens_revoked deletes those, and the bot uses no user tokens.
        installation_store=installations, installation_store_bot_only=True, state_store=states)


def _create_tables(*stores: SQLAlchemyInstallationStore | SQLAlchemyOAuthStateStore) -> None:
    """Create the stores' tables; several workers starting at once may race, and the loser retries."""
    for store in stores:
        for attempt in range(_CREATE_ATTEMPTS):
            try:
                store.create_tables()
                break
            except (sa.exc.OperationalError, sa.exc.ProgrammingError, sa.exc.IntegrityError):
                if attempt == _CREATE_ATTEMPTS - 1:
                    raise
