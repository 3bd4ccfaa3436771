"""What the shops' ``auth.py`` modules build on: a one-header scheme and the required secrets.

Each ``adapters/<platform>/auth.py`` holds that platform's ``httpx.Auth`` classes and one
``build_auth(connection)`` that picks a scheme from the connection settings. A new scheme (OAuth
1.0a request signing, a client-credentials token) is one more class there and one more branch in
its ``build_auth``; the source does not change.
"""

from __future__ import annotations

from collections.abc import Generator

import httpx
from pydantic import SecretStr

from adapters.errors import ConfigError
from adapters.settings import ShopConnection


class HeaderAuth(httpx.Auth):
    """Every request carries one fixed header (a token)."""

    def __init__(self, name: str, value: str) -> None:
        self._name = name
        self._value = value

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers[self._name] = self._value
        yield request


def required_secrets(connection: ShopConnection, *names: str) -> tuple[str, ...]:
    """The values of the connection's secret settings ``names``, in that order.

    Raises ``ConfigError`` naming the source, its platform and every one of them that is unset
    or empty: a source cannot be built without its credentials.
    """
    values: dict[str, str] = {}
    for name in names:
        secret = getattr(connection, name)
        values[name] = secret.get_secret_value() if isinstance(secret, SecretStr) else ""
    missing = [name for name, value in values.items() if not value]
    if missing:
        raise ConfigError(f"source {connection.name!r} ({connection.platform}) needs {' and '.join(missing)}")
    return tuple(values[name] for name in names)
