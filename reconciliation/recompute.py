"""The totals, recomputed straight from the events: a second opinion that shares no code with the views.

PostgreSQL does the recomputation, over the stored events' own JSON (``state``), in the same snapshot the
views are read in: per player, per award and per promotion, from the events up to the position the view
being checked has reached. Each result is joined with its view and streamed back a row at a time, so
memory stays flat however many events, players or awards there are.

A stored value is the event's attribute as the library encodes it: money and instants are objects
``{"_type_": ..., "_data_": "<text>"}``, hence ``->'amount'->>'_data_'``.
"""

from __future__ import annotations

from eventsourcing.utils import get_topic

from domain.award import Award
from domain.player import Player

TOPICS = {cls.__name__: get_topic(cls) for cls in (
    Player.PlayerRegistered, Player.FundsDeposited, Player.FundsWithdrawn, Player.SpinSettled,
    Award.FreeSpinsAwarded, Award.AwardSpinPlayed, Award.AwardCancelled,
)}


def _events(*kinds: str) -> str:
    topics = ", ".join(f"'{TOPICS[kind]}'" for kind in kinds)
    return (
        "SELECT originator_id, split_part(topic, '.', 3) AS kind, convert_from(state, 'UTF8')::jsonb AS j"
        f" FROM spinledger_events WHERE notification_id <= %(position)s AND topic IN ({topics})"
    )


def money(path: str) -> str:
    return f"({path}->>'_data_')::numeric"


PLAYERS = f"""
    WITH expected AS (
        SELECT originator_id AS stream_id,
               max(j->>'player_id') FILTER (WHERE kind = 'PlayerRegistered') AS player_id,
               coalesce(sum({money("j->'amount'")}) FILTER (WHERE kind = 'FundsDeposited'), 0) AS deposits,
               coalesce(sum({money("j->'amount'")}) FILTER (WHERE kind = 'FundsWithdrawn'), 0) AS withdrawals,
               coalesce(sum({money("j->'spin'->'debited'")}) FILTER (WHERE kind = 'SpinSettled'), 0) AS bets,
               coalesce(sum({money("j->'spin'->'total_win'")}) FILTER (WHERE kind = 'SpinSettled'), 0) AS wins,
               count(*) FILTER (WHERE kind = 'SpinSettled') AS spins
        FROM ({_events("PlayerRegistered", "FundsDeposited", "FundsWithdrawn", "SpinSettled")}) e
        GROUP BY originator_id
    )
    SELECT coalesce(e.player_id, w.player_id, coalesce(e.stream_id, w.stream_id)::text) AS id,
           e.stream_id IS NOT NULL AS expected_row, w.stream_id IS NOT NULL AS actual_row,
           e.deposits AS e_deposits, e.withdrawals AS e_withdrawals, e.bets AS e_bets, e.wins AS e_wins, e.spins AS e_spins,
           e.deposits - e.withdrawals - e.bets + e.wins AS e_balance,
           w.deposits AS a_deposits, w.withdrawals AS a_withdrawals, w.bets AS a_bets, w.wins AS a_wins, w.spins AS a_spins,
           w.balance AS a_balance
    FROM expected e FULL JOIN wallet w ON w.stream_id = e.stream_id
"""

_REMAINING = """CASE WHEN {p}cancelled OR {p}spins_used >= {p}spins_awarded THEN {p}spins_awarded - {p}spins_used - {p}spins_cancelled
                     WHEN %(as_of)s >= {p}expires_at THEN 0
                     ELSE {p}spins_awarded - {p}spins_used - {p}spins_cancelled END"""


def remaining(prefix: str) -> str:
    return _REMAINING.format(p=prefix)


def expected_awards() -> str:
    return f"""
        SELECT originator_id AS award_id,
               max(j->>'promo_id') FILTER (WHERE kind = 'FreeSpinsAwarded') AS promo_id,
               max((j->>'spins')::int) FILTER (WHERE kind = 'FreeSpinsAwarded') AS spins_awarded,
               max({money("j->'bet_per_spin'")}) FILTER (WHERE kind = 'FreeSpinsAwarded') AS bet_per_spin,
               max((j->'expires_at'->>'_data_')::timestamptz) FILTER (WHERE kind = 'FreeSpinsAwarded') AS expires_at,
               count(*) FILTER (WHERE kind = 'AwardSpinPlayed' AND j->>'funding' = 'award') AS spins_used,
               coalesce(sum({money("j->'win'")}) FILTER (WHERE kind = 'AwardSpinPlayed'), 0) AS total_win,
               coalesce(sum((j->>'spins_forfeited')::int) FILTER (WHERE kind = 'AwardCancelled'), 0) AS spins_cancelled,
               coalesce(bool_or(kind = 'AwardCancelled'), false) AS cancelled
        FROM ({_events("FreeSpinsAwarded", "AwardSpinPlayed", "AwardCancelled")}) e
        GROUP BY originator_id
        HAVING bool_or(kind = 'FreeSpinsAwarded')
    """


def viewed_awards(table: str) -> str:
    return f"""
        SELECT award_id, promo_id, spins_awarded, bet_per_spin, expires_at, spins_used, total_win,
               spins_forfeited AS spins_cancelled, cancelled_at IS NOT NULL AS cancelled
        FROM {table}
    """


AWARDS = f"""
    WITH e AS ({expected_awards()}), a AS ({viewed_awards("award_status")})
    SELECT coalesce(e.award_id, a.award_id)::text AS id,
           e.award_id IS NOT NULL AS expected_row, a.award_id IS NOT NULL AS actual_row,
           e.spins_awarded AS e_spins_awarded, e.spins_used AS e_spins_used, e.total_win AS e_total_win,
           e.spins_cancelled AS e_spins_forfeited, {remaining("e.")} AS e_spins_remaining,
           a.spins_awarded AS a_spins_awarded, a.spins_used AS a_spins_used, a.total_win AS a_total_win,
           a.spins_cancelled AS a_spins_forfeited, {remaining("a.")} AS a_spins_remaining
    FROM e FULL JOIN a ON a.award_id = e.award_id
"""


def _promotion_figures(source: str) -> str:
    return f"""
        SELECT promo_id, sum(spins_awarded) AS spins_awarded, sum(spins_used) AS spins_used,
               sum(spins_cancelled) FILTER (WHERE cancelled) AS spins_cancelled,
               sum(spins_awarded - spins_used - spins_cancelled) FILTER (WHERE {remaining("")} = 0
                   AND NOT cancelled AND spins_used < spins_awarded) AS spins_expired,
               sum({remaining("")} * bet_per_spin) AS liability, sum(total_win) AS wins_paid
        FROM ({source}) s GROUP BY promo_id
    """


PROMOTION_FIELDS = ("spins_awarded", "spins_used", "spins_cancelled", "spins_expired", "liability", "wins_paid")

PROMOTIONS = f"""
    WITH e AS ({_promotion_figures(expected_awards())}), a AS ({_promotion_figures(viewed_awards("promotion_awards"))})
    SELECT coalesce(e.promo_id, a.promo_id) AS id, e.promo_id IS NOT NULL AS expected_row, a.promo_id IS NOT NULL AS actual_row,
           {", ".join(f"coalesce(e.{f}, 0) AS e_{f}, coalesce(a.{f}, 0) AS a_{f}" for f in PROMOTION_FIELDS)}
    FROM e FULL JOIN a ON a.promo_id = e.promo_id
"""
