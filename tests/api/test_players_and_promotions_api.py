from __future__ import annotations

import pytest

from tests.api.helpers import assert_envelope, define, register
from tests.support import ADMIN, award_json, event_count, terms_json, unique


def test_a_player_is_registered_then_updated_then_read(client):
    player_id = register(client)
    updated = client.put(f"/api/v1/players/{player_id}", json={"region": "CA-AB", "birth_date": "1990-04-01", "currency": "CAD"}, headers=ADMIN)
    assert updated.status_code == 200 and updated.json["region"] == "CA-AB"
    read = client.get(f"/api/v1/players/{player_id}", headers={"Authorization": "Bearer test-reader-key"}).json
    assert read == {
        "player_id": player_id, "region": "CA-AB", "birth_date": "1990-04-01", "currency": "CAD",
        "balance": "0.00", "coin_balance": "0.00", "test": False, "self_excluded_until": None, "awards": [], "bonus_block": None,
    }


def test_a_player_lists_only_active_awards(client):
    player_id, promo_id = register(client), define(client)
    kept = client.post("/api/v1/awards", json=award_json(player_id, promo_id), headers=ADMIN).json["award_id"]
    gone = client.post("/api/v1/awards", json=award_json(player_id, promo_id), headers=ADMIN).json["award_id"]
    client.post(f"/api/v1/awards/{gone}/cancel", json={"reason": "x"}, headers=ADMIN)
    assert [a["award_id"] for a in client.get(f"/api/v1/players/{player_id}", headers=ADMIN).json["awards"]] == [kept]


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"region": "CA-ZZ", "birth_date": "1990-04-01", "currency": "CAD"}, "VALIDATION_ERROR", "region"),
        ({"region": "ZZ-99", "birth_date": "1990-04-01", "currency": "CAD"}, "VALIDATION_ERROR", "region"),
        ({"region": "XX", "birth_date": "1990-04-01", "currency": "CAD"}, "VALIDATION_ERROR", "region"),
        ({"region": "ca-on", "birth_date": "1990-04-01", "currency": "CAD"}, "VALIDATION_ERROR", "region"),
        ({"region": "CA-ON", "birth_date": "04/01/1990", "currency": "CAD"}, "VALIDATION_ERROR", "birth_date"),
        ({"region": "CA-ON", "birth_date": "1990-04-01", "currency": "XYZ"}, "VALIDATION_ERROR", "currency"),
        ({"region": "CA-ON", "birth_date": "1990-04-01"}, "MISSING_FIELD", "currency"),
        ({"region": "CA-ON", "birth_date": "1990-04-01", "currency": "CAD", "vip": True}, "VALIDATION_ERROR", "vip"),
        ({"region": 5, "birth_date": "1990-04-01", "currency": "CAD"}, "VALIDATION_ERROR", "region"),
        ({"region": "CA-ON", "birth_date": "2990-04-01", "currency": "CAD"}, "VALIDATION_ERROR", "birth_date"),
    ],
)
def test_a_bad_player_body_is_refused_naming_the_field_and_records_nothing(client, db, body, code, field):
    before = event_count(db)
    assert_envelope(client.put(f"/api/v1/players/{unique('p')}", json=body, headers=ADMIN), 400, code, field)
    assert event_count(db) == before


@pytest.mark.parametrize(("region", "allowed"), [("GB", ["GB"]), ("GB-ENG", ["GB"]), ("CA-ON", ["CA"]), ("CA-ON", ["CA-ON"]), ("US-NY", ["US-NY", "GB"])])
def test_a_player_in_a_real_region_is_awarded_by_a_promotion_allowing_it_or_its_country(client, region, allowed):
    currency = "GBP" if region.startswith("GB") else "CAD"
    player_id, promo_id = unique("p"), define(client, allowed_regions=allowed, currency=currency)
    registered = client.put(f"/api/v1/players/{player_id}", json={"region": region, "birth_date": "1990-04-01", "currency": currency}, headers=ADMIN)
    assert registered.status_code == 201 and registered.json["region"] == region
    assert client.post("/api/v1/awards", json=award_json(player_id, promo_id), headers=ADMIN).status_code == 201


def test_a_promotion_allowing_a_subdivision_refuses_its_neighbour(client):
    promo_id = define(client, allowed_regions=["CA-ON"])
    player_id = unique("p")
    client.put(f"/api/v1/players/{player_id}", json={"region": "CA-QC", "birth_date": "1990-04-01", "currency": "CAD"}, headers=ADMIN)
    assert_envelope(client.post("/api/v1/awards", json=award_json(player_id, promo_id), headers=ADMIN), 403, "REGION_BLOCKED")


def test_a_self_exclusion_period_outside_the_list_is_refused(client, db):
    player_id = register(client)
    before = event_count(db)
    assert_envelope(client.post(f"/api/v1/players/{player_id}/self-exclusion", json={"period": "2w"}, headers=ADMIN), 400, "VALIDATION_ERROR", "period")
    assert event_count(db) == before


