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
