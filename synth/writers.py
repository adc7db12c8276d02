"""Write the world as ACE would export it (CSV by DuckDB COPY, or .xlsx by openpyxl), and the truth files."""

from __future__ import annotations

import csv
import os
import shutil
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

import duckdb

from pipelines.warehouse.layouts import REPORTS, Report, Variant
from synth import catalog as cat
from synth.world import CAPE_START

XLSX_BATCH = 10_000
FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # zip entries carry no wall-clock time: same seed, same bytes

FILE_PREFIX = {
    "es003": "ES-003",
    "es022": "ES-022",
    "es701": "ES-701",
    "rev603": "REV-603",
    "rev613": "REV-613",
    "rev615": "REV-615",
}
OFFSET_COLUMNS = ("offset_amount", "offset_type", "offset_debt_reference", "offset_agency")


@dataclass(frozen=True)
class Profile:
    """How the world's reports look on disk: which layout variant of each report, which optional columns an export
    leaves out, and what real exports do that the pipeline's first assumptions did not (docs/DOMAIN.md section 8)."""

    name: str
    variants: dict[str, str]  # report code -> layout variant written
    es003_omitted: tuple[str, ...] = ()  # optional ES-003 columns the export leaves out
    chapter99_zero_value: bool = False  # the goods value only on the line's base HTS row; Ch. 98/99 rows $0.00
    excel_title_rows: dict[str, int] = field(default_factory=dict)  # report -> title/prompt rows above the header
    excel_sheets: dict[str, str] = field(default_factory=dict)  # report -> sheet name of the data
    criteria_sheet: bool = False  # a first sheet of report criteria (no header) before the data sheet


PROFILES = {
    # As real exports are found to be: the value once per line, no optional indicator columns, ES-022 and
    # REV-603 in the layouts an importer's tool reads from real exports, Excel data below title rows.
    "realistic": Profile(
        "realistic",
        {"es022": "importer_tool_2026", "rev603": "importer_tool_2026"},
        es003_omitted=("psc_indicator", "reconciliation_indicator", "adcvd_indicator", "entry_summary_status"),
        chapter99_zero_value=True,
        excel_title_rows={"rev603": 5},
        excel_sheets={"rev603": "Report"},
        criteria_sheet=True,
    ),
    # The project's first assumptions: every optional column, the value on every row, the assumed layouts.
    "assumed": Profile("assumed", {}, excel_title_rows={}),
}
DEFAULT_TITLE_ROWS = {"realistic": 4, "assumed": 2}


@dataclass
class FileSpec:
    report: Report
    date_from: date
    date_to: date
    source: str  # select with typed columns named like the layout's Column.name
    columns: tuple[str, ...]  # layout columns written, in the variant's order
    variant: Variant | None = None  # the layout written (its header texts)
    bom: bool = False
    dashed: bool = False  # entry numbers as XXX-NNNNNNN-C
    xlsx: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        ext = "xlsx" if self.xlsx else "csv"
        return f"{FILE_PREFIX[self.report.code]}_{self.date_from}_{self.date_to}.{ext}"


@dataclass
class Written:
    spec: FileSpec
    path: Path
    rows: int
    distinct_keys: int
    exported_at: datetime


# --- report sources ---------------------------------------------------------------------------------------


