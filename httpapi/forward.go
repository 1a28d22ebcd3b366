package httpapi

import (
	"bytes"
	"cmp"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/karajo/karajo/actors"
	"github.com/karajo/karajo/actors/cluster"
	"github.com/karajo/karajo/config"
)

// In a cluster (docs/cluster.md) a webhook, run-now or cancel reaching a
// node that does not own the job is forwarded to the owner over HTTP.
// The forwarded request carries the original method, path, headers and
// body, and four headers signed with the cluster secret: the node that
// forwards, the time, the trigger reason the forwarding node verified
// (run-now: "api" or "session:<user>"; a webhook is verified by the owner
// from its own signature) and the client's address. A node that receives
// a correctly signed forwarded request answers it itself, never
// forwarding it again.
const (
	headerFwdNode   = "X-Karajo-Cluster-Node"
	headerFwdTime   = "X-Karajo-Cluster-Time"
	headerFwdReason = "X-Karajo-Cluster-Reason"
	headerFwdClient = "X-Karajo-Cluster-Client"
	headerFwdSign   = "X-Karajo-Cluster-Sign"
	// headerNode names the node that answered a forwarded request.
	headerNode = "X-Karajo-Node"
	// fwdWindow is how old a forwarded request may be.
	fwdWindow = time.Minute
)

// forwardClient carries forwarded requests; its timeout is the API's.
var forwardClient = &http.Client{Timeout: 60 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
	return http.ErrUseLastResponse
}}

// ownerEngine is an engine that knows the owners of jobs (*actors.Engine).
type ownerEngine interface {
	Owner(kind, id string) (cluster.Owner, error)
	Nodes() ([]cluster.Owner, error)
}

// fwd is what a signed forwarded request says.
type fwd struct {
	node, reason, client string
}

func fwdSign(secret, method, uri, node, at, reason, client string) string {
	m := hmac.New(sha256.New, []byte(secret))
	for _, s := range []string{method, uri, node, at, reason, client} {
		m.Write([]byte(s))
		m.Write([]byte{0})
	}
	return hex.EncodeToString(m.Sum(nil))
}

// forwarded returns what a forwarded request says when it is correctly
// signed with the cluster secret and recent; ok is false otherwise.
func (s *Server) forwarded(r *http.Request) (f fwd, ok bool) {
	c := s.conf.Load().env.Cluster
	sig := r.Header.Get(headerFwdSign)
	if c == nil || sig == "" {
		return fwd{}, false
	}
	at := r.Header.Get(headerFwdTime)
	sec, err := strconv.ParseInt(at, 10, 64)
	if err != nil || s.now().Sub(time.Unix(sec, 0)).Abs() > fwdWindow {
		return fwd{}, false
	}
	f = fwd{node: r.Header.Get(headerFwdNode), reason: r.Header.Get(headerFwdReason), client: r.Header.Get(headerFwdClient)}
	want := fwdSign(c.Secret, r.Method, r.URL.RequestURI(), f.node, at, f.reason, f.client)
	if !hmac.Equal([]byte(sig), []byte(want)) {
		return fwd{}, false
	}
	return f, true
}

// forward sends r to the owner of job kind/id when this node is not it,
// and copies the owner's answer; it reports whether it answered. body is
// the request's body when already read (nil: r.Body, unread).
func (s *Server) forward(w http.ResponseWriter, r *http.Request, kind, id string, body []byte, reason string) bool {
	c := s.conf.Load().env.Cluster
	if c == nil {
		return false
	}
	if _, ok := s.forwarded(r); ok {
		return false // from a node that thought this one the owner: answer here
	}
	oe, ok := s.engine.(ownerEngine)
	if !ok {
		return false
	}
	o, err := oe.Owner(kind, id)
	if err != nil {
		s.writeError(w, r, fmt.Errorf("forward %s %s: %w", kind, id, err))
		return true
	}
	if o.Mine {
		return false
	}
	var rd io.Reader = r.Body
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(r.Context(), r.Method, strings.TrimRight(o.URL, "/")+r.URL.RequestURI(), rd)
	if err != nil {
		s.writeError(w, r, fmt.Errorf("forward %s %s to node %s: %w: %w", kind, id, o.Node, actors.ErrClusterUnavailable, err))
		return true
	}
	for k, v := range r.Header {
		if !strings.HasPrefix(k, "X-Karajo-Cluster-") && k != "Connection" && k != "Cookie" {
			req.Header[k] = v
		}
	}
	s.signForward(req, r, c, reason)
	req.ContentLength = r.ContentLength
	if body != nil {
		req.ContentLength = int64(len(body))
	}
	resp, err := forwardClient.Do(req)
	if err != nil {
		s.writeError(w, r, fmt.Errorf("forward %s %s to node %s: %w: %w", kind, id, o.Node, actors.ErrClusterUnavailable, err))
		return true
	}
	defer resp.Body.Close()
	for _, k := range []string{"Content-Type", "Cache-Control", "Retry-After"} {
		if v := resp.Header.Get(k); v != "" {
			w.Header().Set(k, v)
		}
	}
	w.Header().Set(headerNode, cmp.Or(resp.Header.Get(headerNode), o.Node))
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, io.LimitReader(resp.Body, 16<<20))
	return true
}

// clusterKind is the coordinator's name of a job kind.
func clusterKind(httpJob bool) string {
	if httpJob {
		return "job_http"
	}
	return "job"
}

// signForward adds the signed cluster headers to req, forwarded from r.
func (s *Server) signForward(req, r *http.Request, c *config.Cluster, reason string) {
	at, client := strconv.FormatInt(s.now().Unix(), 10), s.remoteOf(r)
	req.Header.Set(headerFwdNode, c.Node)
	req.Header.Set(headerFwdTime, at)
	req.Header.Set(headerFwdReason, reason)
	req.Header.Set(headerFwdClient, client)
	req.Header.Set(headerFwdSign, fwdSign(c.Secret, r.Method, r.URL.RequestURI(), c.Node, at, reason, client))
}

// remoteLog answers a log read this node cannot: logs stay on the disk of
// the node that ran them, so the other live nodes are asked in turn and
// the first that has the log answers. It reports whether it answered.
func (s *Server) remoteLog(w http.ResponseWriter, r *http.Request) bool {
	c := s.conf.Load().env.Cluster
	oe, ok := s.engine.(ownerEngine)
	if c == nil || !ok {
		return false
	}
	if _, fwd := s.forwarded(r); fwd {
		return false // asked by a node: answer for this node only
	}
	nodes, err := oe.Nodes()
	if err != nil {
		return false
	}
	for _, n := range nodes {
		req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, strings.TrimRight(n.URL, "/")+r.URL.RequestURI(), nil)
		if err != nil {
			continue
		}
		s.signForward(req, r, c, "")
		resp, err := forwardClient.Do(req)
		if err != nil {
			continue
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			continue
		}
		w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
		w.Header().Set(headerNode, cmp.Or(resp.Header.Get(headerNode), n.Node))
		w.WriteHeader(http.StatusOK)
		_, _ = io.Copy(w, resp.Body)
		resp.Body.Close()
		return true
	}
	return false
}
