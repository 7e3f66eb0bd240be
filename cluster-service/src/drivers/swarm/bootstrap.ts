// The user data of a Swarm node: a POSIX shell script that cloud-init (VM
// images) or the container node image's entrypoint runs once. It carries the
// node's identity, the report URL and the per-cluster secret; everything
// else the node learns from the service's replies (its TLS certificate, and
// whether to init the swarm, join it with which token, drain, or leave).
//
// Needs on the node image: sh, curl, jq, openssl, docker (and dockerd, or a
// running dockerd plus socat to put TLS in front of its socket).

export interface BootstrapParams {
  reportUrl: string;
  secret: string;
  clusterUuid: string;
  nodeUuid: string;
  nodeName: string;
  role: 'master' | 'worker';
  apiPort: number;
  reportInterval: number;
  tlsDisabled: boolean;
}

/**
 * The user data for an image Berth's nova-driver runs as a container with
 * its own dockerd (the berth-swarm-node image: Glance property
 * berth_allow_nested_docker, devstack/README.md "Cluster node image"): a
 * container spec asking for the nested_docker profile, with the bootstrap
 * script for the image's entrypoint (berth-node-init runs dockerd, then it).
 */
export function asContainerSpec(script: string): string {
  const spec = {
    nested_docker: true,
    // a node that crashed comes back; its swarm state is on the /var/lib/docker volume, the script is idempotent
    restart_policy: 'unless-stopped',
    env: { BERTH_BOOTSTRAP_B64: Buffer.from(script, 'utf8').toString('base64') },
  };
  return `#container-spec\n${JSON.stringify(spec)}\n`;
}

/** Whether Nova servers of this image are containers that need the container-spec form. */
export function runsAsContainer(imageProps: Record<string, string>): boolean {
  return ['true', '1', 'yes', 'on'].includes((imageProps.berth_allow_nested_docker ?? '').toLowerCase());
}

/** Single-quotes a value for sh. */
export function shq(v: string | number): string {
  return `'${String(v).replace(/'/g, `'\\''`)}'`;
}

export function renderBootstrap(p: BootstrapParams): string {
  return `#!/bin/sh
# Berth swarm-mode node bootstrap, written by berth-cluster-service for one
# node. Log: /var/lib/berth-node/bootstrap.log
BERTH_REPORT_URL=${shq(p.reportUrl)}
BERTH_SECRET=${shq(p.secret)}
BERTH_CLUSTER=${shq(p.clusterUuid)}
BERTH_NODE=${shq(p.nodeUuid)}
BERTH_NODE_NAME=${shq(p.nodeName)}
BERTH_ROLE=${shq(p.role)}
BERTH_API_PORT=${shq(p.apiPort)}
BERTH_INTERVAL=${shq(p.reportInterval)}
BERTH_TLS=${p.tlsDisabled ? "'no'" : "'yes'"}
${BODY}`;
}

const BODY = String.raw`set -u
umask 077
D=/var/lib/berth-node
# this boot's process ids: never kept across a reboot or container restart, where the numbers mean other processes
P=/run/berth-node-bootstrap
mkdir -p "$D" "$P"
exec >>"$D/bootstrap.log" 2>&1
log() { echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) $*"; }

docker_version() {
  v=$(docker version -f '{{.Server.Version}}' 2>/dev/null) && [ -n "$v" ] && { echo "$v"; return; }
  dockerd --version 2>/dev/null | sed 's/^Docker version \([^,]*\).*/\1/'
}
swarm_state() { docker info -f '{{.Swarm.LocalNodeState}}' 2>/dev/null; }
swarm_id() { docker info -f '{{.Swarm.NodeID}}' 2>/dev/null; }

# post: sends $D/report.json, leaves the answer in $D/reply.json; retries
# while the service cannot be reached, gives up on a refusal
post() {
  n=0
  while :; do
    code=$(curl -sS -m 30 -o "$D/reply.json" -w '%{http_code}' \
      -H "Authorization: Bearer $BERTH_SECRET" -H 'Content-Type: application/json' \
      --data-binary "@$D/report.json" "$BERTH_REPORT_URL") || code=000
    case $code in
      2*) return 0 ;;
      401 | 404)
        # the cluster or this node is gone: nothing left to do here
        log "no longer part of the cluster (HTTP $code)"
        [ "$(swarm_state)" = active ] && docker swarm leave --force >/dev/null 2>&1
        exit 0
        ;;
      4*) log "report refused: HTTP $code $(cat "$D/reply.json" 2>/dev/null)"; return 1 ;;
    esac
    n=$((n + 1))
    [ $n -gt 60 ] && { log "report service unreachable"; return 1; }
    sleep $((n < 6 ? n * 2 : 20))
  done
}

