// Package devetcd runs etcd inside the process, for development, demos
// and tests: a single member (karajo etcd-dev), or several members of one
// etcd cluster on loopback (StartMembers), for tests of member failures.
// It is not for production: one member has no fault tolerance.
package devetcd

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
)

// readyTimeout bounds how long Start waits for the member to serve.
const readyTimeout = 30 * time.Second

// Server is a running single-member etcd.
type Server struct {
	etcd *embed.Etcd
	// Endpoint is the client URL to give to clients, e.g. http://127.0.0.1:2379.
	Endpoint string
}

// Start runs a member storing its data in dir and serving clients on
// listen (an http:// URL on a loopback or local address; port 0 picks a
// free one). The peer port is a free loopback port.
func Start(dir, listen string) (*Server, error) {
	cu, err := url.Parse(listen)
	if err != nil || cu.Scheme != "http" || cu.Host == "" {
		return nil, fmt.Errorf("listen %q: want http://HOST:PORT", listen)
	}
	if cu.Port() == "0" || cu.Port() == "" {
		port, err := freePort(cu.Hostname())
		if err != nil {
			return nil, err
		}
		cu.Host = net.JoinHostPort(cu.Hostname(), port)
	}
	pu, err := peerURL(dir)
	if err != nil {
		return nil, err
	}
	cfg := embed.NewConfig()
	cfg.Name = "karajo-dev"
	cfg.Dir = dir
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{*cu}, []url.URL{*cu}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{*pu}, []url.URL{*pu}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.LogLevel = "fatal" // its shutdown reports closed listeners as errors; start errors are returned
	cfg.ListenMetricsUrls = nil
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, fmt.Errorf("start etcd in %s: %w", dir, err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("etcd in %s: %w", dir, err)
	case <-time.After(readyTimeout):
		e.Close()
		return nil, fmt.Errorf("etcd in %s: not ready after %s", dir, readyTimeout)
	}
	return &Server{etcd: e, Endpoint: cu.String()}, nil
}

// StartMembers runs n members of one etcd cluster on loopback, member i
// storing its data in dirs[i], and returns them once they all serve
// (each member waits for a quorum, so they start together). Closing one
// of three leaves a working cluster; closing two leaves none.
func StartMembers(dirs []string) ([]*Server, error) {
	cfgs := make([]*embed.Config, len(dirs))
	var initial []string
	for i, dir := range dirs {
		cu, pu, err := loopbackURLs()
		if err != nil {
			return nil, err
		}
		cfg := embed.NewConfig()
		cfg.Name = fmt.Sprintf("m%d", i+1)
		cfg.Dir = dir
		cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{*cu}, []url.URL{*cu}
		cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{*pu}, []url.URL{*pu}
		cfg.LogLevel = "fatal"
		cfg.ListenMetricsUrls = nil
		cfg.InitialClusterToken = "karajo-test"
		cfgs[i] = cfg
		initial = append(initial, cfg.Name+"="+pu.String())
	}
	members := make([]*Server, len(dirs))
	errs := make(chan error, len(dirs))
	for i, cfg := range cfgs {
		cfg.InitialCluster = strings.Join(initial, ",")
		go func() {
			e, err := embed.StartEtcd(cfg)
			if err == nil {
				members[i] = &Server{etcd: e, Endpoint: cfg.AdvertiseClientUrls[0].String()}
			}
			errs <- err
		}()
	}
	var first error
	for range dirs {
		if err := <-errs; err != nil && first == nil {
			first = fmt.Errorf("start etcd member: %w", err)
		}
	}
	if first == nil {
		first = waitMembers(members)
	}
	if first != nil {
		for _, m := range members {
			if m != nil {
				m.Close()
			}
		}
		return nil, first
	}
	return members, nil
}

// waitMembers waits until every member serves.
func waitMembers(members []*Server) error {
	deadline := time.After(readyTimeout)
	for i, m := range members {
		select {
		case <-m.etcd.Server.ReadyNotify():
		case err := <-m.etcd.Err():
			return fmt.Errorf("etcd member %d: %w", i+1, err)
		case <-deadline:
			return fmt.Errorf("etcd member %d: not ready after %s", i+1, readyTimeout)
		}
	}
	return nil
}

// loopbackURLs returns a client and a peer URL on free loopback ports.
func loopbackURLs() (client, peer *url.URL, err error) {
	var ports [2]string
	for i := range ports {
		if ports[i], err = freePort("127.0.0.1"); err != nil {
			return nil, nil, err
		}
	}
	client = &url.URL{Scheme: "http", Host: net.JoinHostPort("127.0.0.1", ports[0])}
	peer = &url.URL{Scheme: "http", Host: net.JoinHostPort("127.0.0.1", ports[1])}
	return client, peer, nil
}

// IsLeader says whether this member leads its etcd cluster now.
func (s *Server) IsLeader() bool { return s.etcd.Server.Leader() == s.etcd.Server.MemberID() }

// Err reports a fatal error of the running member.
func (s *Server) Err() <-chan error { return s.etcd.Err() }

// Close stops the member.
func (s *Server) Close() { s.etcd.Close() }

func freePort(host string) (string, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return "", fmt.Errorf("find a free port on %s: %w", host, err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port, nil
}

// peerURL returns the member's peer URL: the one recorded in dir by an
// earlier start (the member's data names it), else a new free loopback
// port, recorded.
func peerURL(dir string) (*url.URL, error) {
	p := filepath.Join(dir, "karajo-peer-url")
	if b, err := os.ReadFile(p); err == nil {
		return url.Parse(strings.TrimSpace(string(b)))
	}
	port, err := freePort("127.0.0.1")
	if err != nil {
		return nil, err
	}
	u := &url.URL{Scheme: "http", Host: net.JoinHostPort("127.0.0.1", port)}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("etcd data dir: %w", err)
	}
	if err := os.WriteFile(p, []byte(u.String()+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("record the peer URL: %w", err)
	}
	return u, nil
}
