"""Exactly-once loading of landing files on Spark, with the DuckDB loader's rules and outcomes.

All new files of a source are loaded in batches (bounded in bytes, as in the DuckDB loader; a snapshot
source one extract at a time), each batch in one pass of Spark's readers over all its files with the
file's path as a column: `binaryFile` for the content hash that identifies a file, `text` (whole file,
decompressed by Hadoop's codecs) for its lines. Nothing is collected to the driver but per-file figures
and ledger entries.

The same decisions as the DuckDB loader, from the same code where it is not SQL:
- which files are already loaded, duplicates by content, or refused whole (`classify_files`, `over_caps`);
- the validation SQL and its quarantine reasons, rendered for Spark from the same JSON Schemas
  (`RecordSchema.validate_sql(..., SPARK)`), and the source's extra rules and derived columns;
- deduplication by the source's key across every file ever loaded: the first row of a key (files in
  order, then lines) wins; a later row with the same content is a duplicate, with other content a
  `duplicate_key_conflict`.

A batch becomes visible at one commit point, its ledger file (see ingestion/spark_store.py): a process
killed before it leaves nothing visible, and the next run loads the batch's files again, exactly once.

CSV and Parquet files (customerio/exports is CSV), and the NDJSON of a source that folds unknown keys into a column
(people exports), are read on the executors, one file per task, by the DuckDB loader's own readers
(`ingestion.readers.read`: the same header, quoting, coercion and folding rules, the same rejected records and refused
files); their rows then take the same path as the NDJSON lines Spark's text reader splits (`split_by_spark`).
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from ingestion import readers
from ingestion.landing_files import LandingFile, discover
from ingestion.loader import (FileResult, LoadSettings, ReadFile, batches, classify_files, classify_rows_sql, ledger_row,
                              load_isolated, not_read, partition_of, unaccounted)
from ingestion.schema_sql import SPARK
from ingestion.sources import ALL_SOURCES, Source
from ingestion.spark_store import BATCH, LEDGER_COLUMNS, ROWS_BATCH, STORE_DB, SparkStore, raw_columns, store_root

TEXT_FORMATS = ("ndjson",)  # split into lines by Spark's text reader (split_by_spark); the rest go through ingestion.readers
GLOB_CHARACTERS = "\\*?[]{}"
BLANK_LINE = "^[ \t\r]*\\z"  # only ASCII blanks make a blank line, as in ingestion/readers.py
REPLACEMENT = "\ufffd"  # what Spark's text reader makes of bytes that are not UTF-8
FILES_SCHEMA = T.StructType([
    T.StructField("_file", T.IntegerType()), T.StructField("file_path", T.StringType()),
    T.StructField("file_id", T.StringType()), T.StructField("path", T.StringType()),
    T.StructField("_partition", T.StringType()), T.StructField("_extracted_at", T.TimestampType()),
])
# What a reader makes of one file: its rows, the records it rejected (reject_*), or one row refusing the file (refusal_*).
READER_SCHEMA = T.StructType([
    T.StructField("_file", T.IntegerType()), T.StructField("position", T.LongType()), T.StructField("raw", T.StringType()),
    T.StructField("reject_reason", T.StringType()), T.StructField("reject_detail", T.StringType()),
    T.StructField("reject_bytes", T.LongType()),
    T.StructField("refusal_reason", T.StringType()), T.StructField("refusal_detail", T.StringType()),
])
READER_ARROW = pa.schema([("_file", pa.int32()), ("position", pa.int64()), ("raw", pa.string()),
                          ("reject_reason", pa.string()), ("reject_detail", pa.string()), ("reject_bytes", pa.int64()),
                          ("refusal_reason", pa.string()), ("refusal_detail", pa.string())])
REJECT_SCHEMA = T.StructType([
    T.StructField("file_id", T.StringType()), T.StructField("path", T.StringType()),
    T.StructField("reason", T.StringType()), T.StructField("detail", T.StringType()),
    T.StructField("raw_bytes", T.LongType()),
])


def split_by_spark(source: Source, f: LandingFile) -> bool:
    """Whether Spark's text reader splits the file into lines. The other files go through ingestion.readers, as on
    DuckDB: CSV and Parquet, and the NDJSON of a source that folds unknown keys into a column (its readers' fold)."""
    return f.format in TEXT_FORMATS and source.fold_extra_columns_into is None


def reader_path(path: Path) -> str:
    """A local path as Spark's readers take it: they expand globs, so glob characters in a name are escaped."""
    text = str(path.absolute())
    return "".join("\\" + c if c in GLOB_CHARACTERS else c for c in text)


# Spark's file paths are URIs; decoding them ('+' is a plus, not a space) gives back the local path.
FILE_PATH = "url_decode(replace(_metadata.file_path, '+', '%2B'))"


def file_key(path: Path) -> str:
    return "file:" + str(path.absolute())


def micros_to_datetime(micros: int | None) -> datetime | None:
    return None if micros is None else datetime.fromtimestamp(micros / 1e6, UTC)


class SparkLoader(LoadSettings):
    def __init__(self, spark: SparkSession, landing: Path, store: SparkStore,
                 before_commit: Callable[[str, list[FileResult]], None] | None = None, **settings):
        super().__init__(landing, **settings)
        self.spark = spark
        self.store = store
        # Called with a batch's id and results once its files are written, just before its commit point.
        self.before_commit = before_commit
        self._persisted: list[DataFrame] = []  # what a batch cached beside its lines, released with them

    # --- discovery ----------------------------------------------------------------------------------
    def _ledger(self, source: Source, where: str = "true") -> list[dict]:
        """Current ledger entries of the source (metadata, one per file), timestamps as UTC datetimes."""
        columns = [f"unix_micros({name}) AS {name}" if kind == "TIMESTAMP" else SPARK.ident(name)
                   for name, kind in LEDGER_COLUMNS]
        rows = self.spark.sql(
            f"SELECT {', '.join(columns)}, {ROWS_BATCH} FROM {STORE_DB}.current_files "
            f"WHERE source = {SPARK.lit(source.name)} AND ({where})").collect()
        stamps = [name for name, kind in LEDGER_COLUMNS if kind == "TIMESTAMP"]
        return [{**row.asDict(), **{name: micros_to_datetime(row[name]) for name in stamps}} for row in rows]

    def pending(self, source: Source, partitions: set[str] | None = None) -> list[LandingFile]:
        """Complete files of the source that the ledger has not accounted for yet (as the DuckDB loader's)."""
        entries = self._ledger(source)
        known = {(e["path"], e["size_bytes"], e["modified_ns"]) for e in entries}
        refused = {e["path"] for e in entries
                   if e["status"] == "rejected" and (e["status_detail"] or "").startswith("not a regular file")}
        return unaccounted(discover(self.landing, source.folder, partitions), known, refused)

    def load_source(self, source: Source, partitions: set[str] | None = None,
                    on_file: Callable[[FileResult], None] | None = None) -> list[FileResult]:
        files = self.pending(source, partitions)
        groups = [[f] for f in files] if source.mode == "snapshot" else list(batches(files, self.batch_bytes))
        results: list[FileResult] = []
        for group in groups:
            for result in self._load_isolated(source, group):
                results.append(result)
                if on_file:
                    on_file(result)
        return results

    def _load_isolated(self, source: Source, group: list[LandingFile]) -> list[FileResult]:
        return load_isolated(source, group, lambda part: self.load_batch(source, part), lambda f: f)

    # --- one batch, one commit ------------------------------------------------------------------------
    def load_batch(self, source: Source, group: list[LandingFile]) -> list[FileResult]:
        started = time.perf_counter()
        batch_id = f"{time.time_ns():020d}-{uuid.uuid4().hex[:12]}"
        items = self._identify(group)
        lines = self._lines(source, items)
        try:
            self._refuse_over_caps(source, items, lines)
            entries = {(e["path"], e["file_id"]): e for e in self._ledger(
                source, f"file_id IN ({', '.join(SPARK.lit(i.file_id) for i in items)})")}
            results, to_load = classify_files(source, items, [(p, i, e["status"]) for (p, i), e in entries.items()])
            superseded = self._load_rows(source, batch_id, items, results, to_load, lines)
            self._quarantine_refusals(batch_id, source, items, results)
            seconds = (time.perf_counter() - started) / max(len(items), 1)
            for result in results:
                result.seconds = seconds
            commit = self._entries(source, batch_id, items, results, entries, superseded)
            if self.before_commit:
                self.before_commit(batch_id, results)
            self.store.commit(batch_id, commit)
        finally:
            lines.unpersist()
            while self._persisted:
                self._persisted.pop().unpersist()
        self.store.refresh(self.spark, source)
        return results

    def _identify(self, group: list[LandingFile]) -> list[ReadFile]:
        """Each file's id (sha256 of its bytes), hashed by Spark's binaryFile reader; entries that are not
        regular files or are over the size cap are never opened (as in the DuckDB loader)."""
        items: dict[int, ReadFile] = {}
        readable = []
        for index, f in enumerate(group):
            if f.refusal is not None:
                items[index] = not_read(f, readers.UnreadableFile("not_a_regular_file", f.refusal))
            elif f.size > readers.MAX_FILE_BYTES:
                items[index] = not_read(f, readers.UnreadableFile(
                    "file_too_large", f"{f.size} bytes, over the limit of {readers.MAX_FILE_BYTES}"))
            else:
                readable.append(index)
        if readable:
            hashed = dict(self.spark.read.format("binaryFile")
                          .load([reader_path(group[i].path) for i in readable])
                          .select(F.expr(FILE_PATH.replace("_metadata.file_path", "path")), F.sha2("content", 256))
                          .collect())
            for index in readable:
                f = group[index]
                unreadable = None if f.format is not None else readers.UnreadableFile(
                    "unsupported_format", f"{f.path.name}: expected .ndjson[.gz], .jsonl[.gz], .csv[.gz] or .parquet")
                # Spark's file sources skip empty files: an empty file's id is the hash of nothing.
                file_id = hashed[file_key(f.path)] if f.size else hashlib.sha256(b"").hexdigest()
                items[index] = ReadFile(f, file_id, None, unreadable)
        return [items[i] for i in range(len(group))]

    def _lines(self, source: Source, items: list[ReadFile]) -> DataFrame:
        """Every line (row, for the files ingestion.readers reads) of the batch's readable files: (_file, position, raw, blank,
        file_utf8, reject_reason, reject_detail, reject_bytes), persisted because the figures, the validation and
        the writes all read it. Files a reader refuses whole are marked refused in `items` here."""
        spark = self.spark
        files = spark.createDataFrame(
            [(i, file_key(item.file.path), item.file_id, item.file.relative, partition_of(source, item.file), item.file.stamp)
             for i, item in enumerate(items) if item.unreadable is None], FILES_SCHEMA)
        files.createOrReplaceTempView("batch_files")
        readable = [item for item in items if item.unreadable is None]
        texts = [reader_path(item.file.path) for item in readable if split_by_spark(source, item.file)]
        others = {file_key(item.file.path): item.file for item in readable if not split_by_spark(source, item.file)}
        parts = []
        if texts:
            spark.read.text(texts, wholetext=True).select(F.expr(FILE_PATH).alias("file_path"), "value") \
                .createOrReplaceTempView("batch_texts")
            # Split on \n only; a leading byte-order mark is not part of the first row; a trailing CR is dropped.
            parts.append(spark.sql(f"""
                SELECT f._file, CAST(pos + 1 AS BIGINT) AS position,
                    regexp_replace(CASE WHEN pos = 0 THEN regexp_replace(line, {SPARK.lit('^' + chr(0xFEFF))}, '') ELSE line END,
                                   {SPARK.lit(chr(13) + chr(92) + 'z')}, '') AS raw,
                    regexp_like(CASE WHEN pos = 0 THEN regexp_replace(line, {SPARK.lit('^' + chr(0xFEFF))}, '') ELSE line END,
                                {SPARK.lit(BLANK_LINE)}) AS blank,
                    is_valid_utf8(t.value) AS file_utf8,
                    CAST(NULL AS STRING) AS reject_reason, CAST(NULL AS STRING) AS reject_detail,
                    CAST(NULL AS BIGINT) AS reject_bytes
                FROM batch_texts AS t JOIN batch_files AS f USING (file_path)
                LATERAL VIEW posexplode(split(t.value, '\\n', -1)) AS pos, line"""))
        if others:
            parts.append(self._reader_rows(source, items, others))
        if not parts:
            empty = "SELECT CAST(NULL AS INT) AS _file, CAST(NULL AS BIGINT) AS position, CAST(NULL AS STRING) AS raw, "
            return spark.sql(empty + "false AS blank, true AS file_utf8, CAST(NULL AS STRING) AS reject_reason, "
                             "CAST(NULL AS STRING) AS reject_detail, CAST(NULL AS BIGINT) AS reject_bytes WHERE false").persist()
        lines = parts[0] if len(parts) == 1 else parts[0].unionByName(parts[1])
        return lines.persist(StorageLevel.MEMORY_AND_DISK)

    def _reader_rows(self, source: Source, items: list[ReadFile], files: dict[str, LandingFile]) -> DataFrame:
        """The files split_by_spark leaves to ingestion.readers, read on the executors (binaryFile gives each file's bytes);
        the files a reader refused whole come back to the driver, one row each, and are refused in `items`."""
        index = {file_key(item.file.path): i for i, item in enumerate(items)}
        schema, fold_into = source.schema, source.fold_extra_columns_into

        def read_files(batches):
            for batch in batches:
                for path, content in zip(batch.column("path").to_pylist(), batch.column("content").to_pylist()):
                    rows = read_landing_file(files[path], index[path], content, schema, fold_into)
                    yield pa.RecordBatch.from_pylist([dict(zip(READER_SCHEMA.fieldNames(), row)) for row in rows],
                                                     schema=READER_ARROW)

        read = self.spark.read.format("binaryFile").load([reader_path(f.path) for f in files.values()]) \
            .select(F.expr(FILE_PATH.replace("_metadata.file_path", "path")).alias("path"), "content") \
            .mapInArrow(read_files, READER_SCHEMA).persist(StorageLevel.MEMORY_AND_DISK)
        self._persisted.append(read)
        for row in read.where("refusal_reason IS NOT NULL").select("_file", "refusal_reason", "refusal_detail").collect():
            item = items[row["_file"]]
            items[row["_file"]] = ReadFile(item.file, item.file_id, None,
                                           readers.UnreadableFile(row["refusal_reason"], row["refusal_detail"]))
        return read.where("refusal_reason IS NULL").selectExpr(
            "_file", "position", "raw", "false AS blank", "true AS file_utf8", "reject_reason", "reject_detail", "reject_bytes")

    def _refuse_over_caps(self, source: Source, items: list[ReadFile], lines: DataFrame) -> None:
        """Files whose text is over a cap are refused whole, with the DuckDB reader's reasons."""
        figures = lines.groupBy("_file").agg((F.count("*") - 1).alias("newlines"),
                                             (F.sum(F.octet_length("raw") + 1) - 1).alias("text_bytes")).collect()
        for index, newlines, text_bytes in figures:
            item = items[index]
            if item.unreadable is not None or not split_by_spark(source, item.file):
                continue  # refused by its reader already; a reader checks its own caps
            refusal = readers.over_caps(item.file, item.file.size, text_bytes, newlines)
            if refusal is not None:
                items[index] = ReadFile(item.file, item.file_id, None, refusal)

    def _load_rows(self, source: Source, batch_id: str, items: list[ReadFile], results: list[FileResult],
                   to_load: list[int], lines: DataFrame) -> list[dict]:
        """Validate, deduplicate and write the rows of the files to load; returns the ledger entries a new
        snapshot extract supersedes."""
        if not to_load:
            return []
        spark = self.spark
        lines.where(F.col("_file").isin(to_load) & ~F.col("blank")) \
            .withColumn("bad_utf8", ~F.col("file_utf8") & F.col("raw").contains(REPLACEMENT)) \
            .createOrReplaceTempView("batch_lines")
        max_row_bytes = source.max_row_bytes or self.max_row_bytes
        spark.sql("SELECT _file, position, raw FROM batch_lines WHERE NOT bad_utf8 AND reject_reason IS NULL") \
            .createOrReplaceTempView("valid_utf8")
        validated = source.schema.validate_sql("valid_utf8", max_row_bytes, self.now + self.future_tolerance, SPARK)
        derived = "".join(f", CAST({expr} AS STRING) AS {SPARK.ident(name)}" for name, expr in source.derived_sql("spark").items())
        rule_reason = "".join(f" WHEN {cond} THEN {SPARK.lit(reason)}" for cond, reason, _ in source.rules)
        rule_detail = "".join(f" WHEN {cond} THEN {detail}" for cond, _, detail in source.rules)
        staged = spark.sql(f"""
            SELECT * EXCEPT (reason, detail), CASE WHEN reason IS NOT NULL THEN reason{rule_reason} END AS reason,
                CASE WHEN reason IS NOT NULL THEN detail{rule_detail} END AS detail
            FROM (SELECT s.*{derived}, f._extracted_at FROM ({validated}) AS s JOIN batch_files AS f USING (_file))""").persist(StorageLevel.MEMORY_AND_DISK)
        staged.createOrReplaceTempView("staged")

        classified = spark.sql(classify_rows_sql(source, SPARK)).persist(StorageLevel.MEMORY_AND_DISK)
        classified.createOrReplaceTempView("classified")
        try:
            self._count(results, to_load)
            superseded: list[dict] = []
            replace = True
            if source.mode == "snapshot":
                [index] = to_load
                item, result = items[index], results[index]
                current = self._ledger(source, "status = 'loaded'")
                newest = max((e["extracted_at"] for e in current if e["extracted_at"] is not None), default=None)
                replace = not current or newest is None or item.file.stamp >= newest
                if replace:
                    superseded = [{**e, "status": "superseded", "status_detail": f"replaced by {item.file.relative}"}
                                  for e in current]
                else:
                    result.status, result.detail = "superseded", "an extract with a newer stamp is already loaded"
            if replace:
                self._write_rows(source, batch_id)
            self._write_quarantine(source, batch_id)
        finally:
            staged.unpersist()
            classified.unpersist()
        return superseded

    def _count(self, results: list[FileResult], to_load: list[int]) -> None:
        figures = self.spark.sql("""
            SELECT _file, sum(read) AS read, sum(invalid) AS invalid, sum(load) AS load, sum(dup) AS dup,
                sum(conflict) AS conflict FROM (
                SELECT _file, 1 AS read, int(bad_utf8 OR reject_reason IS NOT NULL) AS invalid, 0 AS load, 0 AS dup, 0 AS conflict FROM batch_lines
                UNION ALL SELECT _file, 0, 1, 0, 0, 0 FROM staged WHERE reason IS NOT NULL
                UNION ALL SELECT _file, 0, 0, int(outcome = 'load'), int(outcome = 'duplicate'), int(outcome = 'conflict')
                    FROM classified)
            GROUP BY _file""").collect()
        by_file = {row["_file"]: row for row in figures}
        for index in to_load:
            row = by_file.get(index)
            if row is None:
                continue  # an empty file: nothing read
            result = results[index]
            result.rows_read, result.rows_loaded, result.rows_duplicate = row["read"], row["load"], row["dup"]
            result.rows_quarantined = row["invalid"] + row["conflict"]

    def _write_rows(self, source: Source, batch_id: str) -> None:
        columns = raw_columns(source)
        lineage = {
            "_file_id": "f.file_id", "_position": "s.position", "_partition": "f._partition",
            "_extracted_at": "f._extracted_at", "_row_hash": "c._row_hash",
            "_loaded_at": SPARK.timestamp(self.now), "_erased_at": "CAST(NULL AS TIMESTAMP)",
        }
        select = ", ".join(f"{lineage.get(name, 's.' + SPARK.ident(name))} AS {SPARK.ident(name)}" for name, _ in columns)
        self.spark.sql(f"""
            SELECT {select}, {SPARK.lit(batch_id)} AS {BATCH}
            FROM staged AS s JOIN classified AS c USING (_file, position) JOIN batch_files AS f USING (_file)
            WHERE c.outcome = 'load'""").write.mode("append").parquet(str(self.store.rows_dir(source)))

    def _write_quarantine(self, source: Source, batch_id: str) -> None:
        kept = self.raw_kept_bytes
        at, name, batch = SPARK.timestamp(self.now), SPARK.lit(source.name), SPARK.lit(batch_id)
        conflict_detail = SPARK.lit(f"key ({', '.join(source.key)}) already seen with different content")
        self.spark.sql(f"""
            SELECT {name} AS source, f.file_id, f.path, s.position, s.reason, s.detail, left(s.raw, {kept}) AS raw,
                CAST(octet_length(s.raw) AS BIGINT) AS raw_bytes, {at} AS quarantined_at, {batch} AS {BATCH}
            FROM staged AS s JOIN batch_files AS f USING (_file) WHERE s.reason IS NOT NULL
            UNION ALL
            SELECT {name}, f.file_id, f.path, s.position, 'duplicate_key_conflict', {conflict_detail},
                left(s.raw, {kept}), CAST(octet_length(s.raw) AS BIGINT), {at}, {batch}
            FROM classified AS c JOIN staged AS s USING (_file, position) JOIN batch_files AS f USING (_file)
            WHERE c.outcome = 'conflict'
            UNION ALL
            SELECT {name}, f.file_id, f.path, l.position, 'invalid_utf8',
                'byte ' || octet_length(substring_index(l.raw, {SPARK.lit(REPLACEMENT)}, 1)) || ' is not UTF-8',
                left(l.raw, {kept}), CAST(octet_length(l.raw) AS BIGINT), {at}, {batch}
            FROM batch_lines AS l JOIN batch_files AS f USING (_file) WHERE l.bad_utf8
            UNION ALL
            SELECT {name}, f.file_id, f.path, l.position, l.reject_reason, l.reject_detail, left(l.raw, {kept}),
                l.reject_bytes, {at}, {batch}
            FROM batch_lines AS l JOIN batch_files AS f USING (_file) WHERE l.reject_reason IS NOT NULL
            """).write.mode("append").parquet(str(self.store.quarantine_dir))

    def _quarantine_refusals(self, batch_id: str, source: Source, items: list[ReadFile], results: list[FileResult]) -> None:
        """Files refused whole: one quarantine row each, position 0, no content."""
        refusals = [(item.file_id, item.file.relative, item.unreadable.reason, item.unreadable.detail, item.file.size)
                    for item, result in zip(items, results) if result.status == "rejected"]
        if not refusals:
            return
        self.spark.createDataFrame(refusals, REJECT_SCHEMA).selectExpr(
            f"{SPARK.lit(source.name)} AS source", "file_id", "path", "CAST(0 AS BIGINT) AS position", "reason", "detail",
            "'' AS raw", "raw_bytes", f"{SPARK.timestamp(self.now)} AS quarantined_at", f"{SPARK.lit(batch_id)} AS {BATCH}",
        ).write.mode("append").parquet(str(self.store.quarantine_dir))

    def _entries(self, source: Source, batch_id: str, items: list[ReadFile], results: list[FileResult],
                 known: dict[tuple[str, str], dict], superseded: list[dict]) -> list[dict]:
        """The batch's ledger entries: a new entry per file (a touched file's entry keeps its rows' batch
        and takes its new size and mtime), and the entries a new extract supersedes."""
        names = [name for name, _ in LEDGER_COLUMNS]
        entries = []
        for item, result in zip(items, results):
            if result.status == "already_loaded":
                entry = {**known[(item.file.relative, item.file_id)],
                         "size_bytes": item.file.size, "modified_ns": item.file.modified_ns}
            else:
                entry = {**dict(zip(names, ledger_row(source, item, result, self.now))), ROWS_BATCH: batch_id}
            entries.append(entry)
        return entries + superseded


def read_landing_file(f: LandingFile, index: int, content: bytes, schema, fold_into: str | None) -> list[tuple]:
    """One file split_by_spark leaves to the DuckDB loader's reader, as READER_SCHEMA rows (runs on an executor)."""
    try:
        read = readers.read(f, content, schema, fold_into)
    except readers.UnreadableFile as exc:
        return [(index, None, None, None, None, None, exc.reason, exc.detail)]
    rows = read.rows
    out = [(index, position, raw, None, None, None, None, None)
           for position, raw in zip(rows.column("position").to_pylist(), rows.column("raw").to_pylist())]
    return out + [(index, r.position, r.raw, r.reason, r.detail, r.raw_bytes, None, None) for r in read.rejects]


def default_store(spark: SparkSession) -> SparkStore:
    """The raw layer inside the session's Spark SQL warehouse directory (SYNERGY_SPARK_WAREHOUSE)."""
    warehouse = spark.conf.get("spark.sql.warehouse.dir")
    return SparkStore(store_root(Path(warehouse.removeprefix("file:"))))


def load_landing_zone_spark(
    spark: SparkSession,
    landing: Path,
    store: SparkStore | None = None,
    sources: Iterable[Source] = ALL_SOURCES,
    partitions: set[str] | None = None,
    on_file: Callable[[FileResult], None] | None = None,
    **options,
) -> list[FileResult]:
    """Load every new landing file of `sources` into the Spark raw layer; `options` go to SparkLoader."""
    sources = list(sources)
    store = store or default_store(spark)
    store.define(spark, sources)
    loader = SparkLoader(spark, landing, store, **options)
    return [r for source in sources for r in loader.load_source(source, partitions, on_file)]
