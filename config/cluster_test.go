package config

import (
	"strings"
	"testing"
	"time"
)

const goodCluster = `[cluster]
etcd = ["http://127.0.0.1:2379"]
node = "a"
advertise = "http://127.0.0.1:31937"
secret = "0123456789abcdef"
`

func TestClusterDefaults(t *testing.T) {
	env, err := loadString(t, goodCluster, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := env.Cluster
	if c == nil || c.Name != "karajo" || c.Node != "a" || c.TTL != 10*time.Second || c.Shards != 1 || c.PartitionPolicy != "kill" ||
		len(c.Etcd) != 1 {
		t.Fatalf("%+v", c)
	}
	env, err = loadString(t, "", nil)
	if err != nil || env.Cluster != nil {
		t.Fatalf("no [cluster]: %+v %v", env.Cluster, err)
	}
}

func TestClusterInvalid(t *testing.T) {
	for _, tc := range []struct{ extra, key, reason string }{
		{`name = "a/b"`, "cluster.name", "want 1-63 letters"},
		{`node = "-x"`, "cluster.node", "want 1-63 letters"},
		{`etcd = []`, "cluster.etcd", "no endpoint"},
		{`etcd = ["127.0.0.1:2379"]`, "cluster.etcd[0]", "127.0.0.1:2379"},
		{`etcd = ["unix:///run/etcd"]`, "cluster.etcd[0]", "want an http:// or https:// URL"},
		{`advertise = ""`, "cluster.advertise", "not set"},
		{`advertise = "http://h:1/?q"`, "cluster.advertise", "no user, query or fragment"},
		{`secret = "short"`, "cluster.secret", "at least 16 bytes"},
		{`ttl = "1s"`, "cluster.ttl", "between 2s and 5m0s"},
		{`ttl = "soon"`, "cluster.ttl", ""},
		{`shards = 0`, "cluster.shards", "between 1 and 1024"},
		{`partition_policy = "wait"`, "cluster.partition_policy", `want "kill" or "finish"`},
		{`etcd_ca_file = "/nonexistent/ca.pem"`, "cluster.etcd_ca_file", "no such file"},
		{`etcd_key_file = "/nonexistent/key.pem"`, "cluster.etcd_cert_file", "go together"},
		{`nodes = 3`, "nodes", "unknown"},
	} {
		t.Run(tc.key, func(t *testing.T) {
			cfg := goodCluster
			if k, _, _ := strings.Cut(tc.extra, " ="); strings.Contains(cfg, "\n"+k+" =") {
				cfg = strings.ReplaceAll(cfg, "\n"+k+" =", "\nold_"+k+" =") // replaced below
				lines := strings.Split(cfg, "\n")
				for i, l := range lines {
					if strings.HasPrefix(l, "old_"+k+" =") {
						lines[i] = tc.extra
					}
				}
				cfg = strings.Join(lines, "\n")
			} else {
				cfg += tc.extra + "\n"
			}
			_, err := loadString(t, cfg, nil)
			if err == nil {
				t.Fatalf("%s accepted", tc.extra)
			}
			if !strings.Contains(err.Error(), tc.key) || !strings.Contains(err.Error(), tc.reason) || !strings.Contains(err.Error(), "karajo.toml") {
				t.Fatalf("%s: %v; want file, key %s and %q", tc.extra, err, tc.key, tc.reason)
			}
			if tc.key != "nodes" && strings.Contains(err.Error(), "0123456789abcdef") { // a decode error quotes the file's lines
				t.Fatalf("secret in the error: %v", err)
			}
		})
	}
}
