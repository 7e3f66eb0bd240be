# shellcheck shell=bash
# RabbitMQ, loopback only (AMQP, epmd and Erlang distribution). guest/guest
# may log in from loopback by default.

rabbitmq_install() { apt_install rabbitmq-server; }

rabbitmq_ctl() { HOME=/root rabbitmqctl "$@"; }

rabbitmq_up() {
  rabbitmq_ctl -q status >/dev/null 2>&1 && return 0
  mkdir -p /var/lib/rabbitmq /var/log/rabbitmq && chown -R rabbitmq:rabbitmq /var/lib/rabbitmq /var/log/rabbitmq
  # -detached: the VM daemonizes itself; stdio closed so it holds nothing of ours
  HOME=/root RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}" \
    rabbitmq-server -detached </dev/null >>"$AIO_LOG/rabbitmq.log" 2>&1 3>&- 4>&-
  local i; for i in $(seq 240); do rabbitmq_ctl -q status >/dev/null 2>&1 && return 0; sleep 0.5; done
  say "rabbitmq did not start"; tail -20 "$AIO_LOG/rabbitmq.log"; return 1
}

rabbitmq_down() { rabbitmq_ctl -q stop >/dev/null 2>&1 || true; }
rabbitmq_pid() { pgrep -f 'beam.smp.*rabbit' | head -1; }
