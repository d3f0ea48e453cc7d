"""The delivery engine of broadcasts: claimed rows, Telegram's limits, retries, resumption.

Every second a JobQueue job runs `DeliveryEngine.run_until_idle()`: it claims pending
deliveries of due broadcasts in batches (services.broadcasts.claim_deliveries) and sends
each with the 已知悉 (acknowledged) button, paced by a token bucket (about 30 messages a second
overall, configurable) and at most one message a second per chat.

Outcomes:
- RetryAfter (429): the bucket is set back by as long as Telegram asks (nothing is sent
  meanwhile), then the same message is tried again; it does not count as an attempt.
- NetworkError / TimedOut / 5xx: retried with exponential backoff, up to `max_attempts`; then
  the delivery is `failed`.
- Forbidden (blocked the bot, deactivated) or BadRequest "chat not found": `unreachable`; the
  other recipients (the unit's other liaisons) still get theirs. When the broadcast is done, the
  coordinator who sent it is told once, with the names.

Exactly once, and where it is only at least once: a delivery is claimed in the database before it
is sent and settled (delivered) right after, so a restart or a second engine never sends a
settled one again, and a claim whose engine died goes back to pending after `lease`. Stopping
the engine (cancelling its task) lets the messages already on the wire finish and be recorded,
and gives the claims not yet sent back. Two cases remain at-least-once, by decision: a request
that timed out may have been delivered by Telegram without our learning it, and we send it again
(a lost notice is worse than a repeated one, and both copies carry the same delivery's button, so
acknowledging either counts once); and a process killed hard between Telegram's answer and the
commit (a few milliseconds per message in flight) resends those few after the lease.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import lru_cache
from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import Application, CallbackQueryHandler

from bot.buttons import BadPayload, ButtonSigner, Payload
from bot.context import BotDeps, KaoheContext
from services import broadcasts as service
from services.broadcasts import DeliveryJob, Outcome, UnreachableNotice
from storage.statuses import DeliveryStatus, FileKind
from templates import normalise_language, render

log = logging.getLogger(__name__)

ACK_KIND = "ack"
ACK_PATTERN = r"^ack\|"
ENGINE_KEY = "broadcast_engine"


def ack_payload(signer: ButtonSigner, delivery_id: int) -> str:
    """The signed callback data of a delivery's 已知悉 button."""
    return signer.dump(Payload(ACK_KIND, 0, "a", str(delivery_id)))


def ack_delivery_id(signer: ButtonSigner, data: str) -> int | None:
    """The delivery id of a genuine 已知悉 button, else None."""
    try:
        payload = signer.load(data)
    except BadPayload:
        return None
    if payload.kind != ACK_KIND or payload.action != "a" or not payload.arg.isdigit():
        return None
    return int(payload.arg)


@lru_cache(maxsize=256)
def message_text(language: str | None, text: str, sender: str) -> str:
    """What a recipient reads (HTML), in their language (cached: one broadcast, many sends)."""
    return render(
        "broadcast.message", normalise_language(language), html=True, text=text, sender=sender
    )


def ack_markup(
    signer: ButtonSigner, language: str | None, delivery_id: int
) -> InlineKeyboardMarkup:
    """The 已知悉 button of a delivery."""
    label = render("broadcast.ack_button", normalise_language(language))
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=ack_payload(signer, delivery_id))]]
    )


def _seconds(value: Any) -> float:
    """RetryAfter.retry_after as seconds (an int, or a timedelta with PTB_TIMEDELTA)."""
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value)


