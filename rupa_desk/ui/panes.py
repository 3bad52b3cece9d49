"""The pane registry: every pane of the main window, in sidebar order, registered once.

A pane is a `PaneSpec`: a stable key, a title, and a `build` function that makes the pane's
widget (and any presenter only it uses) for a signed-in account from its `AccountWorkspace`.
The main window reads the keys and titles before anything else loads (the sidebar is part of
the first paint), so a builder imports its page inside the function: this module stays cheap
to import. Adding a pane is one new module (presenter and page) plus one entry in `PANES`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from PySide6.QtWidgets import QWidget

    from rupa_desk.ui.account_workspace import AccountWorkspace


@dataclass(frozen=True)
class PaneSpec:
    """One pane of the main window.

    Attributes:
        key: a stable name ("patients", "catalog", "drafts", "orders", "panels"), remembered
            between runs.
        title: shown in the sidebar and the window title ("Draft orders").
        build: makes the pane's widget for a signed-in account (called once per sign-in; the
            widget is deleted at sign-out). None for a pane that only tests install by hand.
        icon: its sidebar icon, a qtawesome name ("mdi6.flask-outline"); "" for none.
    """

    key: str
    title: str
    build: Callable[[AccountWorkspace], QWidget] | None = None
    icon: str = ""


def _patients(workspace: AccountWorkspace) -> QWidget:
    from rupa_desk.services.reports import PracticeReports
    from rupa_desk.ui.pages.patients import PatientsPage

    reports = PracticeReports(workspace.store)

    def lab_history(patient_id: str) -> list[str]:
        return [event.line() for event in reports.patient_history(patient_id)]

    return PatientsPage(
        workspace.patients,
        saved_orders=workspace.store.orders,
        ordering=workspace.orders.drafts,
        results=workspace.store.lab_results,
        lab_history=lab_history,
        epic=workspace.epic,
    )


def _catalog(workspace: AccountWorkspace) -> QWidget:
    from rupa_desk.ui.pages.catalog import CatalogPage

    return CatalogPage(workspace.catalog, workspace.panels)


def _drafts(workspace: AccountWorkspace) -> QWidget:
    from rupa_desk.ui.pages.drafts import DraftsPage

    return DraftsPage(workspace.orders.drafts, workspace.panels)


def _orders(workspace: AccountWorkspace) -> QWidget:
    from rupa_desk.ui.pages.orders import OrdersPage

    return OrdersPage(
        workspace.orders.orders,
        ordering=workspace.orders.drafts,
        epic_filing=workspace.epic_filing,
    )


def _panels(workspace: AccountWorkspace) -> QWidget:
    from rupa_desk.ui.pages.panels import PanelsPage

    return PanelsPage(workspace.panels)


def _results(workspace: AccountWorkspace) -> QWidget:
    from rupa_desk.ui.pages.results_inbox import ResultsInboxPage
    from rupa_desk.ui.presenters.results_inbox import ResultsInboxPresenter

    presenter = ResultsInboxPresenter(
        workspace.store.lab_results, who=workspace.account.display_name
    )
    workspace.orders.orders.values_arrived.connect(presenter.results_arrived)
    return ResultsInboxPage(presenter)


def _reports(workspace: AccountWorkspace) -> QWidget:
    from rupa_desk.ui.pages.reports import ReportsPage

    return ReportsPage(workspace.reports_presenter())


PANES: Final[tuple[PaneSpec, ...]] = (
    PaneSpec("patients", "Patients", _patients, "mdi6.account-multiple-outline"),
    PaneSpec("catalog", "Catalog", _catalog, "mdi6.flask-outline"),
    PaneSpec("drafts", "Draft orders", _drafts, "mdi6.file-document-edit-outline"),
    PaneSpec("orders", "Orders", _orders, "mdi6.clipboard-text-clock-outline"),
    PaneSpec("panels", "Panels", _panels, "mdi6.format-list-checks"),
    PaneSpec("results", "Results inbox", _results, "mdi6.inbox-arrow-down-outline"),
    PaneSpec("reports", "Reports", _reports, "mdi6.chart-bar"),
)
