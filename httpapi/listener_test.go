package httpapi

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/karajo/karajo/config"
)

// TestListenerAdmit: the connection limits in total (with the loopback
// reserve) and per client, trusted proxies not counted per client.
func TestListenerAdmit(t *testing.T) {
	f := newAuthFixture(t, nil, func(env *config.Env) {
		env.Limits.MaxConnections = 4
		env.Limits.MaxConnectionsPerClient = 2
		env.Limits.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.1/32")}
	})
	l := &limitListener{s: f.s, per: make(map[string]int)}
	admit := func(remote, wantRefusal string) string {
		t.Helper()
		key, refused := l.admit(remote)
		if refused != wantRefusal {
			t.Fatalf("admit(%s) refused %q, want %q", remote, refused, wantRefusal)
		}
		return key
	}
	a := admit("192.0.2.1:1", "")
	admit("192.0.2.1:2", "")
	admit("192.0.2.1:3", refusedPerClient)
	admit("10.0.0.1:1", "") // a trusted proxy: not limited per client
	admit("10.0.0.1:2", "")
	admit("192.0.2.2:1", refusedTotal) // 4 open: full
	for i := range loopbackReserve {
		admit(fmt.Sprintf("127.0.0.%d:1", 2+i), "") // loopback: the reserve
	}
	admit("127.0.0.99:1", refusedTotal)
	admit("[::1]:1", refusedTotal)
	l.release(a) // room again, but only within the reserve: loopback fills it
	admit("192.0.2.2:1", refusedTotal)
	admit("127.0.0.99:1", "")
	if got := f.s.conns.Load(); got != int64(4+loopbackReserve) {
		t.Errorf("open connections = %d, want %d", got, 4+loopbackReserve)
	}
}

// TestRefusalLog: at most refusalBurst lines a second; the next line
// logged tells how many were left out.
func TestRefusalLog(t *testing.T) {
	var l refusalLog
	t0 := time.Unix(1000, 0)
	for i := range refusalBurst {
		if ok, d := l.allow(t0); !ok || d != 0 {
			t.Fatalf("line %d: allow = %v, %d", i, ok, d)
		}
	}
	for range 7 {
		if ok, _ := l.allow(t0.Add(500 * time.Millisecond)); ok {
			t.Fatal("a line past the burst was allowed")
		}
	}
	if ok, d := l.allow(t0.Add(time.Second)); !ok || d != 7 {
		t.Fatalf("next second: allow = %v, %d; want true, 7", ok, d)
	}
	if ok, d := l.allow(t0.Add(time.Second)); !ok || d != 0 {
		t.Fatalf("then: allow = %v, %d; want true, 0", ok, d)
	}
}
