"""The service as gunicorn serves it, plus one bare endpoint for the benchmark's reference figure.

``POST /bench/insert`` does one INSERT through the ledger's own connection pool and nothing else:
the throughput of a Flask endpoint on this machine with one database write, measured beside the
awards in the same server and the same run.
"""

from __future__ import annotations

from flask import jsonify, request

from app import create_app

application = create_app()
_datastore = application.extensions["spinledger"].ledger.recorder.datastore

# Its table, bench_inserts, is created by the benchmark before the server starts.


@application.post("/bench/insert")
def bench_insert():  # type: ignore[no-untyped-def]
    body = request.get_data(as_text=True)
    with _datastore.get_connection() as conn:
        conn.execute("INSERT INTO bench_inserts (body) VALUES (%s)", [body])
    return jsonify({"status": "OK"}), 201
