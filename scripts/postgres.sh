#!/usr/bin/env bash
# Make sure the PostgreSQL server the tests use is up. With KAOHE_TEST_POSTGRES_URL set, that
# server is the caller's business; otherwise start the local cluster if it is stopped.
# Sourced by test.sh.
if [ -z "${KAOHE_TEST_POSTGRES_URL:-}" ] && command -v pg_isready >/dev/null 2>&1; then
  if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
      pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
      for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
    fi
  fi
fi
