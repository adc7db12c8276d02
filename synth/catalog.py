"""Static catalogues the synthetic world draws from: countries, goods, ports, names, planted roles.

These are the generator's own assumptions (not reference data of the pipeline). Weights are relative.
"""

from __future__ import annotations

# (ISO-2, weight). CN/MX/CA dominate, as they did in IEEPA collections.
COUNTRIES: tuple[tuple[str, int], ...] = (
    ("CN", 240),
    ("MX", 110),
    ("CA", 90),
    ("VN", 70),
    ("DE", 45),
    ("IT", 25),
    ("FR", 20),
    ("NL", 10),
    ("IE", 10),
    ("ES", 10),
    ("JP", 50),
    ("KR", 40),
    ("IN", 40),
    ("TW", 30),
    ("TH", 30),
    ("BR", 25),
    ("CH", 15),
    ("GB", 20),
    ("MY", 20),
    ("ID", 15),
    ("HK", 10),
    ("BD", 10),
    ("KH", 10),
    ("PH", 10),
    ("TR", 10),
    ("ZA", 10),
    ("IL", 5),
    ("NZ", 5),
    ("LI", 2),
    ("NG", 3),
)

EU_MEMBERS = ("DE", "IT", "FR", "NL", "IE", "ES")

# (HTS 10, column-1 %, column-1 text, category, UOM, weight). Category drives the Chapter 99 stacking:
# steel/aluminum/auto -> Section 232 (+ 9903.01.33), pharma/semis -> Annex II (9903.01.32),
# ag -> 9903.02.78 from 2025-11-13, apparel (col. 1 >= 15%) -> the 0% floor headings.
GOODS: tuple[tuple[str, str, str, str, str, int], ...] = (
    ("8471300100", "0", "Free", "electronics", "NO", 6),
    ("8517130000", "0", "Free", "electronics", "NO", 5),
    ("8504405500", "1.5", "1.5%", "electronics", "NO", 3),
    ("8544429090", "2.6", "2.6%", "general", "KG", 3),
    ("9403600080", "0", "Free", "furniture", "NO", 5),
    ("9401618011", "0", "Free", "furniture", "NO", 2),
    ("6110203079", "16.5", "16.5%", "apparel", "DOZ", 4),
    ("6204624021", "16.6", "16.6%", "apparel", "DOZ", 3),
    ("6109100012", "16.5", "16.5%", "apparel", "DOZ", 3),
    ("4202923031", "17.6", "17.6%", "apparel", "NO", 2),
    ("6403999065", "10", "10%", "footwear", "PRS", 3),
    ("9503000073", "0", "Free", "toys", "NO", 4),
    ("3926909985", "5.3", "5.3%", "general", "KG", 4),
    ("8481809050", "2", "2%", "general", "NO", 2),
    ("9018908000", "0", "Free", "general", "NO", 2),
    ("8708295160", "2.5", "2.5%", "auto", "KG", 3),
    ("4011101010", "4", "4%", "auto", "NO", 2),
    ("7318156580", "0", "Free", "steel", "KG", 3),
    ("7326908688", "2.9", "2.9%", "steel", "KG", 3),
    ("7604291010", "5", "5%", "aluminum", "KG", 2),
    ("7615107130", "3.1", "3.1%", "aluminum", "NO", 2),
    ("3004909290", "0", "Free", "pharma", "KG", 3),
    ("8542310000", "0", "Free", "semis", "NO", 2),
    ("0901110025", "0", "Free", "ag", "KG", 2),
    ("0803901000", "0", "Free", "ag", "KG", 1),
)
# Energy goods only for Canada/Mexico lines (9903.01.13 / 9903.01.05 at 10%).
ENERGY_GOODS = ("2711120020", "0", "Free", "energy", "KG")

PORTS_CA = ("3801", "0901", "3004", "0712")
PORTS_MX = ("2304", "2402", "2604", "2506")
PORTS_OTHER = ("2704", "2709", "1001", "1601", "5301", "1303", "3002", "4601", "2809", "1401")

