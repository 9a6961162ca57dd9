"""`modbot bluesky labeler setup | check`: declare the bot account a labeler (signing key, DID
document, service record), rotate its key, and check the declaration from the outside."""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
from datetime import UTC, datetime

from atproto import AsyncClient

from bot.cli.shared import CommandFailed, Subcommands, config_of, out, store_of
from bot.config import Config
from bot.labeler import declare
from bot.labeler.issuer import LabelIssuer
from bot.labeler.signing import KeyType, SigningKey, key_path, load_key, save_key


def say(line: str) -> None:
    out.print(line, markup=False, emoji=False)


def register(sub: Subcommands) -> None:
    p = sub.add_parser("bluesky", help="the Bluesky account as a labeler of its own")
    groups = p.add_subparsers(dest="group", metavar="GROUP", required=True)
    labeler = groups.add_parser("labeler", help="declare, rotate and check modbot's labeler")
    steps = labeler.add_subparsers(dest="step", metavar="STEP", required=True)
    setup = steps.add_parser("setup", help="create the key, update the DID document, write the service record")
    setup.add_argument("--token", help="the code the PDS emailed (first run without it: the PDS sends one)")
    setup.add_argument("--rotate", action="store_true", help="a new signing key; labels in force are re-signed")
    setup.set_defaults(func=labeler_setup)
    check = steps.add_parser("check", help="the DID document, the service record and the endpoint, from outside")
    check.set_defaults(func=labeler_check)


async def _login(config: Config) -> tuple[AsyncClient, str]:
    bluesky = config.adapters.bluesky
    password = os.environ.get(bluesky.password_env)
    if not password or not bluesky.handle:
        raise CommandFailed(f"set [adapters.bluesky] handle and ${bluesky.password_env} (an app password)")
    client = AsyncClient(base_url=bluesky.service)
    try:
        await client.login(bluesky.handle, password, fetch_bsky_profile=False)
        session = await client.com.atproto.server.get_session()
    except Exception as exc:  # the SDK's login errors have no common base worth naming
        raise CommandFailed(f"login as {bluesky.handle} at {bluesky.service} failed: {exc}") from exc
    return client, str(session.did)


def labeler_setup(args: argparse.Namespace) -> int:
    config = config_of(args)
    labeler = config.adapters.bluesky.labeler
    if not labeler.public_url:
        raise CommandFailed("set [adapters.bluesky.labeler] public_url: the https origin clients will reach it at")
    path = key_path(labeler.key_file, config.data.dir)
    if args.rotate or not path.exists():
        if path.exists():
            kept = path.with_name(f"{path.name}.{datetime.now(UTC):%Y%m%dT%H%M%S}.old")
            shutil.copy2(path, kept)
            say(f"old key kept in {kept} (mode 0600): delete it once the new one is declared")
        save_key(SigningKey.generate(KeyType(labeler.key_type)), path)
        say(f"new {labeler.key_type} signing key in {path} (mode 0600)")
    key = load_key(path)
    return asyncio.run(_setup(args, config, key))


async def _setup(args: argparse.Namespace, config: Config, key: SigningKey) -> int:
    client, did = await _login(config)
    labeler, plc = config.adapters.bluesky.labeler, config.adapters.bluesky.plc_directory
    await declare.write_service_record(client, did, labeler)
    say(f"service record {declare.RECORD}/self written for {did}")
    data = await declare.plc_data(plc, did)
    listed = data.get("verificationMethods", {}).get(declare.KEY_ID)
    endpoint = data.get("services", {}).get(declare.SERVICE_ID, {}).get("endpoint")
    if listed == key.did_key and endpoint == labeler.public_url:
        say("the DID document already names this key and endpoint")
    elif not args.token:
        await client.com.atproto.identity.request_plc_operation_signature()
        say("the DID document needs updating: the PDS has emailed the account a code; run again with --token CODE")
        return 0
    else:
        await declare.update_did_document(client, did, plc, key, labeler.public_url, args.token)
        say(f"DID document updated: #atproto_label {key.did_key}, #atproto_labeler {labeler.public_url}")
    store = store_of(args)
    resigned = LabelIssuer(store, key, labeler).resign(did)
    if resigned:
        say(f"{len(resigned)} labels in force re-signed with the new key (restart the service to sign with it)")
    return 0


def labeler_check(args: argparse.Namespace) -> int:
    config = config_of(args)
    labeler = config.adapters.bluesky.labeler
    key = load_key(key_path(labeler.key_file, config.data.dir))

    async def go() -> declare.Findings:
        client, did = await _login(config)
        return await declare.check(client, did, config.adapters.bluesky.plc_directory, key, labeler)

    found = asyncio.run(go())
    for fact in found.facts:
        say(f"ok: {fact}")
    for problem in found.problems:
        say(f"PROBLEM: {problem}")
    return 1 if found.problems else 0
