"""``Client``: one method per back-office operation of spinledger's API, over one ``_request`` helper that sends the
key, an ``X-Request-Id`` and (where the route takes one) an idempotency key, and retries only what is safe to send
again."""

from __future__ import annotations

import json
import random
import time
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import IO, Any, Callable, Iterable, Iterator, Mapping
from urllib.parse import quote

import requests

from spinledger_client import __version__
from spinledger_client.errors import SpinledgerConnectionError, SpinledgerError
from spinledger_client.wire import decode, encode, instant, money

API = "/api/v1"
_UNSET: Any = object()  # "leave this limit as it is", as opposed to None: "no limit"
_SAFE_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE"})
_NO_ANSWER = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)
_LIMITS = ("deposit_daily", "deposit_weekly", "deposit_monthly", "loss_daily", "loss_weekly", "loss_monthly")


class ApiResult(dict):  # type: ignore[type-arg]
    """An answer's JSON body (a ``dict``, money as ``Decimal``), with what its headers said: ``status_code``,
    ``replayed`` (``Idempotent-Replayed: true``: the first call's answer, nothing recorded this time),
    ``request_id`` (the ``X-Request-Id`` of the call) and ``idempotency_key`` (the key sent, generated or yours:
    keep it to look the call up later)."""

    status_code: int
    replayed: bool
    request_id: str
    idempotency_key: str | None
    headers: Mapping[str, str]
    keys_sent: list[str] | None  # award_batch: each item's idempotency key, in order

    def __init__(self, body: Mapping[str, Any], response: requests.Response, request_id: str, idempotency_key: str | None):
        super().__init__(body)
        self.status_code = response.status_code
        self.replayed = response.headers.get("Idempotent-Replayed", "").lower() == "true"
        self.request_id = response.headers.get("X-Request-Id") or request_id
        self.idempotency_key = idempotency_key
        self.headers = response.headers
        self.keys_sent = None


def new_key() -> str:
    """A fresh idempotency key (uuid4)."""
    return str(uuid.uuid4())