def test_a_promotion_is_defined_read_updated_and_ended(client):
    promo_id = define(client, budget_spins=500)
    read = client.get(f"/api/v1/promotions/{promo_id}", headers=ADMIN).json
    assert (read["budget_spins"], read["budget_left"], read["bet_per_spin"], read["ended_at"]) == (500, 500, "0.20", None)
    updated = client.put(f"/api/v1/promotions/{promo_id}", json=terms_json(budget_spins=800), headers=ADMIN)
    assert updated.status_code == 200 and updated.json["budget_left"] == 800
    ended = client.post(f"/api/v1/promotions/{promo_id}/end", json={"reason": "done"}, headers=ADMIN)
    assert ended.json["ended_at"] == "2026-11-18T10:00:00.000Z"
    assert_envelope(client.put(f"/api/v1/promotions/{promo_id}", json=terms_json(), headers=ADMIN), 422, "EXPIRED_PROMO")


@pytest.mark.parametrize(
    ("overrides", "code", "field"),
    [
        ({"bet_per_spin": 0.2}, "VALIDATION_ERROR", "bet_per_spin"),
        ({"bet_per_spin": "0.2"}, "VALIDATION_ERROR", "bet_per_spin"),
        ({"bet_per_spin": "0.205"}, "VALIDATION_ERROR", "bet_per_spin"),
        ({"bet_per_spin": "-0.20"}, "VALIDATION_ERROR", "bet_per_spin"),
        ({"bet_per_spin": "0.00"}, "VALIDATION_ERROR", "bet_per_spin"),
        ({"bet_per_spin": "0.30"}, "VALIDATION_ERROR", "bet_per_spin"),
        ({"bet_per_spin": "1e2"}, "VALIDATION_ERROR", "bet_per_spin"),
        ({"currency": "EURO"}, "VALIDATION_ERROR", "currency"),
        ({"game_codes": ["unknown-game"]}, "VALIDATION_ERROR", "game_codes"),
        ({"game_codes": []}, "VALIDATION_ERROR", "game_codes"),
        ({"budget_spins": 0}, "VALIDATION_ERROR", "budget_spins"),
        ({"budget_spins": 1.5}, "VALIDATION_ERROR", "budget_spins"),
        ({"max_spins_per_award": -1}, "VALIDATION_ERROR", "max_spins_per_award"),
        ({"ends_at": "2026-10-01T00:00:00Z"}, "VALIDATION_ERROR", "ends_at"),
        ({"starts_at": "2026-10-19"}, "VALIDATION_ERROR", "starts_at"),
        ({"allowed_regions": ["Canada"]}, "VALIDATION_ERROR", "allowed_regions"),
        ({"allowed_regions": ["XX"]}, "VALIDATION_ERROR", "allowed_regions"),
        ({"allowed_regions": ["CA", "ZZ-99"]}, "VALIDATION_ERROR", "allowed_regions"),
        ({"allowed_regions": ["ca-on"]}, "VALIDATION_ERROR", "allowed_regions"),
        ({"award_ttl_seconds": 10}, "VALIDATION_ERROR", "award_ttl_seconds"),
        ({"name": "x" * 201}, "VALIDATION_ERROR", "name"),
        ({"award_type": "CASH"}, "VALIDATION_ERROR", "award_type"),
        ({"surprise": 1}, "VALIDATION_ERROR", "surprise"),
        ({"per_player_daily_limit": 10, "per_player_weekly_limit": 5}, "VALIDATION_ERROR", "per_player_daily_limit"),
        ({"starts_at": "0001-01-01T00:00:00+01:00"}, "VALIDATION_ERROR", "starts_at"),
    ],
)
def test_bad_promotion_terms_are_refused_naming_the_field_and_record_nothing(client, db, overrides, code, field):
    before = event_count(db)
    response = client.put(f"/api/v1/promotions/{unique('promo')}", json=terms_json(**overrides), headers=ADMIN)
    assert_envelope(response, 400, code, field)
    assert event_count(db) == before


def test_a_promotion_name_may_hold_any_printable_unicode_and_comes_back_unchanged(client):
    name = "Bienvenue — 'free' <spins> 🎰; DROP TABLE x;--"
    promo_id = define(client, name=name)
    assert client.get(f"/api/v1/promotions/{promo_id}", headers=ADMIN).json["name"] == name


def test_the_openapi_document_describes_every_route(client):
    document = client.get("/openapi.json").json
    assert document["openapi"].startswith("3.1")
    paths = document["paths"]
    for path, method in [
        ("/api/v1/players/{player_id}", "put"), ("/api/v1/players/{player_id}", "get"),
        ("/api/v1/players/{player_id}/self-exclusion", "post"), ("/api/v1/promotions/{promo_id}", "put"),
        ("/api/v1/awards", "post"), ("/api/v1/awards/batch", "post"), ("/api/v1/awards/{award_id}", "get"),
        ("/api/v1/players/{player_id}/awards", "get"), ("/api/v1/awards/{award_id}/cancel", "post"),
        ("/api/v1/players/{player_id}/deposits", "post"), ("/api/v1/players/{player_id}/withdrawals", "post"),
        ("/api/v1/sessions", "post"), ("/api/v1/game/config", "get"), ("/api/v1/game/spin", "post"),
        ("/api/v1/game/bonus/spin", "post"), ("/api/v1/game/state", "get"), ("/api/v1/game/state/pending-spin", "get"),
    ]:
        assert method in paths[path], (path, method)
    assert "AwardRequest" in document["components"]["schemas"]