# report PHASE [JQ-EXPR [JQ-ARGS...]]: the report is {cluster_uuid,node_uuid,phase} + JQ-EXPR
report() {
  phase=$1; shift
  expr=.; if [ $# -gt 0 ]; then expr=$1; shift; fi
  jq -n --arg c "$BERTH_CLUSTER" --arg n "$BERTH_NODE" --arg p "$phase" "$@" \
    "{cluster_uuid: \$c, node_uuid: \$n, phase: \$p} | $expr" >"$D/report.json" && post
}
reply() { jq -r "$1 // empty" "$D/reply.json"; }
reply_or() { v=$(reply "$1"); if [ -n "$v" ]; then echo "$v"; else echo "$2"; fi; }

fail() {
  log "FAILED at $1: $2"
  report failed '. + {step: $s, error: $e}' --arg s "$1" --arg e "$2"
  exit 1
}

for t in curl jq openssl docker; do
  command -v $t >/dev/null 2>&1 || { log "$t missing"; exit 1; }
done

ADDR=$(ip -4 route get 1.1.1.1 2>/dev/null | sed -n 's/.* src \([0-9.]*\).*/\1/p' | head -1)
[ -n "$ADDR" ] || ADDR=$(hostname -i 2>/dev/null | awk '{print $1}')
[ -n "$ADDR" ] || fail address "no IPv4 address on this node"

if [ ! -s "$D/key.pem" ]; then
  openssl req -new -newkey rsa:2048 -nodes -keyout "$D/key.pem" -subj "/CN=$BERTH_NODE_NAME" \
    -out "$D/node.csr" 2>/dev/null || fail tls-key "openssl could not create the node key"
fi

# install_cert: writes the certificate and CA the last reply carried; 0 if they changed
install_cert() {
  c=$(reply .certificate); a=$(reply .ca)
  [ -n "$c" ] && [ -n "$a" ] || return 1
  printf '%s\n' "$c" >"$D/cert.pem"; printf '%s\n' "$a" >"$D/ca.pem"
  return 0
}
ca_fp() { [ -s "$D/ca.pem" ] && openssl x509 -in "$D/ca.pem" -outform der | sha256sum | cut -d' ' -f1; }

docker_up() { docker info >/dev/null 2>&1; }
OWN_DOCKERD=no
docker_up || OWN_DOCKERD=yes

# The Docker API on $BERTH_API_PORT: TLS from the cluster CA (dockerd's own
# TLS when we start dockerd, socat in front of the socket otherwise)
start_api() {
  if [ "$OWN_DOCKERD" = yes ]; then
    [ -s "$P/dockerd.pid" ] && kill "$(cat "$P/dockerd.pid")" 2>/dev/null && sleep 2
    if [ "$BERTH_TLS" = yes ]; then
      dockerd --host=unix:///var/run/docker.sock --host="tcp://0.0.0.0:$BERTH_API_PORT" --tlsverify \
        --tlscacert="$D/ca.pem" --tlscert="$D/cert.pem" --tlskey="$D/key.pem" >>"$D/dockerd.log" 2>&1 &
    else
      dockerd --host=unix:///var/run/docker.sock --host="tcp://0.0.0.0:$BERTH_API_PORT" >>"$D/dockerd.log" 2>&1 &
    fi
    echo $! >"$P/dockerd.pid"
    i=0; until docker_up; do i=$((i + 1)); [ $i -gt 120 ] && fail dockerd "dockerd did not start (see $D/dockerd.log)"; sleep 1; done
  else
    command -v socat >/dev/null 2>&1 || fail docker-api "socat is needed to serve the Docker API with TLS"
    [ -s "$P/socat.pid" ] && kill "$(cat "$P/socat.pid")" 2>/dev/null
    if [ "$BERTH_TLS" = yes ]; then
      socat "OPENSSL-LISTEN:$BERTH_API_PORT,fork,reuseaddr,cert=$D/cert.pem,key=$D/key.pem,cafile=$D/ca.pem,verify=1" \
        UNIX-CONNECT:/var/run/docker.sock &
    else
      socat "TCP-LISTEN:$BERTH_API_PORT,fork,reuseaddr" UNIX-CONNECT:/var/run/docker.sock &
    fi
    echo $! >"$P/socat.pid"
  fi
}


# 1. introduce ourselves: address and CSR; get the certificate and an instruction
while :; do
  report booted '. + {address: $a, csr: $csr, docker_version: $v}' \
    --arg a "$ADDR" --rawfile csr "$D/node.csr" --arg v "$(docker_version)" || fail report "the service refused the report"
  action=$(reply .action)
  case $action in
    init | join | none) break ;;
    leave) exit 0 ;;
    *) sleep "$(reply_or .retry_after 5)" ;;
  esac
