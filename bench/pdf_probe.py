"""The Celery app of ``bench/pdf.py --probe``: config's app, with per-task measurements in each pool process.

For every task: wall time, CPU time (``time.process_time()``), the wait for a CPU (the run-queue delay
from /proc/self/schedstat), and the SQL statements' count and wall time (an execute wrapper); the rest of
the wall time is "blocked" (locks, fsyncs, the broker). The gaps between two tasks of a process are summed
the same way. Each pool process writes its totals to $PDF_PROBE_DIR/<pid>.json after every task;
:func:`summary` adds them up. Measurement only: nothing here is used by the application.
"""
import json
import os
import time
from pathlib import Path

from celery.signals import task_postrun, task_prerun, worker_process_init

from config.celery_app import app  # noqa: F401 - the app this module stands for (celery -A bench.pdf_probe)

_state: dict = {}


def _run_queue_wait() -> float:
    try:
        return int(Path("/proc/self/schedstat").read_text().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


def _sql_timer(execute, sql, params, many, context):
    start = time.perf_counter()
    try:
        return execute(sql, params, many, context)
    finally:
        current = _state.get("current")
        if current is not None:
            current["sql_n"] += 1
            current["sql_s"] += time.perf_counter() - start


@worker_process_init.connect
def _start(**kwargs):
    from django.db.backends.signals import connection_created

    def wrap(sender, connection, **kw):
        if _sql_timer not in connection.execute_wrappers:
            connection.execute_wrappers.append(_sql_timer)

    connection_created.connect(wrap, weak=False)
    _state.update(tasks={}, idle={"wall": 0.0, "cpu": 0.0, "run_queue": 0.0}, last=None)


def _now():
    return time.perf_counter(), time.process_time(), _run_queue_wait()


@task_prerun.connect
def _before(task=None, **kwargs):
    wall, cpu, wait = _now()
    if _state.get("last"):
        for key, now, then in zip(("wall", "cpu", "run_queue"), (wall, cpu, wait), _state["last"], strict=True):
            _state["idle"][key] += now - then
    _state["current"] = {"wall": wall, "cpu": cpu, "run_queue": wait, "sql_n": 0, "sql_s": 0.0}


@task_postrun.connect
def _after(task=None, **kwargs):
    wall, cpu, wait = _now()
    current = _state.pop("current", None)
    if current is None:
        return
    totals = _state["tasks"].setdefault(task.name.rsplit(".", 1)[-1], {
        "n": 0, "wall": 0.0, "cpu": 0.0, "run_queue": 0.0, "sql_n": 0, "sql_s": 0.0})
    totals["n"] += 1
    for key, now in (("wall", wall), ("cpu", cpu), ("run_queue", wait)):
        totals[key] += now - current[key]
    totals["sql_n"] += current["sql_n"]
    totals["sql_s"] += current["sql_s"]
    _state["last"] = (wall, cpu, wait)
    folder = Path(os.environ["PDF_PROBE_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{os.getpid()}.json").write_text(json.dumps({"tasks": _state["tasks"], "idle": _state["idle"]}))


def summary(folder: Path, certificates: int) -> list[str]:
    """Lines of milliseconds per certificate, added up over the pool processes."""
    tasks: dict = {}
    idle = {"wall": 0.0, "cpu": 0.0, "run_queue": 0.0}
    for path in folder.glob("*.json"):
        data = json.loads(path.read_text())
        for name, values in data["tasks"].items():
            into = tasks.setdefault(name, dict.fromkeys(values, 0))
            for key, value in values.items():
                into[key] += value
        for key, value in data["idle"].items():
            idle[key] += value

    def ms(seconds):
        return f"{1000 * seconds / certificates:.1f}"

    lines = [f"probe: per certificate, ms: {'task':24} {'runs':>5} {'wall':>7} {'cpu':>6} {'cpu wait':>8} "
             f"{'blocked':>7} {'sql n':>6} {'sql ms':>6}"]
    for name, v in tasks.items():
        blocked = v["wall"] - v["cpu"] - v["run_queue"]
        lines.append(f"probe: per certificate, ms: {name:24} {v['n']:5d} {ms(v['wall']):>7} {ms(v['cpu']):>6} "
                     f"{ms(v['run_queue']):>8} {ms(blocked):>7} {v['sql_n'] / certificates:6.1f} {ms(v['sql_s']):>6}")
    lines.append(f"probe: between tasks, ms per certificate: wall {ms(idle['wall'])}, cpu {ms(idle['cpu'])}, "
                 f"cpu wait {ms(idle['run_queue'])}, idle {ms(idle['wall'] - idle['cpu'] - idle['run_queue'])}")
    return lines
