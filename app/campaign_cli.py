"""``spinledger campaigns status ID``: a campaign's figures, as ``GET /api/v1/campaigns/{id}`` gives them, with a
progress bar; ``--watch`` follows it until it ends."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from tqdm import tqdm

from app.config import Settings
from app.timefmt import format_instant
from domain.campaign import CANCELLED, COMPLETED, FAILED
from domain.errors import CampaignNotFound

WATCH_SECONDS = 1.0


def add_campaign_commands(commands: Any) -> None:
    campaigns = commands.add_parser("campaigns", help="campaigns issued by the worker")
    campaign_commands = campaigns.add_subparsers(dest="campaigns_command", required=True)
    status = campaign_commands.add_parser("status", help="a campaign's figures and progress; exit 1 if it failed")
    status.add_argument("campaign_id")
    status.add_argument("--watch", action="store_true", help="follow it until it completes, is cancelled or fails")


def campaign_command(settings: Settings, args: argparse.Namespace) -> int:
    from app.bootstrap import bootstrap

    assert settings.database_url, "one_shot commands run with_reachable_database first"
    services = bootstrap(settings)
    try:
        status = services.campaigns.status(args.campaign_id)
        if args.watch:
            with tqdm(total=status.players_total, unit="player", desc=status.status, file=sys.stderr) as bar:
                while True:
                    bar.set_description(status.status)
                    bar.update(status.processed - bar.n)
                    if status.status in (COMPLETED, CANCELLED, FAILED):
                        break
                    time.sleep(WATCH_SECONDS)
                    status = services.campaigns.status(args.campaign_id)
        else:
            with tqdm(total=status.players_total, initial=status.processed, unit="player", desc=status.status,
                      file=sys.stderr) as bar:
                bar.refresh()
    except CampaignNotFound as missing:
        print(f"spinledger: {missing.message}", file=sys.stderr)
        return 2
    finally:
        services.close()
    print(f"campaign {status.campaign_id} ({status.name}): {status.status}, promotion {status.promo_id}, {status.award_value} spins each")
    print(f"  players {status.players_total}, processed {status.processed} ({status.progress:.1%})")
    print(f"  awarded {status.awarded}, replayed {status.replayed}, refused {status.refused}")
    for code, count in sorted(status.refused_by_code.items()):
        print(f"    {code}: {count}")
    launched = format_instant(status.launched_at) if status.launched_at else "not yet"
    finished = format_instant(status.finished_at) if status.finished_at else "not yet"
    print(f"  launched {launched}, finished {finished}")
    return 1 if status.status == FAILED else 0
