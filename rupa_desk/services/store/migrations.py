"""Schema migrations, applied in order at start-up (sqlite-utils `Migrations`).

Rules for adding one:
- Append a new function; never edit or reorder one that has shipped. Its name is recorded in
  `_sqlite_migrations`, and a database that has a name this version does not know comes from a
  newer Rupa Desk and is refused untouched (`DatabaseTooNewError`).
- Drafts and other user-authored tables are precious: migrate their rows (sqlite-utils
  `table.transform()` for changes that ALTER TABLE cannot do), never drop them.
- The catalog is a disposable cache, and since m010 it is not in this database at all: it has
  files of its own (`catalog_files`), and a change to its schema raises
  `catalog_schema.CATALOG_FORMAT` instead of adding a migration here.
"""

from __future__ import annotations

from sqlite_utils import Database, Migrations

from rupa_desk.services.store.catalog_files import CATALOG_FILE_DDL
from rupa_desk.services.store.catalog_schema import CATALOG_TABLES, LAB_COMPANIES_DDL, catalog_ddl
from rupa_desk.services.store.sync_state import CATALOG

MIGRATIONS = Migrations("rupa_desk")


@MIGRATIONS()
def m001_catalog(db: Database) -> None:
    """Lab companies and lab tests with their word and substring indexes."""
    db.executescript(LAB_COMPANIES_DDL + catalog_ddl())


@MIGRATIONS()
def m002_sync_state(db: Database) -> None:
    """When each resource (the catalog, patients, orders) was last synced, and how it went."""
    db.executescript(
        """
        CREATE TABLE sync_state (
            resource TEXT PRIMARY KEY,
            last_success_at TEXT,
            last_attempt_at TEXT,
            item_count INTEGER,
            last_error TEXT
        );
        """
    )


@MIGRATIONS()
def m003_patients(db: Database) -> None:
    """The practitioner's patients, cached for offline search and duplicate checks."""
    db.executescript(
        """
        CREATE TABLE patients (
            id TEXT PRIMARY KEY,
            first_name TEXT NOT NULL,
            last_name TEXT NOT NULL,
            email TEXT NOT NULL,
            birthday TEXT,
            phone TEXT,
            gender TEXT,
            address TEXT,
            first_key TEXT NOT NULL,
            last_key TEXT NOT NULL,
            email_key TEXT NOT NULL,
            raw TEXT NOT NULL DEFAULT '{}',
            cached_at TEXT NOT NULL
        );
        CREATE INDEX patients_email_key ON patients (email_key);
        CREATE INDEX patients_name_key ON patients (last_key, first_key);
        CREATE INDEX patients_birthday ON patients (birthday);
        """
    )


@MIGRATIONS()
def m004_drafts(db: Database) -> None:
    """Drafts (precious, user-authored) and the tests on them.

    A draft test keeps the name and price it had when it was added, so the draft still reads
    well when the catalog changes or has not been downloaded on this PC.
    """
    db.executescript(
        """
        CREATE TABLE drafts (
            id TEXT PRIMARY KEY,
            patient_id TEXT,
            notes TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL DEFAULT 'open',
            order_intent_id TEXT,
            order_id TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX drafts_status ON drafts (status, updated_at);
        CREATE TABLE draft_tests (
            draft_id TEXT NOT NULL REFERENCES drafts (id) ON DELETE CASCADE,
            lab_test_id TEXT NOT NULL,
            position INTEGER NOT NULL,
            name TEXT NOT NULL DEFAULT '',
            price_cents INTEGER,
            added_at TEXT NOT NULL,
            PRIMARY KEY (draft_id, lab_test_id)
        );
        """
    )


