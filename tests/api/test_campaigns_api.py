"""Campaigns through the HTTP API, issued by the real job queue (procrastinate's worker, run until the queue is
empty) on a database of the module's own: its jobs are only this module's."""

from __future__ import annotations

import io
import json
from typing import Any, Iterator

import pytest

from app import create_app
from app.config import Settings
from app.job_queue import QueueWorker
from domain.campaign import campaign_award_key
from domain.ids import award_id_for_key
from tests.api.helpers import assert_envelope, define, register
from tests.support import ADMIN, API_KEYS, GAME, FakeClock, award_json, scratch_database, unique

CSV = {**ADMIN, "Content-Type": "text/csv"}
NDJSON = {**ADMIN, "Content-Type": "application/x-ndjson"}


@pytest.fixture(scope="module")
def campaign_app(server_url: str) -> Iterator[Any]:
    with scratch_database(server_url, "spinledger_campaigns") as url:
        flask_app = create_app(Settings(database_url=url, api_keys=API_KEYS), clock=FakeClock())
        yield flask_app
        flask_app.extensions["spinledger"].close()


@pytest.fixture
def client(campaign_app):  # type: ignore[no-untyped-def]
    return campaign_app.test_client()


def drain(campaign_app: Any) -> None:
    """Runs the queue's jobs until none is left, as ``spinledger worker`` runs them."""
    services = campaign_app.extensions["spinledger"]
    QueueWorker(services.settings.database_url, services.campaigns, concurrency=2, heartbeat_seconds=1, stalled_seconds=5,
                stalled_check_seconds=1).drain()


def define_campaign(client, promo_id: str, campaign_id: str | None = None, **overrides: Any) -> str:
    campaign_id = campaign_id or unique("campaign")
    body = {"name": "Weekly reactivation", "promo_id": promo_id, "award_value": 5, "game_code": GAME, **overrides}
    response = client.put(f"/api/v1/campaigns/{campaign_id}", json=body, headers=ADMIN)
    assert response.status_code == 201, response.json
    return campaign_id


def upload_csv(client, campaign_id: str, player_ids: list[str]):
    return client.post(f"/api/v1/campaigns/{campaign_id}/audience", data="player_id\n" + "\n".join(player_ids) + "\n", headers=CSV)


def campaign_awards(db_url: str, campaign_id: str) -> dict[str, int]:
    """FreeSpinsAwarded events by player, among the campaign's keys."""
    import psycopg

    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "SELECT convert_from(state, 'UTF8')::jsonb ->> 'player_id', count(*) FROM spinledger_events "
            "WHERE topic LIKE '%%FreeSpinsAwarded' AND convert_from(state, 'UTF8')::jsonb ->> 'idempotency_key' LIKE %s GROUP BY 1",
            [f"campaign:{campaign_id}:%"],
        ).fetchall()
    return {player: count for player, count in rows}


def all_results(client, campaign_id: str, outcome: str | None = None) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    after = None
    while True:
        query = f"limit=7{f'&outcome={outcome}' if outcome else ''}{f'&after={after}' if after else ''}"
        page = client.get(f"/api/v1/campaigns/{campaign_id}/results?{query}", headers=ADMIN).json
        found += page["data"]
        if not page["has_more"]:
            return found
        after = page["next_cursor"]


