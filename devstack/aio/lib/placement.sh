# shellcheck shell=bash
# Placement (8.0, Zed) under uwsgi on :8778.

placement_install() { apt_install placement-api; }

placement_up() {
  mariadb_db placement
  put_conf /etc/placement/placement.conf <<EOT
[DEFAULT]
log_file = $AIO_LOG/placement-app.log
[api]
auth_strategy = keystone
$(authtoken_section placement)
[placement_database]
connection = $(db_url placement)
EOT
  ks_register user:placement endpoint:placement:placement:http://127.0.0.1:8778 >/dev/null || return 1
  alive placement-api || run_logged placement-manage placement-manage --config-file /etc/placement/placement.conf db sync || return 1
  start_conf placement-api /etc/placement/placement.conf uwsgi --plugin python3 --http-socket 127.0.0.1:8778 --wsgi-file /usr/bin/placement-api \
    --processes 1 --threads 2 --lazy-apps --master --die-on-term --add-header "Connection: close"
  wait_http http://127.0.0.1:8778/ 60
}

placement_down() { stop_bg placement-api; }