@MIGRATIONS()
def m005_orders(db: Database) -> None:
    """Submitted orders, their tests (with downloaded results) and their status history."""
    db.executescript(
        """
        CREATE TABLE orders (
            id TEXT PRIMARY KEY,
            status TEXT NOT NULL,
            patient_id TEXT,
            order_intent_id TEXT,
            draft_id TEXT,
            total_price_cents INTEGER,
            date_submitted TEXT,
            date_paid TEXT,
            date_completed TEXT,
            date_canceled TEXT,
            fetched_at TEXT,
            next_poll_at TEXT,
            raw TEXT NOT NULL DEFAULT '{}'
        );
        CREATE INDEX orders_patient ON orders (patient_id);
        CREATE INDEX orders_next_poll ON orders (next_poll_at);
        CREATE TABLE ordered_tests (
            id TEXT PRIMARY KEY,
            order_id TEXT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
            lab_test_id TEXT,
            requisition TEXT,
            results_pdf TEXT,
            results_hl7 TEXT,
            date_results_received TEXT,
            results_file TEXT,
            raw TEXT NOT NULL DEFAULT '{}'
        );
        CREATE INDEX ordered_tests_order ON ordered_tests (order_id);
        CREATE TABLE order_status_history (
            id INTEGER PRIMARY KEY,
            order_id TEXT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
            status TEXT NOT NULL,
            observed_at TEXT NOT NULL
        );
        CREATE INDEX order_status_history_order ON order_status_history (order_id, observed_at);
        """
    )


@MIGRATIONS()
def m006_draft_states(db: Database) -> None:
    """Drafts get the state machine of `rupa_desk.core.drafts` (orders issue).

    `status` now holds a `DraftState` value; existing drafts keep their content and get the
    state their ids imply (checked out with an order, sent with an order intent, else local).
    """
    db.executescript(
        """
        ALTER TABLE drafts ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE drafts ADD COLUMN sent_revision INTEGER;
        ALTER TABLE drafts ADD COLUMN checkout_url TEXT;
        ALTER TABLE drafts ADD COLUMN failure_reason TEXT;
        ALTER TABLE drafts ADD COLUMN unconfirmed_create INTEGER NOT NULL DEFAULT 0;
        UPDATE drafts SET
            status = CASE
                WHEN order_id IS NOT NULL AND order_intent_id IS NOT NULL THEN 'checked_out'
                WHEN order_intent_id IS NOT NULL THEN 'sent'
                ELSE 'local'
            END,
            sent_revision = CASE WHEN order_intent_id IS NOT NULL THEN 0 END;
        CREATE INDEX drafts_order_intent ON drafts (order_intent_id);
        """
    )


@MIGRATIONS()
def m007_order_tracking(db: Database) -> None:
    """Orders: whose they are (clinic filter) and which result each downloaded file holds."""
    db.executescript(
        """
        ALTER TABLE orders ADD COLUMN practitioner_id TEXT;
        UPDATE orders SET practitioner_id =
            json_extract(raw, '$.relationships.patients_practitioner.data.id')
            WHERE json_valid(raw);
        CREATE INDEX orders_submitted ON orders (date_submitted);
        ALTER TABLE ordered_tests ADD COLUMN results_file_received TEXT;
        """
    )


@MIGRATIONS()
def m008_patient_forms(db: Database) -> None:
    """The unsent new-patient form (user-authored, precious), saved as it is typed.

    One row per account database (`id` is always 1): every field as typed, where it is on
    its way to Rupa (`state`: editing, sending, failed) and the problems of the last attempt.
    """
    db.executescript(
        """
        CREATE TABLE patient_forms (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            first_name TEXT NOT NULL DEFAULT '',
            last_name TEXT NOT NULL DEFAULT '',
            email TEXT NOT NULL DEFAULT '',
            birthday TEXT NOT NULL DEFAULT '',
            phone TEXT NOT NULL DEFAULT '',
            gender TEXT NOT NULL DEFAULT '',
            street_1 TEXT NOT NULL DEFAULT '',
            street_2 TEXT NOT NULL DEFAULT '',
            city TEXT NOT NULL DEFAULT '',
            state TEXT NOT NULL DEFAULT '',
            zip TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL DEFAULT 'editing'
                CHECK (status IN ('editing', 'sending', 'failed')),
            field_errors TEXT NOT NULL DEFAULT '{}',
            general_errors TEXT NOT NULL DEFAULT '[]',
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        """
    )


