"""Declaring the bot account a labeler, and checking the declaration from the outside.

A labeler exists for clients when three things agree: the DID document names its signing key
(`#atproto_label`) and its endpoint (`#atproto_labeler`, type AtprotoLabeler), the account's
`app.bsky.labeler.service` record declares its label values, and the endpoint answers. The DID
document changes through a PLC operation that the account's PDS signs after an emailed token.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
from atproto import AsyncClient, models

from bot.config.labeler import GLOBAL_VALUES, LabelerConfig
from bot.labeler.signing import SigningKey

SERVICE_ID = "atproto_labeler"
KEY_ID = "atproto_label"
RECORD = "app.bsky.labeler.service"


@dataclass
class Findings:
    """What `check` saw: facts (fine) and problems (each says what is wrong and how to fix it)."""

    facts: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def service_record(config: LabelerConfig) -> dict[str, Any]:
    emitted = sorted(set(config.categories.values()))
    definitions = [
        {
            "identifier": name,
            "severity": value.severity,
            "blurs": value.blurs,
            "defaultSetting": value.default_setting,
            "adultOnly": value.adult_only,
            "locales": [{"lang": x.lang, "name": x.name, "description": x.description} for x in value.locales],
        }
        for name, value in sorted(config.values.items())
        if name in emitted
    ]
    return {
        "$type": RECORD,
        "policies": {"labelValues": emitted, "labelValueDefinitions": definitions},
        "reasonTypes": [f"com.atproto.moderation.defs#reason{r.capitalize()}" for r in config.report_reasons],
        "subjectTypes": ["record"],
        "subjectCollections": ["app.bsky.feed.post"],
        "createdAt": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
    }


async def plc_data(plc: str, did: str) -> dict[str, Any]:
    """The DID's current PLC state (keys, services, handles) straight from the directory."""
    async with aiohttp.ClientSession() as http, http.get(f"{plc.rstrip('/')}/{did}/data") as response:
        if response.status != 200:
            raise LookupError(f"the PLC directory {plc} has no {did} ({response.status})")
        data: dict[str, Any] = await response.json()
        return data


async def update_did_document(
    client: AsyncClient, did: str, plc: str, key: SigningKey, endpoint: str, token: str
) -> None:
    """Add (or replace) the label key and the labeler endpoint, keeping every other key and
    service; the PDS signs the operation with its rotation key once `token` proves the owner."""
    current = await plc_data(plc, did)
    methods = {**current.get("verificationMethods", {}), KEY_ID: key.did_key}
    services = {**current.get("services", {}), SERVICE_ID: {"type": "AtprotoLabeler", "endpoint": endpoint}}
    identity = client.com.atproto.identity
    signed = await identity.sign_plc_operation(
        models.ComAtprotoIdentitySignPlcOperation.Data(token=token, verification_methods=methods, services=services)
    )
    await identity.submit_plc_operation(models.ComAtprotoIdentitySubmitPlcOperation.Data(operation=signed.operation))


async def write_service_record(client: AsyncClient, did: str, config: LabelerConfig) -> None:
    await client.com.atproto.repo.put_record(
        {"repo": did, "collection": RECORD, "rkey": "self", "record": service_record(config), "validate": False}
    )


async def check(client: AsyncClient, did: str, plc: str, key: SigningKey, config: LabelerConfig) -> Findings:
    found = Findings()
    try:
        data = await plc_data(plc, did)
    except (LookupError, aiohttp.ClientError) as exc:
        found.problems.append(f"cannot read the DID document: {exc}")
        return found
    _check_document(data, key, config.public_url, found)
    await _check_record(client, did, config, found)
    endpoint = data.get("services", {}).get(SERVICE_ID, {}).get("endpoint", "")
    if endpoint:
        await _check_endpoint(endpoint, found)
    return found


def _check_document(data: dict[str, Any], key: SigningKey, public_url: str, found: Findings) -> None:
    listed = data.get("verificationMethods", {}).get(KEY_ID)
    if listed is None:
        found.problems.append("the DID document names no #atproto_label key: run `modbot bluesky labeler setup`")
    elif listed != key.did_key:
        found.problems.append(
            f"the DID document's #atproto_label key ({listed}) is not the key modbot signs with ({key.did_key}): "
            "clients reject every label; run setup again (or restore the key file)"
        )
    else:
        found.facts.append(f"signing key {key.did_key} is the DID document's #atproto_label")
    service = data.get("services", {}).get(SERVICE_ID)
    if service is None:
        found.problems.append("the DID document has no #atproto_labeler service: run `modbot bluesky labeler setup`")
        return
    if service.get("type") != "AtprotoLabeler":
        found.problems.append(f"the #atproto_labeler service has type {service.get('type')!r}, not 'AtprotoLabeler'")
    endpoint = str(service.get("endpoint", ""))
    if public_url and endpoint.rstrip("/") != public_url.rstrip("/"):
        found.problems.append(
            f"the #atproto_labeler endpoint is {endpoint!r} but public_url is {public_url!r}: clients and the "
            "AppView connect to the wrong host; run setup again or fix public_url"
        )
    else:
        found.facts.append(f"endpoint {endpoint}")


async def _check_record(client: AsyncClient, did: str, config: LabelerConfig, found: Findings) -> None:
    try:
        got = await client.com.atproto.repo.get_record({"repo": did, "collection": RECORD, "rkey": "self"})
    except Exception as exc:  # the SDK raises a different class per status: any of them means "not there"
        found.problems.append(f"no {RECORD} record (clients cannot subscribe): {exc}; run setup")
        return
    record = models.get_model_as_dict(got.value)
    declared = set(record.get("policies", {}).get("labelValues", []))
    emitted = set(config.categories.values())
    if missing := sorted(emitted - declared):
        found.problems.append(f"the service record does not declare {', '.join(missing)}: run setup again")
    defined = {d["identifier"] for d in record.get("policies", {}).get("labelValueDefinitions", [])}
    if undefined := sorted(emitted - defined - GLOBAL_VALUES):
        found.problems.append(f"no definition in the service record for {', '.join(undefined)}: run setup again")
    if not missing and not undefined:
        found.facts.append(f"service record declares {', '.join(sorted(declared))}")


async def _check_endpoint(endpoint: str, found: Findings) -> None:
    url = f"{endpoint.rstrip('/')}/xrpc/com.atproto.label.queryLabels?uriPatterns=at://none"
    try:
        timeout = aiohttp.ClientTimeout(total=10)
        async with aiohttp.ClientSession(timeout=timeout) as http, http.get(url) as response:
            body = await response.json(content_type=None)
            if response.status != 200 or "labels" not in body:
                found.problems.append(f"{endpoint} answered queryLabels with {response.status}, not labels")
                return
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        found.problems.append(f"{endpoint} does not answer queryLabels ({exc or type(exc).__name__})")
        return
    found.facts.append(f"{endpoint} answers queryLabels")
