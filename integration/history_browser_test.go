package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// uiRecord is the part of a history record (GET .../runs) the dashboard
// test checks against.
type uiRecord struct {
	Counter  int64   `json:"counter"`
	Status   string  `json:"status"`
	Reason   string  `json:"reason"`
	Duration float64 `json:"duration"`
	LogKept  bool    `json:"log_kept"`
}

// uiHistory reads GET /karajo/api/job_exec/runs for id (skipped included).
func (s *server) uiHistory(t *testing.T, id string) []uiRecord {
	t.Helper()
	r := s.get(t, "/karajo/api/job_exec/runs?limit=100&id="+id)
	if r.status != http.StatusOK {
		return nil
	}
	var env struct {
		Data []uiRecord `json:"data"`
	}
	if err := json.Unmarshal(r.body, &env); err != nil {
		t.Fatalf("runs of %s: %v: %s", id, err, r)
	}
	return env.Data
}

// countJS counts the elements matching selector (a string, for evalUntil).
func countJS(selector string) string {
	return fmt.Sprintf(`String(document.querySelectorAll(%q).length)`, selector)
}

// TestBrowserHistory drives the history views in headless Chromium
// against the real binary and its history API: the job list's strip
// shows the last runs from the history (more than the logs kept) with
// the share that succeeded, and is a link reached by keyboard; the
// history page shows the figures, a duration chart with one bar per run
// coloured by status and a ring for the refused trigger, and the table
// with log links while the log is kept. Screenshot: KARAJO_HISTORY_SCREENSHOT.
func TestBrowserHistory(t *testing.T) {
	t.Parallel()
	// Run c sleeps (c*7 mod 10)/10 s; every fourth run fails.
	s := start(t, `
[job."Mixed"]
path = "/mixed"
commands = ["echo run $KARAJO_JOB_COUNTER", "sleep 0.$(( KARAJO_JOB_COUNTER * 7 % 10 ))", "test $(( KARAJO_JOB_COUNTER % 4 )) -ne 0"]

[job_http."Ping"]
interval = "1h"
http_url = "/karajo/api/environment"
`)
	const runs = 10
	want := make([]string, 0, runs)
	for c := int64(1); c <= runs; c++ {
		s.trigger(t, "/mixed", testSecret)
		st := s.waitRun(t, "Mixed", c, time.Minute)
		if exp := map[bool]string{true: "failed", false: "success"}[c%4 == 0]; st != exp {
			t.Fatalf("run #%d: %s, want %s", c, st, exp)
		}
		want = append(want, "st-"+st)
	}
	// A trigger refused while paused: a run that did not happen.
	s.act(t, "pause", "mixed")
	if r := s.trigger(t, "/mixed", testSecret); r.status != http.StatusPreconditionFailed {
		t.Fatalf("trigger while paused: %s", r)
	}
	s.act(t, "resume", "mixed")
	waitFor(t, 30*time.Second, "the history has the runs and the refusal", func() bool {
		var n, skipped int
		for _, r := range s.uiHistory(t, "mixed") {
			if r.Status == "skipped" {
				skipped++
			} else if r.Counter > 0 {
				n++
			}
		}
		return n == runs && skipped == 1
	})

	ctx := browser(t, 2*time.Minute)
	if err := chromedp.Do(ctx, chromedp.Navigate(s.base+"/karajo/app/")); err != nil {
		t.Fatal(err)
	}
	strip := `article.job[data-job-id="mixed"] a.runs`
	// Ten marks: the logs keep five, so these come from the history.
	evalUntil(t, ctx, "strip of the last runs from the history",
		fmt.Sprintf(`Array.prototype.map.call(document.querySelectorAll('%s .mark'),function(m){return m.className.replace('mark ','')}).join(' ')`, strip),
		strings.Join(want, " "))
	evalUntil(t, ctx, "success rate", fmt.Sprintf(`document.querySelector('%s .rate').textContent`, strip), "80%")
	evalUntil(t, ctx, "strip label", fmt.Sprintf(`document.querySelector('%s').getAttribute('aria-label')`, strip),
		"Last 10 runs: 8 success, 2 failed (80% succeeded). Open the history")

	// Keyboard: the name opens the details, the strip opens the history.
	name := `article.job[data-job-id="mixed"] button.name`
	keyEnter(t, ctx, name)
	evalUntil(t, ctx, "details opened by keyboard", fmt.Sprintf(`document.querySelector('%s').getAttribute('aria-expanded')+' '+!!document.querySelector('article.job[data-job-id="mixed"] .details')`, name), "true true")
	keyEnter(t, ctx, strip)
	evalUntil(t, ctx, "history page opened by keyboard", `location.pathname+location.search`, "/karajo/app/history/?kind=job_exec&id=mixed")

	evalUntil(t, ctx, "table rows (runs and the refusal)", countJS("#runs-body tr"), fmt.Sprint(runs+1))
	evalUntil(t, ctx, "the refusal's row", `(function(){var r=document.querySelector('#runs-body tr[data-status=skipped] td:nth-child(2)');return r?r.textContent:''})()`, "did not runpaused")
	evalUntil(t, ctx, "one bar per run", countJS("#chart rect.bar"), fmt.Sprint(runs))
	evalUntil(t, ctx, "failed bars", countJS("#chart rect.bar.st-failed"), "2")
	evalUntil(t, ctx, "a ring for the refusal", countJS("#chart circle.skip"), "1")
	evalUntil(t, ctx, "bars oldest first", `Array.prototype.map.call(document.querySelectorAll('#chart rect.bar'),function(b){return b.dataset.counter}).join(' ')`, "1 2 3 4 5 6 7 8 9 10")
	wantBarsFollow(t, ctx, s.uiHistory(t, "mixed"))
	evalUntil(t, ctx, "figures", `document.getElementById('st-runs').textContent+' '+document.getElementById('st-failures').textContent+' '+document.getElementById('st-skipped').textContent`, "10 2 1")
	sumJS := `(function(){var r=0,f=0,k=0;document.querySelectorAll('#days g').forEach(function(g){r+=+g.dataset.runs;f+=+g.dataset.failures;k+=+g.dataset.skipped});return r+' '+f+' '+k})()`
	evalUntil(t, ctx, "per-day columns", sumJS, "10 2 1")
	r := s.get(t, "/karajo/api/job_exec/stats?id=mixed&window=30d")
	var month struct {
		Data struct {
			Days []json.RawMessage `json:"days"`
		} `json:"data"`
	}
	if err := json.Unmarshal(r.body, &month); err != nil || len(month.Data.Days) < 30 {
		t.Fatalf("stats of 30 days: %v: %s", err, r)
	}
	do(t, ctx, `(document.querySelector('.windows button[data-window="30d"]').click(), true)`)
	evalUntil(t, ctx, "30 days", `document.getElementById('h-stats').textContent+' '+document.querySelector('.windows button[aria-pressed=true]').dataset.window+' '+document.querySelectorAll('#days g').length`,
		fmt.Sprintf("Last 30 days 30d %d", len(month.Data.Days)))
	evalUntil(t, ctx, "per-day columns of 30 days", sumJS, "10 2 1")
	evalUntil(t, ctx, "log link while kept, none once pruned",
		`(function(){var a=document.querySelector('#runs-body tr[data-counter="10"] a.log'),p=document.querySelector('#runs-body tr[data-counter="1"]');return (a?a.getAttribute('href'):'')+' '+(p&&!p.querySelector('a.log')?p.lastChild.textContent:'')})()`,
		"/karajo/job_exec/log/?id=mixed&counter=10 pruned")

	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if len(png) < 1000 || string(png[1:4]) != "PNG" {
		t.Fatalf("the history page's screenshot is not a PNG (%d bytes)", len(png))
	}
	if dst := os.Getenv("KARAJO_HISTORY_SCREENSHOT"); dst != "" {
		_ = os.WriteFile(dst, png, 0o644)
	}

	// Without the runs that did not happen.
	do(t, ctx, `(document.getElementById('show-skipped').click(), true)`)
	evalUntil(t, ctx, "rows without the refusal", countJS("#runs-body tr"), fmt.Sprint(runs))
	// The log link opens the log viewer on that run.
	do(t, ctx, `(document.querySelector('#runs-body tr[data-counter="10"] a.log').click(), true)`)
	evalUntil(t, ctx, "log of run 10", `document.getElementById('log').textContent.includes('run 10')?'yes':'no'`, "yes")

	// Pages of four rows: the refusal and runs 10 to 8, then "Older runs"
	// twice, and no more button after run 1.
	if err := chromedp.Do(ctx, chromedp.Navigate(s.base+"/karajo/app/history/?kind=job_exec&id=mixed&rows=4")); err != nil {
		t.Fatal(err)
	}
	rowsJS := `Array.prototype.map.call(document.querySelectorAll('#runs-body tr'),function(r){return r.dataset.counter}).join(' ')+(document.getElementById('older').classList.contains('hidden')?'':' +')`
	evalUntil(t, ctx, "first page", rowsJS, "0 10 9 8 +")
	do(t, ctx, `(document.getElementById('older').click(), true)`)
	evalUntil(t, ctx, "second page", rowsJS, "0 10 9 8 7 6 5 4 +")
	do(t, ctx, `(document.getElementById('older').click(), true)`)
	evalUntil(t, ctx, "last page", rowsJS, "0 10 9 8 7 6 5 4 3 2 1")

	// A JobHttp's history: its first run (due at start), from the job_http endpoints.
	if err := chromedp.Do(ctx, chromedp.Navigate(s.base+"/karajo/app/")); err != nil {
		t.Fatal(err)
	}
	evalUntil(t, ctx, "the JobHttp's strip", `(function(){var a=document.querySelector('article.job[data-kind=job_http][data-job-id=ping] a.runs');return a?a.querySelectorAll('.mark.st-success').length+' '+a.getAttribute('href'):''})()`,
		"1 /karajo/app/history/?kind=job_http&id=ping")
	do(t, ctx, `(document.querySelector('article.job[data-kind=job_http][data-job-id=ping] a.runs').click(), true)`)
	evalUntil(t, ctx, "the JobHttp's run in the chart", countJS("#chart rect.bar.st-success"), "1")
	evalUntil(t, ctx, "the JobHttp's log link", `(function(){var a=document.querySelector('#runs-body tr[data-counter="1"] a.log');return a?a.getAttribute('href'):''})()`,
		"/karajo/job_http/log/?id=ping&counter=1")
}

