# shellcheck shell=bash
# Berth cluster-service: the Magnum-compatible container-infra API and its
# conductor (one process). Runs as the Keystone user berth-cluster (admin in
# project service: it validates tokens, and it is the trustee of every
# cluster's trust), listens on 127.0.0.1:9511 (Magnum's port; Debian's
# magnum-api is not run here) and is in the catalog as `container-infra`,
# the endpoint ending in /v1 as python-magnumclient expects.

BERTH_COMPONENTS+=" cluster_service"
BERTH_SERVICES+=" berth-cluster-service"
CLUSTER_SERVICE_PORT=${CLUSTER_SERVICE_PORT:-9511}
CLUSTER_SERVICE_URL=http://127.0.0.1:$CLUSTER_SERVICE_PORT
CLUSTER_SERVICE_USER=berth-cluster

# python3-magnumclient: `openstack coe ...` and the interop tests; openssl,
# jq, curl: the node bootstrap script and the certificate tests
berth_cluster_service_install() { apt_install python3-magnumclient openssl jq curl; }

# the key that seals private keys and node secrets: generated once, kept across re-runs
berth_cluster_service_key() {
  local f=$BERTH_STATE/cluster-service/encryption.key
  [ -s "$f" ] || { (umask 077 && openssl rand -base64 32 >"$f") || return 1; }
  cat "$f"
}

berth_cluster_service_up() {
  berth_cluster_service_install || return 1
  local state=$BERTH_STATE/cluster-service key
  mkdir -p "$state" && chmod 700 "$state"
  key=$(berth_cluster_service_key) || return 1
  put_conf $BERTH_ETC/cluster-service.conf <<EOT
# berth-cluster-service --help lists every option
[api]
host = 127.0.0.1
port = $CLUSTER_SERVICE_PORT
public_url = $CLUSTER_SERVICE_URL
[node_api]
# nodes on the provider network report here (the host's address on it)
host = $NEUTRON_PUBLIC_HOST_IP
port = 9512
$(berth_auth_section keystone_authtoken $CLUSTER_SERVICE_USER)
[database]
connection = sqlite:///$state/cluster.db
[certificates]
encryption_key = $key
[compute]
interface = internal
EOT
  chmod 600 $BERTH_ETC/cluster-service.conf
  ks_register "user:$CLUSTER_SERVICE_USER" \
    "endpoint:berth-cluster-service:container-infra:$CLUSTER_SERVICE_URL/v1" >/dev/null || return 1
  berth_node berth-cluster-service cluster-service/dist/main.js --config-file $BERTH_ETC/cluster-service.conf
  wait_http $CLUSTER_SERVICE_URL/healthcheck 60
}

berth_cluster_service_down() { stop_bg berth-cluster-service; }