def test_a_campaign_awards_each_player_of_its_audience_once_with_the_rules_of_a_single_award(client, campaign_app):
    promo_id = define(client, budget_spins=5 * 30 + 8 * 3, per_player_daily_limit=10)
    eligible = [register(client) for _ in range(40)]
    abroad = [register(client, region="US-NY", currency="USD") for _ in range(3)]
    capped = eligible[:3]  # 8 of their 10 spins today are used: 5 more would pass the cap
    for player_id in capped:
        assert client.post("/api/v1/awards", json=award_json(player_id, promo_id, award_value=8), headers=ADMIN).status_code == 201
    unknown = [unique("nobody") for _ in range(2)]
    campaign_id = define_campaign(client, promo_id)

    first = upload_csv(client, campaign_id, eligible[:25] + abroad + [eligible[0]])  # a repeated id counts once
    assert first.status_code == 200, first.json
    assert first.json == {"campaign_id": campaign_id, "players_added": 28, "players_total": 28}
    second = client.post(f"/api/v1/campaigns/{campaign_id}/audience", headers=NDJSON,
                         data="".join(json.dumps({"player_id": p}) + "\n" for p in eligible[20:] + unknown))
    assert second.json == {"campaign_id": campaign_id, "players_added": 17, "players_total": 45}

    launched = client.post(f"/api/v1/campaigns/{campaign_id}/launch", headers=ADMIN)
    assert launched.status_code == 202
    assert launched.json == {"campaign_id": campaign_id, "status": "queued"}
    assert launched.headers["Location"] == f"/api/v1/campaigns/{campaign_id}"
    queued = client.get(f"/api/v1/campaigns/{campaign_id}", headers=ADMIN).json
    assert (queued["status"], queued["processed"], queued["progress"]) == ("queued", 0, 0.0)

    drain(campaign_app)

    status = client.get(f"/api/v1/campaigns/{campaign_id}", headers=ADMIN).json
    # 40 eligible: 3 over the cap; the budget left after the 3 earlier awards pays 30 of the other 37.
    assert status["status"] == "completed"
    assert (status["players_total"], status["processed"], status["awarded"], status["replayed"], status["refused"]) == (45, 45, 30, 0, 15)
    assert status["refused_by_code"] == {"RATE_LIMIT": 3, "REGION_BLOCKED": 3, "PLAYER_NOT_FOUND": 2, "BUDGET_EXHAUSTED": 7}
    assert status["progress"] == 1.0 and status["launched_at"] and status["finished_at"]
    awarded = all_results(client, campaign_id, "awarded")
    refused = all_results(client, campaign_id, "refused")
    assert len(awarded) == 30 and len(refused) == 15 and len(all_results(client, campaign_id)) == 45
    assert {r["player_id"] for r in refused if r["error_code"] == "RATE_LIMIT"} == set(capped)
    assert {r["player_id"] for r in refused if r["error_code"] == "REGION_BLOCKED"} == set(abroad)
    assert all(r["award_id"] == str(award_id_for_key(campaign_award_key(campaign_id, r["player_id"]))) for r in awarded)
    events = campaign_awards(campaign_app.extensions["spinledger"].settings.database_url, campaign_id)
    assert events == {r["player_id"]: 1 for r in awarded}
    promo = client.get(f"/api/v1/promotions/{promo_id}", headers=ADMIN).json
    assert promo["budget_left"] == 0

    again = client.post(f"/api/v1/campaigns/{campaign_id}/launch", headers=ADMIN)
    assert (again.status_code, again.json["status"]) == (202, "completed")
    drain(campaign_app)
    assert campaign_awards(campaign_app.extensions["spinledger"].settings.database_url, campaign_id) == events


def test_an_award_the_campaign_made_before_its_chunk_was_recorded_counts_as_awarded_and_another_callers_as_replayed(client, campaign_app):
    promo_id = define(client)
    players = [register(client) for _ in range(7)]
    campaign_id = define_campaign(client, promo_id)
    assert upload_csv(client, campaign_id, players).status_code == 200
    # As if a worker died after the awards of its chunk and before their outcomes: the campaign's own awards exist.
    ledger = campaign_app.extensions["spinledger"].ledger
    from domain.use_cases.campaigns import campaign_award_requests

    made = ledger.award_batch(campaign_award_requests(ledger.get_campaign(campaign_id), players[:2]))
    assert all(not r.replayed for r in made)
    # A marketing system that awarded two of them itself, under the campaign's keys: one on the campaign's terms,
    # one on others (the key then cannot be the campaign's award).
    for player_id, spins in ((players[2], 5), (players[3], 9)):
        direct = award_json(player_id, promo_id, key=campaign_award_key(campaign_id, player_id), award_value=spins, issued_at=None)
        assert client.post("/api/v1/awards", json=direct, headers=ADMIN).status_code == 201

    client.post(f"/api/v1/campaigns/{campaign_id}/launch", headers=ADMIN)
    drain(campaign_app)

    status = client.get(f"/api/v1/campaigns/{campaign_id}", headers=ADMIN).json
    assert (status["status"], status["awarded"], status["replayed"], status["refused"]) == ("completed", 5, 1, 1)
    assert status["refused_by_code"] == {"IDEMPOTENCY_KEY_REUSED": 1}
    assert [r["player_id"] for r in all_results(client, campaign_id, "replayed")] == [players[2]]
    assert [r["player_id"] for r in all_results(client, campaign_id, "refused")] == [players[3]]
    assert campaign_awards(campaign_app.extensions["spinledger"].settings.database_url, campaign_id) == {p: 1 for p in players}