// keyEnter focuses the element matching selector and presses Enter.
func keyEnter(t *testing.T, ctx context.Context, selector string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Focus(chromedp.CSS(selector))); err != nil {
		t.Fatalf("focus %s: %v", selector, err)
	}
	if err := chromedp.Do(ctx, chromedp.KeyEvent(kb.Enter)); err != nil {
		t.Fatalf("Enter on %s: %v", selector, err)
	}
}

// wantBarsFollow checks that the chart's bars are as tall as the runs the
// history API lists were long: a longer run (by more than 20 ms) has the
// taller bar.
func wantBarsFollow(t *testing.T, ctx context.Context, recs []uiRecord) {
	t.Helper()
	got, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]float64](
		`(function(){var h={};document.querySelectorAll('#chart rect.bar').forEach(function(b){h[b.dataset.counter]=+b.getAttribute('height')});return h})()`))
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range recs {
		for _, b := range recs {
			if a.Counter == 0 || b.Counter == 0 || a.Duration <= b.Duration+0.02 {
				continue
			}
			ha, hb := got[fmt.Sprint(a.Counter)], got[fmt.Sprint(b.Counter)]
			if ha <= hb {
				t.Errorf("run #%d took %.3f s, #%d %.3f s, but their bars are %.1f and %.1f high", a.Counter, a.Duration, b.Counter, b.Duration, ha, hb)
			}
		}
	}
}

