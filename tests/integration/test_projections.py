"""The projections on PostgreSQL: they equal a recomputation from the events, survive a crash mid-batch,
and a rebuild from position zero produces the same views."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from uuid import UUID

import pytest

from domain.player import Player
from domain.requests import FundsRequest
from domain.slot.crystal_forge import CRYSTAL_FORGE as GAME
from projections.awards import award_status_sql
from projections.catalogue import PROJECTIONS, build
from projections.promotions import promotion_totals_sql
from projections.runner import catch_up, catch_up_step, position_of
from projections.source import EventSource, plain
from tests.support import NO_SCATTER, THREE_SCATTERS, adult, award_request, spin_command, terms, unique


def mixed_load(ledger, stops, clock) -> list[str]:
    """Awards, deposits, withdrawals, cash and free spins, bonus blocks, award spins, a cancellation, an
    expiry, a self-exclusion: every kind of event the service records."""
    players = [unique("player") for _ in range(4)]
    promo_id = unique("promo")
    ledger.define_promotion(promo_id, terms(award_ttl_seconds=3600))
    for number, player_id in enumerate(players):
        ledger.register_player(player_id, adult())
        ledger.move_funds(FundsRequest(player_id, "deposit", unique("tx"), Decimal("200.00"), "CAD"))
        award_id = ledger.award_free_spins(award_request(player_id, promo_id, award_value=4)).receipt.award_id
        stops.plan(THREE_SCATTERS, THREE_SCATTERS, *[NO_SCATTER] * (19 + 3 + 5))  # a block with a retrigger, then no more
        ledger.spin(GAME, spin_command(player_id, "2.00"))
        block_id = ledger.game_state(GAME, player_id).block["block_id"]
        for _ in range(20):
            ledger.bonus_spin(GAME, spin_command(player_id, None, currency=None, block_id=block_id))
        for _ in range(3):
            ledger.spin(GAME, spin_command(player_id, None, currency=None, award_id=award_id))
        for _ in range(5):
            ledger.spin(GAME, spin_command(player_id, "0.40"))
        ledger.move_funds(FundsRequest(player_id, "withdrawal", unique("tx"), Decimal("10.00"), "CAD"))
        if number == 1:
            ledger.cancel_award(UUID(award_id), "campaign withdrawn")
        if number == 2:
            ledger.start_self_exclusion(player_id, "6m")
    ledger.award_free_spins(award_request(players[0], promo_id, award_value=6))
    clock.advance(hours=2)  # the late award expires unplayed
    return players, promo_id


def build_all(ledger, prefix=""):
    source = EventSource(ledger.recorder.datastore)
    projections = {name: build(ledger.recorder.datastore, name, prefix=prefix) for name in PROJECTIONS}
    for projection in projections.values():
        catch_up(projection, source)
    return projections


def rows(ledger, sql, params=None):
    with ledger.recorder.datastore.get_connection() as conn:
        return conn.execute(sql, params or {}).fetchall()


def test_the_projections_equal_a_recomputation_from_the_events(scripted_ledger, stops, clock):
    ledger = scripted_ledger
    players, promo_id = mixed_load(ledger, stops, clock)
    build_all(ledger)
    for player_id in players:
        stream = Player.stream_id(player_id)
        events = list(ledger.events.get(stream))
        (wallet,) = rows(ledger, "SELECT * FROM wallet WHERE player_id = %(p)s", {"p": player_id})
        spins = [e.spin for e in events if type(e).__name__ == "SpinSettled"]
        assert wallet["balance"] == ledger.get_player(player_id).balance
        assert wallet["deposits"] == sum((e.amount for e in events if type(e).__name__ == "FundsDeposited"), Decimal(0))
        assert wallet["withdrawals"] == sum((e.amount for e in events if type(e).__name__ == "FundsWithdrawn"), Decimal(0))
        assert wallet["bets"] == sum((s["debited"] for s in spins), Decimal(0))
        assert wallet["wins"] == sum((s["total_win"] for s in spins), Decimal(0))
        assert wallet["spins"] == len(spins) == 29
        assert wallet["deposits"] - wallet["withdrawals"] - wallet["bets"] + wallet["wins"] == wallet["balance"]
        (bonus,) = rows(ledger, "SELECT block FROM bonus_blocks WHERE player_id = %(p)s", {"p": player_id})
        assert bonus["block"] is None  # every block was played out
        now = clock.now()
        for award_id in ledger._get_player(player_id).award_ids:
            expected = ledger.get_award(UUID(award_id))
            (row,) = rows(ledger, award_status_sql() + " WHERE award_id = %(a)s", {"a": award_id, "now": now})
            assert (row["status"], row["spins_used"], row["spins_remaining"], row["spins_forfeited"], row["total_win"]) == (
                expected.status, expected.spins_used, expected.spins_remaining, expected.spins_forfeited, expected.total_win)
    scoped = {"now": clock.now(), "promo": promo_id}
    statuses = sorted(r["status"] for r in rows(ledger, award_status_sql() + " WHERE promo_id = %(promo)s", scoped))
    assert statuses == ["cancelled", "cancelled", "expired", "expired", "expired"]  # a cancellation, a self-exclusion
    totals = f"SELECT * FROM ({promotion_totals_sql()}) t WHERE promo_id = %(promo)s"
    (promo,) = rows(ledger, totals, scoped)
    assert (promo["spins_awarded"], promo["spins_used"], promo["spins_cancelled"], promo["spins_expired"]) == (22, 12, 2, 8)
    assert promo["liability"] == 0 and promo["budget_left"] == 10_000 - 22
    (before_expiry,) = rows(ledger, totals, {**scoped, "now": clock.now() - timedelta(hours=1, minutes=30)})
    assert before_expiry["liability"] == Decimal("1.60") and before_expiry["spins_expired"] == 0  # 8 unplayed spins at 0.20
    (recorded,) = rows(ledger, "SELECT count(*) AS n, max(notification_id) AS last FROM spinledger_events")
    (indexed,) = rows(ledger, "SELECT count(*) AS n, max(position) AS last FROM event_index")
    assert indexed == recorded  # one row per event (ids have gaps where an append was refused)
    for player_id in players:
        types = {r["type"] for r in rows(ledger, "SELECT type FROM event_index WHERE player_id = %(p)s", {"p": player_id})}
        assert {"PlayerRegistered", "FundsDeposited", "SpinSettled", "BlockCompleted", "FreeSpinsAwarded", "AwardSpinPlayed"} <= types


# The promotion figures by definition: every award row of the promotion summed as of %(now)s.
SUMMED_FROM_AWARD_ROWS = """
    SELECT promo_id, sum(spins_awarded) AS spins_awarded, sum(spins_used) AS spins_used,
           coalesce(sum(spins_forfeited) FILTER (WHERE cancelled_at IS NOT NULL), 0) AS spins_cancelled,
           coalesce(sum(spins_awarded - spins_used - spins_forfeited) FILTER (WHERE cancelled_at IS NULL AND expires_at <= %(now)s), 0)
               AS spins_expired,
           coalesce(sum((spins_awarded - spins_used - spins_forfeited) * bet_per_spin)
                    FILTER (WHERE cancelled_at IS NULL AND expires_at > %(now)s), 0) AS liability,
           sum(total_win) AS wins_paid
    FROM promotion_awards WHERE promo_id = %(promo)s GROUP BY promo_id