def test_a_bad_line_is_refused_with_its_number_and_nothing_of_that_upload_is_kept(client, campaign_app):
    campaign_id = define_campaign(client, define(client))
    players = [register(client) for _ in range(3)]
    assert upload_csv(client, campaign_id, players[:1]).json["players_total"] == 1

    bad_id = upload_csv(client, campaign_id, [players[1], players[2], "not an id"])
    error = assert_envelope(bad_id, 400, "VALIDATION_ERROR", "audience")
    assert "line 4" in error["message"]
    two_fields = client.post(f"/api/v1/campaigns/{campaign_id}/audience", data=f"player_id\n{players[1]},x\n", headers=CSV)
    assert "line 2" in assert_envelope(two_fields, 400, "VALIDATION_ERROR", "audience")["message"]
    no_header = client.post(f"/api/v1/campaigns/{campaign_id}/audience", data=f"{players[1]}\n", headers=CSV)
    assert "line 1" in assert_envelope(no_header, 400, "VALIDATION_ERROR", "audience")["message"]
    extra_field = client.post(f"/api/v1/campaigns/{campaign_id}/audience", headers=NDJSON,
                              data=json.dumps({"player_id": players[1]}) + "\n" + json.dumps({"player_id": players[2], "vip": True}) + "\n")
    assert "line 2" in assert_envelope(extra_field, 400, "VALIDATION_ERROR", "audience")["message"]
    blank_inside = client.post(f"/api/v1/campaigns/{campaign_id}/audience", data=f"player_id\n{players[1]}\n\n{players[2]}\n", headers=CSV)
    assert "line 3" in assert_envelope(blank_inside, 400, "VALIDATION_ERROR", "audience")["message"]
    as_json = client.post(f"/api/v1/campaigns/{campaign_id}/audience", json={"player_id": players[1]}, headers=ADMIN)
    assert_envelope(as_json, 415, "UNSUPPORTED_MEDIA_TYPE")

    status = client.get(f"/api/v1/campaigns/{campaign_id}", headers=ADMIN).json
    assert status["players_total"] == 1
    assert upload_csv(client, campaign_id, players).json == {"campaign_id": campaign_id, "players_added": 2, "players_total": 3}
    assert_envelope(client.get(f"/api/v1/campaigns/{campaign_id}/results?after=not-a-cursor", headers=ADMIN), 400, "VALIDATION_ERROR", "after")


class ArrivingBody(io.BytesIO):
    """A request body that arrives a line at a time, noting at each line how many of the app's connections are
    out of its pool (a slow CRM upload over a long link)."""

    def __init__(self, lines: list[bytes], pool: Any):
        super().__init__(b"".join(lines))
        self.pool, self.connections_out = pool, []

    def _arrives(self, size: int) -> int:
        stats = self.pool.get_stats()
        self.connections_out.append(stats["pool_size"] - stats["pool_available"])
        rest = self.getbuffer()[self.tell():]
        line_end = bytes(rest[:max(size, 0) or len(rest)]).find(b"\n")
        return line_end + 1 if line_end >= 0 else (size if size and size > 0 else -1)

    def read(self, size: int | None = -1) -> bytes:
        return super().read(self._arrives(size or -1))

    def readline(self, size: int | None = -1) -> bytes:
        return super().read(self._arrives(size or -1))

    def readinto(self, buffer: Any) -> int:
        chunk = self.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def test_an_upload_still_arriving_holds_no_database_connection_lock_or_transaction(client, campaign_app):
    campaign_id = define_campaign(client, define(client))
    players = [register(client) for _ in range(20)]
    pool = campaign_app.extensions["spinledger"].ledger.recorder.datastore.pool
    body = ArrivingBody([b"player_id\n", *(f"{p}\n".encode() for p in players)], pool)
    response = client.post(f"/api/v1/campaigns/{campaign_id}/audience", input_stream=body, headers=CSV)
    assert response.status_code == 200, response.json
    assert response.json["players_total"] == 20
    assert len(body.connections_out) >= 21 and set(body.connections_out) == {0}, body.connections_out


