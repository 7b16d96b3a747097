"""The transactional outbox: every effect that must follow a committed action is a row written in the
action's own transaction, so that the effect exists exactly when the action does.

Effects are: issuing a certificate, rendering its PDF, telling people of an audit event, sending the
e-mails of notifications, counting the reports' stays again (the table EFFECTS). After the commit the row
is handed to the broker at once (the kick); if the broker cannot take it, the error is logged and the
action stands, and the relay (workflows.relay, every 30 s from beat) hands it over later. Each effect's
Celery task takes the effect's arguments and `effect_id`, and runs its work through `effect_run`, which
marks the effect done in the same transaction as the work: a task delivered twice, or run by two
workers at once, does the work once (the second waits on the row lock, then finds it done). A failed
run is not retried by Celery: the effect gets a later `available_at` (exponential backoff) and the relay
publishes it again then; after MAX_ATTEMPTS it is set aside (`failed_at`) for an administrator.

See docs/outbox.md for why this is our own small table rather than django-celery-outbox or
django-outbox-pattern, and for the timing of kick, relay, redelivery and the sweeper.
"""
import datetime as dt
import logging
import time
from collections.abc import Callable
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import partial

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EffectSpec:
    label: str
    # The Celery task (dotted path) that carries the effect out; it takes the effect's args, its kwargs and
    # `effect_id`, and calls effect_run.
    task: str


EFFECTS = {
    "certificate_issue": EffectSpec(_("颁发证书"), "printing.tasks.issue_certificate_task"),
    "certificate_render": EffectSpec(_("生成证书 PDF"), "printing.tasks.render_certificate_task"),
    "form_render": EffectSpec(_("生成申报书 PDF"), "printing.tasks.render_form_task"),
    "notify_event": EffectSpec(_("发送办理通知"), "workflows.tasks.notify_event"),
    "email_send": EffectSpec(_("发送通知邮件"), "workflows.tasks.send_notification_emails"),
    "stays_recount": EffectSpec(_("重算办理用时"), "workflows.tasks.recount_stays"),
}

# A failed run is tried again after 30 s, 1, 2, 4 … minutes, at most an hour apart; after this many
# failed runs (about 8.5 hours in all) the effect is set aside for an administrator.
MAX_ATTEMPTS = 12
BACKOFF_FIRST_SECONDS = 30
BACKOFF_MAX_SECONDS = 3600
# The kick waits this long for a broker at most (one retry): the request must not hang on a dead broker.
KICK_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}


