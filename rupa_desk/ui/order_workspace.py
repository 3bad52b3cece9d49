"""The orders part of a signed-in account: drafts, outbox, checkout and order tracking.

Built by `rupa_desk.ui.account_workspace.AccountWorkspace` from the account's context and
database; everything here lives and dies with the account. Who talks to whom:

- edits → `Drafts` (saved at once); "Send" → `Outbox` → Rupa; every send tells
  `Connectivity` whether Rupa answered; queued drafts are sent again by the drafts
  presenter's `QueuedDraftSender` (a backoff, and at once when Rupa is reachable again);
- "Check out" → `CheckoutLauncher` (embedded, the web engine of `ui/web` loaded on first use,
  a web profile per account) or the system browser with `CheckoutReturnListener` →
  `CheckoutLinker` → the order is saved and followed; when a checkout ends, the order list
  is read again soon (an order whose return never reached the app is found);
- `OrderTracker` polls on the `PollSchedule`; its events update the Orders pane, notify, and
  tell `Connectivity` whether Rupa is reachable.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from rupa_desk.core.checkout_return import ReturnEndpoint
from rupa_desk.core.drafts import Draft
from rupa_desk.core.polling import PollingPolicy, PollSchedule
from rupa_desk.services.checkout_linking import (
    CheckoutLinker,
    CheckoutReturnListener,
    LinkedOrder,
)
from rupa_desk.services.errors import Offline, RupaError
from rupa_desk.services.order_tracking import ConnectionChanged, OrderTracker, TrackingEvent
from rupa_desk.services.outbox import Outbox
from rupa_desk.services.store import Store
from rupa_desk.ui.components.notifier import DesktopNotifier
from rupa_desk.ui.presenters.drafts import DraftsPresenter
from rupa_desk.ui.presenters.orders import OrdersPresenter
from rupa_desk.ui.web.launcher import CheckoutLauncher, WebProfileNotRemoved

if TYPE_CHECKING:
    from rupa_desk.ui.account_workspace import AccountContext

log = logging.getLogger(__name__)


class OrderWorkspace:
    """Drafts, checkout and order tracking of one signed-in account.

    Args:
        context: the account and the app's services (its folders, client, messages, tasks).
        store: the account's database.
        policy: the polling policy (default: from the rate limit and the context's polling
            interval).
        use_tray: notify through the system tray when there is one.
    """

    def __init__(
        self,
        context: AccountContext,
        store: Store,
        *,
        policy: PollingPolicy | None = None,
        use_tray: bool = True,
    ) -> None:
        paths, environment, account_id = context.paths, context.environment, context.account.id
        client, bridge, tasks = context.client, context.bridge, context.tasks
        connectivity = context.connectivity
        self._store = store
        self._tasks = tasks
        self._bridge = bridge
        self._connectivity = connectivity
        self.launcher = CheckoutLauncher(
            paths, environment.name, account_id, origins=environment.checkout_origins
        )
        self.outbox = Outbox(
            client,
            store.drafts,
            return_url_for=ReturnEndpoint.embedded().url_for,
            draft_id_key=environment.paths.draft_id_metadata_key,
            on_change=self._on_outbox_draft_saved,
            on_outcome=self._on_outbox_outcome,
        )
        self.linker = CheckoutLinker(client, store.drafts, store.orders, on_linked=self._on_linked)
        self.listener = CheckoutReturnListener(self.linker.link, on_failure=tasks.report_failure)
        self.schedule = PollSchedule(
            policy
            or PollingPolicy.within_rate_limit(
                environment.limits.rate_per_second, base_interval_s=context.poll_interval_s
            ),
            clock=time.monotonic,
        )
        self.notifier = DesktopNotifier(bridge, use_tray=use_tray)
        self.tracker = OrderTracker(
            client,
            store.orders,
            store.patients,
            self.linker,
            self.schedule,
            results_dir=paths.results_dir(environment.name, account_id),
            on_event=self._on_tracker_event,
            lab_results=store.lab_results,
        )
        self.drafts = DraftsPresenter(
            store,
            self.outbox,
            self.linker,
            self.launcher,
            self.listener,
            bridge,
            tasks,
            connectivity,
            open_url=context.open_url,
            orders=client,
        )
        self.orders = OrdersPresenter(
            store.orders,
            self.tracker,
            self.notifier,
            bridge,
            practitioner_id=account_id,
            patients=store.patients,
            drafts=store.drafts,
            lab_results=store.lab_results,
        )
        connectivity.online_changed.connect(self._on_connectivity_online_changed)
        self.launcher.returned.connect(self._on_launcher_checkout_ended)
        self.launcher.closed.connect(self._on_launcher_checkout_ended)
        self.launcher.browser_requested.connect(self._on_launcher_checkout_ended)

    def start(self) -> None:
        """Recover drafts a crash left sending, start sending queued drafts and tracking
        orders."""
        recovered = self._store.drafts.recover_interrupted()
        if recovered:
            log.info("%d draft(s) were being sent when Rupa Desk stopped; queued", len(recovered))
        self.tracker.load()
        self._tasks.spawn(self.tracker.run(), name="order-tracking")
        self.drafts.start()

    async def close(self, *, remove_web_profile: bool = False) -> None:
        """Stop checkout and tracking (the caller cancels the tasks and closes the store).

        Args:
            remove_web_profile: also remove the account's checkout web profile (its Rupa web
                session) from the disk: a sign-out that removes the account's data. When it
                cannot be removed the user is told where it is.
        """
        self._connectivity.online_changed.disconnect(self._on_connectivity_online_changed)
        try:
            await self.launcher.aclose(remove_profile=remove_web_profile)
        except WebProfileNotRemoved as exc:
            self._bridge.known_error(exc)
        await self.listener.aclose()
        self.drafts.close()
        self.orders.close()
        self.notifier.close()

    # -- wiring --------------------------------------------------------------------------------

    def _on_outbox_draft_saved(self, draft: Draft) -> None:
        self.drafts.on_draft_saved(draft)

    def _on_outbox_outcome(self, error: RupaError | None) -> None:
        self.drafts.on_send_outcome(error)

    def _on_linked(self, linked: LinkedOrder) -> None:
        self.tracker.follow(linked.order.id)
        self.drafts.on_linked(linked)
        self.orders.order_linked(linked.order.id)

    def _on_launcher_checkout_ended(self, *args: object) -> None:
        self.tracker.refresh_list_soon()

    def _on_tracker_event(self, event: TrackingEvent) -> None:
        if isinstance(event, ConnectionChanged):
            if event.online:
                self._connectivity.answered()
            else:
                self._connectivity.failed(Offline())
        self.orders.on_tracking_event(event)

    def _on_connectivity_online_changed(self, online: bool) -> None:
        self.tracker.set_online(online)