@MIGRATIONS()
def m009_draft_return_url(db: Database) -> None:
    """Drafts remember where their order intent's checkout returns to, when the user chose
    the system browser (the loopback listener), so that "Send update" keeps it there."""
    db.execute("ALTER TABLE drafts ADD COLUMN return_url TEXT")


@MIGRATIONS(transactional=False)
def m010_catalog_files(db: Database) -> None:
    """The catalog moves out of this database into files of its own (`catalog_files`).

    The catalog sync writes hundreds of megabytes; in this database its write lock made the
    user's writes (drafts, notes) wait for seconds, or fail. Its tables here are dropped (a
    disposable cache: the next sync downloads it again into its own file), with any leftovers
    of an interrupted sync, and its sync time is forgotten ("no catalog yet" is the truth).
    Drafts, patients and orders are not touched. Then the space the catalog took is given back
    (VACUUM, outside a transaction; repeating the step is harmless if it is interrupted).
    """
    with db.atomic():
        leftovers = [
            str(row[0])
            for row in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
                " AND (name LIKE 'stage\\_%' ESCAPE '\\' OR name LIKE '%\\_next' ESCAPE '\\')"
            ).fetchall()
        ]
        for table in (*CATALOG_TABLES, *leftovers):
            db.execute(f"DROP TABLE IF EXISTS [{table}]")
        db.execute("DELETE FROM sync_state WHERE resource = ?", [CATALOG])
        db.execute(CATALOG_FILE_DDL)
    db.execute("VACUUM")


@MIGRATIONS()
def m011_draft_internal_notes(db: Database) -> None:
    """Drafts get an internal note, kept on this computer and never sent to Rupa.

    The existing `notes` stay where they are: they always were what Rupa shows the patient
    (the order's `notes_to_patient`), and the drafts pane now labels them so.
    """
    db.execute("ALTER TABLE drafts ADD COLUMN internal_note TEXT NOT NULL DEFAULT ''")


@MIGRATIONS()
def m012_panels(db: Database) -> None:
    """Saved panels (Rupa's "custom bundles"): a name, unique in any case, and the tests as
    they were saved (name, lab company, price), so that a panel used later says what changed."""
    db.executescript(
        """
        CREATE TABLE panels (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE UNIQUE INDEX panels_by_name ON panels (name COLLATE NOCASE);
        CREATE TABLE panel_tests (
            panel_id TEXT NOT NULL REFERENCES panels (id),
            position INTEGER NOT NULL,
            lab_test_id TEXT NOT NULL,
            name TEXT NOT NULL,
            lab_company TEXT NOT NULL DEFAULT '',
            price_cents INTEGER,
            PRIMARY KEY (panel_id, lab_test_id)
        ) WITHOUT ROWID;
        """
    )


@MIGRATIONS()
def m013_structured_results(db: Database) -> None:
    """Structured results (`results_hl7`): each ordered test's latest message as received,
    its results one row each, and the marks only this PC keeps ("Reviewed by practitioner",
    "Patient told": who and when, never sent to Rupa)."""
    db.executescript(
        """
        CREATE TABLE result_reports (
            ordered_test_id TEXT PRIMARY KEY,
            order_id TEXT NOT NULL,
            date_results_received TEXT,
            message BLOB,
            error TEXT,
            status TEXT NOT NULL,
            corrected INTEGER NOT NULL DEFAULT 0,
            fetched_at TEXT NOT NULL
        );
        CREATE INDEX result_reports_order ON result_reports (order_id);
        CREATE TABLE lab_results (
            id INTEGER PRIMARY KEY,
            ordered_test_id TEXT NOT NULL,
            order_id TEXT NOT NULL,
            position INTEGER NOT NULL,
            analyte_key TEXT NOT NULL,
            panel TEXT NOT NULL,
            analyte TEXT NOT NULL,
            value TEXT NOT NULL,
            flags TEXT NOT NULL,
            abnormal INTEGER NOT NULL,
            status TEXT NOT NULL,
            arrived_at TEXT NOT NULL,
            reviewed_by TEXT,
            reviewed_at TEXT,
            told_by TEXT,
            told_at TEXT,
            UNIQUE (ordered_test_id, position)
        );
        CREATE INDEX lab_results_inbox
            ON lab_results (arrived_at DESC, abnormal DESC, ordered_test_id, position);
        CREATE INDEX lab_results_test ON lab_results (ordered_test_id);
        CREATE TABLE result_inbox (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            seen_at TEXT NOT NULL
        );
        """
    )


