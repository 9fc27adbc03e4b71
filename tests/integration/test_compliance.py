"""Compliance on PostgreSQL: every stored spin replays to its stored outcome, a tampered one does not, and
the event history's cursor pages every matching event once, in order, while writers append."""

from __future__ import annotations

import json
import threading
import time
from decimal import Decimal
from uuid import UUID

from app.bootstrap import build_ledger
from domain.player import Player
from domain.requests import FundsRequest
from domain.slot.crystal_forge import CRYSTAL_FORGE as GAME
from domain.results import AwardOutcome
from projections.catalogue import build
from projections.runner import ProjectionWorker, position_of
from projections.source import EventSource
from tests.integration.test_projections import mixed_load
from tests.support import COMPLIANCE, adult, award_request, spin_command, terms, unique


def settled_spins(ledger, player_id):
    stream_id = Player.stream_id(player_id)
    return [(e.spin["spin_id"], stream_id, e.originator_version) for e in ledger.events.get(stream_id) if isinstance(e, Player.SpinSettled)]


def test_every_spin_of_a_mixed_load_replays_to_its_stored_outcome(scripted_ledger, stops, clock):
    ledger = scripted_ledger
    players, _ = mixed_load(ledger, stops, clock)
    spins = [spin for player_id in players for spin in settled_spins(ledger, player_id)]
    assert len(spins) == 4 * 29
    fundings = set()
    for spin_id, stream_id, version in spins:
        replay = ledger.replay_spin(ledger.spin_record(spin_id, stream_id, version))
        assert replay.matches, (spin_id, replay.mismatches)
        assert replay.recomputed["total_win"] == replay.spin.record["total_win"]
        fundings.add(replay.spin.record["funding"])
    assert fundings == {"cash", "award", "bonus"}


def tamper(url, stream_id, version, change):
    """Rewrites the stored state of one event, as someone with write access to the table could."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        (state,) = conn.execute(
            "SELECT state FROM spinledger_events WHERE originator_id = %s AND originator_version = %s", [stream_id, version]
        ).fetchone()
        stored = json.loads(state)
        change(stored["spin"])
        conn.execute(
            "UPDATE spinledger_events SET state = %s WHERE originator_id = %s AND originator_version = %s",
            [json.dumps(stored).encode(), stream_id, version],
        )


def test_a_tampered_stored_outcome_replays_with_matches_false(own_database, clock, stops):
    ledger = build_ledger(own_database, clock, stops)
    try:
        player_id = unique("player")
        ledger.register_player(player_id, adult())
        ledger.move_funds(FundsRequest(player_id, "deposit", unique("tx"), Decimal("50.00"), "CAD"))
        for _ in range(3):
            ledger.spin(GAME, spin_command(player_id, "1.00"))
        (first, second, third) = settled_spins(ledger, player_id)

        def more_win(spin):
            spin["total_win"]["_data_"] = str(Decimal(spin["total_win"]["_data_"]) + Decimal("5.00"))

        def other_stops(spin):
            spin["reel_stops"] = [(stop + 1) % 10 for stop in spin["reel_stops"]]

        tamper(own_database, first[1], first[2], more_win)
        tamper(own_database, second[1], second[2], other_stops)
        replays = [ledger.replay_spin(ledger.spin_record(*spin)) for spin in (first, second, third)]
        assert [r.matches for r in replays] == [False, False, True]
        assert replays[0].mismatches == ["total_win"]  # the balance the player was left with still says the truth
        assert "grid" in replays[1].mismatches
    finally:
        ledger.close()


def test_the_event_cursor_pages_every_matching_event_once_in_order_while_writers_append(app, client):
    ledger = app.extensions["spinledger"].ledger
    datastore = ledger.recorder.datastore
    promo_id = unique("promo")
    ledger.define_promotion(promo_id, terms(budget_spins=1_000_000, award_ttl_seconds=86400))
    players = [unique("player") for _ in range(20)]
    for player_id in players:
        ledger.register_player(player_id, adult())
    index = build(datastore, "event_index")
    worker = ProjectionWorker(datastore, [index], poll_seconds=0.05)
    worker.start()
    granted: list[UUID] = []
    writing = [threading.Thread(target=lambda n=n: granted.extend(write_awards(ledger, players, promo_id, n))) for n in range(2)]
    selection = f"/api/v1/events?promo_id={promo_id}&type=FreeSpinsAwarded&limit=137"
    seen: list[int] = []
    cursor = ""
    try:
        for thread in writing:
            thread.start()
        while True:
            page = client.get(selection + (f"&after={cursor}" if cursor else ""), headers=COMPLIANCE)
            assert page.status_code == 200, page.json
            body = page.json
            assert len(body["data"]) <= 137 and all(e["type"] == "FreeSpinsAwarded" and e["promo_id"] == promo_id for e in body["data"])
            seen += [event["position"] for event in body["data"]]
            cursor = body["next_cursor"] or cursor
            if body["has_more"]:
                continue
            if not any(t.is_alive() for t in writing) and position_of(index) >= EventSource(datastore).head() and not body["data"]:
                break  # the writers are done, the index holds every event, and the last page found nothing new
            time.sleep(0.02)
    finally:
        for thread in writing:
            thread.join()
        worker.stop()
    with datastore.get_connection() as conn:
        truth = [r["notification_id"] for r in conn.execute(
            "SELECT notification_id FROM spinledger_events WHERE originator_id = ANY(%s) AND originator_version = 1 ORDER BY 1", [granted]
        )]
    assert len(truth) == 5000
    assert seen == truth  # every matching event, once, in position order


def write_awards(ledger, players, promo_id, writer):
    granted = []
    for call in range(10):
        results = ledger.award_batch([
            award_request(players[i % len(players)], promo_id, f"page-{promo_id}-{writer}-{call}-{i}") for i in range(250)
        ])
        assert all(isinstance(r, AwardOutcome) for r in results), [r for r in results if not isinstance(r, AwardOutcome)][:1]
        granted += [UUID(r.receipt.award_id) for r in results]
    return granted