def _es003_source(lo: date, hi: date, newer_from: date | None, chapter99_zero_value: bool) -> str:
    # Rows of entries that a newer export also covers carry the pre-correction amount here.
    older = f"e.entry_date >= date '{newer_from}'" if newer_from else "false"
    value = "case when t.authority = 'GOODS' then t.value else 0 end" if chapter99_zero_value else "t.value"
    return f"""
      select e.entry_number as entry_summary_number, t.line_no as entry_summary_line_number,
        t.ordinal as tariff_ordinal_number, e.entry_type as entry_type_code, e.importer_number,
        e.port as port_of_entry_code, e.entry_date, e.entry_summary_date, t.hts as hts_number,
        ({value})::decimal(18, 2) as line_goods_value_amount,
        case when {older} and t.duty_prev is not null then t.duty_prev else t.duty end as line_duty_amount,
        l.ctry as country_of_origin_code, l.export_ctry as country_of_export_code,
        case when t.authority = 'GOODS' then
          case when l.uom = 'KG' then l.qty::varchar else l.qty::bigint::varchar end end as line_quantity_1,
        case when t.authority = 'GOODS' then l.uom end as line_uom_1_code,
        e.filer_name, e.importation_date,
        case when t.authority = 'GOODS' then l.col1_text when t.rate = 0 then 'Free'
             else printf('%g%%', t.rate::double) end as column_1_duty_rate,
        case when t.duty_prev is not null and not ({older}) then 'Y' else 'N' end as psc_indicator,
        case when e.recon then 'Y' else 'N' end as reconciliation_indicator,
        case when e.adcvd then 'Y' else 'N' end as adcvd_indicator,
        l.spi as line_spi_code, e.statement_payment_date, e.status as entry_summary_status
      from tariffs t join lines l using (entry_id, line_no) join entries e using (entry_id)
      where e.entry_date between date '{lo}' and date '{hi}'
    """


ES022_SOURCE = """
  select e.entry_number as entry_summary_number, e.importer_number,
    c.declaration_number as cape_declaration_number, c.submission_date as declaration_submission_date,
    c.cape_status as cape_entry_status, c.error as error_description,
    case when c.processed then c.cape_liq_date end as liquidation_date,
    re.refund_number, r.stated_principal as refund_principal_amount, r.stated_interest as refund_interest_amount,
    (r.stated_principal + r.stated_interest)::decimal(18, 2) as refund_total_amount,
    c.filer_code, i.form_4811_payee as cf4811_number,
    case when i.form_4811_payee is not null then 'Payee of ' || i.importer_name end as cf4811_name,
    e.entry_date, 'CT' || lpad((hash(e.port) % 90 + 10)::varchar, 2, '0') as control_team_number,
    'C' || substr(e.port, 1, 2) as center_id_code, 'Center of Excellence and Expertise ' || substr(e.port, 1, 2)
      as center_id_name,
    f.refund_date, f.refund_status
  from cape_lines c join entries e using (entry_id) join importers i using (imp_id)
  left join cape_refund_entries r on c.processed and r.entry_id = c.entry_id
  left join refund_entries re on c.processed and re.entry_id = c.entry_id
  left join refunds f on f.refund_number = re.refund_number
"""

ES701_SOURCE = """
  select e.entry_number as entry_summary_number, e.importer_number, e.port as port_of_entry_code,
    e.entry_type as entry_type_code, e.entry_date, r.liquidation_date, r.liquidation_type_code,
    r.liquidation_reason_code, r.liquidation_status, r.net_duty_change_amount, r.interest_amount,
    r.protest_number, r.protest_status, r.drawback_indicator
  from es701_rows r join entries e using (entry_id)
"""