"""
FIGURES = ("spins_awarded", "spins_used", "spins_cancelled", "spins_expired", "liability", "wins_paid")


def promotion_figures(ledger, sql, promo_id, now):
    (row,) = rows(ledger, f"SELECT * FROM ({sql}) p WHERE promo_id = %(promo)s", {"promo": promo_id, "now": now})
    return {field: row[field] for field in FIGURES}


@pytest.mark.parametrize("batch_size", [1, 7, 10_000])
def test_a_promotions_running_totals_equal_its_award_rows_summed_at_any_instant_before_and_after_expiry_is_recorded(
        scripted_ledger, stops, clock, batch_size):
    ledger = scripted_ledger
    players, promo_id = mixed_load(ledger, stops, clock)
    source = EventSource(ledger.recorder.datastore)
    promotions = build(ledger.recorder.datastore, "promotions")
    while catch_up_step(promotions, source, source.head(), batch_size):  # awards and their spins split across batches, or in one
        pass
    now = clock.now()
    instants = [now - timedelta(hours=3), now - timedelta(hours=1, minutes=30), now, now + timedelta(days=30)]
    for instant in instants:  # the late award is past its expiry, not yet recorded expired
        assert promotion_figures(ledger, promotion_totals_sql(), promo_id, instant) == promotion_figures(
            ledger, SUMMED_FROM_AWARD_ROWS, promo_id, instant)
    expired = promotion_figures(ledger, promotion_totals_sql(), promo_id, now)
    assert expired["spins_expired"] > 0 and expired["spins_cancelled"] > 0 and expired["wins_paid"] > 0
    late = [UUID(a) for p in players for a in ledger._get_player(p).award_ids]
    assert ledger.expire_awards(late)[0] >= 1  # the expiry job records it
    while catch_up_step(promotions, source, source.head(), batch_size):
        pass
    (recorded,) = rows(ledger, "SELECT count(*) AS n FROM promotion_awards WHERE promo_id = %(promo)s AND expiry_recorded_at IS NOT NULL",
                       {"promo": promo_id})
    assert recorded["n"] >= 1
    for instant in instants:  # and asked of an instant before the expiry, the recorded one is a liability again
        assert promotion_figures(ledger, promotion_totals_sql(), promo_id, instant) == promotion_figures(
            ledger, SUMMED_FROM_AWARD_ROWS, promo_id, instant)
    assert promotion_figures(ledger, promotion_totals_sql(), promo_id, now) == expired


def test_the_event_index_holds_each_event_as_the_domain_decodes_it(scripted_ledger, stops, clock):
    ledger = scripted_ledger
    mixed_load(ledger, stops, clock)
    build_all(ledger)
    source = EventSource(ledger.recorder.datastore)
    indexed = {row["position"]: row for row in rows(ledger, "SELECT * FROM event_index")}
    events = source.read(0, source.head(), 100_000).events
    assert len(events) == len(indexed) > 100
    for event, tracking in events:
        row = indexed[tracking.notification_id]
        fields = {k: v for k, v in vars(event).items() if k not in ("originator_id", "originator_version")}
        assert row["payload"] == plain(fields)
        assert (row["type"], row["stream_id"], row["version"], row["occurred_at"]) == (
            type(event).__name__, event.originator_id, event.originator_version, event.timestamp)


def table_contents(ledger, view, prefix=""):
    """Every row of every table of a view, in primary-key order, and its tracking position."""
    contents = {}
    for table in view.tables:
        contents[table] = rows(ledger, f"SELECT * FROM {prefix}{table} ORDER BY 1")
    return contents


def test_a_crash_in_the_middle_of_a_batch_loses_nothing_and_applies_nothing_twice(scripted_ledger, stops, clock, monkeypatch):
    ledger = scripted_ledger
    mixed_load(ledger, stops, clock)
    source = EventSource(ledger.recorder.datastore)
    reference = build_all(ledger, prefix="ref_")
    for name in PROJECTIONS:
        projection = build(ledger.recorder.datastore, name, prefix="crash_")
        batches = {"n": 0}
        original = type(projection.view).write

        def failing_write(view, cursor, events, positions, _original=original):
            _original(view, cursor, events, positions)  # the rows are written ...
            batches["n"] += 1
            if batches["n"] == 3:
                raise ConnectionError("killed mid-batch")  # ... and the process dies before the commit

        monkeypatch.setattr(type(projection.view), "write", failing_write)
        with pytest.raises(ConnectionError):
            while catch_up_step(projection, source, source.head(), batch=5):
                pass
        stopped_at = position_of(projection)
        monkeypatch.undo()
        catch_up(projection, source)  # restarted: from the stored position
        assert 0 < stopped_at < position_of(projection) == position_of(reference[name])
        assert table_contents(ledger, projection.view, "crash_") == table_contents(ledger, reference[name].view, "ref_"), name


def test_a_rebuild_from_position_zero_equals_the_incrementally_built_views(scripted_ledger, stops, clock):
    ledger = scripted_ledger
    source = EventSource(ledger.recorder.datastore)
    incremental = {name: build(ledger.recorder.datastore, name, prefix="inc_") for name in PROJECTIONS}
    for _ in range(2):  # built while the events arrive, a page at a time
        mixed_load(ledger, stops, clock)
        for projection in incremental.values():
            while catch_up_step(projection, source, source.head(), batch=7):
                pass
    rebuilt = build_all(ledger, prefix="full_")
    for name in PROJECTIONS:
        assert table_contents(ledger, incremental[name].view, "inc_") == table_contents(ledger, rebuilt[name].view, "full_"), name


def test_the_worker_follows_new_events_and_restarts_a_failed_projection(scripted_ledger, stops, clock, monkeypatch):
    import time

    from projections.runner import ProjectionWorker
    from projections.wallet import WalletView

    ledger = scripted_ledger
    datastore = ledger.recorder.datastore
    projections = [build(datastore, name, prefix="live_") for name in PROJECTIONS]
    failures = {"left": 1}
    original = WalletView.write

    def fails_once(view, cursor, events, positions):
        if view.prefix == "live_" and failures["left"]:
            failures["left"] -= 1
            raise RuntimeError("a bad moment")
        original(view, cursor, events, positions)

    monkeypatch.setattr(WalletView, "write", fails_once)
    worker = ProjectionWorker(datastore, projections, poll_seconds=0.2, max_backoff=0.5)
    worker.start()
    try:
        mixed_load(ledger, stops, clock)
        head = EventSource(datastore).head()
        deadline = time.monotonic() + 60
        while any(position_of(p) < head for p in projections) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        worker.stop()
    assert [position_of(p) for p in projections] == [head] * len(projections)
    assert worker.progress["wallet"].restarts == 1 and "a bad moment" in worker.progress["wallet"].last_error
    reference = build_all(ledger, prefix="after_")
    for projection in projections:
        assert table_contents(ledger, projection.view, "live_") == table_contents(ledger, reference[projection.name].view, "after_")


def test_rebuild_swaps_a_view_rebuilt_from_zero_in_place_of_the_old_one(scripted_ledger, stops, clock):
    from projections.rebuild import rebuild

    ledger = scripted_ledger
    datastore = ledger.recorder.datastore
    mixed_load(ledger, stops, clock)
    build_all(ledger)
    rows(ledger, "SELECT 1")  # the canonical views exist and are current
    with datastore.transaction(commit=True) as cursor:  # damage the live view
        cursor.execute("UPDATE wallet SET balance = balance + 1")
    expected = build_all(ledger, prefix="expect_")
    moved = []
    position = rebuild(datastore, "wallet", moved.append)
    assert sum(moved) == position == EventSource(datastore).head()
    live = build(datastore, "wallet")
    assert table_contents(ledger, live.view) == table_contents(ledger, expected["wallet"].view, "expect_")
    assert position_of(live) == position
    leftovers = rows(ledger, "SELECT tablename FROM pg_tables WHERE tablename LIKE 'rebuild\\_%%'")
    assert leftovers == []


def test_every_rebuilt_view_gets_back_all_its_indexes_under_their_own_names(scripted_ledger, stops, clock):
    from projections.rebuild import rebuild

    ledger = scripted_ledger
    datastore = ledger.recorder.datastore
    mixed_load(ledger, stops, clock)
    built = build_all(ledger)
    before = {name: table_contents(ledger, projection.view) for name, projection in built.items()}
    for name, projection in built.items():
        rebuild(datastore, name)
        view = projection.view
        names = {r["indexname"] for r in rows(ledger, "SELECT indexname FROM pg_indexes WHERE tablename = ANY(%(t)s)", {"t": list(view.tables)})}
        assert names == {f"{table}_pkey" for table in view.tables} | set(view.indexes), name
        assert table_contents(ledger, view) == before[name], name


def test_catching_up_a_few_events_a_page_read_ahead_of_the_writes_equals_catching_up_in_one_page(
    scripted_ledger, stops, clock
):
    ledger = scripted_ledger
    mixed_load(ledger, stops, clock)
    source = EventSource(ledger.recorder.datastore)
    whole = build_all(ledger, prefix="whole_")
    for name in PROJECTIONS:
        paged = build(ledger.recorder.datastore, name, prefix="paged_")
        catch_up(paged, source, batch=3)
        assert position_of(paged) == position_of(whole[name]) == source.head(), name
        assert table_contents(ledger, paged.view, "paged_") == table_contents(ledger, whole[name].view, "whole_"), name


def test_the_event_index_forgetting_the_streams_it_remembered_indexes_each_event_under_its_streams_player(
    scripted_ledger, stops, clock, monkeypatch
):
    import projections.event_index

    ledger = scripted_ledger
    mixed_load(ledger, stops, clock)
    source = EventSource(ledger.recorder.datastore)
    reference = build(ledger.recorder.datastore, "event_index", prefix="ref_")
    catch_up(reference, source)
    monkeypatch.setattr(projections.event_index, "STREAMS_REMEMBERED", 2)  # forgets them in nearly every batch
    forgetful = build(ledger.recorder.datastore, "event_index", prefix="forgetful_")
    catch_up(forgetful, source, batch=3)
    assert table_contents(ledger, forgetful.view, "forgetful_") == table_contents(ledger, reference.view, "ref_")
