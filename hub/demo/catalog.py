"""Reference data of the demo firm: regions, legal entities, tax, roles, rates and name pools."""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from domain.contract import TaxTreatment

FIRM = "Alder & Finch Consulting"
FIRM_DOMAIN = "alderfinch.example"
# The demo's "today" (a Friday): work after it is planned, never recorded as done.
AS_OF = date(2026, 3, 20)
# Fiscal year 2025 is closed on this day: its billed and non-billable time is locked.
PERIOD_CLOSE = date(2026, 1, 16)


@dataclass(frozen=True, slots=True)
class Region:
    """A firm region: one legal entity, one currency, one billing system of record."""

    code: str
    currency: str
    legal_entity: str
    country: str
    billing_system: str
    domestic_tax: Decimal
    time_zones: tuple[str, ...]
    client_countries: tuple[str, ...]


REGIONS = (
    Region(
        "EMEA",
        "EUR",
        "Alder & Finch Consulting GmbH",
        "DE",
        "stripe",
        Decimal("0.19"),
        ("Europe/Berlin", "Europe/London", "Europe/Paris", "Europe/Amsterdam", "Europe/Madrid"),
        ("DE", "DE", "DE", "FR", "NL", "GB", "ES", "IT", "IE", "SE", "BE", "CH"),
    ),
    Region(
        "AMER",
        "USD",
        "Alder & Finch Consulting LLC",
        "US",
        "quickbooks",
        Decimal(0),
        ("America/New_York", "America/Chicago", "America/Los_Angeles", "America/Toronto"),
        ("US", "US", "US", "US", "CA", "MX", "BR"),
    ),
    Region(
        "APAC",
        "JPY",
        "Alder & Finch Consulting K.K.",
        "JP",
        "xero",
        Decimal("0.10"),
        ("Asia/Tokyo", "Asia/Tokyo", "Asia/Singapore", "Australia/Sydney"),
        ("JP", "JP", "JP", "JP", "JP", "SG", "AU"),
    ),
)
REGION_WEIGHTS = (45, 35, 20)

_EU = frozenset({"DE", "FR", "NL", "ES", "IT", "IE", "SE", "BE", "AT"})


def tax_for(region: Region, country: str) -> tuple[TaxTreatment, Decimal]:
    """Returns the treatment and rate the region's entity applies to a client's country."""
    if country == region.country:
        # US professional services are generally not subject to sales tax (state-specific).
        if region.domestic_tax == 0:
            return TaxTreatment.EXEMPT, Decimal(0)
        return TaxTreatment.STANDARD, region.domestic_tax
    if region.country in _EU and country in _EU:
        return TaxTreatment.REVERSE_CHARGE, Decimal(0)
    return TaxTreatment.ZERO_RATED, Decimal(0)


ROLES = ("partner", "director", "manager", "senior_consultant", "consultant", "analyst")
ROLE_MIX = (5, 6, 10, 14, 15, 10)
# How much of a working day each role books to one engagement, relatively.
ROLE_INTENSITY = {
    "partner": 1,
    "director": 2,
    "manager": 4,
    "senior_consultant": 5,
    "consultant": 5,
    "analyst": 5,
}
BILL_RATES = {
    "EUR": (420, 360, 290, 230, 180, 130),
    "USD": (495, 420, 340, 270, 210, 155),
    "JPY": (68000, 58000, 46000, 37000, 29000, 21000),
}
COST_RATES = {
    "EUR": (190, 160, 120, 95, 75, 55),
    "USD": (220, 185, 145, 115, 90, 65),
    "JPY": (30000, 25000, 19500, 15500, 12000, 8800),
}
# Firm default rate generations: (effective from, uplift over the previous generation).
RATE_CHANGES = {
    "EUR": ((date(2024, 7, 1), "1"), (date(2025, 7, 1), "1.04")),
    "USD": ((date(2024, 1, 1), "1"), (date(2025, 4, 1), "1.03"), (date(2026, 1, 1), "1.035")),
    "JPY": ((date(2024, 4, 1), "1"), (date(2025, 4, 1), "1.03"), (date(2026, 4, 1), "1.03")),
}
# Rates are quoted in whole units, yen in steps of 500.
RATE_STEP = {"EUR": 1, "USD": 1, "JPY": 500}
# Rough value of one euro, to size amounts in other currencies (never used to convert).
EUR_SCALE = {
    "EUR": Decimal(1),
    "USD": Decimal("1.1"),
    "JPY": Decimal(160),
    "GBP": Decimal("0.85"),
    "CHF": Decimal("0.95"),
    "SGD": Decimal("1.45"),
}