@MIGRATIONS()
def m014_order_history(db: Database) -> None:
    """The order history download's cursor, the follow-ups, and what the reports read fast.

    `order_history` has one row: the next page of an unfinished download (a link Rupa sent),
    the newest order of the run under way, and how far back the last complete run reached.
    `order_follow_ups` holds who marked a late order as followed up, and when (local only).
    The reports count local days over tens of thousands of orders: the dates they use are
    kept as Unix seconds too, and what they need of an order is copied onto its tests, in
    indexes that hold every column a report reads. Triggers keep these up to date, whoever
    writes the orders; `received_seen_s` is when this PC saw an order reach Sample Received
    (a change it saw, not a first sighting).
    """
    db.executescript(
        f"""
        CREATE TABLE order_history (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            next_url TEXT,
            run_newest_submitted TEXT,
            complete_through TEXT,
            completed_at TEXT,
            orders_seen INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE order_follow_ups (
            order_id TEXT PRIMARY KEY,
            followed_up_by TEXT NOT NULL,
            followed_up_at TEXT NOT NULL
        );
        ALTER TABLE orders ADD COLUMN submitted_s INTEGER;
        ALTER TABLE orders ADD COLUMN paid_s INTEGER;
        ALTER TABLE orders ADD COLUMN received_seen_s INTEGER;
        ALTER TABLE ordered_tests ADD COLUMN results_s INTEGER;
        ALTER TABLE ordered_tests ADD COLUMN submitted_s INTEGER;
        ALTER TABLE ordered_tests ADD COLUMN start_s INTEGER;
        ALTER TABLE ordered_tests ADD COLUMN practitioner_id TEXT;
        ALTER TABLE ordered_tests ADD COLUMN canceled INTEGER NOT NULL DEFAULT 0;

        UPDATE orders SET submitted_s = {_seconds("date_submitted")},
            paid_s = {_seconds("date_paid")},
            received_seen_s = (SELECT {_seconds("min(h.observed_at)")}
                FROM order_status_history h WHERE h.order_id = orders.id
                AND h.status = 'Sample Received' AND h.id > (SELECT min(f.id)
                FROM order_status_history f WHERE f.order_id = orders.id));
        UPDATE ordered_tests SET results_s = {_seconds("date_results_received")},
            {_ORDER_FACTS.format(test="ordered_tests.order_id")};

        CREATE TRIGGER orders_report_insert AFTER INSERT ON orders BEGIN
            UPDATE orders SET submitted_s = {_seconds("NEW.date_submitted")},
                paid_s = {_seconds("NEW.date_paid")} WHERE rowid = NEW.rowid;
        END;
        CREATE TRIGGER orders_report_update AFTER UPDATE
            OF date_submitted, date_paid, date_canceled, status, practitioner_id ON orders
        WHEN OLD.date_submitted IS NOT NEW.date_submitted OR OLD.date_paid IS NOT NEW.date_paid
            OR OLD.date_canceled IS NOT NEW.date_canceled OR OLD.status IS NOT NEW.status
            OR OLD.practitioner_id IS NOT NEW.practitioner_id
        BEGIN
            UPDATE orders SET submitted_s = {_seconds("NEW.date_submitted")},
                paid_s = {_seconds("NEW.date_paid")} WHERE rowid = NEW.rowid;
            UPDATE ordered_tests SET
                {_ORDER_FACTS.format(test="NEW.id")}
                WHERE order_id = NEW.id;
        END;
        CREATE TRIGGER ordered_tests_report_insert AFTER INSERT ON ordered_tests BEGIN
            UPDATE ordered_tests SET results_s = {_seconds("NEW.date_results_received")},
                {_ORDER_FACTS.format(test="NEW.order_id")}
                WHERE rowid = NEW.rowid;
        END;
        CREATE TRIGGER ordered_tests_report_update AFTER UPDATE OF date_results_received
            ON ordered_tests
        WHEN OLD.date_results_received IS NOT NEW.date_results_received BEGIN
            UPDATE ordered_tests SET results_s = {_seconds("NEW.date_results_received")}
                WHERE rowid = NEW.rowid;
        END;
        CREATE TRIGGER order_status_history_report AFTER INSERT ON order_status_history
        WHEN NEW.status = 'Sample Received' AND EXISTS (SELECT 1 FROM order_status_history f
            WHERE f.order_id = NEW.order_id AND f.id < NEW.id)
        BEGIN
            UPDATE orders SET received_seen_s = coalesce(received_seen_s,
                {_seconds("NEW.observed_at")}) WHERE id = NEW.order_id;
            UPDATE ordered_tests SET
                {_ORDER_FACTS.format(test="NEW.order_id")}
                WHERE order_id = NEW.order_id;
        END;

        CREATE INDEX orders_report_submitted ON orders (submitted_s, status, paid_s,
            date_completed, date_canceled, practitioner_id, id);
        CREATE INDEX orders_report_paid ON orders (paid_s, status, date_canceled,
            practitioner_id, total_price_cents);
        CREATE INDEX orders_report_open ON orders (submitted_s)
            WHERE date_completed IS NULL AND date_canceled IS NULL;
        CREATE INDEX ordered_tests_report ON ordered_tests (submitted_s, canceled,
            practitioner_id, lab_test_id, results_s, start_s);
        CREATE INDEX ordered_tests_by_test ON ordered_tests (canceled, lab_test_id,
            submitted_s, results_s, start_s, practitioner_id);
        """
    )


