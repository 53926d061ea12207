"""HTTP client of the simulator platform's API (served by cercle.simulator.platform)."""

from __future__ import annotations

from typing import Any

import httpx

from cercle.connectors.base import (
    Delivery,
    OutboundAction,
    PermissionDenied,
    RateLimited,
    Rejected,
    TokenRevoked,
    TransientError,
)
from cercle.connectors.http import PlatformHttp
from cercle.connectors.ratelimit import retry_at_from_headers

ACTIONS = "/actions"  # POST: perform; GET ?idempotency_key=: find an earlier result
ME = "/me"  # GET: the account the token belongs to


class SimulatorClient:
    def __init__(self, http: PlatformHttp, api_base: str, credentials: dict[str, Any]) -> None:
        if not api_base:
            raise Rejected("the channel has no api_base configured")
        self.http = http
        self.base = api_base.rstrip("/")
        self.headers = {"Authorization": f"Bearer {credentials.get('access_token', '')}"}

    def _check(self, response: httpx.Response) -> dict[str, Any]:
        if response.status_code == 429:
            raise RateLimited("rate limited", retry_at_from_headers(response.headers))
        if response.status_code == 401:
            raise TokenRevoked("the simulator token was revoked")
        if response.status_code == 403:
            raise PermissionDenied(response.text[:300])
        if response.status_code >= 500:
            raise TransientError(f"simulator error {response.status_code}")
        if response.status_code >= 400:
            raise Rejected(response.text[:300])
        data: dict[str, Any] = response.json()
        return data

    def perform(self, action: OutboundAction) -> Delivery:
        response = self.http.post(
            self.base + ACTIONS,
            json=action.to_payload(),
            headers={**self.headers, "Idempotency-Key": action.idempotency_key},
        )
        data = self._check(response)
        return Delivery(platform_id=str(data.get("id", "")), url=str(data.get("url", "")))

    def find(self, idempotency_key: str) -> Delivery | None:
        response = self.http.get(
            self.base + ACTIONS, params={"idempotency_key": idempotency_key}, headers=self.headers
        )
        if response.status_code == 404:
            return None
        data = self._check(response)
        return Delivery(platform_id=str(data.get("id", "")), url=str(data.get("url", "")))

    def whoami(self) -> str:
        data = self._check(self.http.get(self.base + ME, headers=self.headers))
        return str(data.get("name", ""))
