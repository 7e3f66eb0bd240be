# shellcheck shell=bash
# Horizon: Debian's openstack-dashboard with python3-magnum-ui (the Container
# Infra panels), against this cloud's Keystone and, through the catalog's
# `container-infra` endpoint, Berth's cluster service. Django's own server on
# 127.0.0.1:8080 (one process: the sessions live in its local-memory cache,
# so a restart logs everybody out); no Apache, no memcached. Log:
# $AIO_LOG/horizon.log, which also carries every request Horizon sends to the
# cluster service (magnumclient's debug lines). Chromium (headless, driven by
# npm playwright-core) is installed for test/e2e/horizon-magnum-ui.test.ts.
#
# Settings are one snippet, local_settings.d/_9000_berth.py: settings.py
# execs every local_settings.d file after local_settings.py, so Debian's
# files stay as shipped.

BERTH_COMPONENTS+=" horizon"
BERTH_SERVICES+=" horizon"
HORIZON_PORT=${HORIZON_PORT:-8080}
HORIZON_URL=http://127.0.0.1:$HORIZON_PORT
HORIZON_ETC=/etc/openstack-dashboard
HORIZON_SNIPPET=$HORIZON_ETC/local_settings.d/_9000_berth.py
HORIZON_MANAGE=/usr/share/openstack-dashboard/manage.py
HORIZON_STATIC=/var/lib/openstack-dashboard/static

# openstack-dashboard + python3-magnum-ui: Horizon and its Magnum panels;
# chromium (+ fonts-liberation, a Recommends, for legible screenshots): the
# browser the Horizon suite drives. No recommends: no Apache, no memcached.
berth_horizon_install() { apt_install openstack-dashboard python3-magnum-ui chromium fonts-liberation; }

berth_horizon_settings() {
  cat <<EOT
# Berth all-in-one (devstack/aio/lib/berth-horizon.sh): Horizon on
# $HORIZON_URL against the local Keystone, no memcached.
DEBUG = False
ALLOWED_HOSTS = ['127.0.0.1', 'localhost']
OPENSTACK_HOST = '127.0.0.1'
OPENSTACK_KEYSTONE_URL = '$KS/v3'
OPENSTACK_KEYSTONE_MULTIDOMAIN_SUPPORT = False
OPENSTACK_KEYSTONE_DEFAULT_DOMAIN = 'Default'
OPENSTACK_ENDPOINT_TYPE = 'publicURL'
# one process (runserver): local-memory cache, cache-backed sessions
CACHES = {'default': {'BACKEND': 'django.core.cache.backends.locmem.LocMemCache'}}
SESSION_ENGINE = 'django.contrib.sessions.backends.cache'
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
# the bundles collectstatic + compress built (Debian's postinst, or berth_horizon_static)
COMPRESS_OFFLINE = True
# every request magnumclient sends to the cluster service, with its body, and the answer
LOGGING['handlers']['debugconsole'] = {'level': 'DEBUG', 'class': 'logging.StreamHandler', 'formatter': 'console'}
LOGGING['loggers']['magnumclient'] = {'handlers': ['debugconsole'], 'level': 'DEBUG', 'propagate': False}
EOT
}

# the versions the static bundles were built from, and our settings
berth_horizon_static_key() {
  { dpkg-query -W openstack-dashboard python3-django-horizon python3-magnum-ui python3-django-compressor; cat "$HORIZON_SNIPPET"; } |
    md5sum | cut -d' ' -f1
}

# collectstatic + offline compress, only when the packages or our settings
# changed since the last build (Debian's postinst and dpkg triggers build them
# too, but before our snippet existed; about 15 s here)
berth_horizon_static() {
  local key stamp=$BERTH_STATE/horizon/static.key
  key=$(berth_horizon_static_key)
  [ -s "$HORIZON_STATIC/dashboard/manifest.json" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$key" ] && return 0
  say "horizon: collectstatic + compress"
  run_logged horizon-static $PY $HORIZON_MANAGE collectstatic --noinput --clear &&
    run_logged horizon-static $PY $HORIZON_MANAGE compress --force || return 1
  echo "$key" >"$stamp"
}

berth_horizon_up() {
  berth_horizon_install || return 1
  mkdir -p "$BERTH_STATE/horizon" "$(dirname "$HORIZON_SNIPPET")"
  local new; new=$(berth_horizon_settings)
  # rewritten only when different: a changed file restarts Horizon below
  [ "$(cat "$HORIZON_SNIPPET" 2>/dev/null)" = "$new" ] || printf '%s\n' "$new" >"$HORIZON_SNIPPET"
  berth_horizon_static || return 1
  # --insecure: with DEBUG off, runserver serves static files only with it.
  # Restarted when the settings, the bundles or the packages changed.
  start_conf horizon "$HORIZON_ETC/local_settings.py $HORIZON_SNIPPET $BERTH_STATE/horizon/static.key" \
    $PY $HORIZON_MANAGE runserver "127.0.0.1:$HORIZON_PORT" --noreload --insecure
  wait_http "$HORIZON_URL/auth/login/" 60
}

berth_horizon_down() { stop_bg horizon; }
