"""spinledger's back-office API from Python: ``Client``, its errors, and the wire helpers.

    from decimal import Decimal
    from spinledger_client import Client, SpinledgerError

    client = Client("http://127.0.0.1:8000", "dev-key")
    award = client.award_free_spins("12345", "promo-free-5", 5, game_code="crystal-forge-v1")
    client.get_award_by_key(award.idempotency_key)
"""

__version__ = "0.1.0"

from spinledger_client.errors import SpinledgerConnectionError, SpinledgerError  # noqa: E402
from spinledger_client.client import ApiResult, Client, new_key  # noqa: E402
from spinledger_client.wire import parse_instant  # noqa: E402

__all__ = ["ApiResult", "Client", "SpinledgerConnectionError", "SpinledgerError", "new_key", "parse_instant", "__version__"]