SERVICE_LINES = {
    "Strategy": (
        "Growth Strategy Refresh",
        "Market Entry Assessment",
        "Portfolio Review",
        "Pricing Excellence Programme",
        "Operating Model Redesign",
    ),
    "Technology Consulting": (
        "Cloud Migration Assessment",
        "ERP Selection and Roadmap",
        "Data Platform Modernisation",
        "Application Rationalisation",
        "IT Cost Benchmark",
    ),
    "Risk & Compliance": (
        "DORA Readiness Review",
        "Regulatory Reporting Remediation",
        "Third-Party Risk Programme",
        "Internal Controls Uplift",
        "Cyber Maturity Assessment",
    ),
    "Finance Transformation": (
        "Finance Operating Model",
        "Close Acceleration",
        "FP&A Redesign",
        "Shared Services Set-Up",
        "Working Capital Programme",
    ),
    "People & Change": (
        "Strategic Workforce Planning",
        "Leadership Development Programme",
        "Change Management for ERP Go-Live",
        "Hybrid Work Model",
        "Reward Framework Review",
    ),
    "Data & Analytics": (
        "Customer Analytics Platform",
        "Demand Forecasting Pilot",
        "Data Governance Framework",
        "Analytics Operating Model",
        "Generative AI Use-Case Discovery",
    ),
}

BILLABLE_TASKS = {
    "Workshops": ("Design workshop with the client team", "Prepared and ran the workshop"),
    "Analysis": ("Baseline analysis of cost data", "Reviewed the data extract", "Model update"),
    "Stakeholder interviews": ("Interviews with business unit leads", "Interview write-up"),
    "Project management": ("Weekly status report", "Plan update and risk log", "PMO sync"),
    "Deliverable drafting": ("Drafted the interim report", "Steering committee deck"),
    "Client meetings": ("Steering committee", "Working session with the CFO office"),
    "Solution design": ("Target process design", "Reviewed the solution options"),
}
NON_BILLABLE_TASKS = {
    "Internal review": ("Quality review of the draft", "Partner review"),
    "Travel": ("Travel to the client site",),
    "Knowledge sharing": ("Write-up for the practice knowledge base",),
}
REJECTION_REASONS = (
    "Booked to the wrong engagement; please rebook",
    "Notes missing: describe the work done",
    "More hours than the agreed daily maximum",
    "Task should be Travel, which is not billable",
)
CORRECTION_REASONS = (
    "Hours corrected after the weekly timesheet review",
    "Part of the time was internal preparation",
    "Task corrected at the client's request",
)
MILESTONE_NAMES = (
    "Mobilisation and current-state assessment",
    "Target design",
    "Detailed design sign-off",
    "Implementation support",
    "Final report and handover",
)
MILESTONE_SPLITS = (
    ("30", "40", "30"),
    ("20", "30", "30", "20"),
    ("10", "25", "25", "40"),
    ("33.33", "33.33", "33.34"),
    ("15", "20", "20", "20", "25"),
)
EXPENSE_CATEGORIES = {
    # category: (low, high) in euros, billable to a T&M client, has a receipt
    "Airfare": (180, 1400, True, True),
    "Rail": (35, 260, True, True),
    "Hotel": (120, 780, True, True),
    "Meals": (14, 120, True, True),
    "Taxi": (12, 90, True, True),
    "Mileage": (20, 160, True, False),
    "Software licence": (30, 400, False, True),
    "Printing": (15, 140, True, True),
}

