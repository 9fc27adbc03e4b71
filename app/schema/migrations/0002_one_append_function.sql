-- One append function for every event appended (issue 20), in place of the award lock and the appends made
-- under it or beside it. Under the events table's EXCLUSIVE lock (notification ids become visible in commit order only if
-- writers take turns), each claimed promotion is checked: since the group's read it may have recorded only
-- reservations (events of reservation_topic), of no more spins than the claim's room, or nothing is appended
-- and nothing is returned. The group's reservation then goes after those. Any other stream that moved fails
-- the insert on the unique (stream, version) index, as for any append. The library's save calls it with no
-- claims.
-- The previous release's functions stay for now: during a rolling deploy its processes still write through them
-- (their award lock's appends and this function's check each other through the stream versions and the claims).
-- The release after this one drops them.

CREATE OR REPLACE FUNCTION "public"."spinledger_events_append"(
    ids uuid[], versions bigint[], topics text[], states bytea[],
    claimed uuid[], read_versions bigint[], rooms bigint[], reservation_topic text
) RETURNS TABLE (originator_id uuid, originator_version bigint, notification_id bigint) LANGUAGE plpgsql AS $$
DECLARE
    others_changes bigint;
    others_spins bigint;
    latest bigint;
BEGIN
    SET LOCAL lock_timeout = '5s';
    LOCK TABLE "public"."spinledger_events" IN EXCLUSIVE MODE;
    FOR i IN 1 .. coalesce(cardinality(claimed), 0) LOOP
        SELECT count(*) FILTER (WHERE e.topic <> reservation_topic),
               coalesce(sum((convert_from(e.state, 'UTF8')::jsonb ->> 'spins')::bigint) FILTER (WHERE e.topic = reservation_topic), 0),
               max(e.originator_version)
          INTO others_changes, others_spins, latest
          FROM "public"."spinledger_events" e
         WHERE e.originator_id = claimed[i] AND e.originator_version > read_versions[i];
        IF others_changes > 0 OR others_spins > rooms[i] THEN
            RETURN;
        END IF;
        IF latest IS NOT NULL THEN
            FOR j IN 1 .. cardinality(ids) LOOP
                IF ids[j] = claimed[i] THEN
                    versions[j] := versions[j] + latest - read_versions[i];
                END IF;
            END LOOP;
        END IF;
    END LOOP;
    NOTIFY "spinledger_events";
    RETURN QUERY
        INSERT INTO "public"."spinledger_events" AS t (originator_id, originator_version, topic, state)
        SELECT * FROM unnest(ids, versions, topics, states)
        RETURNING t.originator_id, t.originator_version, t.notification_id;
END $$;