def test_a_draft_may_change_its_terms_and_a_launched_campaign_may_not(client, campaign_app):
    promo_id = define(client)
    campaign_id = define_campaign(client, promo_id)
    terms = {"name": "Weekly reactivation", "promo_id": promo_id, "award_value": 5, "game_code": GAME}
    assert client.put(f"/api/v1/campaigns/{campaign_id}", json=terms, headers=ADMIN).status_code == 200
    changed = client.put(f"/api/v1/campaigns/{campaign_id}", json={**terms, "award_value": 7}, headers=ADMIN)
    assert (changed.status_code, changed.json["award_value"]) == (200, 7)
    assert_envelope(client.post(f"/api/v1/campaigns/{campaign_id}/launch", headers=ADMIN), 400, "VALIDATION_ERROR", "audience")
    assert upload_csv(client, campaign_id, [register(client)]).status_code == 200
    assert client.post(f"/api/v1/campaigns/{campaign_id}/launch", headers=ADMIN).status_code == 202

    assert client.put(f"/api/v1/campaigns/{campaign_id}", json={**terms, "award_value": 7}, headers=ADMIN).status_code == 200
    assert_envelope(client.put(f"/api/v1/campaigns/{campaign_id}", json={**terms, "award_value": 9}, headers=ADMIN),
                    409, "CAMPAIGN_NOT_EDITABLE", "campaign_id")
    assert_envelope(upload_csv(client, campaign_id, [register(client)]), 409, "CAMPAIGN_NOT_EDITABLE", "campaign_id")
    again = client.post(f"/api/v1/campaigns/{campaign_id}/launch", headers=ADMIN)
    assert (again.status_code, again.json["status"]) == (202, "queued")
    drain(campaign_app)
    status = client.get(f"/api/v1/campaigns/{campaign_id}", headers=ADMIN).json
    assert (status["status"], status["players_total"], status["awarded"]) == ("completed", 1, 1)


def test_a_cancelled_campaign_issues_nothing_it_had_not_issued(client, campaign_app):
    promo_id = define(client)
    campaign_id = define_campaign(client, promo_id)
    players = [register(client) for _ in range(4)]
    assert upload_csv(client, campaign_id, players).status_code == 200
    client.post(f"/api/v1/campaigns/{campaign_id}/launch", headers=ADMIN)
    cancelled = client.post(f"/api/v1/campaigns/{campaign_id}/cancel", json={"reason": "wrong segment"}, headers=ADMIN)
    assert (cancelled.status_code, cancelled.json["status"]) == (200, "cancelled")
    drain(campaign_app)
    status = client.get(f"/api/v1/campaigns/{campaign_id}", headers=ADMIN).json
    assert (status["status"], status["processed"], status["awarded"]) == ("cancelled", 0, 0)
    assert campaign_awards(campaign_app.extensions["spinledger"].settings.database_url, campaign_id) == {}
    assert client.post(f"/api/v1/campaigns/{campaign_id}/launch", headers=ADMIN).json["status"] == "cancelled"


def test_the_campaigns_steps_are_events_of_its_stream(client, campaign_app):
    promo_id = define(client)
    campaign_id = define_campaign(client, promo_id)
    upload_csv(client, campaign_id, [register(client)])
    client.post(f"/api/v1/campaigns/{campaign_id}/launch", headers=ADMIN)
    drain(campaign_app)
    ledger = campaign_app.extensions["spinledger"].ledger
    from domain.campaign import Campaign

    events = list(ledger.events.get(Campaign.stream_id(campaign_id)))
    assert [type(e).__name__ for e in events] == ["CampaignDefined", "AudienceAdded", "CampaignLaunched", "CampaignCompleted"]
    assert (events[1].added, events[1].players_total, len(events[1].digest)) == (1, 1, 64)
    assert (events[3].awarded, events[3].refused) == (1, 0)


