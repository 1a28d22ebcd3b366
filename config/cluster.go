package config

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Cluster is a validated [cluster] table: the node runs as one of several
// coordinated by etcd (docs/cluster.md). Absent, karajo runs single-host.
type Cluster struct {
	Name            string        // keys live under /karajo/<Name>/; default [karajo] name
	Etcd            []string      // client URLs of etcd, at least one
	Node            string        // this node's name; default the host name
	Advertise       string        // base URL other nodes reach this one at
	Secret          string        // authenticates requests between nodes; at least 16 bytes
	TTL             time.Duration // session lease: a lost node is noticed after it; default 10s
	Shards          int           // elections spreading jobs over nodes; default 1
	PartitionPolicy string        // "kill" (default) or "finish": runs of a node cut from etcd
	EtcdCAFile      string        // PEM CA bundle of etcd's certificate; "" = none
	EtcdCertFile    string        // client certificate for etcd (with EtcdKeyFile); "" = none
	EtcdKeyFile     string
}

// clusterTOML mirrors [cluster].
type clusterTOML struct {
	Name            string   `toml:"name"`
	Etcd            []string `toml:"etcd"`
	Node            string   `toml:"node"`
	Advertise       string   `toml:"advertise"`
	Secret          string   `toml:"secret"`
	TTL             duration `toml:"ttl"`
	Shards          *int     `toml:"shards"`
	PartitionPolicy string   `toml:"partition_policy"`
	EtcdCAFile      string   `toml:"etcd_ca_file"`
	EtcdCertFile    string   `toml:"etcd_cert_file"`
	EtcdKeyFile     string   `toml:"etcd_key_file"`
}

// Bounds and defaults of [cluster].
const (
	DefaultClusterTTL = 10 * time.Second
	minClusterTTL     = 2 * time.Second // etcd's shortest lease is about 1.5 s
	maxClusterTTL     = 5 * time.Minute
	maxShards         = 1024
	minClusterSecret  = 16
)

// clusterName is what a cluster or node name may hold: it becomes part of
// etcd keys and of log file names.
var clusterName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$`)

// cluster checks [cluster]; nil when the table is absent.
func (c *checker) cluster(file string, env *Env, t *clusterTOML) *Cluster {
	if t == nil {
		return nil
	}
	cl := &Cluster{Name: strings.TrimSpace(t.Name), Node: strings.TrimSpace(t.Node), Advertise: strings.TrimSpace(t.Advertise),
		Secret: strings.TrimSpace(t.Secret), PartitionPolicy: t.PartitionPolicy}
	if cl.Name == "" {
		cl.Name = NormalizeID(env.Name)
	}
	if !clusterName.MatchString(cl.Name) {
		c.fail(file, "cluster.name", "%q: want 1-63 letters, digits, '_', '.' or '-', starting with a letter or digit", cl.Name)
	}
	if cl.Node == "" {
		h, err := os.Hostname()
		if err != nil {
			c.fail(file, "cluster.node", "not set and the host name is unknown: %v", err)
		}
		cl.Node = h
	}
	if cl.Node != "" && !clusterName.MatchString(cl.Node) {
		c.fail(file, "cluster.node", "%q: want 1-63 letters, digits, '_', '.' or '-', starting with a letter or digit", cl.Node)
	}
	c.clusterEtcd(file, cl, t.Etcd)
	if reason := checkBaseURL(cl.Advertise); reason != "" {
		c.fail(file, "cluster.advertise", "%s", reason)
	}
	if len(cl.Secret) < minClusterSecret {
		c.fail(file, "cluster.secret", "must be at least %d bytes: it authenticates the nodes to each other", minClusterSecret)
	}
	switch cl.TTL = c.duration(file, "cluster.ttl", t.TTL); {
	case cl.TTL == 0:
		cl.TTL = DefaultClusterTTL
	case cl.TTL < minClusterTTL || cl.TTL > maxClusterTTL:
		c.fail(file, "cluster.ttl", "must be between %v and %v, got %v", minClusterTTL, maxClusterTTL, cl.TTL)
	}
	cl.Shards = 1
	if t.Shards != nil {
		if cl.Shards = *t.Shards; cl.Shards < 1 || cl.Shards > maxShards {
			c.fail(file, "cluster.shards", "must be between 1 and %d, got %d", maxShards, cl.Shards)
		}
	}
	switch cl.PartitionPolicy {
	case "":
		cl.PartitionPolicy = "kill"
	case "kill", "finish":
	default:
		c.fail(file, "cluster.partition_policy", "%q: want \"kill\" or \"finish\"", cl.PartitionPolicy)
	}
	c.clusterTLS(file, cl, t)
	return cl
}

func (c *checker) clusterEtcd(file string, cl *Cluster, eps []string) {
	if len(eps) == 0 {
		c.fail(file, "cluster.etcd", "no endpoint: want a list of etcd client URLs such as [\"http://127.0.0.1:2379\"]")
	}
	for i, ep := range eps {
		ep = strings.TrimSpace(ep)
		if reason := checkBaseURL(ep); reason != "" {
			c.fail(file, fmt.Sprintf("cluster.etcd[%d]", i), "%s", reason)
		}
		cl.Etcd = append(cl.Etcd, ep)
	}
}

// checkBaseURL returns why s is not an absolute http(s) URL with a host
// and nothing after the path, or "".
func checkBaseURL(s string) string {
	if s == "" {
		return "not set: want an http:// or https:// URL"
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return fmt.Sprintf("%q: %v", s, err)
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Sprintf("%q: want an http:// or https:// URL", s)
	case u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "":
		return fmt.Sprintf("%q: want scheme://host:port with no user, query or fragment", s)
	}
	return ""
}

func (c *checker) clusterTLS(file string, cl *Cluster, t *clusterTOML) {
	base := filepath.Dir(file)
	for _, f := range []struct {
		key string
		in  string
		out *string
	}{{"cluster.etcd_ca_file", t.EtcdCAFile, &cl.EtcdCAFile}, {"cluster.etcd_cert_file", t.EtcdCertFile, &cl.EtcdCertFile},
		{"cluster.etcd_key_file", t.EtcdKeyFile, &cl.EtcdKeyFile}} {
		p := strings.TrimSpace(f.in)
		if p == "" {
			continue
		}
		if !filepath.IsAbs(p) {
			p = filepath.Join(base, p)
		}
		if _, err := os.Stat(p); err != nil {
			c.fail(file, f.key, "%v", err)
		}
		*f.out = p
	}
	if (cl.EtcdCertFile == "") != (t.EtcdKeyFile == "") {
		c.fail(file, "cluster.etcd_cert_file", "etcd_cert_file and etcd_key_file go together")
	}
}