COMPANY_PREFIXES = (
    "Kestrel", "Harbourline", "Brightwater", "Northgate", "Silverline", "Bluefield",
    "Oakridge", "Granite", "Ironwood", "Clearwater", "Redwood", "Westbrook", "Summit",
    "Evergreen", "Highland", "Lakeside", "Riverton", "Stonebridge", "Crescent", "Falcon",
    "Pinnacle", "Sterling", "Aurora", "Beacon", "Cobalt", "Helix", "Juniper", "Lumen",
    "Marlow", "Orion", "Pioneer", "Sable", "Tidewater", "Vantage", "Willow", "Zenith",
    "Ashford", "Bramble", "Corran", "Delmont",
)  # fmt: skip
JAPANESE_PREFIXES = (
    "Asahi", "Midori", "Hoshino", "Tsubasa", "Yamato", "Kaede", "Shinsei", "Hikari",
    "Sakuragi", "Fujimura", "Takara", "Minato",
)  # fmt: skip
COMPANY_NOUNS = (
    "Logistics", "Pharma", "Energy", "Bank", "Insurance", "Retail", "Foods", "Telecom",
    "Motors", "Chemicals", "Health", "Capital", "Airways", "Utilities", "Media", "Systems",
    "Materials", "Hotels", "Rail", "Shipping",
)  # fmt: skip

LEGAL_FORMS = {
    "DE": ("GmbH", "AG", "SE"),
    "FR": ("SA", "SAS"),
    "NL": ("B.V.", "N.V."),
    "BE": ("NV", "SA"),
    "GB": ("Ltd", "plc"),
    "IE": ("Limited", "DAC"),
    "ES": ("S.A.", "S.L."),
    "IT": ("S.p.A.", "S.r.l."),
    "SE": ("AB",),
    "CH": ("AG", "SA"),
    "US": ("Inc.", "LLC", "Corporation"),
    "CA": ("Inc.", "Ltd."),
    "MX": ("S.A. de C.V.",),
    "BR": ("Ltda.", "S.A."),
    "JP": ("K.K.", "Co., Ltd."),
    "SG": ("Pte. Ltd.",),
    "AU": ("Pty Ltd", "Limited"),
}
# '#' is a digit, '@' an upper-case letter.
TAX_ID_FORMATS = {
    "DE": "DE#########",
    "FR": "FR###########",
    "NL": "NL#########B01",
    "BE": "BE0#########",
    "GB": "GB#########",
    "IE": "IE#######@",
    "ES": "ESA########",
    "IT": "IT###########",
    "SE": "SE##########01",
    "CH": "CHE-###.###.### MWST",
    "US": "##-#######",
    "CA": "#########RT0001",
    "MX": "@@@######@@#",
    "BR": "##.###.###/0001-##",
    "JP": "T#############",
    "SG": "20######@",
    "AU": "## ### ### ###",
}
PHONE_FORMATS = {
    "DE": "+49 89 #######",
    "FR": "+33 1 ## ## ## ##",
    "NL": "+31 20 ### ####",
    "BE": "+32 2 ### ## ##",
    "GB": "+44 20 #### ####",
    "IE": "+353 1 ### ####",
    "ES": "+34 91 ### ## ##",
    "IT": "+39 02 #### ####",
    "SE": "+46 8 ### ### ##",
    "CH": "+41 44 ### ## ##",
    "US": "+1 212 ### ####",
    "CA": "+1 416 ### ####",
    "MX": "+52 55 #### ####",
    "BR": "+55 11 #### ####",
    "JP": "+81 3 #### ####",
    "SG": "+65 6### ####",
    "AU": "+61 2 #### ####",
}
CONTACT_ROLES = ("CFO", "Head of Procurement", "Programme Director", "COO", "Finance Manager")