def _rev603_source(lo: date, hi: date, with_offsets: bool, total_is_net: bool = False) -> str:
    # The layout found in real exports has one "Total Refund Amount" and no offset block: it carries what was paid,
    # net of offsets (the pipeline's var rev603_total_is_net_of_offsets says how it reads it).
    offset_cols = (
        "o.amount as offset_amount, o.offset_type, o.debt_reference as offset_debt_reference, "
        "o.agency as offset_agency,"
        if with_offsets
        else ""
    )
    offset_join = "left join offsets o using (refund_number)" if with_offsets else ""
    return f"""
      with tot as (select refund_number, sum(amount) as offset_total from offsets group by 1),
      docs as (
        select re.refund_number, min(e.entry_number) as document_number
        from refund_entries re join entries e using (entry_id) group by 1
      )
      select f.refund_number, f.refund_date, f.importer_number, f.payee_number, f.refund_status,
        case when tot.offset_total > 0 then 'Funds Diverted'
             when a.reissued then 'Check/ACH Reissued'
             when a.refund_number is not null then 'Check/ACH Returned' end as refund_secondary_status,
        f.principal as refund_principal_amount, f.interest as refund_interest_amount,
        {"(f.gross - coalesce(tot.offset_total, 0))" if total_is_net else "f.gross"}::decimal(18, 2)
          as gross_refund_amount, {offset_cols}
        (f.gross - coalesce(tot.offset_total, 0))::decimal(18, 2) as net_refund_amount,
        'ACH' as payment_method,
        case when f.refund_status = 'Treasury Issued' and f.gross > coalesce(tot.offset_total, 0)
          then lpad((hash(f.refund_number, 'trace') % 1000000000000000)::varchar, 15, '0') end as ach_trace_number,
        i.importer_name as company_name, null::varchar as care_of_name,
        (100 + hash(f.imp_id) % 9800)::varchar || ' Commerce Way' as address, 'CAPE' as refund_type,
        docs.document_number,
        'C' || lpad((hash(f.imp_id) % 10)::varchar, 2, '0') as center_id,
        lpad((hash(f.imp_id, 'team') % 900 + 100)::varchar, 3, '0') as team_number, '1001' as port_code
      from refunds f join importers i using (imp_id)
      left join tot using (refund_number) left join ach_returns a using (refund_number)
      left join docs using (refund_number)
      {offset_join}
      where f.refund_date between date '{lo}' and date '{hi}'
    """


REV613_SOURCE = """
  select a.refund_number, f.importer_number, a.amount as refund_amount, a.return_date as ach_return_date,
    a.reason_code as ach_return_reason_code, a.reason as ach_return_reason,
    case when a.reissued then 'Released - Reissued'
         when not a.ach_enrolled then 'Held - ACH Enrollment Required'
         else 'Held - Pending ACH Update' end as refund_hold_status
  from ach_returns a join refunds f using (refund_number)
"""


def _rev615_source(as_of: date) -> str:
    return f"""
      select f.refund_number, c.declaration_number as cape_declaration_number,
        e.entry_number as entry_summary_number, e.importer_number, c.cape_liq_date as liquidation_date,
        r.stated_principal as refund_principal_amount, r.stated_interest as refund_interest_amount,
        (r.stated_principal + r.stated_interest)::decimal(18, 2) as refund_total_amount,
        f.sent_date as sent_to_treasury_date
      from refund_entries re join refunds f using (refund_number)
      join cape_lines c on c.entry_id = re.entry_id and c.processed
      join cape_refund_entries r on r.entry_id = re.entry_id
      join entries e on e.entry_id = re.entry_id
      where f.sent_date <= date '{as_of}'
    """