#: What the reports need of an order, copied onto each of its tests (so that a report over
#: the tests reads one index and joins nothing): `{test}` is the order id to copy from.
_ORDER_FACTS = (
    "(submitted_s, start_s, practitioner_id, canceled) = (SELECT o.submitted_s,"
    " coalesce(o.received_seen_s, o.paid_s), o.practitioner_id,"
    " o.date_canceled IS NOT NULL OR lower(trim(o.status)) = 'canceled'"
    " FROM orders o WHERE o.id = {test})"
)


def _seconds(column: str) -> str:
    """SQL for an ISO timestamp (any offset) as Unix seconds; NULL stays NULL."""
    return f"CAST(strftime('%s', {column}) AS INTEGER)"


@MIGRATIONS()
def m015_epic_links(db: Database) -> None:
    """Epic (issue 16): which Rupa patient is which Epic patient, and the result files filed
    to her Epic chart (one row per Rupa ordered test: filed once, never twice)."""
    db.executescript(
        """
        CREATE TABLE epic_patient_links (
            rupa_patient_id TEXT PRIMARY KEY,
            epic_patient_id TEXT NOT NULL,
            mrn TEXT NOT NULL DEFAULT '',
            linked_at TEXT NOT NULL
        );
        CREATE TABLE epic_filings (
            ordered_test_id TEXT PRIMARY KEY,
            epic_patient_id TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('filing', 'filed', 'failed')),
            document_id TEXT,
            problem TEXT,
            updated_at TEXT NOT NULL
        );
        """
    )


def known_migration_names() -> tuple[str, ...]:
    """The migrations this version knows, in order (all are pending on an empty database)."""
    with Database(memory=True) as empty:
        return tuple(migration.name for migration in MIGRATIONS.pending(empty))
