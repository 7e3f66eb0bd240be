# shellcheck shell=bash
# MariaDB for the OpenStack services' databases (as devstack does). Measured
# here: on SQLite, Keystone, Nova and Neutron fail under load with "database
# is locked", and Neutron's and Magnum's migrations fail outright.

MARIADB_CNF=/etc/mysql/mariadb.conf.d/90-berth-aio.cnf

mariadb_install() { apt_install mariadb-server python3-pymysql; }

mariadb_up() {
  put_conf $MARIADB_CNF <<EOT
[mysqld]
bind-address = 127.0.0.1
max_connections = 1000
# a CI cloud on one small machine: a modest buffer pool, and no fsync per
# commit (a crash may lose the last second of writes, never consistency)
innodb_buffer_pool_size = 256M
innodb_flush_log_at_trx_commit = 2
character-set-server = utf8mb4
collation-server = utf8mb4_general_ci
skip-name-resolve
EOT
  if ! mysqladmin ping >/dev/null 2>&1; then
    mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld
    [ -d /var/lib/mysql/mysql ] || run_logged mariadb-install mysql_install_db --user=mysql --datadir=/var/lib/mysql
    start_bg mariadb /usr/sbin/mariadbd --user=mysql
    local i; for i in $(seq 120); do mysqladmin ping >/dev/null 2>&1 && break; sleep 0.5; done
    mysqladmin ping >/dev/null 2>&1 || { tail -20 "$AIO_LOG/mariadb.log"; return 1; }
  fi
  mysql -e "CREATE USER IF NOT EXISTS '$DB_USER'@'127.0.0.1' IDENTIFIED BY '$PASS';
            CREATE USER IF NOT EXISTS '$DB_USER'@'localhost' IDENTIFIED BY '$PASS';"
}

# mariadb_db NAME... : create databases the openstack user owns
mariadb_db() {
  local d
  for d in "$@"; do
    mysql -e "CREATE DATABASE IF NOT EXISTS \`$d\` CHARACTER SET utf8mb4;
              GRANT ALL PRIVILEGES ON \`$d\`.* TO '$DB_USER'@'127.0.0.1';
              GRANT ALL PRIVILEGES ON \`$d\`.* TO '$DB_USER'@'localhost';"
  done
}

mariadb_down() { mysqladmin shutdown >/dev/null 2>&1; stop_bg mariadb; }
