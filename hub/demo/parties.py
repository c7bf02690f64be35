"""Planning the firm's parties: clients, people and the rate cards that price their time."""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from uuid import UUID

from domain.client import ClientStatus, Contact
from domain.contract import TaxTreatment
from domain.ids import source_id
from domain.rate_card import RateLine, RateTier
from domain.values import Money, Period
from hub.demo import catalog as cat
from hub.demo.script import Script, between, quota
from hub.demo.sources import Tenants, pattern


@dataclass
class ClientFacts:
    id: UUID
    name: str
    abbr: str
    country: str
    region: cat.Region
    contacts: list[Contact]
    tax: tuple[TaxTreatment, Decimal]
    status: ClientStatus
    registered_on: date
    rate_lines: list[RateLine] = field(default_factory=list)


@dataclass
class ResourceFacts:
    id: UUID
    name: str
    role: str
    region: cat.Region
    left_on: date | None


def rate(base: int | Decimal, factor: Decimal, currency: str) -> Money:
    """A bill rate: base x factor, rounded half-up to the currency's quoting step."""
    step = cat.RATE_STEP[currency]
    units = (Decimal(base) * factor / step).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return Money(units * step, currency)


def plan_clients(script: Script, tenants: Tenants) -> list[ClientFacts]:
    """Registers the clients; a few end inactive or closed (after their engagements)."""
    rng = script.rng("clients")
    n = script.spec.count(42)
    stems = [(p, s) for p in cat.COMPANY_PREFIXES for s in cat.COMPANY_NOUNS]
    japanese = [(p, s) for p in cat.JAPANESE_PREFIXES for s in cat.COMPANY_NOUNS]
    rng.shuffle(stems)
    rng.shuffle(japanese)
    regions = [
        r for r, k in zip(cat.REGIONS, quota(n, cat.REGION_WEIGHTS), strict=True) for _ in range(k)
    ]
    rng.shuffle(regions)
    statuses = [ClientStatus.INACTIVE] * round(n * 0.08) + [ClientStatus.CLOSED] * round(n * 0.05)
    statuses += [ClientStatus.ACTIVE] * (n - len(statuses))
    rng.shuffle(statuses)
    clients = []
    for region, status in zip(regions, statuses, strict=True):
        country = rng.choice(region.client_countries)
        prefix, noun = (japanese if country == "JP" else stems).pop()
        name = f"{prefix} {noun} {rng.choice(cat.LEGAL_FORMS[country])}"
        domain = cat.ascii_slug(prefix + noun) + ".example"
        ref = tenants.account(rng)
        client_id = source_id("client", ref)
        facts = ClientFacts(
            id=client_id,
            name=name,
            abbr=(prefix[:2] + noun[0]).upper(),
            country=country,
            region=region,
            contacts=_contacts(rng, country, domain),
            tax=cat.tax_for(region, country),
            status=status,
            registered_on=between(rng, date(2024, 5, 1), date(2024, 10, 15)),
        )
        script.create(
            facts.registered_on,
            "client",
            client_id,
            "register",
            xrefs=[ref],
            legal_name=name,
            country=country,
            billing_currency=region.currency,
            tax_id=pattern(rng, cat.TAX_ID_FORMATS[country]),
            contacts=facts.contacts,
        )
        clients.append(facts)
    return clients


def _contacts(rng: random.Random, country: str, domain: str) -> list[Contact]:
    firsts, lasts = cat.NAME_POOLS[cat.COUNTRY_NAMES[country]]
    contacts = []
    for role in rng.sample(cat.CONTACT_ROLES, rng.randint(1, 3)):
        first, last = rng.choice(firsts), rng.choice(lasts)
        email = f"{cat.ascii_slug(first)}.{cat.ascii_slug(last)}@{domain}"
        phone = pattern(rng, cat.PHONE_FORMATS[country])
        contacts.append(Contact(name=f"{first} {last}", email=email, phone=phone, role=role))
    return contacts


