#!/usr/bin/env bash
# The production topology on one machine (docs/scaling.md): N gunicorn web processes serving the static
# files too (whitenoise), M Celery workers and exactly one beat, against one PostgreSQL and one Redis, with
# the shared file storage a directory. Settings: config.settings.production, every variable as the README's
# "Running in production" says; the secrets a real deployment keeps elsewhere are made once under $PROD_DIR.
#
#   scripts/prod_local.sh start | stop | status | env
#   scripts/prod_local.sh start-worker I      (re)start worker I alone (after it was killed)
#   scripts/prod_local.sh stop-worker I
#
# Environment (defaults in brackets):
#   DATABASE_URL        [postgres://postgres@127.0.0.1:5432/kexie_local]  migrated on start
#   CELERY_BROKER_URL   [redis://127.0.0.1:6379/0]
#   WEB                 [4]  gunicorn worker processes (one master)
#   WEB_THREADS         [1]  threads per web process (more than 1 switches gunicorn to gthread)
#   WORKERS             [2]  Celery worker processes (each its own `celery worker`, concurrency 1)
#   HOST, PORT          [127.0.0.1, 8000]
#   PROD_DIR            [var/prod-local]  pid files, logs, secrets, the machine's var and the shared storage
#   PUBLIC_BASE_URL     [https://kexie.example]  printed into certificates' QR codes
#   EMAIL_HOST, EMAIL_PORT  the mail server; without EMAIL_HOST a local SMTP sink on MAIL_PORT [PORT+1025]
#                       takes every message (logs/mail.log)
#   SKIP_MIGRATE=1      do not migrate / collectstatic on start
#   COLLECTSTATIC=1     collect the static files even when nothing changed since the last collection
#
# A TLS proxy normally stands in front (production redirects plain HTTP and marks cookies Secure); on this
# machine clients send `X-Forwarded-Proto: https` as that proxy would (SECURE_PROXY_SSL_HEADER).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
BIN=${BIN:-$ROOT/.venv/bin}
PROD_DIR=$(realpath -m "${PROD_DIR:-$ROOT/var/prod-local}")
RUN=$PROD_DIR/run
LOGS=$PROD_DIR/logs
WEB=${WEB:-4}
WEB_THREADS=${WEB_THREADS:-1}
WORKERS=${WORKERS:-2}
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
READY_TIMEOUT=${READY_TIMEOUT:-90}

