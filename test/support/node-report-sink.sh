#!/bin/sh
# The report sink of test/e2e/node-image.test.ts: a stand-in for the cluster
# service on the node network. socat runs this once per connection: one HTTP
# request on stdin, the answer on stdout. Reports carrying the cluster secret
# are appended to /srv/reports.jsonl; once a master reported
# swarm-initialized, every reply carries join {token, manager_address}, which
# is how workers booted together with the master learn how to join.
len=0 auth=""
cr=$(printf '\r')
while IFS= read -r line; do
  line=${line%"$cr"}
  [ -z "$line" ] && break
  case $line in
    [Cc]ontent-[Ll]ength:*) len=${line#*:}; len=${len# } ;;
    [Aa]uthorization:*) auth=${line#*:}; auth=${auth# } ;;
  esac
done
body=$(head -c "$len")
answer() { printf 'HTTP/1.0 %s\r\nContent-Type: application/json\r\nContent-Length: %s\r\n\r\n%s' "$1" "${#2}" "$2"; }
if [ "$auth" != "Bearer $SINK_SECRET" ]; then answer '401 Unauthorized' '{"error":"wrong secret"}'; exit 0; fi
# one report per line (nodes send jq's pretty-printed, multi-line JSON)
printf '%s' "$body" | jq -c . >>/srv/reports.jsonl
if [ "$(printf '%s' "$body" | jq -r .phase)" = swarm-initialized ]; then
  printf '%s' "$body" | jq -c '{join: {token: .join_tokens.worker, manager_address: .address}}' >/srv/join.tmp &&
    mv /srv/join.tmp /srv/join.json
fi
if [ -s /srv/join.json ]; then answer '200 OK' "$(cat /srv/join.json)"; else answer '200 OK' '{"retry_after": 1}'; fi
