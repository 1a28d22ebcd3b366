package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The webhook scenario (issue 15): what replay protection, require_epoch
// and the delivery records cost a signed trigger, against the v0.9.3 path
// in the same server, and the start of 10,000 webhook jobs whose replay
// windows and delivery records are full, against the same jobs with none.

// webhookKinds are the jobs of the trigger-latency case, measured in
// interleaved order so that each sees the same machine.
var webhookKinds = []string{"plain", "replay", "epoch"}

// webhook runs both cases.
func (b *bench) webhook() error {
	if err := b.webhookLatency(); err != nil {
		return fmt.Errorf("latency: %w", err)
	}
	if err := b.webhookStart(); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	return nil
}

// webhookLatency measures the answer time of signed triggers: plain is
// an hmac-sha256 job as in v0.9.3 (no id, nothing remembered); replay a
// github job sent a new X-GitHub-Delivery each time (checked, then
// written to its window file with fsync before the answer); epoch an
// hmac-sha256 job with require_epoch (the body's epoch checked, its hash
// remembered). Every request is also recorded by the delivery inspector.
func (b *bench) webhookLatency() error {
	dir, err := b.newDir("webhook")
	if err != nil {
		return err
	}
	defer b.removeDir(dir)
	jobs := []jobSpec{
		{name: "plain", path: "/plain", commands: []string{"true"}},
		{name: "replay", path: "/replay", extra: "auth_kind = \"github\"\n", commands: []string{"true"}},
		{name: "epoch", path: "/epoch", extra: "require_epoch = true\n", commands: []string{"true"}},
	}
	s, err := b.startReady(dir, karajoConfig{maxJobRunning: 4, jobs: jobs}, time.Minute)
	if err != nil {
		return err
	}
	defer b.stopServer(s)
	servers := map[string]*server{"plain": s, "replay": s, "epoch": s}
	kinds := webhookKinds
	if b.compare != "" {
		// -compare BIN: its plain job too (kind "before"), interleaved.
		dir2, err := b.newDir("webhook-compare")
		if err != nil {
			return err
		}
		defer b.removeDir(dir2)
		c, err := b.startBinReady(b.compare, dir2, karajoConfig{maxJobRunning: 4, jobs: jobs[:1]}, time.Minute)
		if err != nil {
			return err
		}
		defer b.stopServer(c)
		servers["before"] = c
		kinds = append([]string{"before"}, kinds...)
	}
	n := 400
	if b.quick {
		n = 150
	}
	p50 := map[string][]float64{}
	p90 := map[string][]float64{}
	seq := 0
	for range b.rounds {
		lat := map[string][]time.Duration{}
		for range n {
			for _, kind := range kinds {
				seq++
				d, err := sendAccepted(servers[kind], kind, seq)
				if err != nil {
					return err
				}
				lat[kind] = append(lat[kind], d)
			}
		}
		for _, kind := range kinds {
			slices.Sort(lat[kind])
			p50[kind] = append(p50[kind], ms(pct(lat[kind], 50)))
			p90[kind] = append(p90[kind], ms(pct(lat[kind], 90)))
		}
	}
	if b.compare != "" {
		b.add(row{scenario: "webhook", figure: "signed trigger, hmac-sha256, the -compare binary: p50 answer", unit: "ms", vals: p50["before"], isLimit: "webhook-before-p50"})
		b.add(row{scenario: "webhook", figure: "signed trigger, hmac-sha256 (now recorded by the inspector): p50 answer", unit: "ms", vals: p50["plain"], limit: "webhook-before-p50"})
		b.add(row{scenario: "webhook", figure: "signed trigger, github with a new delivery id: p50 answer", unit: "ms", vals: p50["replay"], limit: "webhook-before-p50"})
		b.add(row{scenario: "webhook", figure: "signed trigger, hmac-sha256 with require_epoch: p50 answer", unit: "ms", vals: p50["epoch"], limit: "webhook-before-p50"})
	}
	b.add(row{scenario: "webhook", figure: "signed trigger, hmac-sha256 as in v0.9.3: p50 answer", unit: "ms", vals: p50["plain"], isLimit: "webhook-plain-p50"})
	b.add(row{scenario: "webhook", figure: "signed trigger, github with a new delivery id (replay check, id appended to the window file): p50 answer", unit: "ms", vals: p50["replay"], limit: "webhook-plain-p50"})
	b.add(row{scenario: "webhook", figure: "signed trigger, hmac-sha256 with require_epoch: p50 answer", unit: "ms", vals: p50["epoch"], limit: "webhook-plain-p50"})
	b.add(row{scenario: "webhook", figure: "signed trigger, hmac-sha256 as in v0.9.3: p90 answer", unit: "ms", vals: p90["plain"], isLimit: "webhook-plain-p90"})
	b.add(row{scenario: "webhook", figure: "signed trigger, github with a new delivery id: p90 answer", unit: "ms", vals: p90["replay"], limit: "webhook-plain-p90"})
	b.add(row{scenario: "webhook", figure: "signed trigger, hmac-sha256 with require_epoch: p90 answer", unit: "ms", vals: p90["epoch"], limit: "webhook-plain-p90"})
	return nil
}

