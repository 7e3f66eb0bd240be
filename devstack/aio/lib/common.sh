# shellcheck shell=bash
# Helpers shared by every step of the all-in-one: logging, apt, background
# services with pid files, waits, Keystone registration, config files.

PY=/usr/bin/python3              # Debian's python (a pyenv python3 may come first in PATH)
AIO_LOG=${AIO_LOG:-/var/log/berth-aio}
AIO_RUN=${AIO_RUN:-/run/berth-aio}
AIO_STATE=${AIO_STATE:-/var/lib/berth-aio}
PASS=${BERTH_AIO_PASSWORD:-secret}     # password of admin and every service user (loopback-only CI cloud)
KS_PORT=5000
KS=http://127.0.0.1:$KS_PORT
TRANSPORT=rabbit://guest:guest@127.0.0.1:5672/
DB_USER=openstack
export DEBIAN_FRONTEND=noninteractive
export ERL_EPMD_ADDRESS=127.0.0.1
export OS_AUTH_URL=$KS/v3 OS_USERNAME=admin OS_PASSWORD=$PASS OS_PROJECT_NAME=admin \
  OS_USER_DOMAIN_NAME=Default OS_PROJECT_DOMAIN_NAME=Default OS_IDENTITY_API_VERSION=3 \
  OS_REGION_NAME=RegionOne
mkdir -p "$AIO_LOG" "$AIO_RUN" "$AIO_STATE"

say() { echo "[$(date +%T)] $*"; }
die() { say "FATAL: $*"; exit 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# db_url NAME : SQLAlchemy URL of an OpenStack service database on the local MariaDB
db_url() { echo "mysql+pymysql://$DB_USER:$PASS@127.0.0.1/$1?charset=utf8mb4"; }

# apt_install PKG... : install missing Debian packages without starting their services
apt_install() {
  local missing=() p
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "apt-get install ${missing[*]}"
  apt-cache show "${missing[0]}" >/dev/null 2>&1 ||
    apt-get update -q -o DPkg::Lock::Timeout=900 >>"$AIO_LOG/apt.log" 2>&1
  # maintainer scripts must never start Debian's own services on our ports
  local own_policy=no rc=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; own_policy=yes
  fi
  apt-get install -y -q -o DPkg::Lock::Timeout=900 --no-install-recommends "${missing[@]}" \
    >>"$AIO_LOG/apt.log" 2>&1 || { tail -20 "$AIO_LOG/apt.log"; rc=1; }
  [ $own_policy = yes ] && rm -f /usr/sbin/policy-rc.d
  return $rc
}

alive() { [ -s "$AIO_RUN/$1.pid" ] && kill -0 "$(cat "$AIO_RUN/$1.pid")" 2>/dev/null; }

# start_bg NAME CMD... : run CMD in its own session, output in $AIO_LOG/NAME.log.
# stdio is detached (and fd 3 closed) so no caller ever waits on a service.
start_bg() {
  local name=$1; shift
  STARTED=no   # tells the caller whether it had to start it
  if alive "$name"; then return 0; fi
  setsid nohup "$@" >>"$AIO_LOG/$name.log" 2>&1 </dev/null 3>&- 4>&- &
  echo $! >"$AIO_RUN/$name.pid"
  STARTED=yes
  say "started $name (pid $!, log $AIO_LOG/$name.log)"
}

# start_conf NAME "CONFIG FILES" CMD... : start_bg that also restarts a
# running service whose configuration changed since it started (services
# read their config once; a rewritten file would otherwise never apply)
start_conf() {
  local name=$1 files=$2; shift 2
  local stamp; stamp=$(cat $files 2>/dev/null | md5sum | cut -d' ' -f1)
  if alive "$name" && [ "$(cat "$AIO_RUN/$name.conf-stamp" 2>/dev/null)" != "$stamp" ]; then
    say "$name: configuration changed, restarting"
    stop_bg "$name"
  fi
  echo "$stamp" >"$AIO_RUN/$name.conf-stamp"
  start_bg "$name" "$@"
}

# stop_bg NAME : TERM the service's process group, KILL after 10 s
stop_bg() {
  alive "$1" || { rm -f "$AIO_RUN/$1.pid"; return 0; }
  local pid; pid=$(cat "$AIO_RUN/$1.pid")
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid"
  for _ in $(seq 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
  kill -0 "$pid" 2>/dev/null && kill -KILL -- "-$pid" 2>/dev/null
  rm -f "$AIO_RUN/$1.pid"; say "stopped $1"
}

# wait_http URL [timeout_s] : until URL answers with any HTTP status
wait_http() {
  local url=$1 t=${2:-120} i
  for ((i = 0; i < t * 4; i++)); do
    curl -s -o /dev/null -m 2 "$url" && return 0
    sleep 0.25
  done
  say "timeout waiting for $url"; return 1
}

# wait_log NAME OFFSET REGEX [timeout_s] : until a line after OFFSET of NAME's log matches
wait_log() {
  local name=$1 off=$2 re=$3 t=${4:-120} i
  for ((i = 0; i < t * 4; i++)); do
    # not `tail | grep -q`: under pipefail grep's early exit can kill tail with
    # SIGPIPE and turn a match into a failure; grep's status alone decides
    grep -qE "$re" < <(tail -n +"$((off + 1))" "$AIO_LOG/$name.log" 2>/dev/null) && return 0
    alive "$name" || { say "$name died"; tail -20 "$AIO_LOG/$name.log"; return 1; }
    sleep 0.25
  done
  say "timeout waiting for /$re/ in $AIO_LOG/$name.log"; return 1
}
log_lines() { [ -f "$AIO_LOG/$1.log" ] && wc -l <"$AIO_LOG/$1.log" || echo 0; }

# put_conf FILE <content : keep Debian's original once, then write ours
put_conf() {
  mkdir -p "$(dirname "$1")"
  [ -e "$1.debian-orig" ] || { [ -e "$1" ] && cp -p "$1" "$1.debian-orig"; }
  cat >"$1"
}

# run_logged NAME CMD... : run a one-shot command, output appended to NAME.log; tail it on failure
run_logged() {
  local name=$1; shift
  "$@" >>"$AIO_LOG/$name.log" 2>&1 || { say "$* failed:"; tail -30 "$AIO_LOG/$name.log"; return 1; }
}

authtoken_section() { # authtoken_section USER
  cat <<EOT
[keystone_authtoken]
www_authenticate_uri = $KS
auth_url = $KS
memcached_servers =
auth_type = password
project_domain_name = Default
user_domain_name = Default
project_name = service
username = $1
password = $PASS
region_name = RegionOne
EOT
}

service_auth_section() { # service_auth_section SECTION USER
  cat <<EOT
[$1]
auth_type = password
auth_url = $KS
project_domain_name = Default
user_domain_name = Default
project_name = service
username = $2
password = $PASS
region_name = RegionOne
EOT
}

# ks_register SPEC... : idempotent Keystone registrations in one Python process
#   user:NAME                 user NAME (password $PASS) with admin in project service
#   endpoint:NAME:TYPE:URL    service NAME of TYPE with public/internal/admin endpoints at URL
#   role:NAME                 role NAME
#   domain_admin:DOMAIN:USER  domain DOMAIN and user USER administering it
#   rehash:USER               re-set USER's password (hash with the current bcrypt rounds)
ks_register() {
  PASS=$PASS $PY "$AIO_DIR/lib/ks_register.py" "$@"
}