class Client:
    """spinledger's back-office API at ``base_url`` (``http://127.0.0.1:8000``), with the API key ``api_key``.

    Every call carries ``Authorization: Bearer <api_key>`` and an ``X-Request-Id`` of its own. Every POST the API
    takes an idempotency key for (awards, batch awards, cancels, deposits and withdrawals) gets a fresh uuid4 key
    unless you pass ``idempotency_key=`` (or ``transaction_id=``). A call is sent again — with the same key, the same
    ``X-Request-Id`` and the same bytes — only when that is safe: GET, PUT and DELETE, and keyed POSTs; on no answer
    (connection refused or cut, a timeout), ``429``, ``502``/``503``/``504`` and the API's retryable codes
    (``INTERNAL_ERROR``, ``CONCURRENT_UPDATE``, ``SERVICE_UNAVAILABLE``). Never an unkeyed POST, never another 4xx.
    It waits with exponential backoff and jitter (``backoff`` doubling from attempt to attempt, at most
    ``max_backoff``), and at least what ``retryAfterMs`` / ``Retry-After`` asks; an answer asking for more than
    ``max_retry_wait`` seconds (a full daily cap) is raised at once, its ``retry_after`` saying when to come back.

    ``sleep`` is what waits (``time.sleep``; a test passes its own); ``session`` a ``requests.Session`` to use
    (proxies, TLS, pooling); ``timeout`` seconds per attempt (or a ``(connect, read)`` pair).
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float | tuple[float, float] = 10.0,
        max_retries: int = 3,
        session: requests.Session | None = None,
        backoff: float = 0.25,
        max_backoff: float = 8.0,
        max_retry_wait: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
    ):
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_retry_wait = max_retry_wait
        self._sleep = sleep
        self._jitter = jitter
        self._own_session = session is None
        self.session = session or requests.Session()

    def close(self) -> None:
        if self._own_session:
            self.session.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def __repr__(self) -> str:  # never the key
        return f"Client({self.base_url!r})"

    # -- the one request helper --------------------------------------------------------------------------------

    def _request(self, method: str, path: str, *, body: Any = None, params: Mapping[str, Any] | None = None,
                 key: str | None = None, key_header: bool = True, keyed: bool = False, data: bytes | None = None,
                 content_type: str | None = None) -> ApiResult:
        """Sends the call (see ``_send``) and answers its JSON body, decoded, as an ``ApiResult``."""
        response, request_id = self._send(method, path, body=body, params=params, key=key, key_header=key_header,
                                          keyed=keyed, data=data, content_type=content_type)
        return ApiResult(decode(json.loads(response.content) if response.content else {}), response, request_id, key)

    def _send(self, method: str, path: str, *, body: Any = None, params: Mapping[str, Any] | None = None,
              key: str | None = None, key_header: bool = True, keyed: bool = False, data: bytes | None = None,
              content_type: str | None = None, stream: bool = False) -> tuple[requests.Response, str]:
        """Sends the call, again while that is safe and worth it; answers the first 2xx/3xx response and the call's
        ``X-Request-Id``, or raises ``SpinledgerError``. ``key`` is the call's idempotency key: sent as
        ``Idempotency-Key`` when ``key_header`` (else it travels in the body, as a deposit's ``transaction_id``). A
        call with a key, or ``keyed`` (its body carries a key for each thing it records, as a batch's items), may be
        sent again; so may GET, PUT and DELETE. Every attempt sends the same headers and the same bytes."""
        request_id = str(uuid.uuid4())
        headers = {"Authorization": f"Bearer {self._api_key}", "X-Request-Id": request_id,
                   "Accept": "application/json", "User-Agent": f"spinledger-client-python/{__version__}"}
        if key is not None and key_header:
            headers["Idempotency-Key"] = key
        if body is not None:
            data = json.dumps(encode(body), separators=(",", ":")).encode()
            content_type = "application/json"
        if content_type:
            headers["Content-Type"] = content_type
        query = {name: _query_value(value) for name, value in (params or {}).items() if value is not None}
        safe = method in _SAFE_METHODS or key is not None or keyed
        url = f"{self.base_url}{path}"
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self.session.request(method, url, params=query, data=data, headers=headers,
                                                timeout=self.timeout, stream=stream)
            except requests.exceptions.SSLError:
                raise  # a certificate problem does not go away by asking again
            except _NO_ANSWER as failure:
                error: SpinledgerError = SpinledgerConnectionError(f"{method} {path}: {type(failure).__name__}: {failure}",
                                                                   request_id, key)
                error.__cause__ = failure
            else:
                if response.status_code < 400:
                    return response, request_id
                error = SpinledgerError.from_response(response, request_id, key)
                response.close()
                if not _retryable(response.status_code, error):
                    raise error
            if not safe or attempt > self.max_retries:
                raise error
            wait = self._wait(attempt, error.retry_after)
            if wait is None:
                raise error
            self._sleep(wait)

    def _wait(self, attempt: int, asked: float | None) -> float | None:
        """Exponential backoff with jitter (between half and all of ``backoff × 2^(attempt-1)``, capped), never less
        than the wait the API asked for; ``None`` when it asked for more than ``max_retry_wait``."""
        if asked is not None and asked > self.max_retry_wait:
            return None
        ceiling = min(self.max_backoff, self.backoff * 2.0 ** (attempt - 1))
        wait = ceiling * (0.5 + self._jitter() / 2)
        return max(wait, asked or 0.0)

    def _pages(self, path: str, params: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        """Every item of a list, page after page, following ``next_cursor`` until ``has_more`` is false."""
        query = dict(params)
        while True:
            page = self._request("GET", path, params=query)
            yield from page["data"]
            if not page.get("has_more") or not page.get("next_cursor"):
                return
            query["after"] = page["next_cursor"]

    # -- operations ----------------------------------------------------------------------------------------

    def health(self) -> ApiResult:
        """``GET /healthz``: ``{"status": "ok"}`` while the process is alive."""
        return self._request("GET", "/healthz")

    # players

    def register_player(self, player_id: str, *, region: str, birth_date: date | str, currency: str,
                        test: bool | None = None) -> ApiResult:
        """``PUT /players/{id}``: registers (201) or updates (200) a player; the same profile again records nothing."""
        body = _given(region=region, birth_date=birth_date, currency=currency, test=test)
        return self._request("PUT", f"{API}/players/{_p(player_id)}", body=body)

    def get_player(self, player_id: str) -> ApiResult:
        return self._request("GET", f"{API}/players/{_p(player_id)}")

    def self_exclude(self, player_id: str, period: str) -> ApiResult:
        """``period``: ``6m``, ``1y`` or ``5y``; cancels the player's outstanding awards. Not retried (no key)."""
        return self._request("POST", f"{API}/players/{_p(player_id)}/self-exclusion", body={"period": period})

    def set_limits(self, player_id: str, *, deposit_daily: Decimal | None = _UNSET, deposit_weekly: Decimal | None = _UNSET,
                   deposit_monthly: Decimal | None = _UNSET, loss_daily: Decimal | None = _UNSET,
                   loss_weekly: Decimal | None = _UNSET, loss_monthly: Decimal | None = _UNSET) -> ApiResult:
        """``PUT /players/{id}/limits``: each limit named is set (``None``: no limit); one not named stays."""
        given = dict(zip(_LIMITS, (deposit_daily, deposit_weekly, deposit_monthly, loss_daily, loss_weekly, loss_monthly)))
        body = {name: None if value is None else money(value, name) for name, value in given.items() if value is not _UNSET}
        return self._request("PUT", f"{API}/players/{_p(player_id)}/limits", body=body)

    def get_limits(self, player_id: str) -> ApiResult:
        return self._request("GET", f"{API}/players/{_p(player_id)}/limits")

    def start_cooling_off(self, player_id: str, period: str) -> ApiResult:
        """``period``: ``24h``, ``7d``, ``30d`` or ``6w``. Not retried (no key)."""
        return self._request("POST", f"{API}/players/{_p(player_id)}/cooling-off", body={"period": period})

    def deposit(self, player_id: str, amount: Decimal, currency: str, *, transaction_id: str | None = None) -> ApiResult:
        """Idempotent on ``transaction_id`` (your payment provider's id; a uuid4 when not given)."""
        body, key = _funds(amount, currency, transaction_id)
        return self._request("POST", f"{API}/players/{_p(player_id)}/deposits", body=body, key=key, key_header=False)

    def withdraw(self, player_id: str, amount: Decimal, currency: str, *, transaction_id: str | None = None) -> ApiResult:
        """Idempotent on ``transaction_id``, as a deposit; ``402 INSUFFICIENT_FUNDS`` beyond the cash balance."""
        body, key = _funds(amount, currency, transaction_id)
        return self._request("POST", f"{API}/players/{_p(player_id)}/withdrawals", body=body, key=key, key_header=False)

    def get_transaction(self, player_id: str, transaction_id: str) -> ApiResult:
        """A deposit or withdrawal by its id: what to ask after a timeout (``404 TRANSACTION_NOT_FOUND``: none)."""
        return self._request("GET", f"{API}/players/{_p(player_id)}/transactions/{_p(transaction_id)}")

    def create_session(self, player_id: str, *, currency: str | None = None) -> ApiResult:
        """``POST /sessions``: a game session token (``currency="GC"``: gold coins). Not retried (no key)."""
        return self._request("POST", f"{API}/sessions", body=_given(player_id=player_id, currency=currency))

    def list_player_awards(self, player_id: str, *, after: str | None = None, limit: int | None = None) -> ApiResult:
        return self._request("GET", f"{API}/players/{_p(player_id)}/awards", params={"after": after, "limit": limit})

    def iter_player_awards(self, player_id: str, *, page_size: int | None = None) -> Iterator[dict[str, Any]]:
        return self._pages(f"{API}/players/{_p(player_id)}/awards", {"limit": page_size})

    # promotions

    def define_promotion(self, promo_id: str, *, name: str, game_codes: list[str], starts_at: datetime, ends_at: datetime,
                         allowed_regions: list[str], award_type: str = "FREE_SPINS", bet_per_spin: Decimal | None = None,
                         currency: str | None = None, max_spins_per_award: int | None = None, budget_spins: int | None = None,
                         award_ttl_seconds: int | None = None, max_coins_per_award: Decimal | None = None,
                         budget_coins: Decimal | None = None, per_player_daily_limit: int | Decimal | None = None,
                         per_player_weekly_limit: int | Decimal | None = None, test: bool | None = None) -> ApiResult:
        """``PUT /promotions/{id}``: defines (201) or replaces the terms (200). A ``FREE_SPINS`` promotion takes
        ``bet_per_spin``, ``currency``, ``max_spins_per_award``, ``budget_spins``, ``award_ttl_seconds`` and caps in
        spins; a ``GOLD_COINS`` one ``max_coins_per_award``, ``budget_coins`` and caps in coins (``Decimal``)."""
        body = _given(name=name, award_type=award_type, game_codes=game_codes, starts_at=instant(starts_at, "starts_at"),
                      ends_at=instant(ends_at, "ends_at"), allowed_regions=allowed_regions, bet_per_spin=bet_per_spin,
                      currency=currency, max_spins_per_award=max_spins_per_award, budget_spins=budget_spins,
                      award_ttl_seconds=award_ttl_seconds, max_coins_per_award=max_coins_per_award,
                      budget_coins=budget_coins, per_player_daily_limit=per_player_daily_limit,
                      per_player_weekly_limit=per_player_weekly_limit, test=test)
        return self._request("PUT", f"{API}/promotions/{_p(promo_id)}", body=body)

    def get_promotion(self, promo_id: str) -> ApiResult:
        return self._request("GET", f"{API}/promotions/{_p(promo_id)}")

    def list_promotions(self, *, after: str | None = None, limit: int | None = None) -> ApiResult:
        return self._request("GET", f"{API}/promotions", params={"after": after, "limit": limit})

    def iter_promotions(self, *, page_size: int | None = None) -> Iterator[dict[str, Any]]:
        """Newest first, as the event index has them."""
        return self._pages(f"{API}/promotions", {"limit": page_size})

    def end_promotion(self, promo_id: str, reason: str | None = None) -> ApiResult:
        """Ends it for good (it awards nothing more). Not retried (no key); ending it again answers it as ended."""
        return self._request("POST", f"{API}/promotions/{_p(promo_id)}/end", body=_given(reason=reason))

    # awards

    def award_free_spins(self, player_id: str, promo_id: str, spins: int, *, game_code: str,
                         expires_at: datetime | None = None, issued_at: datetime | None = None,
                         idempotency_key: str | None = None, request_id: str | None = None) -> ApiResult:
        """``POST /awards`` of ``spins`` free spins: 201, or 200 with ``replayed`` for a key already used on the same
        request (the first body, nothing recorded). The key (``result.idempotency_key``) is a uuid4 unless given."""
        return self._award("FREE_SPINS", player_id, promo_id, spins, game_code, expires_at, issued_at, idempotency_key, request_id)

    def award_gold_coins(self, player_id: str, promo_id: str, coins: Decimal, *, game_code: str,
                         issued_at: datetime | None = None, idempotency_key: str | None = None,
                         request_id: str | None = None) -> ApiResult:
        """``POST /awards`` of ``coins`` gold coins (a ``GOLD_COINS`` promotion): credited at once."""
        return self._award("GOLD_COINS", player_id, promo_id, money(coins, "coins"), game_code, None, issued_at,
                           idempotency_key, request_id)

    def _award(self, award_type: str, player_id: str, promo_id: str, value: int | str, game_code: str,
               expires_at: datetime | None, issued_at: datetime | None, key: str | None, request_id: str | None) -> ApiResult:
        key = key or new_key()
        body = _given(player_id=player_id, promo_id=promo_id, award_type=award_type, award_value=value, game_code=game_code,
                      expires_at=_instant(expires_at, "expires_at"), issued_at=_instant(issued_at, "issued_at"),
                      request_id=request_id)
        return self._request("POST", f"{API}/awards", body=body, key=key)

    def award_batch(self, awards: Iterable[Mapping[str, Any]]) -> ApiResult:
        """``POST /awards/batch``: 1 to 1,000 award requests, each as ``POST /awards`` takes it (``player_id``,
        ``promo_id``, ``award_type``, ``award_value``, ``game_code``, optional ``expires_at``…; ``Decimal`` and
        ``datetime`` values are encoded). An item without ``idempotency_key`` gets a uuid4 one; every item keyed, the
        batch is safe to send again. Answers ``{"results": [{index, status, idempotent_replayed, body, error}]}``;
        ``result.keys_sent`` lists each item's key, in order."""
        items = [{**item, "idempotency_key": item.get("idempotency_key") or new_key()} for item in awards]
        result = self._request("POST", f"{API}/awards/batch", body={"awards": items}, keyed=True)
        result.keys_sent = [item["idempotency_key"] for item in items]
        return result

    def get_award(self, award_id: str) -> ApiResult:
        return self._request("GET", f"{API}/awards/{_p(award_id)}")

    def get_award_by_key(self, idempotency_key: str) -> ApiResult:
        """The award a key made (after a timeout: ``404 AWARD_NOT_FOUND`` means none; send the call again with it)."""
        return self._request("GET", f"{API}/awards", params={"idempotency_key": idempotency_key})

    def cancel_award(self, award_id: str, reason: str, *, idempotency_key: str | None = None) -> ApiResult:
        """Forfeits the unplayed spins; with the same key again, the first answer (``replayed``)."""
        return self._request("POST", f"{API}/awards/{_p(award_id)}/cancel", body={"reason": reason},
                             key=idempotency_key or new_key())

    # campaigns

    def define_campaign(self, campaign_id: str, *, name: str, promo_id: str, award_value: int, game_code: str,
                        expires_at: datetime | None = None) -> ApiResult:
        body = _given(name=name, promo_id=promo_id, award_value=award_value, game_code=game_code,
                      expires_at=_instant(expires_at, "expires_at"))
        return self._request("PUT", f"{API}/campaigns/{_p(campaign_id)}", body=body)

    def add_campaign_players(self, campaign_id: str, player_ids: Iterable[str]) -> ApiResult:
        """Uploads audience players (as ``text/csv``); ids already in the audience count once. Not retried (no key):
        on a failure, upload again — the ids already added count once."""
        csv = "player_id\n" + "".join(f"{player_id}\n" for player_id in player_ids)
        return self._request("POST", f"{API}/campaigns/{_p(campaign_id)}/audience", data=csv.encode(), content_type="text/csv")

    def launch_campaign(self, campaign_id: str) -> ApiResult:
        """202 ``{"campaign_id", "status": "queued"}``; launching again is harmless (it answers the status)."""
        return self._request("POST", f"{API}/campaigns/{_p(campaign_id)}/launch")

    def get_campaign(self, campaign_id: str) -> ApiResult:
        return self._request("GET", f"{API}/campaigns/{_p(campaign_id)}")

    def list_campaigns(self, *, after: str | None = None, limit: int | None = None) -> ApiResult:
        return self._request("GET", f"{API}/campaigns", params={"after": after, "limit": limit})

    def iter_campaigns(self, *, page_size: int | None = None) -> Iterator[dict[str, Any]]:
        return self._pages(f"{API}/campaigns", {"limit": page_size})

    def list_campaign_results(self, campaign_id: str, *, outcome: str | None = None, after: str | None = None,
                              limit: int | None = None) -> ApiResult:
        params = {"outcome": outcome, "after": after, "limit": limit}
        return self._request("GET", f"{API}/campaigns/{_p(campaign_id)}/results", params=params)

    def iter_campaign_results(self, campaign_id: str, *, outcome: str | None = None,
                              page_size: int | None = None) -> Iterator[dict[str, Any]]:
        """Each player's outcome (``awarded``, ``refused`` with its ``error_code``, ``replayed``), in audience order."""
        return self._pages(f"{API}/campaigns/{_p(campaign_id)}/results", {"outcome": outcome, "limit": page_size})

    def cancel_campaign(self, campaign_id: str, reason: str | None = None) -> ApiResult:
        return self._request("POST", f"{API}/campaigns/{_p(campaign_id)}/cancel", body=_given(reason=reason))

    # compliance: events, spins, game history, audit log

    def list_events(self, *, player_id: str | None = None, promo_id: str | None = None, award_id: str | None = None,
                    types: Iterable[str] | None = None, from_: datetime | None = None, to: datetime | None = None,
                    after: str | int | None = None, limit: int | None = None) -> ApiResult:
        """One page of the event history (``from_`` inclusive, ``to`` exclusive)."""
        params = _event_filters(player_id, promo_id, award_id, types, from_, to) | {"after": after, "limit": limit}
        return self._request("GET", f"{API}/events", params=params)

    def iter_events(self, *, player_id: str | None = None, promo_id: str | None = None, award_id: str | None = None,
                    types: Iterable[str] | None = None, from_: datetime | None = None, to: datetime | None = None,
                    after: str | int | None = None, page_size: int | None = None) -> Iterator[dict[str, Any]]:
        """Every event of the selection, in position order, page after page, until the index holds nothing more
        now (to follow new events, ask again with ``after=`` the last ``position`` seen)."""
        params = _event_filters(player_id, promo_id, award_id, types, from_, to) | {"after": after, "limit": page_size}
        return self._pages(f"{API}/events", params)

    def iter_event_export(self, *, player_id: str | None = None, promo_id: str | None = None,
                          award_id: str | None = None, types: Iterable[str] | None = None, from_: datetime | None = None,
                          to: datetime | None = None, after: str | int | None = None) -> Iterator[dict[str, Any]]:
        """``GET /events/export`` as JSON Lines, each event as it streams in (memory stays flat). A stream cut
        short is taken up again after the last event received, up to ``max_retries`` times."""
        filters = _event_filters(player_id, promo_id, award_id, types, from_, to)
        last, resumed = after, 0
        while True:
            response, _ = self._send("GET", f"{API}/events/export", params=filters | {"after": last}, stream=True)
            try:
                for line in response.iter_lines():
                    if line:
                        event = json.loads(line)
                        last = event["position"]
                        yield event
                return
            except _NO_ANSWER:
                resumed += 1
                if resumed > self.max_retries:
                    raise
            finally:
                response.close()

    def export_events(self, out: IO[bytes], *, format: str = "jsonl", player_id: str | None = None,
                      promo_id: str | None = None, award_id: str | None = None, types: Iterable[str] | None = None,
                      from_: datetime | None = None, to: datetime | None = None, after: str | int | None = None) -> int:
        """Writes the export (``jsonl`` or ``csv``) to the binary file ``out`` as it streams; answers the bytes written."""
        params = _event_filters(player_id, promo_id, award_id, types, from_, to) | {"after": after, "format": format}
        written = 0
        response, _ = self._send("GET", f"{API}/events/export", params=params, stream=True)
        with response:
            for chunk in response.iter_content(64 * 1024):
                written += out.write(chunk)
        return written

    def get_spin(self, spin_id: str) -> ApiResult:
        return self._request("GET", f"{API}/spins/{_p(spin_id)}")

    def replay_spin(self, spin_id: str) -> ApiResult:
        """The spin played again by its game version: ``matches``, ``mismatches``, ``stored``, ``recomputed``."""
        return self._request("GET", f"{API}/spins/{_p(spin_id)}/replay")

    def list_game_history(self, player_id: str, *, after: str | None = None, limit: int | None = None) -> ApiResult:
        return self._request("GET", f"{API}/players/{_p(player_id)}/game-history", params={"after": after, "limit": limit})

    def iter_game_history(self, player_id: str, *, page_size: int | None = None) -> Iterator[dict[str, Any]]:
        """The player's games, newest first."""
        return self._pages(f"{API}/players/{_p(player_id)}/game-history", {"limit": page_size})

    def list_audit_requests(self, *, player_id: str | None = None, route: str | None = None, key_name: str | None = None,
                            from_: datetime | None = None, to: datetime | None = None, bodies: bool | None = None,
                            after: str | None = None, limit: int | None = None) -> ApiResult:
        """One page of the raw audit log (``bodies=False``, API 1.8: the rows without their bodies)."""
        params = _audit_filters(player_id, route, key_name, from_, to, bodies) | {"after": after, "limit": limit}
        return self._request("GET", f"{API}/audit/requests", params=params)

    def iter_audit_requests(self, *, player_id: str | None = None, route: str | None = None, key_name: str | None = None,
                            from_: datetime | None = None, to: datetime | None = None, bodies: bool | None = None,
                            page_size: int | None = None) -> Iterator[dict[str, Any]]:
        """The raw audit log, newest first."""
        params = _audit_filters(player_id, route, key_name, from_, to, bodies) | {"limit": page_size}
        return self._pages(f"{API}/audit/requests", params)

    def get_audit_request(self, audit_id: int) -> ApiResult:
        """One row of the raw audit log with its bodies (API 1.8)."""
        return self._request("GET", f"{API}/audit/requests/{int(audit_id)}")

    # finance: reconciliation and liability

    def run_reconciliation(self, *, as_of: datetime | None = None) -> ApiResult:
        """Runs one now and answers its report (``checks`` with ``Decimal`` figures). Not retried (no key):
        ``409 RECONCILIATION_RUNNING`` says another run holds the lock."""
        return self._request("POST", f"{API}/reconciliation/runs", body=_given(as_of=_instant(as_of, "as_of")))

    def list_reconciliation_runs(self, *, after: str | None = None, limit: int | None = None) -> ApiResult:
        return self._request("GET", f"{API}/reconciliation/runs", params={"after": after, "limit": limit})

    def iter_reconciliation_runs(self, *, page_size: int | None = None) -> Iterator[dict[str, Any]]:
        """Newest first."""
        return self._pages(f"{API}/reconciliation/runs", {"limit": page_size})

    def get_reconciliation_run(self, run_id: str) -> ApiResult:
        return self._request("GET", f"{API}/reconciliation/runs/{_p(run_id)}")

    def export_reconciliation_run(self, run_id: str) -> str:
        """The run as CSV: one line per check, then one per discrepancy."""
        response, _ = self._send("GET", f"{API}/reconciliation/runs/{_p(run_id)}/export")
        return response.text

    def liability_report(self) -> ApiResult:
        """Per promotion: unplayed spins × bet (``liability``, ``Decimal``), spins, wins paid; ``coins`` apart."""
        return self._request("GET", f"{API}/reports/liability")

    # risk reviews

    def list_reviews(self, *, status: str | None = None, after: str | None = None, limit: int | None = None) -> ApiResult:
        return self._request("GET", f"{API}/reviews", params={"status": status, "after": after, "limit": limit})

    def iter_reviews(self, *, status: str | None = None, page_size: int | None = None) -> Iterator[dict[str, Any]]:
        """``status``: ``open``, ``kept_paused`` or ``cleared``; newest first."""
        return self._pages(f"{API}/reviews", {"status": status, "limit": page_size})

    def decide_review(self, review_id: str, decision: str, note: str) -> ApiResult:
        """``decision``: ``clear`` or ``keep_paused``. Not retried (no key)."""
        return self._request("POST", f"{API}/reviews/{_p(review_id)}/decision", body={"decision": decision, "note": note})

    # webhooks

    def create_webhook(self, url: str, event_types: list[str], *, description: str | None = None) -> ApiResult:
        """A subscription; its ``secret`` is in this answer only. Not retried (no key): after a failure, list the
        subscriptions before making another."""
        body = _given(url=url, event_types=event_types, description=description)
        return self._request("POST", f"{API}/webhooks", body=body)

    def list_webhooks(self, *, after: str | None = None, limit: int | None = None) -> ApiResult:
        return self._request("GET", f"{API}/webhooks", params={"after": after, "limit": limit})

    def iter_webhooks(self, *, page_size: int | None = None) -> Iterator[dict[str, Any]]:
        return self._pages(f"{API}/webhooks", {"limit": page_size})

    def get_webhook(self, subscription_id: str) -> ApiResult:
        return self._request("GET", f"{API}/webhooks/{_p(subscription_id)}")

    def delete_webhook(self, subscription_id: str) -> None:
        self._request("DELETE", f"{API}/webhooks/{_p(subscription_id)}")

    def list_webhook_deliveries(self, subscription_id: str, *, status: str | None = None, after: str | None = None,
                                limit: int | None = None) -> ApiResult:
        params = {"status": status, "after": after, "limit": limit}
        return self._request("GET", f"{API}/webhooks/{_p(subscription_id)}/deliveries", params=params)

    def iter_webhook_deliveries(self, subscription_id: str, *, status: str | None = None,
                                page_size: int | None = None) -> Iterator[dict[str, Any]]:
        """``status``: ``pending``, ``delivered``, ``dead`` or ``cancelled``."""
        return self._pages(f"{API}/webhooks/{_p(subscription_id)}/deliveries", {"status": status, "limit": page_size})

    def redeliver_webhook(self, subscription_id: str, delivery_ids: list[str] | None = None) -> ApiResult:
        """Re-drives these deliveries, or (none given) every dead one. Not retried (no key)."""
        return self._request("POST", f"{API}/webhooks/{_p(subscription_id)}/redeliver", body=_given(delivery_ids=delivery_ids))

    # games

    def list_games(self) -> ApiResult:
        return self._request("GET", f"{API}/games")

    def get_game(self, game_code: str) -> ApiResult:
        return self._request("GET", f"{API}/games/{_p(game_code)}")

    def set_game_maintenance(self, game_code: str, *, active: bool, message: str, until: datetime | None = None) -> ApiResult:
        """Takes a game out of play (``active=True``) or back; ``until`` ends it by itself."""
        body = _given(active=active, message=message, until=_instant(until, "until"))
        return self._request("PUT", f"{API}/games/{_p(game_code)}/maintenance", body=body)


def _retryable(status: int, error: SpinledgerError) -> bool:
    """429 always (the wait it asks decides); a 5xx when the envelope says retryable, or a gateway's 502/503/504
    without one; no other 4xx."""
    if status == 429:
        return True
    if status >= 500:
        return error.retryable if error.has_envelope else status in (502, 503, 504)
    return False


def _funds(amount: Decimal, currency: str, transaction_id: str | None) -> tuple[dict[str, Any], str]:
    transaction_id = transaction_id or new_key()
    return {"transaction_id": transaction_id, "amount": money(amount), "currency": currency}, transaction_id


def _p(segment: str) -> str:
    """A path segment, escaped."""
    return quote(str(segment), safe="")


def _given(**fields: Any) -> dict[str, Any]:
    """The fields that were given (``None``: left out)."""
    return {name: value for name, value in fields.items() if value is not None}


def _instant(value: datetime | str | None, name: str) -> str | None:
    return None if value is None else instant(value, name)


def _event_filters(player_id: str | None, promo_id: str | None, award_id: str | None, types: Iterable[str] | None,
                   from_: datetime | None, to: datetime | None) -> dict[str, Any]:
    return {"player_id": player_id, "promo_id": promo_id, "award_id": award_id,
            "type": list(types) if types is not None else None,
            "from": _instant(from_, "from_"), "to": _instant(to, "to")}


def _audit_filters(player_id: str | None, route: str | None, key_name: str | None, from_: datetime | None,
                   to: datetime | None, bodies: bool | None) -> dict[str, Any]:
    return {"player_id": player_id, "route": route, "key_name": key_name,
            "from": _instant(from_, "from_"), "to": _instant(to, "to"), "bodies": bodies}


def _query_value(value: Any) -> Any:
    """A query parameter: booleans as ``true``/``false``, money and instants as the API writes them."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return encode(value)
