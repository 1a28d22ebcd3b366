package httpapi

import (
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/karajo/karajo/config"
)

// TestForwardedSignature: only a recent request signed with the cluster
// secret over its method, URI and forwarded headers counts as forwarded.
func TestForwardedSignature(t *testing.T) {
	f := newAuthFixture(t, nil, func(env *config.Env) {
		env.Cluster = &config.Cluster{Name: "c", Node: "n2", Secret: "cluster-secret-0123456789"}
	})
	now := f.clock.Now()
	for _, tc := range []struct {
		name   string
		secret string
		at     time.Time
		reason string
		tamper bool
		want   bool
	}{
		{"valid", "cluster-secret-0123456789", now, "session:ann", false, true},
		{"wrong secret", "another-secret-0123456789", now, "api", false, false},
		{"stale", "cluster-secret-0123456789", now.Add(-2 * time.Minute), "api", false, false},
		{"reason changed", "cluster-secret-0123456789", now, "session:ann", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/karajo/api/job_exec/run_now", nil)
			at := strconv.FormatInt(tc.at.Unix(), 10)
			r.Header.Set(headerFwdNode, "n1")
			r.Header.Set(headerFwdTime, at)
			r.Header.Set(headerFwdReason, tc.reason)
			r.Header.Set(headerFwdClient, "10.0.0.9")
			r.Header.Set(headerFwdSign, fwdSign(tc.secret, "POST", "/karajo/api/job_exec/run_now", "n1", at, tc.reason, "10.0.0.9"))
			if tc.tamper {
				r.Header.Set(headerFwdReason, "session:admin")
			}
			got, ok := f.s.forwarded(r)
			if ok != tc.want {
				t.Fatalf("forwarded = %v, want %v", ok, tc.want)
			}
			if ok && (got.reason != tc.reason || got.node != "n1" || got.client != "10.0.0.9") {
				t.Fatalf("forwarded %+v", got)
			}
		})
	}
	// Without [cluster] nothing is a forwarded request.
	g := newAuthFixture(t, nil, nil)
	r := httptest.NewRequest("POST", "/x", nil)
	r.Header.Set(headerFwdSign, "00")
	if _, ok := g.s.forwarded(r); ok {
		t.Fatal("forwarded without [cluster]")
	}
}

// TestClientOfForwarded (issue 15 with a cluster): a webhook forwarded by
// a node is judged by allow_from, and recorded, under the client address
// the node signed, not the node's own; an unsigned claim changes nothing.
func TestClientOfForwarded(t *testing.T) {
	f := newAuthFixture(t, nil, func(env *config.Env) {
		env.Cluster = &config.Cluster{Name: "c", Node: "n2", Secret: "cluster-secret-0123456789"}
	})
	uri := "/karajo/api/job_exec/run/hook"
	at := strconv.FormatInt(f.clock.Now().Unix(), 10)
	r := httptest.NewRequest("POST", uri, nil)
	r.RemoteAddr = "10.1.1.1:4000" // the forwarding node
	r.Header.Set(headerFwdNode, "n1")
	r.Header.Set(headerFwdTime, at)
	r.Header.Set(headerFwdClient, "192.0.2.7")
	r.Header.Set(headerFwdSign, fwdSign("cluster-secret-0123456789", "POST", uri, "n1", at, "", "192.0.2.7"))
	if got := f.s.remoteOf(r); got != "192.0.2.7" {
		t.Errorf("forwarded: client %q, want 192.0.2.7", got)
	}
	r.Header.Set(headerFwdSign, fwdSign("another-secret-0123456789", "POST", uri, "n1", at, "", "192.0.2.7"))
	if got := f.s.remoteOf(r); got != "10.1.1.1" {
		t.Errorf("unsigned claim: client %q, want the peer 10.1.1.1", got)
	}
}
