"""After checkout: find the order a draft became, save it and mark the draft checked out.

Three ways lead here, all ending in `CheckoutLinker`:

- the embedded checkout view caught the navigation to the return URL (`link`);
- the system browser came back to the app's loopback listener (`CheckoutReturnListener`,
  which calls `link` too);
- neither happened (the browser was closed, the app restarted): a refreshed order list shows
  an order whose order intent is a draft's (`link_listed`).

The `order` parameter of a return URL is only a hint: the order is fetched and must belong to
the draft's order intent; without it (or when it does not match) the order intent is read
(`relationships.order`), as RUPA_API.md says the client must be able to.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Protocol
from urllib.parse import urlencode

from rupa_desk.core.checkout_return import (
    RETURN_PATH,
    CheckoutReturn,
    InvalidReturnUrl,
    ReturnEndpoint,
    parse_return_url,
)
from rupa_desk.core.drafts import Draft, DraftState
from rupa_desk.core.models import Order, OrderIntent
from rupa_desk.services.errors import NotFound, RupaError
from rupa_desk.services.loopback import CallbackPage, LoopbackListener
from rupa_desk.services.store.drafts import Drafts
from rupa_desk.services.store.orders import Orders, OrderUpdate
from rupa_desk.services.store.sync_state import utc_now

log = logging.getLogger(__name__)


class OrderNotPlacedYet(RupaError):
    """The checkout came back, but Rupa has no order for the draft's order intent."""

    default_message = (
        "Rupa has no order for this draft yet. If you submitted it, it will show up in Orders "
        "shortly; if not, open the checkout again."
    )


class DraftNotSent(RupaError):
    """A checkout came back for a draft that has no order intent on this PC."""

    default_message = (
        "This checkout belongs to a draft that was never sent from this computer, so it "
        "cannot be linked here. The order will show up in Orders."
    )


class OrderApi(Protocol):
    """The part of `RupaClient` linking uses."""

    async def get_order(
        self, order_id: str, *, include: Sequence[str] = ("ordered_tests", "patient")
    ) -> Order: ...

    async def get_order_intent(self, order_intent_id: str) -> OrderIntent: ...


@dataclass(frozen=True, slots=True)
class LinkedOrder:
    """A draft and the order it became."""

    draft: Draft
    order: Order
    update: OrderUpdate


class CheckoutLinker:
    """Links orders to the drafts they came from.

    Args:
        client: the Rupa API.
        drafts: the drafts in the database.
        orders: the orders in the database.
        clock: the wall clock.
        on_linked: called with each new link (the order tracker starts following the order,
            the UI updates both panes).
    """

    def __init__(
        self,
        client: OrderApi,
        drafts: Drafts,
        orders: Orders,
        *,
        clock: Callable[[], datetime] = utc_now,
        on_linked: Callable[[LinkedOrder], None] | None = None,
    ) -> None:
        self._client = client
        self._drafts = drafts
        self._orders = orders
        self._clock = clock
        self._on_linked = on_linked

    async def link(self, result: CheckoutReturn) -> LinkedOrder:
        """Link the order a checkout produced to its draft (idempotent).

        Raises:
            UnknownDraftError: the draft is not in this PC's database.
            DraftNotSent: the draft has no order intent.
            OrderNotPlacedYet: Rupa has no order for the draft's intent.
            RupaError: Rupa could not be asked.
        """
        draft = self._drafts.get(result.draft_id)
        if draft.intent_id is None:
            raise DraftNotSent()
        order = await self._order_from_hint(result.order_id, draft.intent_id)
        if order is None:
            intent = await self._client.get_order_intent(draft.intent_id)
            if intent.order_id is None:
                raise OrderNotPlacedYet()
            order = await self._client.get_order(intent.order_id)
        return self._linked(draft, order)

    def link_listed(self, orders: Iterable[Order]) -> list[LinkedOrder]:
        """Link listed orders whose order intent belongs to a draft not yet checked out."""
        linked = []
        for order in orders:
            if order.order_intent_id is None:
                continue
            draft = self._drafts.find_by_intent(order.order_intent_id)
            if draft is not None and draft.state is not DraftState.CHECKED_OUT:
                linked.append(self._linked(draft, order))
        return linked

    async def _order_from_hint(self, order_id: str | None, intent_id: str) -> Order | None:
        if order_id is None:
            return None
        try:
            order = await self._client.get_order(order_id)
        except NotFound:
            return None
        if order.order_intent_id != intent_id:
            log.warning("a checkout return named an order of another order intent; ignored")
            return None
        return order

    def _linked(self, draft: Draft, order: Order) -> LinkedOrder:
        now = self._clock()
        update = self._orders.save(order, draft_id=draft.id)
        draft = self._drafts.update(draft.id, lambda d: d.checked_out(now, order.id))
        linked = LinkedOrder(draft, order, update)
        log.info("linked an order to its draft")
        if self._on_linked is not None:
            self._on_linked(linked)
        return linked