def plan_files(
    con: duckdb.DuckDBPyConnection, as_of: date, xlsx_reports: tuple[str, ...], quirks: bool, profile: Profile
) -> list[FileSpec]:
    """Which files to write, with their quirks: ES-003 and REV-603 split by date, BOMs, dashed numbers; each in
    the profile's layout variant (an assumed-layout REV-603 of the earlier range lacks the offset block)."""

    def spec(code: str, lo: date, hi: date, source: str, omit: tuple[str, ...] = (), **kw) -> FileSpec:
        report = REPORTS[code]
        variant = report.variant(profile.variants.get(code, report.variants[-1].name))
        cols = tuple(c for c in variant.columns if c not in omit)
        return FileSpec(report, lo, hi, source, cols, variant, xlsx=code in xlsx_reports, **kw)

    specs: list[FileSpec] = []
    ranges = cat.ES003_RANGES if quirks else (cat.ES003_SINGLE_RANGE,)
    for i, (lo, hi) in enumerate(ranges):
        newer_from = date.fromisoformat(ranges[i + 1][0]) if i + 1 < len(ranges) else None
        specs.append(
            spec(
                "es003",
                date.fromisoformat(lo),
                date.fromisoformat(hi),
                _es003_source(lo, hi, newer_from, profile.chapter99_zero_value),
                omit=profile.es003_omitted,
                bom=quirks and i % 2 == 1,
            )
        )
    cape = min(CAPE_START, as_of)  # CAPE-era reports start when CAPE went live (empty before)
    specs.append(spec("es022", cape, as_of, ES022_SOURCE))
    specs.append(spec("es701", date(2025, 1, 1), as_of, ES701_SOURCE, bom=quirks, dashed=quirks))
    (split,) = con.execute("select rev603_split from meta").fetchone()
    real_rev603 = profile.variants.get("rev603") == "importer_tool_2026"
    if quirks and cape < split <= as_of:
        # two exports of REV-603 split by date; in the assumed layout the earlier one lacks the offset block, so
        # only Funds Diverted and gross <> net show its offsets
        early = split - timedelta(days=1)
        specs.append(
            spec("rev603", cape, early, _rev603_source(cape, early, False, real_rev603), OFFSET_COLUMNS, bom=True)
        )
        specs.append(spec("rev603", split, as_of, _rev603_source(split, as_of, not real_rev603, real_rev603)))
    else:
        specs.append(spec("rev603", cape, as_of, _rev603_source(cape, as_of, not real_rev603, real_rev603)))
    specs.append(spec("rev613", cape, as_of, REV613_SOURCE))
    specs.append(spec("rev615", cape, as_of, _rev615_source(as_of), bom=quirks, dashed=quirks))
    return specs


# --- formatting -------------------------------------------------------------------------------------------


def _csv_expr(col: str, kind: str, dashed: bool, quirks: bool) -> str:
    c = f'"{col}"'
    if kind == "entry_number" and dashed:
        return f"substr({c}, 1, 3) || '-' || substr({c}, 4, 7) || '-' || substr({c}, 11, 1)"
    if kind == "date":
        return f"strftime({c}, '%m/%d/%Y')" if quirks else f"strftime({c}, '%Y-%m-%d')"
    if kind == "money" and quirks:
        # ACE style: $1,234.56, negatives in parentheses
        return (
            f"case when {c} < 0 then '(' || format('{{:,.2f}}', -{c}) || ')' else '$' || format('{{:,.2f}}', {c}) end"
        )
    if kind == "money":
        return f"{c}::varchar"
    return c


def _ordered(spec: FileSpec) -> str:
    keys = ", ".join(f'"{k}" nulls first' for k in spec.report.key if k in spec.columns)
    return f"select * from ({spec.source}) order by {keys}"


def _count_keys(con: duckdb.DuckDBPyConnection, spec: FileSpec) -> tuple[int, int]:
    keys = ", ".join(f'"{k}"' for k in spec.report.key if k in spec.columns)
    return con.execute(f"select count(*), count(distinct row({keys})) from ({spec.source})").fetchone()


def _headers(spec: FileSpec) -> dict[str, str]:
    """Column name -> the header text the spec's layout variant writes."""
    return {c: h for h, c in spec.variant.headers}


def write_csv(con: duckdb.DuckDBPyConnection, spec: FileSpec, path: Path, quirks: bool) -> int:
    kinds = {c.name: c.kind for c in spec.report.columns}
    headers = _headers(spec)
    exprs = []
    for i, col in enumerate(spec.columns):
        header = headers[col].replace('"', '""')
        if i == 0 and spec.bom:
            header = "\ufeff" + header  # the BOM rides on the first header cell: no second pass over the file
        exprs.append(f'{_csv_expr(col, kinds[col], spec.dashed, quirks)} as "{header}"')
    newline = r"\r\n" if quirks else r"\n"
    sql = (
        f"copy (select {', '.join(exprs)} from ({_ordered(spec)})) to '{path.as_posix()}' "
        f"(header, delimiter ',', quote '\"', new_line '{newline}')"
    )
    (rows,) = con.execute(sql).fetchone()
    return rows


