package integration

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// layoutShiftJS sums the layout shifts since the page started that no
// input caused (the cumulative layout shift of the load), as a string.
const layoutShiftJS = `new Promise(function(ok){var sum=0;new PerformanceObserver(function(l){l.getEntries().forEach(function(e){if(!e.hadRecentInput){sum+=e.value}})}).observe({type:'layout-shift',buffered:true});setTimeout(function(){ok(String(sum))},300)})`

// TestBrowserLayoutStable loads the dashboard on a phone-sized screen
// while jobs run and finish (rows stream in and change), then the history
// page: neither moves what is already on screen (cumulative layout shift
// below 0.1, the "good" threshold). Then every control of the dashboard is
// reached with Tab, and Escape dismisses a toast.
func TestBrowserLayoutStable(t *testing.T) {
	t.Parallel()
	var cfg strings.Builder
	for i := 1; i <= 8; i++ {
		fmt.Fprintf(&cfg, "[job.\"Job %d\"]\npath = \"/j%d\"\ncommands = [\"sleep 0.%d\", \"test %d -ne 3\"]\n\n", i, i, i, i)
	}
	s := start(t, cfg.String())
	for i := 1; i <= 8; i++ {
		s.trigger(t, fmt.Sprintf("/j%d", i), testSecret)
	}
	for i := 1; i <= 8; i++ {
		s.waitRun(t, fmt.Sprintf("Job %d", i), 1, time.Minute)
	}

	ctx := browser(t, 2*time.Minute)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(412, 823)); err != nil {
		t.Fatal(err)
	}
	// Runs start and end while the page loads: events change the rows.
	for i := 1; i <= 8; i++ {
		s.trigger(t, fmt.Sprintf("/j%d", i), testSecret)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(s.base+"/karajo/app/")); err != nil {
		t.Fatal(err)
	}
	evalUntil(t, ctx, "rows", countJS("article.job"), "8")
	for i := 1; i <= 8; i++ {
		s.waitRun(t, fmt.Sprintf("Job %d", i), 2, time.Minute)
	}
	evalUntil(t, ctx, "strips from the history", countJS("article.job a.runs .mark"), "16")
	wantStable(t, ctx, "dashboard")

	// Tab reaches every control: filter, zone toggle, secret, and each
	// row's name, strip and enabled action buttons.
	want := map[string]bool{"input#filter": true, "button#tz-toggle": true, "input#secret": true}
	for i := 1; i <= 8; i++ {
		id := fmt.Sprintf("job_%d", i)
		for _, c := range []string{"button.name", "a.runs", "button[run]", "button[pause]"} {
			want[id+" "+c] = true
		}
	}
	do(t, ctx, `(document.activeElement&&document.activeElement.blur(),window.scrollTo(0,0),true)`)
	const focusedJS = `(function(){var e=document.activeElement;if(!e||e===document.body)return '';var r=e.closest('article.job'),d=e.dataset.action;return (r?r.dataset.jobId+' ':'')+e.tagName.toLowerCase()+(e.id?'#'+e.id:'')+(r&&e.classList[0]&&!d?'.'+e.classList[0]:'')+(d?'['+d+']':'')})()`
	seen := map[string]bool{}
	for range 80 {
		if err := chromedp.Do(ctx, chromedp.KeyEvent(kb.Tab)); err != nil {
			t.Fatal(err)
		}
		got, err := chromedp.Run(ctx, chromedp.Evaluate[string](focusedJS))
		if err != nil {
			t.Fatal(err)
		}
		seen[got] = true
	}
	for c := range want {
		if !seen[c] {
			t.Errorf("Tab never reached %q (reached: %v)", c, keys(seen))
		}
	}

	// Escape dismisses a toast (here: Run without the secret typed).
	do(t, ctx, `(document.querySelector('article.job[data-job-id="job_1"] button[data-action="run"]').click(), true)`)
	evalUntil(t, ctx, "a toast", countJS("#toasts .toast"), "1")
	if err := chromedp.Do(ctx, chromedp.KeyEvent(kb.Escape)); err != nil {
		t.Fatal(err)
	}
	evalUntil(t, ctx, "toast dismissed by Escape", countJS("#toasts .toast"), "0")

	if err := chromedp.Do(ctx, chromedp.Navigate(s.base+"/karajo/app/history/?kind=job_exec&id=job_3")); err != nil {
		t.Fatal(err)
	}
	evalUntil(t, ctx, "history rows", countJS("#runs-body tr"), "2")
	wantStable(t, ctx, "history page")
}

// wantStable fails when the page's layout shift so far is 0.1 or more.
func wantStable(t *testing.T, ctx context.Context, page string) {
	t.Helper()
	got, err := chromedp.Run(ctx, chromedp.Evaluate[string](layoutShiftJS, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	cls, err := strconv.ParseFloat(got, 64)
	if err != nil {
		t.Fatalf("layout shift of the %s: %q: %v", page, got, err)
	}
	t.Logf("layout shift of the %s: %.4f", page, cls)
	if cls >= 0.1 {
		t.Errorf("layout shift of the %s = %.3f, want < 0.1", page, cls)
	}
}

// keys lists a set's members.
func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