# --- the loopback listener for checkout in the system browser --------------------------------

RETURN_RESPONSE_TIMEOUT_S: Final = 20.0

LINKED_PAGE: Final = CallbackPage(
    200,
    "Order placed",
    "Rupa Desk has linked the order to your draft. You can close this tab and return to Rupa Desk.",
)


def _problem_page(message: str) -> CallbackPage:
    return CallbackPage(200, "Return to Rupa Desk", f"{message} You can close this tab.")


#: Told of a failure nobody awaits: where it happened and the exception (a bug to report).
FailureHandler = Callable[[str, BaseException], None]


class CheckoutReturnListener:
    """The app's loopback endpoint that the system browser returns to after checkout.

    An unexpected failure, of the linking or of the listener itself, is handed to
    `on_failure` (the app shows it as a bug report); the browser is told so.

    Args:
        handle: links a checkout return (`CheckoutLinker.link`).
        on_failure: where unexpected failures go (the bug reporter).
        host: the loopback address.
        response_timeout_s: how long the browser waits for the linking to finish.
    """

    def __init__(
        self,
        handle: Callable[[CheckoutReturn], Awaitable[LinkedOrder]],
        *,
        on_failure: FailureHandler,
        host: str = "127.0.0.1",
        response_timeout_s: float = RETURN_RESPONSE_TIMEOUT_S,
    ) -> None:
        self._handle = handle
        self._on_failure = on_failure
        self._listener = LoopbackListener(
            RETURN_PATH,
            (host,),
            (),
            response_timeout_s=response_timeout_s,
        )
        self._endpoint: ReturnEndpoint | None = None
        self._host = host
        self._task: asyncio.Task[None] | None = None

    @property
    def endpoint(self) -> ReturnEndpoint:
        """Where the browser returns to (once started)."""
        if self._endpoint is None:
            raise RuntimeError("the checkout return listener has not started")
        return self._endpoint

    async def start(self) -> ReturnEndpoint:
        """Listen on a free loopback port and start answering (idempotent)."""
        if self._endpoint is None:
            await self._listener.start()
            self._endpoint = ReturnEndpoint.loopback(self._listener.port, self._host)
            self._task = asyncio.get_running_loop().create_task(
                self._serve(), name="checkout-return-listener"
            )
            self._task.add_done_callback(self._on_task_done)
        return self._endpoint

    def _on_task_done(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            self._on_failure(task.get_name(), exc)  # logged and shown as a bug report

    async def aclose(self) -> None:
        """Stop listening."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        await self._listener.aclose(_problem_page("Rupa Desk has closed."))
        self._endpoint = None

    async def _serve(self) -> None:
        while True:
            callback = await self._listener.next_callback()
            url = f"{self.endpoint.base_url}?{urlencode(callback.params)}"
            callback.respond(await self._page_for(url))

    async def _page_for(self, url: str) -> CallbackPage:
        try:
            result = parse_return_url(url, (self.endpoint,))
        except InvalidReturnUrl as exc:
            return _problem_page(f"This address does not name a draft ({exc}).")
        if result is None:  # pragma: no cover - the listener answers only the return path
            return _problem_page("This address is not a checkout return.")
        try:
            await self._handle(result)
        except RupaError as exc:
            return _problem_page(exc.user_message)
        except LookupError:
            return _problem_page("This draft is not on this computer.")
        except Exception as exc:
            self._on_failure("link-checkout-from-browser", exc)  # logged, shown as a bug
            return _problem_page("Rupa Desk could not link the order; it has been reported.")
        return LINKED_PAGE