def _batches(con: duckdb.DuckDBPyConnection, sql: str) -> Iterator[list[tuple]]:
    res = con.execute(sql)
    while rows := res.fetchmany(XLSX_BATCH):
        yield rows


def write_xlsx(con: duckdb.DuckDBPyConnection, spec: FileSpec, path: Path, as_of: date, profile: Profile) -> int:
    """As ACE Reports exports to Excel: the data on its sheet ('Main Report'; REV-603 'Report' in real exports)
    below title and prompt rows, real Excel dates and numbers; a report-criteria sheet first when the profile has
    one (no header there: the reader must find the sheet by its header)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    kinds = {c.name: c.kind for c in spec.report.columns}
    headers = _headers(spec)
    (n,) = con.execute(f"select count(*) from ({spec.source})").fetchone()
    title_rows = profile.excel_title_rows.get(spec.report.code, DEFAULT_TITLE_ROWS[profile.name])
    if n > 1_048_576 - title_rows - 1:
        raise ValueError(f"{spec.name}: {n} rows do not fit one Excel sheet; write this report as CSV")
    cols = ", ".join(
        (_csv_expr(c, "entry_number", True, True) if kinds[c] == "entry_number" and spec.dashed else f'"{c}"')
        for c in spec.columns
    )
    wb = Workbook(write_only=True)
    fixed = datetime.combine(as_of, time(6, 0))
    wb.properties.creator = "ACE Reports"
    wb.properties.created = fixed
    prompts = [
        [spec.report.title],
        [f"Run Date: {as_of:%m/%d/%Y}"],
        ["Date Range:", f"{spec.date_from:%m/%d/%Y} - {spec.date_to:%m/%d/%Y}"],
        ["Importer Number:", "ALL"],
        ["Refund Status:", "ALL"],
        [],
    ]
    if profile.criteria_sheet:
        criteria = wb.create_sheet("Report Criteria")
        for row in prompts:
            criteria.append(row)
    ws = wb.create_sheet(profile.excel_sheets.get(spec.report.code, "Main Report"))
    for i in range(title_rows):
        ws.append(prompts[i] if i < len(prompts) else [])
    ws.append([headers[c] for c in spec.columns])
    date_cols = {i for i, c in enumerate(spec.columns) if kinds[c] == "date"}
    money_cols = {i for i, c in enumerate(spec.columns) if kinds[c] == "money"}
    rows = 0
    for batch in _batches(con, f"select {cols} from ({_ordered(spec)})"):
        for row in batch:
            out = []
            for i, v in enumerate(row):
                if v is not None and (i in date_cols or i in money_cols):
                    cell = WriteOnlyCell(ws, value=v)
                    cell.number_format = "mm/dd/yyyy" if i in date_cols else "#,##0.00;(#,##0.00)"
                    out.append(cell)
                else:
                    out.append(v)
            ws.append(out)
        rows += len(batch)
    tmp = path.with_suffix(".tmp.xlsx")
    wb.save(tmp)
    _normalise_zip(tmp, path, fixed)
    tmp.unlink()
    return rows


def _normalise_zip(src: Path, dst: Path, fixed: datetime) -> None:
    """Rewrite the workbook with fixed zip times and a fixed 'modified' stamp, so runs are byte-identical."""
    stamp = fixed.strftime("%Y-%m-%dT%H:%M:%SZ")
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            out = zipfile.ZipInfo(info.filename, date_time=FIXED_ZIP_TIME)
            out.compress_type = zipfile.ZIP_DEFLATED
            if info.filename == "docProps/core.xml":
                xml = zin.read(info).decode("utf-8")
                start = xml.find("<dcterms:modified")
                end = xml.find("</dcterms:modified>")
                if start >= 0 and end >= 0:
                    head = xml[:start] + '<dcterms:modified xsi:type="dcterms:W3CDTF">'
                    xml = head + stamp + xml[end:]
                zout.writestr(out, xml)
            else:
                with zin.open(info) as fin, zout.open(out, "w") as fout:
                    shutil.copyfileobj(fin, fout, 1 << 20)


def write_reports(
    con: duckdb.DuckDBPyConnection,
    out_dir: Path,
    as_of: date,
    xlsx_reports: tuple[str, ...],
    quirks: bool,
    profile: Profile,
) -> list[Written]:
    written = []
    for i, spec in enumerate(plan_files(con, as_of, xlsx_reports, quirks, profile)):
        path = out_dir / spec.name
        rows = write_xlsx(con, spec, path, as_of, profile) if spec.xlsx else write_csv(con, spec, path, quirks)
        total, distinct = _count_keys(con, spec)
        if total != rows:
            raise RuntimeError(f"{spec.name}: wrote {rows} rows, the world has {total}")
        # export time: the day after the range ends (never after as_of); later ranges are newer exports
        exported = datetime.combine(min(spec.date_to + timedelta(days=1), as_of), time(6, 0)) + timedelta(minutes=i)
        os.utime(path, (exported.timestamp(), exported.timestamp()))
        written.append(Written(spec, path, rows, distinct, exported))
    return written


# --- truth ------------------------------------------------------------------------------------------------


def _copy_truth(con: duckdb.DuckDBPyConnection, sql: str, path: Path) -> None:
    con.execute(f"copy ({sql}) to '{path.as_posix()}' (header, delimiter ',', quote '\"', dateformat '%Y-%m-%d')")


PROFILES_SQL = """
  select i.importer_number as "Importer Number", i.importer_name as "Importer Name",
    case when i.is_corporate then 'Y' else 'N' end as "Is Corporate",
    case when i.ach_enrolled then 'Y' else 'N' end as "ACH Enrolled",
    i.form_4811_payee as "Form 4811 Payee Number",
    array_to_string(list_sort(list(f.filer_code)), '|') as "Allowed Filer Codes"
  from importers i join importer_filers f using (imp_id)
  group by all order by 1