// TestBrowserHistoryCursor: the history page pages through 150 records of
// runs that did not happen in a row (counter 0 each) with the API's
// cursor: the first page holds 100 of them, "Older runs" brings the
// other 50 and run #1, and the button goes.
func TestBrowserHistoryCursor(t *testing.T) {
	t.Parallel()
	s := gapServer(t)
	ctx := browser(t, 2*time.Minute)
	if err := chromedp.Do(ctx, chromedp.Navigate(s.base+"/karajo/app/history/?kind=job_exec&id=gap")); err != nil {
		t.Fatal(err)
	}
	pageJS := `document.querySelectorAll('#runs-body tr[data-status=skipped]').length+' '+document.querySelectorAll('#runs-body tr[data-counter="1"]').length+(document.getElementById('older').classList.contains('hidden')?'':' +')`
	evalUntil(t, ctx, "first page: 100 skipped", pageJS, "100 0 +")
	do(t, ctx, `(document.getElementById('older').click(), true)`)
	evalUntil(t, ctx, "second page: the other 50 and run #1", pageJS, "150 1")
}

// TestBrowserHistoryAttempts: the history table shows a retry attempt in
// its own row ("retry", "of #1", "attempt 2") above its run's row, and the
// chart still has one bar per run.
func TestBrowserHistoryAttempts(t *testing.T) {
	t.Parallel()
	s := start(t, `
[job.flaky]
path = "/flaky"
retries = 2
retry_delay = "100ms"
retry_on = ["failed"]
commands = ["n=$(cat n 2>/dev/null || echo 0); n=$((n+1)); echo $n > n; test $n -ge 2 || exit 5"]
`)
	wantEnvelope(t, s.trigger(t, "flaky", testSecret), http.StatusOK)
	s.waitRun(t, "flaky", 1, 30*time.Second)
	ctx := browser(t, 2*time.Minute)
	if err := chromedp.Do(ctx, chromedp.Navigate(s.base+"/karajo/app/history/?kind=job_exec&id=flaky")); err != nil {
		t.Fatal(err)
	}
	rowsJS := `Array.prototype.map.call(document.querySelectorAll('#runs-body tr'),function(r){return r.dataset.counter+':'+r.querySelector('td:nth-child(3)').textContent}).join(' | ')`
	evalUntil(t, ctx, "the attempt's row and the run's", rowsJS, "1:retryof #1attempt 2 | 1:webhookfrom 127.0.0.1attempt 2")
	evalUntil(t, ctx, "one bar per run", countJS("#chart rect.bar"), "1")
}