def test_an_unknown_campaign_is_not_found_and_bad_terms_name_their_field(client):
    assert_envelope(client.get("/api/v1/campaigns/no-such-campaign", headers=ADMIN), 404, "CAMPAIGN_NOT_FOUND", "campaign_id")
    assert_envelope(client.post("/api/v1/campaigns/no-such-campaign/launch", headers=ADMIN), 404, "CAMPAIGN_NOT_FOUND", "campaign_id")
    body = {"name": "x", "promo_id": "p-1", "award_value": 5, "game_code": GAME}
    for field, value in (("award_value", 0), ("award_value", 2.5), ("name", ""), ("expires_at", "2020-01-01T00:00:00Z")):
        response = client.put(f"/api/v1/campaigns/{unique('c')}", json={**body, field: value}, headers=ADMIN)
        assert_envelope(response, 400, "VALIDATION_ERROR", field)
    assert_envelope(client.put(f"/api/v1/campaigns/{unique('c')}", json={**body, "vip": True}, headers=ADMIN), 400, "VALIDATION_ERROR", "vip")
    assert_envelope(client.put(f"/api/v1/campaigns/{unique('c')}", json=body, headers=ADMIN), 404, "PROMO_NOT_FOUND", "promo_id")
    other_game = client.put(f"/api/v1/campaigns/{unique('c')}", json={**body, "promo_id": define(client), "game_code": "another-game"}, headers=ADMIN)
    assert_envelope(other_game, 400, "VALIDATION_ERROR", "game_code")
    assert_envelope(client.get("/api/v1/campaigns/x/results?outcome=maybe", headers=ADMIN), 400, "VALIDATION_ERROR", "outcome")



