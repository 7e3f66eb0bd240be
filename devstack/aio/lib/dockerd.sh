# shellcheck shell=bash
# dockerd from Debian's docker.io (overlay2), with live-restore so that a
# restart of dockerd (or of the Berth agent) never stops running containers.

dockerd_install() { apt_install docker.io; }

dockerd_up() {
  if [ ! -e /etc/docker/daemon.json ] || ! grep -q '"live-restore": true' /etc/docker/daemon.json; then
    mkdir -p /etc/docker
    put_conf /etc/docker/daemon.json <<EOT
{
  "live-restore": true,
  "storage-driver": "overlay2",
  "log-driver": "json-file",
  "log-opts": { "max-size": "10m", "max-file": "3" }
}
EOT
  fi
  docker info >/dev/null 2>&1 && return 0
  start_bg dockerd /usr/sbin/dockerd
  local i; for i in $(seq 120); do docker info >/dev/null 2>&1 && return 0; sleep 0.5; done
  say "dockerd did not start"; tail -20 "$AIO_LOG/dockerd.log"; return 1
}

dockerd_down() { stop_bg dockerd; }
