"""The local SQLite database (sqlite-utils): migrations, catalog, patients, drafts, orders,
the unsent new-patient form, saved panels.

The app opens one `Store` per environment and signed-in account:

    store = Store.for_account(paths, environment.name, practitioner.id)
    page = store.catalog.search("vitamin d", CatalogFilters(sample_type="Blood"))

The catalog is not in the account's database: each catalog sync builds it in a file of its
own beside it and switches to it once complete (`catalog_files`), so a sync never makes the
user's writes (drafts, notes, patients) wait.
"""

from rupa_desk.services.store.catalog import (
    Catalog,
    CatalogCompany,
    CatalogFilters,
    MatchField,
    PriceRange,
    SampleTypeCount,
    SearchCursor,
    SearchHit,
    SearchPage,
)
from rupa_desk.services.store.catalog_build import CatalogBuilder
from rupa_desk.services.store.catalog_query import PreferredLabs
from rupa_desk.services.store.database import (
    RemovedPatientData,
    Store,
    connect,
    typed_sqlite_errors,
    vacuum_file,
)
from rupa_desk.services.store.drafts import (
    DraftLine,
    DraftListing,
    Drafts,
    DraftSummary,
    DraftTest,
)
from rupa_desk.services.store.errors import (
    DatabaseBusyError,
    DatabaseDiskFullError,
    DatabaseReadOnlyError,
    DatabaseTooNewError,
    DatabaseUnusableError,
    StorageIOError,
    StoreDiskFullError,
    StoreError,
    StoreWriteError,
    UnknownDraftError,
    UnknownLabTestError,
)
from rupa_desk.services.store.orders import (
    OrderDetail,
    OrderFilters,
    OrderRow,
    Orders,
    OrderUpdate,
    StatusEvent,
    StoredOrderedTest,
    TrackedOrder,
    UnknownOrderError,
)
from rupa_desk.services.store.panels import ImportedPanels, Panels, UnknownPanelError
from rupa_desk.services.store.patient_forms import (
    PatientFormBusyError,
    PatientFormNotSavedError,
    PatientForms,
    PatientFormStatus,
)
from rupa_desk.services.store.patients import (
    DuplicateReason,
    PatientCache,
    PossibleDuplicate,
    UnknownPatientError,
)
from rupa_desk.services.store.sync_state import CATALOG, SyncRecord, SyncState

__all__ = [
    "CATALOG",
    "Catalog",
    "CatalogBuilder",
    "CatalogCompany",
    "CatalogFilters",
    "DatabaseBusyError",
    "DatabaseDiskFullError",
    "DatabaseReadOnlyError",
    "DatabaseTooNewError",
    "DatabaseUnusableError",
    "DraftLine",
    "DraftListing",
    "DraftSummary",
    "DraftTest",
    "Drafts",
    "DuplicateReason",
    "ImportedPanels",
    "MatchField",
    "OrderDetail",
    "OrderFilters",
    "OrderRow",
    "OrderUpdate",
    "Orders",
    "Panels",
    "PatientCache",
    "PatientFormBusyError",
    "PatientFormNotSavedError",
    "PatientFormStatus",
    "PatientForms",
    "PossibleDuplicate",
    "PreferredLabs",
    "PriceRange",
    "RemovedPatientData",
    "SampleTypeCount",
    "SearchCursor",
    "SearchHit",
    "SearchPage",
    "StatusEvent",
    "StorageIOError",
    "Store",
    "StoreDiskFullError",
    "StoreError",
    "StoreWriteError",
    "StoredOrderedTest",
    "SyncRecord",
    "SyncState",
    "TrackedOrder",
    "UnknownDraftError",
    "UnknownLabTestError",
    "UnknownOrderError",
    "UnknownPanelError",
    "UnknownPatientError",
    "connect",
    "typed_sqlite_errors",
    "vacuum_file",
]