_NAMES = {
    "de": (
        "Anna Lukas Sophie Felix Marie Jonas Lena Paul Katharina Maximilian Julia Tobias",
        "Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Hoffmann Schäfer Koch",
    ),
    "fr": (
        "Camille Louis Chloé Hugo Manon Jules Léa Arthur Inès Gabriel",
        "Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau",
    ),
    "nl": (
        "Daan Emma Sem Julia Lucas Sophie Bram Tess Thijs Fleur",
        "Jansen Bakker Visser Smit Meijer Mulder Bos Vos Peters Hendriks",
    ),
    "en": (
        "Oliver Amelia Harry Isla George Ava Jack Emily Charlie Grace",
        "Smith Jones Taylor Brown Williams Wilson Evans Roberts Walker Murphy",
    ),
    "us": (
        "James Olivia Michael Emma David Sophia Daniel Ava Matthew Mia Ethan Harper",
        "Johnson Miller Davis Garcia Rodriguez Martinez Anderson Thompson Clark Lewis Patel",
    ),
    "es": (
        "Lucía Hugo Martina Mateo Sofía Pablo Carmen Javier",
        "García Fernández López Martínez Sánchez Pérez Gómez Ruiz",
    ),
    "it": (
        "Giulia Marco Francesca Luca Chiara Alessandro Sara Matteo",
        "Rossi Russo Ferrari Esposito Bianchi Romano Colombo Ricci",
    ),
    "sv": (
        "Elsa Erik Maja Oscar Ebba Nils Astrid Lars",
        "Andersson Johansson Karlsson Nilsson Eriksson Larsson Olsson Persson",
    ),
    "pt": (
        "Ana João Beatriz Pedro Mariana Rafael Larissa Gustavo",
        "Silva Santos Oliveira Souza Costa Pereira Almeida Ferreira",
    ),
    "ja": (
        "Haruto Yui Sota Hina Ren Aoi Takumi Sakura Kenji Yuki Daiki Mei",
        "Sato Suzuki Takahashi Tanaka Watanabe Ito Yamamoto Nakamura Kobayashi Kato",
    ),
    "sg": (
        "Wei Jun Hui Zhi Siti Arjun Priya Ming",
        "Tan Lim Lee Ng Ong Wong Goh Chua",
    ),
}
NAME_POOLS = {k: (tuple(f.split()), tuple(s.split())) for k, (f, s) in _NAMES.items()}
COUNTRY_NAMES = {
    "DE": "de", "CH": "de", "FR": "fr", "NL": "nl", "BE": "nl", "GB": "en", "IE": "en",
    "AU": "en", "ES": "es", "MX": "es", "IT": "it", "SE": "sv", "US": "us", "CA": "us",
    "BR": "pt", "JP": "ja", "SG": "sg",
}  # fmt: skip
# Where the firm's people sit, per time zone.
TIME_ZONE_NAMES = {
    "Europe/Berlin": "de",
    "Europe/London": "en",
    "Europe/Paris": "fr",
    "Europe/Amsterdam": "nl",
    "Europe/Madrid": "es",
    "America/New_York": "us",
    "America/Chicago": "us",
    "America/Los_Angeles": "us",
    "America/Toronto": "us",
    "Asia/Tokyo": "ja",
    "Asia/Singapore": "sg",
    "Australia/Sydney": "en",
}

_FOLD = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "'": "", " ": ""})


def ascii_slug(text: str) -> str:
    """Returns text as an e-mail-safe, lower-case ASCII word (Müller -> mueller)."""
    folded = unicodedata.normalize("NFKD", text.lower().translate(_FOLD))
    return "".join(c for c in folded if c.isascii() and c.isalnum())


def demo_legal_entities() -> str:
    """PSHUB_LEGAL_ENTITIES for the demo firm: each region's legal entity and its country."""
    return json.dumps({region.legal_entity: region.country for region in REGIONS})
