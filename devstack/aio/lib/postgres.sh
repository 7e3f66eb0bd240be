# shellcheck shell=bash
# PostgreSQL: the scale-out database option of Berth's own services (their
# default is embedded SQLite). Not part of the default bring-up; the test
# command starts it to run the SQL layer against both.

POSTGRES_URL=postgresql://berth:$PASS@127.0.0.1/berth

postgres_install() { apt_install postgresql; }

postgres_up() {
  local ver; ver=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1)
  [ -n "$ver" ] || { say "no PostgreSQL cluster found"; return 1; }
  if ! grep -q " online" < <(pg_lsclusters -h); then
    # pg_ctlcluster daemonizes; its output goes to the cluster's own log
    pg_ctlcluster "$ver" main start </dev/null >>"$AIO_LOG/postgres.log" 2>&1 3>&- 4>&- || return 1
  fi
  grep -q 1 < <(runuser -u postgres -- psql -qtAc "SELECT 1 FROM pg_roles WHERE rolname='berth'") ||
    runuser -u postgres -- psql -qc "CREATE ROLE berth LOGIN PASSWORD '$PASS'" >/dev/null || return 1
  grep -q 1 < <(runuser -u postgres -- psql -qtAc "SELECT 1 FROM pg_database WHERE datname='berth'") ||
    runuser -u postgres -- createdb -O berth berth || return 1
}

postgres_down() {
  local ver; ver=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1)
  [ -n "$ver" ] && pg_ctlcluster "$ver" main stop >/dev/null 2>&1 || true
}
