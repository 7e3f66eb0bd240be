# shellcheck shell=bash
# Berth's own services. The TypeScript workspace is built once (npm ci +
# tsc -b) from the checkout; each component then brings itself up from its own
# file, lib/berth-<component>.sh, which defines:
#   berth_<component>_up     configure (oslo-style INI under /etc/berth), register in Keystone, start
#   berth_<component>_down   stop
# and appends its background service names to BERTH_SERVICES (for status).
# Components come up in BERTH_COMPONENTS order.

BERTH_COMPONENTS=""
BERTH_SERVICES=""
BERTH_ETC=/etc/berth
BERTH_STATE=/var/lib/berth
for f in "$AIO_DIR"/lib/berth-*.sh; do
  # shellcheck disable=SC1090
  [ -e "$f" ] && . "$f"
done

# berth_auth_section SECTION USER : the Keystone identity of a Berth service
# ([keystone_authtoken] as service-kit reads it; the agent's [service_auth])
berth_auth_section() {
  cat <<EOT
[$1]
www_authenticate_uri = $KS
auth_url = $KS
username = $2
password = $PASS
project_name = service
user_domain_name = Default
project_domain_name = Default
region_name = RegionOne
interface = internal
EOT
}

berth_install() {
  local c
  for c in $BERTH_COMPONENTS; do
    if declare -F "berth_${c}_install" >/dev/null; then "berth_${c}_install" || return 1; fi
  done
  ( cd "$BERTH_ROOT" &&
    # npm ci only when the lockfile changed since the last install; build
    # native addons (better-sqlite3) from source: no prebuilt downloads
    { [ node_modules/.package-lock.json -nt package-lock.json ] ||
      npm_config_build_from_source=true npm ci --no-audit --no-fund >>"$AIO_LOG/npm.log" 2>&1; } &&
    npx tsc -b >>"$AIO_LOG/npm.log" 2>&1 ) || { tail -30 "$AIO_LOG/npm.log"; return 1; }
}

berth_up() {
  mkdir -p $BERTH_ETC $BERTH_STATE
  local c
  for c in $BERTH_COMPONENTS; do "berth_${c}_up" || { say "berth component $c failed"; return 1; }; done
}

berth_down() {
  local c
  for c in $BERTH_COMPONENTS; do "berth_${c}_down"; done
}

# berth_node SERVICE [NODE_OPTION...] SCRIPT [ARG...] : run a built Berth entry
# point (SCRIPT relative to the checkout, e.g. nova-driver/dist/main.js) in the
# background; a running one is restarted when its package's or the libs'
# build, or its --config-file, changed. STARTED tells whether it (re)started.
berth_node() {
  local name=$1; shift
  local a prev="" script="" files=""
  for a in "$@"; do
    case $a in */dist/*.js) script=$a ;; esac
    [ "$prev" = --config-file ] && files+=" $a"
    prev=$a
  done
  [ -n "$script" ] || { say "berth_node $name: no dist/*.js entry point in: $*"; return 1; }
  files+=" $(find "$BERTH_ROOT/${script%%/dist/*}/dist" "$BERTH_ROOT"/libs/*/dist -name '*.js' 2>/dev/null | sort | tr '\n' ' ')"
  local args=() ; for a in "$@"; do [ "$a" = "$script" ] && args+=("$BERTH_ROOT/$a") || args+=("$a"); done
  start_conf "$name" "$files" node "${args[@]}"
}