done
install_cert || [ "$BERTH_TLS" = no ] || fail tls-cert "the service sent no certificate"
start_api

# 2. form or join the swarm (idempotent across reboots)
if [ "$(swarm_state)" != active ]; then
  case $action in
    init)
      docker swarm init --advertise-addr "$ADDR" >/dev/null || fail swarm-init "docker swarm init failed"
      # the berth-swarm-node image: the routing mesh's network made again for the uplink's MTU
      if command -v berth-node-swarm >/dev/null 2>&1; then
        berth-node-swarm ingress-mtu || log "could not make the ingress network for the uplink MTU"
      fi
      ;;
    join)
      docker swarm join --advertise-addr "$ADDR" --token "$(reply .join.token)" "$(reply .join.manager_address)" >/dev/null ||
        fail swarm-join "docker swarm join $(reply .join.manager_address) failed"
      ;;
  esac
fi
if [ "$action" = init ]; then
  report swarm-initialized '. + {address: $a, swarm_node_id: $id, join_tokens: {worker: $w, manager: $m}}' \
    --arg a "$ADDR" --arg id "$(swarm_id)" \
    --arg w "$(docker swarm join-token -q worker)" --arg m "$(docker swarm join-token -q manager)" ||
    fail report "the service refused the swarm-initialized report"
else
  report joined '. + {address: $a, swarm_node_id: $id}' --arg a "$ADDR" --arg id "$(swarm_id)" ||
    fail report "the service refused the joined report"
fi
log "in the swarm as $(swarm_id)"

# 3. heartbeats; the replies may carry a new certificate (CA rotation), nodes to drain, or leave
while :; do
  sleep "$(reply_or .retry_after "$BERTH_INTERVAL")"
  nodes='[]'
  if [ "$BERTH_ROLE" = master ]; then
    nodes=$(docker node ls --format '{{json .}}' 2>/dev/null |
      jq -cs 'map({id: .ID, hostname: .Hostname, status: .Status, availability: .Availability, manager_status: .ManagerStatus})') ||
      nodes='[]'
  fi
  report heartbeat '. + {address: $a, csr: $csr, swarm_node_id: $id, swarm_nodes: $nodes, ca_fingerprint: $fp, docker_version: $v}' \
    --arg a "$ADDR" --rawfile csr "$D/node.csr" --arg id "$(swarm_id)" --argjson nodes "$nodes" \
    --arg fp "$(ca_fp)" --arg v "$(docker_version)" || continue
  if install_cert; then log "new certificate"; start_api; fi
  case $(reply .action) in
    drain)
      drained=$(reply '.drain_nodes | join(" ")')
      for id in $drained; do
        docker node update --availability drain "$id" >/dev/null 2>&1
        i=0
        while [ -n "$(docker node ps "$id" -q --filter desired-state=running 2>/dev/null)" ] && [ $i -lt 60 ]; do
          i=$((i + 1)); sleep 1
        done
        docker node rm --force "$id" >/dev/null 2>&1
      done
      report drained '. + {drained_nodes: ($ids | split(" ") | map(select(. != "")))}' --arg ids "$drained"
      ;;
    leave)
      docker swarm leave --force >/dev/null 2>&1
      log "left the swarm"
      exit 0
      ;;
  esac
done
`;