def plan_resources(script: Script, tenants: Tenants) -> list[ResourceFacts]:
    """Registers the firm's people: roles, home regions, time zones, confidential cost rates."""
    rng = script.rng("resources")
    n = script.spec.count(60)
    roles = [r for r, k in zip(cat.ROLES, quota(n, cat.ROLE_MIX), strict=True) for _ in range(k)]
    regions = [
        r for r, k in zip(cat.REGIONS, quota(n, cat.REGION_WEIGHTS), strict=True) for _ in range(k)
    ]
    rng.shuffle(regions)
    leavers = set(rng.sample(range(n), round(n / 30)))
    emails: set[str] = set()
    harvest_user = 4_100_000 + rng.randint(0, 99_999)
    resources = []
    for i, (role, region) in enumerate(zip(roles, regions, strict=True)):
        zone = rng.choice(region.time_zones)
        firsts, lasts = cat.NAME_POOLS[cat.TIME_ZONE_NAMES[zone]]
        first, last = rng.choice(firsts), rng.choice(lasts)
        base = f"{cat.ascii_slug(first)}.{cat.ascii_slug(last)}"
        local, suffix = base, 1
        while local in emails:  # namesakes get numbered addresses, as at any large firm
            suffix += 1
            local = f"{base}{suffix}"
        emails.add(local)
        harvest_user += rng.randint(1, 4000)
        ref = tenants.harvest_ref("User", harvest_user)
        cost = rate(
            cat.COST_RATES[region.currency][cat.ROLES.index(role)],
            Decimal(rng.randint(92, 108)) / 100,
            region.currency,
        )
        facts = ResourceFacts(
            id=source_id("resource", ref),
            name=f"{first} {last}",
            role=role,
            region=region,
            left_on=date(2025, 10, 31) if i in leavers else None,
        )
        script.create(
            between(rng, date(2024, 1, 8), date(2024, 12, 16)),
            "resource",
            facts.id,
            "register",
            xrefs=[ref],
            name=facts.name,
            email=f"{local}@{cat.FIRM_DOMAIN}",
            role=role,
            time_zone=zone,
            cost_rate=cost,
            home_region=region.code,
            details={"legal_entity": region.legal_entity},  # the region's entity employs them
        )
        resources.append(facts)
    return resources


def plan_firm_rate_cards(script: Script) -> dict[str, list[RateLine]]:
    """Creates the firm default role card of every currency, raised on its change dates.

    Returns each currency's lines as they end up (earlier generations ended where the next
    begins), for pricing time on its work date.
    """
    effective: dict[str, list[RateLine]] = {}
    for currency, changes in cat.RATE_CHANGES.items():
        card_id = script.natural("rate_card", "firm", currency)
        factor = Decimal(1)
        lines: list[RateLine] = []
        for g, (start, uplift) in enumerate(changes):
            factor *= Decimal(uplift)
            end = changes[g + 1][0] if g + 1 < len(changes) else None
            generation = [
                RateLine(
                    tier=RateTier.ROLE_DEFAULT,
                    currency=currency,
                    bill_rate=rate(cat.BILL_RATES[currency][i], factor, currency),
                    cost_rate=Money(Decimal(cat.COST_RATES[currency][i]), currency),
                    period=Period(start),
                    role=role,
                )
                for i, role in enumerate(cat.ROLES)
            ]
            if g == 0:
                script.create(
                    start - timedelta(days=21),
                    "rate_card",
                    card_id,
                    "create",
                    name=f"{cat.FIRM} default rates ({currency})",
                    lines=generation,
                )
            else:
                # Announced a month ahead; the new line ends the old one where it starts.
                for line in generation:
                    script.call(
                        start - timedelta(days=30), card_id, "add_line", line=line, supersede=True
                    )
            lines += [_ended(line, end) for line in generation]
        effective[currency] = lines
    return effective


def plan_client_rate_cards(
    script: Script, clients: list[ClientFacts], firm: dict[str, list[RateLine]]
) -> None:
    """Gives a fifth of the clients a framework agreement: role rates below the firm's."""
    rng = script.rng("client-rates")
    for client in clients:
        if rng.random() >= 0.2:
            continue
        currency = client.region.currency
        discount = Decimal(rng.choice((85, 88, 90, 92))) / 100
        start, change = date(2025, 1, 1), date(2026, 1, 1)
        base = {
            line.role: line.bill_rate.amount
            for line in firm[currency]
            if line.period.contains(start)
        }
        first = [
            _role_line(
                RateTier.ROLE_CLIENT,
                role,
                rate(base[role], discount, currency),
                start,
                client_id=client.id,
            )
            for role in cat.ROLES
        ]
        card_id = script.natural("rate_card", "client", str(client.id))
        script.create(
            date(2024, 12, 2),
            "rate_card",
            card_id,
            "create",
            name=f"Framework agreement rates: {client.name}",
            lines=first,
        )
        client.rate_lines = first
        if rng.random() < 0.5:
            uplift = discount * Decimal("1.02")
            second = [
                _role_line(
                    RateTier.ROLE_CLIENT,
                    role,
                    rate(base[role], uplift, currency),
                    change,
                    client_id=client.id,
                )
                for role in cat.ROLES
            ]
            for line in second:
                script.call(date(2025, 12, 1), card_id, "add_line", line=line, supersede=True)
            client.rate_lines = [_ended(line, change) for line in first] + second


def _role_line(tier: RateTier, role: str, bill: Money, start: date, **scope: UUID) -> RateLine:
    return RateLine(
        tier=tier, currency=bill.currency, bill_rate=bill, period=Period(start), role=role, **scope
    )


def _ended(line: RateLine, end: date | None) -> RateLine:
    return line if end is None else replace(line, period=Period(line.period.start, end))