class Effect(models.Model):
    """One effect of a committed action, pending until its task marks it done."""

    kind = models.CharField(_("类型"), max_length=32, choices=[(k, s.label) for k, s in EFFECTS.items()])
    # What the effect is about (an application, a certificate, an event): a second effect of the same kind
    # and key is not written while one is pending, so queueing twice does the work once.
    key = models.CharField(_("对象"), max_length=100)
    args = models.JSONField(default=list)
    kwargs = models.JSONField(default=dict)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    # Not handed to the broker before this (a failed run waits out its backoff).
    available_at = models.DateTimeField(_("可执行时间"), default=timezone.now)
    published_at = models.DateTimeField(_("最近发布"), null=True, blank=True)
    publish_count = models.PositiveIntegerField(_("发布次数"), default=0)
    attempts = models.PositiveSmallIntegerField(_("失败次数"), default=0)
    done_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    failed_at = models.DateTimeField(_("需人工处理"), null=True, blank=True)
    # The outcome of the last run: an error to retry, or why the work had nothing to do.
    note = models.TextField(_("说明"), blank=True)

    class Meta:
        verbose_name = _("待办后续操作")
        verbose_name_plural = _("待办后续操作")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "key"], condition=Q(done_at__isnull=True),
                                    name="one_pending_effect"),
        ]
        indexes = [
            # What the relay reads every 30 s: the pending effects, oldest first.
            models.Index(fields=["available_at"], condition=Q(done_at__isnull=True, failed_at__isnull=True),
                         name="effect_due_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.key}"


# ------------------------------------------------------------------------------------------- writing


def effects_add(*, kind: str, items: list[tuple[str, list, dict]]) -> None:
    """Write effects of one kind, (key, args, kwargs) each, in the caller's transaction, and hand them to
    the broker once it commits. A key with an effect still pending is skipped (that one does the work).

    One statement writes the rows and returns their ids, so the kick after the commit sends them without
    a query. The rows stay unmarked (`published_at` is the relay's mark only): a process that dies between
    its commit and its kick leaves them to the relay's grace period. Inside `effects_batched()` the rows
    wait for the end of the block and are written together with the block's other effects."""
    if kind not in EFFECTS:
        raise ValueError(f"unknown effect {kind!r}")
    if not items:
        return
    now = timezone.now()
    effects = [Effect(kind=kind, key=str(key), args=list(args), kwargs=dict(kwargs or {}), created_at=now,
                      available_at=now) for key, args, kwargs in items]
    batch = _batch.get()
    if batch is not None:
        batch.extend(effects)
    else:
        _write(effects)


def effect_add(*, kind: str, key, args=(), kwargs=None) -> None:
    effects_add(kind=kind, items=[(str(key), list(args), kwargs or {})])


_batch: ContextVar[list | None] = ContextVar("outbox_batch", default=None)


@contextmanager
def effects_batched():
    """Collect the effects added in the block and write them in one statement when it ends normally (an
    action with several effects, such as the certificate's issue and its PDF, costs one INSERT). Used
    inside the action's transaction; a block within a block adds to the outer one."""
    if _batch.get() is not None:
        yield
        return
    effects: list[Effect] = []
    token = _batch.set(effects)
    try:
        yield
    finally:
        _batch.reset(token)
    _write(effects)


def _write(effects: list[Effect]) -> None:
    written = _insert_pending(effects) if effects else []
    if not written:
        return
    here = _here.get()
    kept = [e for e in written if here is not None and e.kind in here["kinds"]]
    sent = [e for e in written if here is None or e.kind not in here["kinds"]]
    if sent:
        transaction.on_commit(partial(_kick, sent))
    if kept:
        transaction.on_commit(partial(_keep_here, here, kept))


def _keep_here(here: dict, effects: list[Effect]) -> None:
    """At the commit: to be run by the block that wrote them, or, if that block has ended before the
    commit (it ran inside an outer transaction), handed to the broker as usual."""
    if here["open"]:
        here["committed"].extend(effects)
    else:
        _kick(effects)


_here: ContextVar[dict | None] = ContextVar("outbox_here", default=None)


@contextmanager
def effects_run_here(kinds):
    """In a worker's task: the effects of these kinds that the block writes are not handed to the broker
    when their transaction commits; this process runs them itself (their task, called directly, through
    effect_run as always) when the block ends normally. A certificate's issue, its PDF and the issue's
    notification are then one Celery task instead of three (two messages, two deliveries and acks fewer:
    about 7 ms of CPU and two round trips to the broker per certificate). Each effect still runs once in
    its own transaction after the issue's commit, and a failure backs off and retries as usual. Should
    the process die, or the block raise, before they ran, they are rows that no one published: the relay
    publishes them after its grace period, as after a kick that did not happen. Effects whose transaction
    commits only after the block (an outer transaction) are handed to the broker at that commit. A block
    within a block adds to the outer one."""
    if _here.get() is not None:
        yield
        return
    state = {"kinds": frozenset(kinds), "committed": [], "open": True}
    token = _here.set(state)
    try:
        yield
    finally:
        _here.reset(token)
        state["open"] = False
    for effect in state["committed"]:
        task = import_string(EFFECTS[effect.kind].task)
        try:
            task(*effect.args, **{**effect.kwargs, "effect_id": effect.pk})
        except Exception:  # effect_run records failures itself; anything past it must not stop the others
            logger.warning("outbox: %s#%s raised; the relay runs it again", effect.kind, effect.pk, exc_info=True)


_INSERTED_FIELDS = [f for f in Effect._meta.concrete_fields if not f.primary_key]


def _insert_pending(effects: list[Effect]) -> list[Effect]:
    """INSERT … ON CONFLICT DO NOTHING RETURNING (PostgreSQL, SQLite >= 3.35): the rows whose kind and key
    have no pending effect are written, and the statement says which they are, ids included. Of the same
    kind and key given twice, the first is kept."""
    unique: dict[tuple[str, str], Effect] = {}
    for effect in effects:
        unique.setdefault((effect.kind, effect.key), effect)
    effects = list(unique.values())
    ops = connection.ops
    table = ops.quote_name(Effect._meta.db_table)
    columns = ", ".join(ops.quote_name(f.column) for f in _INSERTED_FIELDS)
    row = "(" + ", ".join(["%s"] * len(_INSERTED_FIELDS)) + ")"
    params = [f.get_db_prep_save(getattr(e, f.attname), connection) for e in effects for f in _INSERTED_FIELDS]
    kind, key, done = (ops.quote_name(Effect._meta.get_field(n).column) for n in ("kind", "key", "done_at"))
    pk = ops.quote_name(Effect._meta.pk.column)
    sql = (f"INSERT INTO {table} ({columns}) VALUES {', '.join([row] * len(effects))} "
           f"ON CONFLICT ({kind}, {key}) WHERE {done} IS NULL DO NOTHING RETURNING {pk}, {kind}, {key}")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        ids = {(k, key_): pk_ for pk_, k, key_ in cursor.fetchall()}
    written = []
    for effect in effects:
        if (effect.kind, effect.key) in ids:
            effect.pk = ids[(effect.kind, effect.key)]
            effect._state.adding, effect._state.db = False, connection.alias
            written.append(effect)
    return written


# ---------------------------------------------------------------------------------------- publishing


def _kick(effects: list[Effect]) -> None:
    """After the commit: hand the effects just written to the broker, without a query (never raises).

    Nothing is marked: what the broker did not take, and what it took but no worker has finished within
    the relay's grace period, the relay publishes (a duplicate message costs a no-op run)."""
    sent = 0
    try:
        for effect in effects:
            task = import_string(EFFECTS[effect.kind].task)
            task.apply_async(args=effect.args, kwargs={**effect.kwargs, "effect_id": effect.pk},
                             retry=True, retry_policy=KICK_RETRY_POLICY)
            sent += 1
    except Exception:
        logger.warning("broker unreachable: %d effect(s) wait for the relay (first %s#%s)",
                       len(effects) - sent, effects[sent].kind, effects[sent].pk, exc_info=True)


def effects_publish(effects: list[Effect], *, retry_policy: dict | None = None) -> int:
    """Hand effects to the broker, in order; stop at the first broker error (the rest wait for the relay)
    and log it. Returns how many were published.

    Each is marked published after the broker took it: a process that dies in between leaves it unmarked,
    and the relay publishes it again after its grace period (a duplicate message, a no-op run). The mark
    is skipped where a worker has meanwhile recorded a failed run (`attempts` moved), so that the retry
    keeps its backoff instead of waiting for the redelivery delay."""
    published: list[Effect] = []
    for effect in effects:
        task = import_string(EFFECTS[effect.kind].task)
        try:
            task.apply_async(args=effect.args, kwargs={**effect.kwargs, "effect_id": effect.pk},
                             retry=True, retry_policy=retry_policy or KICK_RETRY_POLICY)
        except Exception:
            logger.warning("broker unreachable: %d effect(s) wait for the relay (first %s#%s)",
                           len(effects) - len(published), effect.kind, effect.pk, exc_info=True)
            break
        published.append(effect)
    now = timezone.now()
    for attempts in sorted({effect.attempts for effect in published}):
        Effect.objects.filter(
            pk__in=[e.pk for e in published if e.attempts == attempts], attempts=attempts,
        ).update(published_at=now, publish_count=F("publish_count") + 1)
    return len(published)


# ----------------------------------------------------------------------------------------- consuming


class Skipped:
    """What effect_run returns for an effect that was done already (or is gone)."""

    def __repr__(self) -> str:
        return "SKIPPED"


SKIPPED = Skipped()


@dataclass(frozen=True)
class Outcome:
    """A work function's result with a note for the effect (why there was nothing to do, say)."""

    value: object = None
    note: str = ""


def backoff_seconds(attempts: int) -> int:
    return min(BACKOFF_MAX_SECONDS, BACKOFF_FIRST_SECONDS * 2 ** max(0, attempts - 1))


def effect_run(effect_id: int | None, work: Callable[[], object], *, atomic: bool = True):
    """Do the work of one effect once and mark the effect done.

    With `atomic` the work runs in the transaction that locks the effect row and marks it done: a second
    delivery waits for the first and then returns SKIPPED. Without it (work that must commit as it goes,
    such as an e-mail's send claim) the work's own writes make it safe to repeat, and the effect is marked
    done afterwards. Without an effect id (a direct call) the work simply runs.

    An error rolls the work back and schedules the effect's next attempt (or sets it aside after
    MAX_ATTEMPTS); it is logged, not raised, so that Celery does not retry on its own.
    """
    try:
        if effect_id is None:
            if not atomic:
                return _value(work())
            with transaction.atomic():
                return _value(work())
        if atomic:
            with transaction.atomic():
                effect = Effect.objects.select_for_update().filter(pk=effect_id).first()
                if effect is None or effect.done_at is not None:
                    return SKIPPED
                result = work()
                _mark_done(effect_id, result)
                return _value(result)
        if Effect.objects.filter(pk=effect_id, done_at__isnull=True).exists() is False:
            return SKIPPED
        running = {"id": effect_id, "marked": False}
        token = _running.set(running)
        try:
            result = work()
        finally:
            _running.reset(token)
        if not running["marked"]:
            _mark_done(effect_id, result)
        return _value(result)
    except Exception as exc:
        if effect_id is None:
            raise
        effect_failed(effect_id=effect_id, error=exc)
        return None


# The effect whose work runs outside a transaction (effect_run with atomic=False), for effect_done_with().
_running: ContextVar[dict | None] = ContextVar("outbox_running", default=None)


def effect_done_with() -> None:
    """Work run with ``atomic=False`` calls this inside the transaction that commits its result: the
    effect is marked done in that same transaction, and effect_run then writes nothing more (on SQLite a
    commit less: each is a turn of the one writer's lock and an fsync). Without a running effect (a
    direct call) it does nothing. A work that raises rolls the mark back with its result, and the failure
    is recorded as usual; one whose transaction rolls back without raising leaves the effect pending, and
    the relay runs it again (such work is safe to repeat)."""
    running = _running.get()
    if running is None:
        return
    assert transaction.get_connection().in_atomic_block
    _mark_done(running["id"], None)
    running["marked"] = True


def _value(result):
    return result.value if isinstance(result, Outcome) else result


def _mark_done(effect_id: int, result) -> None:
    note = result.note if isinstance(result, Outcome) else ""
    Effect.objects.filter(pk=effect_id, done_at__isnull=True).update(done_at=timezone.now(), note=note[:2000])


def effect_failed(*, effect_id: int, error: BaseException, now=None) -> None:
    """Record a failed run: try again after the backoff, or set the effect aside after MAX_ATTEMPTS."""
    now = now or timezone.now()
    effect = Effect.objects.filter(pk=effect_id, done_at__isnull=True).first()
    if effect is None:
        return
    attempts = effect.attempts + 1
    give_up = attempts >= MAX_ATTEMPTS
    Effect.objects.filter(pk=effect_id, done_at__isnull=True).update(
        attempts=attempts, note=repr(error)[:2000], published_at=None,
        available_at=now + dt.timedelta(seconds=backoff_seconds(attempts)),
        failed_at=now if give_up else None,
    )
    if give_up:
        logger.error("outbox: %s failed %d times and is set aside for an administrator: %r",
                     effect, attempts, error, exc_info=error)
    else:
        logger.warning("outbox: %s failed (attempt %d), next try in %d s: %r", effect, attempts,
                       backoff_seconds(attempts), error, exc_info=error)


def effects_retry(*, effect_ids: list[int]) -> int:
    """An administrator's decision to try set-aside effects again: they are published now."""
    now = timezone.now()
    count = Effect.objects.filter(pk__in=effect_ids, done_at__isnull=True).update(
        failed_at=None, attempts=0, available_at=now, published_at=None, note="")
    effects = list(Effect.objects.filter(pk__in=effect_ids, done_at__isnull=True))
    transaction.on_commit(partial(effects_publish, effects))
    return count


def test_pause(point: str, ident) -> None:
    """Integration tests kill a worker here, inside the effect's transaction: OUTBOX_TEST_PAUSE_FILE names
    a file that, while it exists, holds "point=seconds" (point "issue" or "render"). Unset outside them."""
    path = getattr(settings, "OUTBOX_TEST_PAUSE_FILE", "")
    if not path:
        return
    try:
        armed, _sep, seconds = open(path, encoding="utf-8").read().strip().partition("=")
    except FileNotFoundError:
        return
    if armed == point:
        logger.warning("outbox test pause: %s %s, pausing %s s", point, ident, seconds)
        time.sleep(float(seconds))
