# shellcheck shell=bash
# Keystone (Debian keystone 22, Zed) under uwsgi on :5000, database on MariaDB.

KEYSTONE_CONF=/etc/keystone/berth/keystone.conf

keystone_install() {
  apt_install keystone uwsgi-plugin-python3 python3-openstackclient python3-keystoneclient \
    python3-heatclient python3-magnumclient bc curl
}

keystone_up() {
  mariadb_db keystone
  mkdir -p /etc/keystone/berth
  put_conf $KEYSTONE_CONF <<EOT
[DEFAULT]
log_file = $AIO_LOG/keystone-app.log
[database]
connection = $(db_url keystone)
[fernet_tokens]
key_repository = /etc/keystone/berth/fernet-keys
[credential]
key_repository = /etc/keystone/berth/credential-keys
[token]
provider = fernet
[identity]
# CI only: bcrypt cost 4 instead of 12. Every password auth (each CLI call,
# each service token) costs ~300 ms at 12 and a few ms at 4.
password_hash_rounds = 4
EOT
  if ! alive keystone; then
    run_logged keystone-manage keystone-manage --config-file $KEYSTONE_CONF db_sync || return 1
    [ -e /etc/keystone/berth/fernet-keys/0 ] ||
      run_logged keystone-manage keystone-manage --config-file $KEYSTONE_CONF fernet_setup \
        --keystone-user root --keystone-group root
    [ -e /etc/keystone/berth/credential-keys/0 ] ||
      run_logged keystone-manage keystone-manage --config-file $KEYSTONE_CONF credential_setup \
        --keystone-user root --keystone-group root
    run_logged keystone-manage keystone-manage --config-file $KEYSTONE_CONF bootstrap --bootstrap-password "$PASS" \
      --bootstrap-admin-url $KS/v3 --bootstrap-internal-url $KS/v3 --bootstrap-public-url $KS/v3 \
      --bootstrap-region-id RegionOne || return 1
  fi
  # --lazy-apps: load the app after fork. "Connection: close" (as Debian's own
  # uwsgi ini): uwsgi's http-socket resets connections that clients reuse.
  start_conf keystone $KEYSTONE_CONF env OS_KEYSTONE_CONFIG_FILES=$KEYSTONE_CONF uwsgi --plugin python3 \
    --http-socket 127.0.0.1:$KS_PORT --wsgi-file /usr/bin/keystone-wsgi-public --processes 2 --threads 1 \
    --lazy-apps --master --die-on-term --add-header "Connection: close"
  local started=$STARTED
  wait_http $KS/v3 60 || return 1
  if [ "$started" = yes ]; then
    # bootstrap hashed admin's password at the default cost: re-set it
    ks_register role:member role:reader >/dev/null && ks_register rehash:admin >/dev/null || return 1
    # re-setting a password revokes the user's tokens, and Keystone's
    # revocation events have one-second granularity: a token issued in the
    # same second would be refused too
    sleep 1.1
  fi
  write_openrc
}

write_openrc() {
  cat >"$AIO_STATE/openrc" <<EOT
# source me: admin credentials of the Berth all-in-one
export OS_AUTH_URL=$KS/v3 OS_USERNAME=admin OS_PASSWORD=$PASS OS_PROJECT_NAME=admin
export OS_USER_DOMAIN_NAME=Default OS_PROJECT_DOMAIN_NAME=Default OS_IDENTITY_API_VERSION=3
export OS_REGION_NAME=RegionOne OS_INTERFACE=public
EOT
}

keystone_down() { stop_bg keystone; }
