"""How a destination reaches its server: timeout, TLS verification and proxy.

The rule options keep ElastAlert2 2.19's names and meaning (``<prefix>_timeout``,
``<prefix>_ca_certs``, ``<prefix>_ignore_ssl_errors``, ``<prefix>_proxy``, and Telegram's
and Discord's proxy login):

- ``*_ca_certs``: a path (a PEM CA bundle, or a folder of hashed certificates as
  ``c_rehash`` makes) verifies the server against those CAs instead of the system's;
  ``true`` verifies against the system's. When it is set, ``*_ignore_ssl_errors`` has no
  effect (ElastAlert2 passes ``verify=ca_certs`` first).
- ``*_ignore_ssl_errors: true`` accepts any server certificate.
- ``*_proxy``: an HTTP proxy (``http://host:port``; ``host:port`` means the same) used for
  ``https://`` URLs only, through ``CONNECT``: ElastAlert2 gives requests the proxy for the
  ``https`` scheme alone, so a plain ``http://`` URL is reached directly.
- ``*_timeout`` (seconds) bounds one attempt, connecting to reading the answer (ElastAlert2
  bounds the connect and each read by it); a destination without the option takes 10 s.

Paths are read as written (relative ones from the alerting role's working directory, as
ElastAlert2 and blacklist ``!file`` entries do) and checked when the rule loads.
"""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import aiohttp
from pydantic import AfterValidator, Field

DEFAULT_TIMEOUT_S = 10.0


def _check_ca_certs(value: bool | str | None) -> bool | str | None:
    if not isinstance(value, str):
        return value
    path = Path(value)
    if path.is_dir():
        return value
    if not path.is_file():
        raise ValueError(
            f"CA file {value} not found: give the path of a PEM CA bundle (or of a folder "
            "of hashed certificates) that the alerting role can read, or true for the "
            "system's CAs"
        )
    try:
        _context(value, _stamp(value))
    except (OSError, ssl.SSLError) as exc:
        raise ValueError(
            f"CA file {value} holds no readable PEM certificate ({exc.__class__.__name__}): "
            "give a PEM CA bundle"
        ) from None
    return value


def _check_proxy(value: str | None) -> str | None:
    if value is None:
        return None
    url = value if "://" in value else "http://" + value  # as requests reads host:port
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise ValueError(
            f"proxy {shown_proxy(value)} is not an HTTP proxy: give http://HOST:PORT "
            "(SOCKS proxies are not supported)"
        )
    if not parts.hostname:
        raise ValueError(f"proxy {shown_proxy(value)} has no host: give http://HOST:PORT")
    try:
        _ = parts.port  # raises on a port that is not a number
    except ValueError:
        raise ValueError(
            f"proxy {shown_proxy(value)} has a bad port: give http://HOST:PORT"
        ) from None
    return url


CaCerts = Annotated[bool | str | None, AfterValidator(_check_ca_certs)]
"""``*_ca_certs``: a CA bundle path, ``true`` (the system's CAs) or unset."""
ProxyUrl = Annotated[str | None, AfterValidator(_check_proxy)]
"""``*_proxy``: an HTTP proxy URL for https URLs."""
Timeout = Annotated[float, Field(gt=0)]
"""``*_timeout``: seconds one attempt may take."""


def shown_proxy(url: str) -> str:
    """A proxy URL without its credentials, for messages."""
    scheme, found, rest = url.partition("://")
    host = (rest if found else url).rpartition("@")[2]
    return f"{scheme}://{host}" if found else host


def _stamp(path: str) -> tuple[int, int]:
    status = os.stat(path)
    return status.st_mtime_ns, status.st_size


@lru_cache(maxsize=32)
def _context(path: str, stamp: tuple[int, int]) -> ssl.SSLContext:
    # ``stamp`` (mtime, size) keys the cache, so a replaced CA file is read again.
    if os.path.isdir(path):
        return ssl.create_default_context(capath=path)
    return ssl.create_default_context(cafile=path)


@dataclass(frozen=True)
class Transport:
    """One destination's connection settings, from its rule options."""

    timeout_s: float = DEFAULT_TIMEOUT_S
    verify: bool | str = True  # True: the system's CAs; False: none; text: a CA path
    proxy: str | None = None
    proxy_login: str | None = None
    proxy_password: str | None = None

    @classmethod
    def of(
        cls,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        ca_certs: bool | str | None = None,
        ignore_ssl_errors: bool = False,
        proxy: str | None = None,
        proxy_login: str | None = None,
        proxy_password: str | None = None,
    ) -> Transport:
        """ElastAlert2's rule: ``ca_certs`` when set, else verify unless told to ignore."""
        verify: bool | str = ca_certs if ca_certs else not ignore_ssl_errors
        return cls(timeout_s, verify, proxy, proxy_login, proxy_password)

    def ssl_argument(self) -> ssl.SSLContext | bool:
        """aiohttp's ``ssl`` argument: a context for a CA path, else True or False."""
        if isinstance(self.verify, str):
            return _context(self.verify, _stamp(self.verify))
        return self.verify

    def request_options(self, url: str) -> dict[str, Any]:
        """Keyword arguments of ``ClientSession.post`` for ``url``."""
        options: dict[str, Any] = {
            "timeout": aiohttp.ClientTimeout(total=self.timeout_s),
        }
        if urlsplit(url).scheme != "https":
            return options  # ElastAlert2 proxies https only; TLS options need TLS
        options["ssl"] = self.ssl_argument()
        if self.proxy:
            options["proxy"] = self.proxy
            if self.proxy_login:
                auth = aiohttp.encode_basic_auth(self.proxy_login, self.proxy_password or "")
                options["proxy_headers"] = {"Proxy-Authorization": auth}
        return options


DIRECT = Transport()
"""No option set: the system's CAs, no proxy, 10 s."""