class TokenBucket:
    """Paces sends: `rate` a second with a burst of `capacity`; `pause` sets it back."""

    def __init__(
        self, rate: float, capacity: float = 1.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.capacity = capacity
        self._clock = clock
        self._tokens = capacity
        self._stamp = clock()
        self._blocked_until = 0.0
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        """Wait for one token."""
        async with self._lock:  # first come, first served
            while True:
                now = self._clock()
                if now < self._blocked_until:
                    await asyncio.sleep(self._blocked_until - now)
                    continue
                self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
                self._stamp = now
                if self._tokens >= 1.0:
                    self._tokens -= 1.0
                    return
                await asyncio.sleep((1.0 - self._tokens) / self.rate)

    def pause(self, seconds: float) -> None:
        """Send nothing for `seconds` (Telegram asked us to wait), then start from empty."""
        now = self._clock()
        self._blocked_until = max(self._blocked_until, now + seconds)
        self._tokens = 0.0
        self._stamp = max(self._stamp, self._blocked_until)


@dataclass
class EngineStats:
    """What an engine did (for tests and the benchmark)."""

    sent: int = 0
    retry_after: int = 0
    retried: int = 0
    unreachable: int = 0
    failed: int = 0
    lost_claims: int = 0
    waits: list[float] = field(default_factory=list)


class DeliveryEngine:
    """Sends the pending deliveries of due broadcasts within Telegram's limits."""

    def __init__(
        self,
        bot: Bot,
        deps: BotDeps,
        *,
        rate: float = 30.0,
        chat_rate: float = 1.0,
        headroom: float = 0.97,
        batch: int = 100,
        in_flight: int = 6,
        lease: timedelta = timedelta(minutes=2),
        max_attempts: int = 5,
        backoff: float = 0.5,
        send_timeout: float | None = None,
        name: str | None = None,
    ) -> None:
        self.bot = bot
        self.deps = deps
        # Telegram (and the fake server) count arrivals in any one-second window. The engine
        # sends at most rate x headroom + burst in any second, and requests held up on the way
        # (at most in_flight - 1) can arrive bunched with them: at 300 a second,
        # 0.97 x 300 + 2 + 5 = 298 stays under the limit; at low rates the burst is 1 and the
        # bunching is unlikely (and a rare 429 is waited out as asked). A burst of 2 lets the
        # pacing make up for sleeps that overshoot. Few requests on the wire also suit httpx,
        # whose connection pool slows down with many.
        burst = max(1.0, min(2.0, rate * (1.0 - headroom)))
        self.bucket = TokenBucket(rate * headroom, capacity=burst)
        self.chat_interval = 1.0 / chat_rate
        self.batch = batch
        self._wire = asyncio.Semaphore(in_flight)
        self.lease = lease
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.send_timeout = send_timeout
        self.name = name or f"engine-{uuid.uuid4().hex[:8]}"
        self.stats = EngineStats()
        self._chat_next: dict[int, float] = {}
        self._running = asyncio.Lock()
        self._outcomes: list[Outcome] = []
        self._flusher: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def busy(self) -> bool:
        """Whether a run is in progress."""
        return self._running.locked()

    def stop(self) -> None:
        """Finish the messages on the wire, give the other claims back, and return."""
        self._stopping = True

    async def run_until_idle(self) -> int:
        """Send everything due now, batch after batch; how many were delivered."""
        async with self._running:
            before = self.stats.sent
            self._stopping = False
            # The next batch is claimed while this one is sent, so the wire never waits for
            # the database.
            claiming: asyncio.Task[list[DeliveryJob]] | None = asyncio.create_task(self._claim())
            try:
                while claiming is not None:
                    jobs = await claiming
                    claiming = None
                    if not jobs or self._stopping:
                        await self._release(jobs)
                        break
                    claiming = asyncio.create_task(self._claim())
                    await self._send_batch(jobs)
            finally:
                if claiming is not None:  # stopped or cancelled with a batch claimed ahead
                    leftover = await asyncio.shield(claiming)
                    await asyncio.shield(self._release(leftover))
            notices = await asyncio.to_thread(service.finish_broadcasts, self.deps.uow())
            for notice in notices:
                await self._tell_sender(notice)
            self._chat_next.clear()
            return self.stats.sent - before

    async def _claim(self) -> list[DeliveryJob]:
        token = f"{self.name}:{uuid.uuid4().hex[:12]}"
        return await asyncio.to_thread(
            service.claim_deliveries, self.deps.uow(), token, self.batch, self.lease
        )

    async def _send_batch(self, jobs: list[DeliveryJob]) -> None:
        tasks: set[asyncio.Task[None]] = set()
        pending = list(jobs)
        try:
            while pending and not self._stopping:
                await self._wire.acquire()
                await self.bucket.acquire()
                job = pending.pop(0)
                task = asyncio.create_task(self._deliver(job))
                task.add_done_callback(lambda _: self._wire.release())
                tasks.add(task)
                task.add_done_callback(tasks.discard)
        finally:
            # On stop or cancellation: what is on the wire finishes and is recorded; claims
            # not yet sent go back to pending for the next run (or engine).
            if tasks:
                await asyncio.shield(asyncio.gather(*list(tasks), return_exceptions=True))
            if pending:
                await asyncio.shield(self._release(pending))
            await asyncio.shield(self._drain())

    async def _release(self, jobs: list[DeliveryJob]) -> None:
        for job in jobs:
            self._settle(job, DeliveryStatus.PENDING)
        await self._drain()

    def _settle(
        self,
        job: DeliveryJob,
        status: DeliveryStatus,
        message_id: int | None = None,
        error: str | None = None,
    ) -> None:
        """Record an outcome soon: outcomes are written together, one transaction for all
        that came in while the previous write was running."""
        self._outcomes.append(Outcome(job, status, message_id, error))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())

    async def _flush(self) -> None:
        while self._outcomes:
            items, self._outcomes = self._outcomes, []
            lost = await asyncio.to_thread(service.record_outcomes, self.deps.uow(), items)
            if lost:
                # Our claims had lapsed (a lease too short for this run): say so loudly.
                self.stats.lost_claims += lost
                log.warning("%s deliveries were settled after their claims lapsed", lost)

    async def _drain(self) -> None:
        """Wait until every outcome so far is written."""
        while self._flusher is not None and not self._flusher.done():
            await asyncio.shield(self._flusher)

    async def _chat_turn(self, chat_id: int) -> None:
        """At most one message a second to one chat."""
        now = time.monotonic()
        slot = max(now, self._chat_next.get(chat_id, 0.0))
        self._chat_next[chat_id] = slot + self.chat_interval
        if slot > now:
            await asyncio.sleep(slot - now)

    async def _send(self, job: DeliveryJob) -> Message:
        text = message_text(job.language, job.text, job.sender)
        markup = ack_markup(self.deps.signer, job.language, job.id)
        timeouts: dict[str, Any] = {}
        if self.send_timeout is not None:
            timeouts = {"read_timeout": self.send_timeout, "write_timeout": self.send_timeout}
        if job.file_kind == FileKind.PHOTO and job.file_id:
            return await self.bot.send_photo(
                job.telegram_id, job.file_id, caption=text, reply_markup=markup, **timeouts
            )
        if job.file_kind == FileKind.DOCUMENT and job.file_id:
            return await self.bot.send_document(
                job.telegram_id, job.file_id, caption=text, reply_markup=markup, **timeouts
            )
        return await self.bot.send_message(job.telegram_id, text, reply_markup=markup, **timeouts)

    async def _deliver(self, job: DeliveryJob) -> None:
        failures = 0
        await self._chat_turn(job.telegram_id)
        while True:
            try:
                message = await self._send(job)
            except RetryAfter as exc:
                wait = _seconds(exc.retry_after)
                self.stats.retry_after += 1
                self.stats.waits.append(wait)
                self.bucket.pause(wait)
                await self.bucket.acquire()
                continue
            except Forbidden as exc:
                await self._settle_failure(job, DeliveryStatus.UNREACHABLE, exc)
                return
            except BadRequest as exc:
                status = (
                    DeliveryStatus.UNREACHABLE
                    if "chat not found" in str(exc).lower()
                    else DeliveryStatus.FAILED
                )
                await self._settle_failure(job, status, exc)
                return
            except NetworkError as exc:  # TimedOut, 5xx, connection trouble
                failures += 1
                if failures >= self.max_attempts:
                    await self._settle_failure(job, DeliveryStatus.FAILED, exc)
                    return
                if self._stopping:
                    self._settle(job, DeliveryStatus.PENDING, error=str(exc))
                    return
                self.stats.retried += 1
                await asyncio.sleep(self.backoff * 2 ** (failures - 1))
                await self.bucket.acquire()
                continue
            except TelegramError as exc:
                await self._settle_failure(job, DeliveryStatus.FAILED, exc)
                return
            self._settle(job, DeliveryStatus.DELIVERED, message.message_id)
            self.stats.sent += 1
            return

    async def _settle_failure(
        self, job: DeliveryJob, status: DeliveryStatus, exc: TelegramError
    ) -> None:
        log.warning("broadcast delivery %s to %s: %s (%s)", job.id, job.telegram_id, status, exc)
        if status == DeliveryStatus.UNREACHABLE:
            self.stats.unreachable += 1
        else:
            self.stats.failed += 1
        self._settle(job, status, error=str(exc))

    async def _tell_sender(self, notice: UnreachableNotice) -> None:
        language = normalise_language(notice.language or self.deps.settings.language)
        text = render(
            "broadcast.unreachable_notice",
            language,
            html=True,
            names=notice.names,
            count=len(notice.names),
            total=notice.total,
            id=notice.broadcast_id,
        )
        for _ in range(3):
            await self.bucket.acquire()
            try:
                await self.bot.send_message(notice.telegram_id, text)
                return
            except RetryAfter as exc:
                self.bucket.pause(_seconds(exc.retry_after))
            except TelegramError as exc:
                log.warning(
                    "could not tell %s about unreachable people: %s", notice.telegram_id, exc
                )
                return


