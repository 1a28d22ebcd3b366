#!/usr/bin/env bash
# make cluster: one `karajo etcd-dev` and three karajo nodes on loopback,
# each with the example jobs plus "cluster tick" (every 5 s, appends its
# node's name to examples/var/cluster/ticks). Ctrl-C stops everything.
set -euo pipefail
bin=${KARAJO:-bin/karajo}
base=examples/var/cluster
port0=${KARAJO_DEMO_PORT:-31970} # nodes on port0+1..3, etcd-dev on port0
etcd=http://127.0.0.1:$port0
rm -rf "$base"
mkdir -p "$base"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true' EXIT INT TERM
"$bin" etcd-dev -data "$base/etcd" -listen "$etcd" >"$base/etcd.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
	grep -q serving "$base/etcd.log" 2>/dev/null && break
	sleep 0.1
done
echo "etcd-dev: $etcd (pid ${pids[0]}, not for production)"
for i in 1 2 3; do
	port=$((port0 + i))
	dir="$base/n$i"
	mkdir -p "$dir/etc/karajo"
	cp -r examples/etc/karajo/job.d examples/etc/karajo/job_http.d "$dir/etc/karajo/"
	sed -e "s|^listen_address = .*|listen_address = \"127.0.0.1:$port\"|" \
		-e "s|^dir_base = .*|dir_base = \"$dir\"|" \
		examples/etc/karajo/karajo.toml >"$dir/etc/karajo/karajo.toml"
	cat >>"$dir/etc/karajo/karajo.toml" <<EOF

[job."cluster tick"]
description = "Appends the node that ran it to examples/var/cluster/ticks."
cron = "*/5 * * * * *"
commands = ['echo "\$(date -u +%T) #\$KARAJO_JOB_COUNTER on \$KARAJO_NODE" >> $PWD/$base/ticks']

[cluster]
name = "demo"
etcd = ["$etcd"]
node = "n$i"
advertise = "http://127.0.0.1:$port"
secret = "demo-cluster-secret-0123456789"
ttl = "5s"
EOF
	"$bin" -config "$dir/etc/karajo/karajo.toml" >"$dir/karajo.log" 2>&1 &
	pids+=($!)
	echo "node n$i: http://127.0.0.1:$port (pid $!, log $dir/karajo.log)"
done
cat <<EOF

Watch the runs:     tail -f $base/ticks
Who owns the jobs:  grep "leading shard" $base/n*/karajo.log
Any node shows the owner's view (status, last run, logs with their node):
  curl -s http://127.0.0.1:$((port0 + 2))/karajo/api/environment | jq '.data.jobs["cluster tick"] | {node, node_lost, status, last_run, logs: [.logs[]? | {counter, node}]}'
Kill the owner:     kill -9 <its pid above>   (another node takes over within ttl = 5s)
A webhook through any node, e.g. n3:
  body='{"_karajo_epoch":'\$(date +%s)'}'
  curl -s -H "X-Karajo-Sign: \$(printf %s "\$body" | openssl dgst -sha256 -hmac s3cret -r | cut -d' ' -f1)" \\
    -H 'Content-Type: application/json' -d "\$body" http://127.0.0.1:$((port0 + 3))/karajo/api/job_exec/run/test-success -i
Ctrl-C stops everything.
EOF
wait