// sendAccepted sends a trigger until it is accepted: a job still busy
// with the runs of earlier triggers answers 429 (its queue holds one),
// and then the trigger is sent again a little later. The time is that of
// the accepted one.
func sendAccepted(s *server, kind string, seq int) (time.Duration, error) {
	for range 1000 {
		d, code, err := sendWebhook(s, kind, seq)
		switch {
		case err != nil:
			return 0, err
		case code == http.StatusOK:
			return d, nil
		case code != http.StatusTooManyRequests:
			return 0, fmt.Errorf("%s trigger %d: status %d", kind, seq, code)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return 0, fmt.Errorf("%s trigger %d: busy for 1,000 tries", kind, seq)
}

// sendWebhook sends one signed trigger of kind (seq makes it new) and
// returns the time to its answer and its status.
func sendWebhook(s *server, kind string, seq int) (time.Duration, int, error) {
	body := triggerBody
	hdr := http.Header{"Content-Type": {"application/json"}}
	switch kind {
	case "plain", "before":
		hdr.Set("X-Karajo-Sign", sign(body))
	case "replay":
		hdr.Set("X-GitHub-Event", "push")
		hdr.Set("X-GitHub-Delivery", fmt.Sprintf("bench-%08d-72d3162e-cc78-11e3", seq))
		hdr.Set("X-Hub-Signature-256", "sha256="+sign(body))
	case "epoch":
		body = fmt.Appendf(nil, `{"_karajo_epoch":%d,"n":%d}`, time.Now().Unix(), seq)
		hdr.Set("X-Karajo-Sign", sign(body))
	}
	path := kind
	if kind == "before" {
		path = "plain"
	}
	req, _ := http.NewRequest(http.MethodPost, s.base+"/karajo/api/job_exec/run/"+path, bytes.NewReader(body))
	req.Header = hdr
	t0 := time.Now()
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return time.Since(t0), resp.StatusCode, nil
}

// windowIDs is how many ids a full replay window holds (actors.MaxReplayIDs).
const windowIDs = 4096

// webhookStart starts 10,000 github webhook jobs whose replay windows
// (4,096 ids each) and delivery records (100 each) are full — the same
// two files hard-linked under every job, so the disk holds them once —
// against the same jobs on an empty dir_base, in alternating rounds; then
// checks that a remembered id is still refused (409).
func (b *bench) webhookStart() error {
	const n = 10000
	jobs := make([]jobSpec, n)
	for i := range jobs {
		id := "w" + strconv.Itoa(i)
		jobs[i] = jobSpec{name: id, path: "/" + id, extra: "auth_kind = \"github\"\n", commands: []string{"true"}}
	}
	var empty, full []float64
	for range b.rounds {
		for _, withFiles := range []bool{false, true} {
			d, err := b.webhookStartRound(jobs, withFiles)
			if err != nil {
				return err
			}
			if withFiles {
				full = append(full, d.Seconds())
			} else {
				empty = append(empty, d.Seconds())
			}
		}
	}
	b.add(row{scenario: "webhook", figure: "10,000 github jobs, no windows: start → first 200", unit: "s", vals: empty, isLimit: "webhook-start-empty"})
	b.add(row{scenario: "webhook", figure: "10,000 github jobs, full windows (4,096 ids) and 100 records each: start → first 200", unit: "s", vals: full, limit: "webhook-start-empty"})
	return nil
}

// webhookStartRound runs one start of jobs, with full files or none.
func (b *bench) webhookStartRound(jobs []jobSpec, withFiles bool) (time.Duration, error) {
	dir, err := b.newDir("webhook-start")
	if err != nil {
		return 0, err
	}
	defer b.removeDir(dir)
	if withFiles {
		if err := fillWindows(dir, jobs); err != nil {
			return 0, err
		}
	}
	s, err := b.startServer(dir, karajoConfig{jobs: jobs})
	if err != nil {
		return 0, err
	}
	defer b.stopServer(s)
	d, err := s.waitReady(5 * time.Minute)
	if err != nil || !withFiles {
		return d, err
	}
	// The windows hold: an id remembered in the file is refused.
	req, _ := http.NewRequest(http.MethodPost, s.base+"/karajo/api/job_exec/run/w7", bytes.NewReader(triggerBody))
	req.Header.Set("X-GitHub-Delivery", "bench-id-000123")
	req.Header.Set("X-Hub-Signature-256", "sha256="+sign(triggerBody))
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusConflict {
		return 0, fmt.Errorf("a remembered delivery id answered %d, want 409", resp.StatusCode)
	}
	return d, nil
}

// fillWindows writes one full window file and one full records file and
// hard-links them as every job's.
func fillWindows(dir string, jobs []jobSpec) error {
	lib := filepath.Join(dir, "var", "lib", "karajo", "job")
	if err := os.MkdirAll(lib, 0o700); err != nil {
		return err
	}
	now := time.Now()
	var w, r strings.Builder
	for i := range windowIDs {
		fmt.Fprintf(&w, "%d %d bench-id-%06d\n", now.Add(time.Duration(i-windowIDs)*time.Second).UnixNano(), i+1, i)
	}
	for i := range 100 {
		fmt.Fprintf(&r, `{"time":%q,"remote":"192.0.2.7","kind":"github","event":"push","delivery_id":"bench-id-%06d","size":28,"sha256":"%064x","status":200,"verdict":"accepted","reason":"accepted as run #%d","run_counter":%d}`+"\n",
			now.UTC().Format(time.RFC3339Nano), i, i, i+1, i+1)
	}
	win, rec := filepath.Join(dir, "window.tmpl"), filepath.Join(dir, "records.tmpl")
	if err := os.WriteFile(win, []byte(w.String()), 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(rec, []byte(r.String()), 0o600); err != nil {
		return err
	}
	for _, j := range jobs {
		if err := os.Link(win, filepath.Join(lib, j.name+".deliveries")); err != nil {
			return err
		}
		if err := os.Link(rec, filepath.Join(lib, j.name+".deliverylog")); err != nil {
			return err
		}
	}
	return nil
}