NAME_PREFIXES = (
    "Acme",
    "Blue Ridge",
    "Cascade",
    "Delta",
    "Evergreen",
    "Frontier",
    "Granite",
    "Harbor",
    "Iron Gate",
    "Juniper",
    "Keystone",
    "Lakeshore",
    "Meridian",
    "Northwind",
    "Orchard",
    "Pioneer",
    "Quarry",
    "Redwood",
    "Summit",
    "Tidewater",
    "Union",
    "Valley",
    "Westfield",
    "Yellowstone",
    "Zenith",
    "Bayside",
    "Copperline",
    "Driftwood",
    "Eastgate",
    "Foxhollow",
)
NAME_MIDDLES = (
    "Trading",
    "Imports",
    "Supply",
    "Distribution",
    "Manufacturing",
    "Outfitters",
    "Home Goods",
    "Industrial",
    "Apparel",
    "Electronics",
    "Foods",
    "Auto Parts",
    "Hardware",
    "Toys",
)
SURNAMES = ("Rivera", "Nguyen", "Okafor", "Schmidt", "Patel", "Kowalski", "Haddad", "Lindqvist", "Moreau", "Tanaka")
CORP_SUFFIXES = (", Inc.", " Corp.", " LLC", " Co.", " Holdings, Inc.")
NONCORP_SUFFIXES = (" LP", " & Sons", " Partners", " General Partnership")
BROKER_SUFFIXES = (" Customs Brokerage, Inc.", " Logistics LLC", " Trade Services Corp.", " Customs House Brokers")

TREASURY_AGENCIES = ("USDA", "SBA", "ED", "HHS")

# ACH return reasons (NACHA). Not-enrolled importers get the account-data codes; a few others the rest.
ACH_NOT_ENROLLED = (
    ("R03", "No Account/Unable to Locate Account"),
    ("R04", "Invalid Account Number Structure"),
    ("R20", "Non-Transaction Account"),
)
ACH_OTHER = (("R01", "Insufficient Funds"), ("R02", "Account Closed"), ("R16", "Account Frozen"))

# Planted roles: (role, share of entries, minimum count). Each entry has at most one role; the rest are
# ordinary entries. Minimums make the small sample show every case; shares drive large runs.
ROLES: tuple[tuple[str, float, int], ...] = (
    ("outside_pre", 0.012, 3),
    ("outside_post", 0.012, 3),
    ("type_08", 0.003, 2),
    ("type_09", 0.003, 2),
    ("type_47", 0.003, 2),
    ("type_21", 0.004, 2),
    ("type_22", 0.003, 2),
    ("withdrawal", 0.008, 4),
    ("type_02", 0.01, 2),
    ("type_03", 0.015, 3),
    ("type_06", 0.01, 2),
    ("type_11", 0.03, 3),
    ("cancelled", 0.015, 3),
    ("rejected", 0.01, 2),
    ("recon", 0.015, 4),
    ("adcvd_flag", 0.008, 2),
    ("drawback", 0.008, 3),
    ("protest_open", 0.005, 2),
    ("protest_suspended", 0.004, 2),
    ("protest_closed", 0.005, 2),
    ("liq_day_80", 0.002, 2),
    ("liq_day_81", 0.002, 2),
    ("suspended", 0.012, 3),
    ("extended", 0.012, 3),
    ("usmca_fentanyl_paid", 0.004, 2),
    ("duty_mismatch", 0.008, 4),
    ("filer_not_in_profile", 0.003, 2),
)

# Roles whose entry must carry IEEPA lines (dated 2025-04-07 or later) so the case it plants is meaningful.
IEEPA_ROLES = (
    "type_08",
    "type_09",
    "type_47",
    "type_21",
    "type_22",
    "withdrawal",
    "type_03",
    "cancelled",
    "rejected",
    "recon",
    "adcvd_flag",
    "drawback",
    "protest_open",
    "protest_suspended",
    "protest_closed",
    "liq_day_80",
    "liq_day_81",
    "suspended",
    "extended",
    "filer_not_in_profile",
)
# Roles a careless filer still puts on a CAPE declaration (about half of them), so CBP rejects them.
MISTAKE_ROLES = (
    "type_08",
    "type_09",
    "type_47",
    "type_21",
    "type_22",
    "cancelled",
    "rejected",
    "recon",
    "drawback",
    "protest_open",
    "protest_suspended",
    "protest_closed",
    "duty_mismatch",
    "suspended",
    "extended",
    "usmca_fentanyl_paid",
    "filer_not_in_profile",
    "withdrawal",
)

# ES-003 export ranges by entry date (quirks on): consecutive ranges overlap by a few days, as users
# re-export with a margin. The later range is the newer export.
ES003_RANGES: tuple[tuple[str, str], ...] = (
    ("2025-01-01", "2025-04-15"),
    ("2025-04-10", "2025-07-31"),
    ("2025-07-25", "2025-10-31"),
    ("2025-10-27", "2026-01-31"),
    ("2026-01-26", "2026-03-31"),
)
ES003_SINGLE_RANGE = ("2025-01-01", "2026-03-31")

# Planted interest variances in CBP's stated figure (kind, share of refunded entries, minimum).
VARIANCES: tuple[tuple[str, float, int], ...] = (
    ("interest_entry_date_as_deposit", 0.01, 2),
    ("interest_single_rate", 0.01, 2),
    ("interest_simple", 0.01, 2),
    ("principal_short_pay", 0.008, 2),
    ("interest_unexplained", 0.008, 2),
)