"""


def write_profiles(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    _copy_truth(con, PROFILES_SQL, path)


def write_truth(con: duckdb.DuckDBPyConnection, truth_dir: Path, written: list[Written]) -> None:
    truth_dir.mkdir(parents=True, exist_ok=True)
    _copy_truth(con, "select * from truth_entries order by entry_number", truth_dir / "entries.csv")
    _copy_truth(
        con,
        "select * from truth_variances order by refund_number, entry_number, kind",
        truth_dir / "planted_variances.csv",
    )
    _copy_truth(con, "select * from truth_refunds order by refund_number", truth_dir / "refunds.csv")
    _copy_truth(con, "select * from truth_offsets order by refund_number, debt_seq", truth_dir / "offsets.csv")
    write_profiles(con, truth_dir / "importer_profiles.csv")
    with open(truth_dir / "files.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(
            [
                "file_name",
                "report_code",
                "format",
                "data_rows",
                "distinct_keys",
                "date_from",
                "date_to",
                "exported_at",
                "has_bom",
                "entry_number_style",
                "has_offset_columns",
                "layout_variant",
                "columns_omitted",
            ]
        )
        for f in written:
            s = f.spec
            w.writerow(
                [
                    f.path.name,
                    s.report.code,
                    "xlsx" if s.xlsx else "csv",
                    f.rows,
                    f.distinct_keys,
                    s.date_from,
                    s.date_to,
                    f.exported_at.isoformat(),
                    "Y" if s.bom and not s.xlsx else "N",
                    "dashed" if s.dashed else "plain",
                    ("Y" if "offset_amount" in s.columns else "N") if s.report.code == "rev603" else "",
                    s.variant.name,
                    "|".join(c for c in s.variant.columns if c not in s.columns),
                ]
            )
