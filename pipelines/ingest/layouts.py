"""The ACE report layouts the pipeline reads: the project's contract for each export.

Only the ES-003 header text is confirmed by public parsers; the others follow ACE's style
(see shared/domain/REPORT_LAYOUTS.md). Header text a real export uses differently is mapped
without code through ``data/reference/header_aliases.csv``.

Column kinds and how ingestion parses them (set-based, in DuckDB):
  entry_number  upper-cased, dashes and spaces removed, flagged when malformed or the check digit fails
  text          trimmed, empty -> NULL
  code          trimmed, upper-cased, left-padded with zeros to ``width`` when Excel dropped them
  hts           digits only; 7 or 9 digits are left-padded to 8 or 10 (Excel drops a leading zero)
  int           whole number
  decimal       number, exact, up to 6 decimals (quantities)
  money         ``$1,234.56``, ``(12.00)`` or ``-12.00`` -> DECIMAL(18,2); more than 2 decimals is refused
  date          ``MM/DD/YYYY`` (zero padding optional) or ISO ``YYYY-MM-DD``
  flag          Y/N, Yes/No, True/False, 1/0, X (= yes) -> BOOLEAN
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Column:
    name: str  # column name in the raw table
    header: str  # ACE header text (matched case- and punctuation-insensitively)
    kind: str
    required: bool = False  # the header must be present, or the file is refused
    not_null: bool = False  # a row without a value is quarantined
    width: int | None = None  # zero-padding width for codes


@dataclass(frozen=True)
class Report:
    code: str  # es003, es022, ...
    title: str
    table: str  # raw table name (schema raw)
    key: tuple[str, ...]  # business key; the newest export of a key wins in staging
    columns: tuple[Column, ...] = field(default_factory=tuple)

    @property
    def required(self) -> list[Column]:
        return [c for c in self.columns if c.required]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


def _c(name, header, kind, required=False, not_null=None, width=None) -> Column:
    return Column(name, header, kind, required, required if not_null is None else not_null, width)


ES003 = Report(
    "es003",
    "ES-003 Entry Summary Line Tariff Details",
    "es003_line_tariffs",
    ("entry_summary_number", "entry_summary_line_number", "tariff_ordinal_number"),
    (
        _c("entry_summary_number", "Entry Summary Number", "entry_number", True),
        _c("entry_summary_line_number", "Entry Summary Line Number", "int", True),
        _c("tariff_ordinal_number", "Tariff Ordinal Number", "int", True),
        _c("entry_type_code", "Entry Type Code", "code", True, width=2),
        _c("importer_number", "Importer Number", "text", True),
        _c("port_of_entry_code", "Port of Entry Code", "code", width=4),
        _c("entry_date", "Entry Date", "date", True),
        _c("entry_summary_date", "Entry Summary Date", "date", True),
        _c("hts_number", "HTS Number - Full", "hts", True),
        _c("line_goods_value_amount", "Line Tariff Goods Value Amount", "money"),
        _c("line_duty_amount", "Line Tariff Duty Amount", "money", True),
        _c("country_of_origin_code", "Country of Origin Code", "code"),
        _c("country_of_export_code", "Country of Export Code", "code"),
        _c("line_quantity_1", "Line Tariff Quantity (1)", "decimal"),
        _c("line_uom_1_code", "Line Tariff UOM (1) Code", "code"),
        _c("filer_name", "Filer Name", "text"),
        _c("importation_date", "Importation Date", "date"),
        _c("column_1_duty_rate", "Column 1 Current Primary Duty Rate", "text"),
        _c("psc_indicator", "Line Post Summary Correction Indicator", "flag"),
        _c("reconciliation_indicator", "Reconciliation Indicator", "flag"),
        _c("adcvd_indicator", "AD/CVD Indicator", "flag"),
        _c("line_spi_code", "Line SPI Code", "code"),
        _c("statement_payment_date", "Statement Payment Date", "date"),
        _c("entry_summary_status", "Entry Summary Status", "text"),
    ),
)

ES022 = Report(
    "es022",
    "ES-022 CAPE Entry Summary Report",
    "es022_cape_entries",
    ("cape_declaration_number", "entry_summary_number"),
    (
        _c("entry_summary_number", "Entry Summary Number", "entry_number", True),
        _c("importer_number", "Importer Number", "text", True),
        _c("cape_declaration_number", "CAPE Declaration Number", "text", True),
        _c("declaration_submission_date", "Declaration Submission Date", "date", True),
        _c("cape_entry_status", "CAPE Entry Status", "text", True),
        _c("error_description", "Error Description", "text"),
        _c("liquidation_date", "Liquidation Date", "date"),
        _c("refund_number", "Refund Number", "text"),
        _c("refund_principal_amount", "Refund Principal Amount", "money"),
        _c("refund_interest_amount", "Refund Interest Amount", "money"),
        _c("refund_total_amount", "Refund Total Amount", "money"),
    ),
)

ES701 = Report(
    "es701",
    "ES-701 Courtesy Notice of Liquidation",
    "es701_liquidations",
    ("entry_summary_number", "liquidation_date", "liquidation_type_code"),
    (
        _c("entry_summary_number", "Entry Summary Number", "entry_number", True),
        _c("importer_number", "Importer Number", "text", True),
        _c("port_of_entry_code", "Port of Entry Code", "code", width=4),
        _c("entry_type_code", "Entry Type Code", "code", width=2),
        _c("entry_date", "Entry Date", "date"),
        # Suspended and extended entries have no liquidation date yet: the header is required, the value not.
        _c("liquidation_date", "Liquidation Date", "date", True, not_null=False),
        _c("liquidation_type_code", "Liquidation Type Code", "code"),
        _c("liquidation_reason_code", "Liquidation Reason Code", "code"),
        _c("liquidation_status", "Liquidation Status", "text", True),
        _c("net_duty_change_amount", "Net Duty Change Amount", "money"),
        _c("interest_amount", "Interest Amount", "money"),
        _c("protest_number", "Protest Number", "text"),
        _c("protest_status", "Protest Status", "text"),
        _c("drawback_indicator", "Drawback Indicator", "flag"),
    ),
)

REV603 = Report(
    "rev603",
    "REV-603 Trade Refund Report",
    "rev603_trade_refunds",
    ("refund_number", "offset_type", "offset_debt_reference", "offset_agency"),
    (
        _c("refund_number", "Refund Number", "text", True),
        _c("refund_date", "Refund Date", "date", True),
        _c("importer_number", "Importer Number", "text", True),
        _c("payee_number", "Payee Number", "text"),
        _c("refund_status", "Refund Status", "text", True),
        _c("refund_secondary_status", "Refund Secondary Status", "text"),
        _c("refund_principal_amount", "Refund Principal Amount", "money"),
        _c("refund_interest_amount", "Refund Interest Amount", "money"),
        _c("gross_refund_amount", "Gross Refund Amount", "money", True),
        # The offset block is UNVERIFIED: every offset column is optional.
        _c("offset_amount", "Offset Amount", "money"),
        _c("offset_type", "Offset Type", "text"),
        _c("offset_debt_reference", "Offset Debt Reference", "text"),
        _c("offset_agency", "Offset Agency", "text"),
        _c("net_refund_amount", "Net Refund Amount", "money"),
        _c("payment_method", "Payment Method", "text"),
        _c("ach_trace_number", "ACH Trace Number", "text"),
    ),
)

REV613 = Report(
    "rev613",
    "REV-613 ACH Rejected Refunds Report",
    "rev613_ach_returns",
    ("refund_number", "ach_return_date"),
    (
        _c("refund_number", "Refund Number", "text", True),
        _c("importer_number", "Importer Number", "text", True),
        _c("refund_amount", "Refund Amount", "money", True),
        _c("ach_return_date", "ACH Return Date", "date", True),
        _c("ach_return_reason_code", "ACH Return Reason Code", "code"),
        _c("ach_return_reason", "ACH Return Reason", "text"),
        _c("refund_hold_status", "Refund Hold Status", "text"),
    ),
)

REV615 = Report(
    "rev615",
    "REV-615 CAPE Details Refunds Report",
    "rev615_cape_refund_details",
    ("refund_number", "entry_summary_number"),
    (
        _c("refund_number", "Refund Number", "text", True),
        _c("cape_declaration_number", "CAPE Declaration Number", "text", True),
        _c("entry_summary_number", "Entry Summary Number", "entry_number", True),
        _c("importer_number", "Importer Number", "text", True),
        _c("liquidation_date", "Liquidation Date", "date"),
        _c("refund_principal_amount", "Refund Principal Amount", "money", True),
        _c("refund_interest_amount", "Refund Interest Amount", "money", True),
        _c("refund_total_amount", "Refund Total Amount", "money", True),
        _c("sent_to_treasury_date", "Sent to Treasury Date", "date"),
    ),
)

REPORTS: dict[str, Report] = {r.code: r for r in (ES003, ES022, ES701, REV603, REV613, REV615)}