async def on_ack(update: Update, context: KaoheContext) -> None:
    """The 已知悉 button: the recipient acknowledges their own delivery, once."""
    query = update.callback_query
    assert query is not None
    language = context.language
    delivery_id = ack_delivery_id(context.deps.signer, query.data or "")
    if delivery_id is None:
        await query.answer(render("common.button_invalid", language), show_alert=True)
        return
    outcome = await context.call(
        service.acknowledge, context.deps.uow(), delivery_id, query.from_user.id
    )
    await query.answer(render(f"broadcast.ack_{outcome}", language))


def engine_of(application: Application[Any, Any, Any, Any, Any, Any]) -> DeliveryEngine:
    """The application's delivery engine (made on first use)."""
    engine = application.bot_data.get(ENGINE_KEY)
    if engine is None:
        engine = DeliveryEngine(application.bot, application.bot_data["deps"])
        application.bot_data[ENGINE_KEY] = engine
    return engine  # type: ignore[no-any-return]


async def delivery_tick(context: KaoheContext) -> None:
    """The JobQueue job: send what is due, unless a run is still going."""
    engine = engine_of(context.application)
    if not engine.busy:
        await engine.run_until_idle()


def ack_handler() -> CallbackQueryHandler[Any, Any]:
    """The 已知悉 button's handler; it must come before the dialog router's button handler."""
    return CallbackQueryHandler(on_ack, pattern=ACK_PATTERN)


def register_broadcast_jobs(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """The delivery job: sends the deliveries of due broadcasts every second."""
    job_queue = application.job_queue
    if job_queue is not None:
        job_queue.run_repeating(
            delivery_tick,
            interval=1.0,
            first=1.0,
            name="broadcast-delivery",
            job_kwargs={"max_instances": 2, "coalesce": True},
        )