def test_the_cli_prints_a_campaigns_figures_as_the_api_gives_them(client, campaign_app):
    import os
    import subprocess
    import sys

    promo_id = define(client, budget_spins=10)
    campaign_id = define_campaign(client, promo_id)
    upload_csv(client, campaign_id, [register(client) for _ in range(3)])
    client.post(f"/api/v1/campaigns/{campaign_id}/launch", headers=ADMIN)
    drain(campaign_app)
    env = {**os.environ, "DATABASE_URL": campaign_app.extensions["spinledger"].settings.database_url}

    done = subprocess.run([sys.executable, "-m", "app.cli", "campaigns", "status", campaign_id], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert f"campaign {campaign_id} (Weekly reactivation): completed" in done.stdout
    assert "players 3, processed 3 (100.0%)" in done.stdout
    assert "awarded 2, replayed 0, refused 1" in done.stdout and "BUDGET_EXHAUSTED: 1" in done.stdout
    assert "3/3" in done.stderr  # the bar
    missing = subprocess.run([sys.executable, "-m", "app.cli", "campaigns", "status", "no-such-campaign"], env=env,
                             capture_output=True, text=True, timeout=60)
    assert (missing.returncode, missing.stderr.strip()) == (2, "spinledger: no campaign 'no-such-campaign'")


def test_a_chunk_failing_on_its_last_attempt_fails_the_campaign_and_a_relaunch_finishes_it(client, campaign_app):
    import psycopg

    services = campaign_app.extensions["spinledger"]
    promo_id = define(client)
    players = [register(client) for _ in range(3)]
    campaign_id = define_campaign(client, promo_id)
    upload_csv(client, campaign_id, players)
    client.post(f"/api/v1/campaigns/{campaign_id}/launch", headers=ADMIN)
    with psycopg.connect(services.settings.database_url, autocommit=True) as conn:
        conn.execute("ALTER TABLE campaign_results RENAME TO campaign_results_away")  # the chunk's outcomes cannot be written
        try:
            with pytest.raises(Exception):
                services.campaigns.issue_chunk(campaign_id, 0, final_attempt=True)
        finally:
            conn.execute("ALTER TABLE campaign_results_away RENAME TO campaign_results")
    failed = client.get(f"/api/v1/campaigns/{campaign_id}", headers=ADMIN).json
    assert failed["status"] == "failed" and failed["finished_at"]

    drain(campaign_app)  # the chunk's job finds a failed campaign: nothing to do
    assert client.get(f"/api/v1/campaigns/{campaign_id}", headers=ADMIN).json["status"] == "failed"
    relaunched = client.post(f"/api/v1/campaigns/{campaign_id}/launch", headers=ADMIN)
    assert (relaunched.status_code, relaunched.json["status"]) == (202, "queued")
    drain(campaign_app)
    done = client.get(f"/api/v1/campaigns/{campaign_id}", headers=ADMIN).json
    # The failed attempt made its awards before it could not write them down: they are the campaign's own.
    assert (done["status"], done["awarded"], done["replayed"], done["processed"]) == ("completed", 3, 0, 3)
    assert campaign_awards(services.settings.database_url, campaign_id) == {p: 1 for p in players}
    from domain.campaign import Campaign

    kinds = [type(e).__name__ for e in services.ledger.events.get(Campaign.stream_id(campaign_id))]
    assert kinds == ["CampaignDefined", "AudienceAdded", "CampaignLaunched", "CampaignFailed", "CampaignLaunched", "CampaignCompleted"]


def test_a_campaign_whose_chunks_were_recorded_but_whose_completion_was_not_completes_when_launched_or_run_again(client, campaign_app):
    from app.campaign_store import CampaignStore, PlayerOutcome

    services = campaign_app.extensions["spinledger"]
    store = CampaignStore(services.ledger.recorder.datastore)
    for finish in ("launch", "run"):
        campaign_id = define_campaign(client, define(client))
        players = [register(client) for _ in range(2)]
        upload_csv(client, campaign_id, players)
        client.post(f"/api/v1/campaigns/{campaign_id}/launch", headers=ADMIN)
        # As a worker killed after the chunk's outcomes were committed and before CampaignCompleted was recorded.
        chunk, pending = store.start_chunk(campaign_id, 0, services.clock.now())
        store.finish_chunk(campaign_id, chunk, [PlayerOutcome(p, pid, "refused", error_code="INELIGIBLE") for p, pid in pending],
                           services.clock.now())
        assert client.get(f"/api/v1/campaigns/{campaign_id}", headers=ADMIN).json["status"] == "running"
        if finish == "launch":
            assert client.post(f"/api/v1/campaigns/{campaign_id}/launch", headers=ADMIN).json["status"] == "completed"
        else:
            drain(campaign_app)  # the chunk's job, run again, finds its chunk done and the campaign too
        status = client.get(f"/api/v1/campaigns/{campaign_id}", headers=ADMIN).json
        assert (status["status"], status["processed"], status["refused_by_code"]) == ("completed", 2, {"INELIGIBLE": 2}), finish
    drain(campaign_app)


def test_a_cancelled_draft_takes_no_more_terms_or_players_and_ids_cannot_make_keys_collide(client):
    promo_id = define(client)
    campaign_id = define_campaign(client, promo_id)
    assert client.post(f"/api/v1/campaigns/{campaign_id}/cancel", json={}, headers=ADMIN).json["status"] == "cancelled"
    terms = {"name": "Weekly reactivation", "promo_id": promo_id, "award_value": 6, "game_code": GAME}
    assert_envelope(client.put(f"/api/v1/campaigns/{campaign_id}", json=terms, headers=ADMIN), 409, "CAMPAIGN_NOT_EDITABLE", "campaign_id")
    assert_envelope(upload_csv(client, campaign_id, [register(client)]), 409, "CAMPAIGN_NOT_EDITABLE", "campaign_id")
    # campaign "x" with player "y:z" and campaign "x:y" with player "z" would share the key campaign:x:y:z
    assert_envelope(client.put("/api/v1/campaigns/x:y", json=terms, headers=ADMIN), 400, "VALIDATION_ERROR", "campaign_id")
    empty = client.post(f"/api/v1/campaigns/{define_campaign(client, promo_id)}/audience", data="player_id\n", headers=CSV)
    assert_envelope(empty, 400, "VALIDATION_ERROR", "audience")
