import os
from datetime import datetime, timedelta, timezone
from uuid import UUID, uuid5

from hypothesis import given
from hypothesis import strategies as st

from domain.ids import NAMESPACE, award_id_for_key, event_id_for, event_id_text, player_stream_id, uuid7


def test_a_uuid7_carries_version_7_the_rfc_variant_and_its_millisecond():
    at = datetime(2026, 3, 16, 14, 23, 7, 441000, tzinfo=timezone.utc)
    value = uuid7(at, os.urandom)
    assert value.version == 7
    assert value.variant == "specified in RFC 4122"
    assert value.int >> 80 == int(at.timestamp() * 1000)


def test_uuid7s_sort_by_time():
    at = datetime(2026, 3, 16, tzinfo=timezone.utc)
    earlier, later = uuid7(at, os.urandom), uuid7(at + timedelta(milliseconds=1), os.urandom)
    assert str(earlier) < str(later)


def test_an_award_id_is_derived_from_its_idempotency_key_alone():
    assert award_id_for_key("k-1") == award_id_for_key("k-1")
    assert award_id_for_key("k-1") != award_id_for_key("k-2")
    assert isinstance(award_id_for_key("k-1"), UUID)
    assert award_id_for_key("k-1") != player_stream_id("k-1")


@given(st.uuids(), st.integers(min_value=1, max_value=10**12))
def test_an_event_id_is_the_standard_uuid5_of_its_stream_and_version(stream_id, version):
    expected = uuid5(NAMESPACE, f"event:{stream_id}:{version}")
    assert event_id_text(str(stream_id), version) == str(expected) and event_id_for(stream_id, version) == expected
