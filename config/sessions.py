"""Django's database sessions, with a session key from the cookie taken only if it could be one: the keys
Django makes are 32 lower-case letters and digits (the column holds 40). Anything else (a NUL character,
which PostgreSQL cannot even compare: a 500 on every page for that cookie; a megabyte of text) is no
session, as an unknown key is: the visitor is logged out, not shown an error."""
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore

KEY_MAX_LENGTH = 40


class SessionStore(DatabaseSessionStore):
    def _validate_session_key(self, key):
        return bool(key) and 8 <= len(key) <= KEY_MAX_LENGTH and key.isascii() and key.isalnum()