setup_env() {
    mkdir -p "$RUN" "$LOGS" "$PROD_DIR/secrets" "$PROD_DIR/var/static" "$PROD_DIR/shared/private" \
        "$PROD_DIR/shared/audit-digests"
    chmod 700 "$PROD_DIR/secrets"
    local s=$PROD_DIR/secrets
    [ -s "$s/secret-key" ] || head -c 48 /dev/urandom | base64 | tr -dc 'a-zA-Z0-9' >"$s/secret-key"
    [ -s "$s/signing-passphrase" ] || head -c 24 /dev/urandom | base64 | tr -dc 'a-zA-Z0-9' >"$s/signing-passphrase"
    [ -s "$s/audit-signing-key.pem" ] || openssl genpkey -algorithm ed25519 -out "$s/audit-signing-key.pem" 2>/dev/null
    chmod 600 "$s"/*
    export DJANGO_SETTINGS_MODULE=config.settings.production
    export DJANGO_SECRET_KEY=${DJANGO_SECRET_KEY:-$(cat "$s/secret-key")}
    export DJANGO_ALLOWED_HOSTS=${DJANGO_ALLOWED_HOSTS:-127.0.0.1,localhost}
    export DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/kexie_local}
    export CELERY_BROKER_URL=${CELERY_BROKER_URL:-redis://127.0.0.1:6379/0}
    export PUBLIC_BASE_URL=${PUBLIC_BASE_URL:-https://kexie.example}
    export AUDIT_SIGNING_KEY_FILE=${AUDIT_SIGNING_KEY_FILE:-$s/audit-signing-key.pem}
    export SIGNING_KEY_PASSPHRASE=${SIGNING_KEY_PASSPHRASE:-$(cat "$s/signing-passphrase")}
    # This machine's own files (static files, beat's schedule) and the storage every machine shares.
    export APP_VAR_DIR=$PROD_DIR/var
    export APP_PRIVATE_STORAGE=${APP_PRIVATE_STORAGE:-$PROD_DIR/shared/private}
    export AUDIT_DIGEST_DIR=${AUDIT_DIGEST_DIR:-$PROD_DIR/shared/audit-digests}
    export LOG_LEVEL=${LOG_LEVEL:-WARNING}
    # No mail server named: a local SMTP sink that accepts every message and writes it to logs/mail.log.
    if [ -z "${EMAIL_HOST:-}" ]; then
        LOCAL_MAIL=1
        export EMAIL_HOST=127.0.0.1 EMAIL_PORT=${MAIL_PORT:-$((PORT + 1025))}
    fi
}

# Running, and not a zombie that nobody has reaped yet (a SIGKILLed process whose parent is init).
alive() {
    [ -s "$1" ] || return 1
    local state
    state=$(ps -o stat= -p "$(cat "$1")" 2>/dev/null) || return 1
    [ -n "$state" ] && [ "${state:0:1}" != Z ]
}

# Start a command in its own session (its own process group) with a pid file of the group leader.
spawn() {
    local name=$1; shift
    if alive "$RUN/$name.pid"; then echo "$name already running (pid $(cat "$RUN/$name.pid"))"; return; fi
    setsid "$@" >>"$LOGS/$name.log" 2>&1 </dev/null &
    echo $! >"$RUN/$name.pid"
}

start_worker() {
    local i=$1
    : >"$LOGS/worker$i.log"
    spawn "worker$i" "$BIN/celery" -A config worker -l info -n "worker$i@%h" --concurrency 1 --without-gossip \
        --without-mingle
}

wait_worker() {
    local i=$1 deadline=$((SECONDS + READY_TIMEOUT))
    until grep -q "ready\." "$LOGS/worker$i.log" 2>/dev/null; do
        alive "$RUN/worker$i.pid" || { echo "worker$i died:"; tail -20 "$LOGS/worker$i.log"; return 1; }
        [ $SECONDS -lt $deadline ] || { echo "worker$i not ready after ${READY_TIMEOUT}s"; return 1; }
        sleep 0.3
    done
}

wait_healthz() {
    local deadline=$((SECONDS + READY_TIMEOUT)) body
    until body=$(curl -sf -H "X-Forwarded-Proto: https" "http://$HOST:$PORT/healthz" 2>/dev/null); do
        alive "$RUN/web.pid" || { echo "web died:"; tail -30 "$LOGS/web.log"; return 1; }
        [ $SECONDS -lt $deadline ] || { echo "/healthz not ready after ${READY_TIMEOUT}s"; return 1; }
        sleep 0.3
    done
    echo "healthz: $body"
}

stop_one() {
    local name=$1 pidfile=$RUN/$1.pid pid
    [ -s "$pidfile" ] || return 0
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
        if kill -0 "$pid" 2>/dev/null; then
            echo "$name (pid $pid) did not stop in 20 s: SIGKILL"
            kill -KILL -- "-$pid" 2>/dev/null || true
        fi
    fi
    rm -f "$pidfile"
}

start() {
    setup_env
    if [ -z "${SKIP_MIGRATE:-}" ]; then
        "$BIN/python" manage.py migrate --noinput -v0
        # Compressing every package's files takes minutes of CPU: only when the project's static files or
        # the installed packages changed since the last collection (or COLLECTSTATIC=1).
        local stamp
        stamp=$( { git ls-files -s -- '*/static/*' 2>/dev/null; ls "$ROOT"/.venv/.installed-* 2>/dev/null; } | sha1sum | cut -c1-16)
        if [ -n "${COLLECTSTATIC:-}" ] || [ ! -s "$APP_VAR_DIR/static/staticfiles.json" ] || \
           [ "$(cat "$APP_VAR_DIR/static/.stamp" 2>/dev/null)" != "$stamp" ]; then
            echo "collectstatic (compressing; a few minutes on 2 cores)"
            "$BIN/python" manage.py collectstatic --noinput -v0
            echo "$stamp" >"$APP_VAR_DIR/static/.stamp"
        fi
    fi
    if [ -n "${LOCAL_MAIL:-}" ]; then
        spawn mail "$BIN/python" -W ignore::DeprecationWarning -m smtpd -n -c DebuggingServer "$EMAIL_HOST:$EMAIL_PORT"
    fi
    local threads=()
    [ "$WEB_THREADS" -gt 1 ] && threads=(--threads "$WEB_THREADS")
    : >"$LOGS/web.log"
    spawn web "$BIN/gunicorn" config.wsgi -w "$WEB" "${threads[@]}" -b "$HOST:$PORT" --backlog 2048 \
        --graceful-timeout 10 --error-logfile - --log-level warning
    for i in $(seq 1 "$WORKERS"); do start_worker "$i"; done
    : >"$LOGS/beat.log"
    spawn beat "$BIN/celery" -A config beat -l info -s "$APP_VAR_DIR/celerybeat-schedule"
    wait_healthz
    for i in $(seq 1 "$WORKERS"); do wait_worker "$i"; done
    alive "$RUN/beat.pid" || { echo "beat died:"; tail -20 "$LOGS/beat.log"; return 1; }
    echo "ready: http://$HOST:$PORT/ ($WEB web processes, $WORKERS workers, 1 beat; logs in $LOGS)"
}

stop() {
    stop_one web
    stop_one beat
    for f in "$RUN"/worker*.pid; do [ -e "$f" ] && stop_one "$(basename "$f" .pid)"; done
    stop_one mail
    echo "stopped"
}

status() {
    local rc=0
    for f in "$RUN"/*.pid; do
        [ -e "$f" ] || continue
        if alive "$f"; then echo "$(basename "$f" .pid): running (pid $(cat "$f"))"
        else echo "$(basename "$f" .pid): dead"; rc=1; fi
    done
    if alive "$RUN/web.pid"; then echo "web processes: $(pgrep -P "$(cat "$RUN/web.pid")" | tr '\n' ' ')"; fi
    return $rc
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    env) setup_env; env | grep -E '^(DJANGO_|DATABASE_URL|CELERY_BROKER_URL|PUBLIC_BASE_URL|AUDIT_|SIGNING_KEY_|APP_|LOG_LEVEL|EMAIL_)' | sed 's/^/export /' ;;
    start-worker) setup_env; start_worker "${2:?worker number}"; wait_worker "$2"; echo "worker$2 ready" ;;
    stop-worker) stop_one "worker${2:?worker number}" ;;
    *) echo "usage: $0 start|stop|status|env|start-worker I|stop-worker I" >&2; exit 2 ;;
esac
