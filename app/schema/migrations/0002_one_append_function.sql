-- One append function for every write (issue 20): the award lock and the appends made under it or beside it
-- are gone. Under the events table's EXCLUSIVE lock (notification ids become visible in commit order only if
-- writers take turns), each claimed promotion is checked: since the group's read it may have recorded only
-- reservations (events of reservation_topic), of no more spins than the claim's room, or nothing is appended
-- and nothing is returned. The group's reservation then goes after those. Any other stream that moved fails
-- the insert on the unique (stream, version) index, as for any append. The library's save calls it with no
-- claims.
DROP FUNCTION IF EXISTS "public"."spinledger_events_append"(uuid[], bigint[], text[], bytea[]);
DROP FUNCTION IF EXISTS "public"."spinledger_events_lock_and_read"(bigint, uuid[], bigint[]);
DROP FUNCTION IF EXISTS "public"."spinledger_events_append_and_unlock"(uuid[], bigint[], text[], bytea[], bigint);
DROP FUNCTION IF EXISTS "public"."spinledger_events_append_reserving"(bigint, uuid[], bigint[], text[], bytea[], uuid[], bigint[], bigint[], text);

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
