# shellcheck shell=bash
# Glance (glance-api 25, Zed) as its own eventlet server on :9292 (Debian's
# init script runs it this way too: "Glance appears broken with uwsgi").

glance_install() { apt_install glance-api; }

glance_up() {
  mariadb_db glance
  mkdir -p /var/lib/glance/images /var/lib/glance/staging /var/lock/glance
  put_conf /etc/glance/glance-api.conf <<EOT
[DEFAULT]
bind_host = 127.0.0.1
bind_port = 9292
# 0 = serve from the parent process (no forked worker): -150 MiB
workers = 0
log_file = $AIO_LOG/glance-api-app.log
enabled_import_methods = [glance-direct,web-download,copy-image]
# only admins may set the berth_allow_* image properties that loosen a
# container's isolation (nova-driver/README.md, "Isolation grants")
property_protection_file = /etc/glance/property-protections.conf
property_protection_rule_format = roles
[database]
connection = $(db_url glance)
[glance_store]
stores = file,http
default_store = file
filesystem_store_datadir = /var/lib/glance/images
[os_glance_staging_store]
filesystem_store_datadir = /var/lib/glance/staging
[os_glance_tasks_store]
filesystem_store_datadir = /var/lib/glance/tasks
$(authtoken_section glance)
[paste_deploy]
flavor = keystone
[oslo_concurrency]
lock_path = /var/lock/glance
EOT
  put_conf /etc/glance/property-protections.conf <<EOT
[^berth_allow_.*]
create = admin
read = @
update = admin
delete = admin

[.*]
create = @
read = @
update = @
delete = @
EOT
  ks_register user:glance endpoint:glance:image:http://127.0.0.1:9292 >/dev/null || return 1
  alive glance-api || run_logged glance-manage glance-manage --config-file /etc/glance/glance-api.conf db_sync || return 1
  # the property protections above are part of the config: a running glance-api must pick them up
  start_conf glance-api "/etc/glance/glance-api.conf /etc/glance/property-protections.conf" \
    glance-api --config-file /etc/glance/glance-api.conf
  wait_http http://127.0.0.1:9292/healthcheck 120
}

glance_down() { stop_bg glance-api; }
