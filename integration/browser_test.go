package integration

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/crypto/bcrypt"
)

// chromiumPath finds a headless-capable Chromium. In CI (CI set) a missing
// browser fails the test: .ci/run installs Debian's chromium.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("no chromium on PATH: .ci/run must install Debian's chromium package")
	}
	t.Skip("no chromium on PATH: install Debian's chromium package to run the browser tests (apt-get install chromium)")
	return ""
}

// browser starts a headless Chromium for one test and returns a context
// for chromedp actions, bounded by timeout.
func browser(t *testing.T, timeout time.Duration) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox, // CI runs as root
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelCtx := chromedp.NewContext(actx)
	// The first action starts the browser, bound to bctx (not to a timeout).
	if err := chromedp.Do(bctx, chromedp.Navigate("about:blank")); err != nil {
		cancelCtx()
		cancelAlloc()
		t.Fatalf("start chromium: %v", err)
	}
	ctx, cancelTimeout := context.WithTimeout(bctx, timeout)
	t.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
	})
	return ctx
}

// evalUntil evaluates the JavaScript expression js (a string result) every
// 100 ms until it returns want or the context ends.
func evalUntil(t *testing.T, ctx context.Context, what, js, want string) {
	t.Helper()
	for {
		got, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
		if err == nil && got == want {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: %s = %q (err %v), want %q", what, js, got, err, want)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// do runs JavaScript statements in the page (expr must yield true).
func do(t *testing.T, ctx context.Context, expr string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr)); err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
}

func statusJS(id string) string {
	return fmt.Sprintf(`(function(){var e=document.querySelector('article.job[data-job-id=%q] .status');return e?e.textContent.trim():''})()`, id)
}

// TestBrowserDashboard drives the dashboard in headless Chromium against
// the real binary without users: the list shows the jobs with their
// statuses, a running job's log grows on screen without reload, and
// pause then resume from the page change the status on screen and in the
// API. A screenshot of the dashboard is saved as a test artifact.
func TestBrowserDashboard(t *testing.T) {
	t.Parallel()
	s := start(t, `
[job."Good"]
description = "A <b>good</b> job<script>alert(1)</script>."
path = "/good"
commands = ["echo fine"]

[job."Bad"]
path = "/bad"
commands = ["echo one", "false"]

[job."Slow"]
path = "/slow"
commands = ["for i in $(seq 1 60); do echo line $i; sleep 0.1; done"]
`)
	s.trigger(t, "/good", testSecret)
	s.trigger(t, "/bad", testSecret)
	s.waitRun(t, "Good", 1, time.Minute)
	s.waitRun(t, "Bad", 1, time.Minute)

	ctx := browser(t, 2*time.Minute)
	if err := chromedp.Do(ctx, chromedp.Navigate(s.base+"/karajo/app/")); err != nil {
		t.Fatal(err)
	}
	evalUntil(t, ctx, "good row", statusJS("good"), "success")
	evalUntil(t, ctx, "bad row", statusJS("bad"), "failed")
	evalUntil(t, ctx, "slow row", statusJS("slow"), "started")
	injected, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!document.querySelector('article.job script')`))
	if err != nil || injected {
		t.Fatalf("a <script> from a description reached the page (err %v)", err)
	}

	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // quality 100: PNG
	if err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(t.TempDir(), "dashboard.png")
	if err := os.WriteFile(shot, png, 0o600); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(shot); err != nil || fi.Size() < 1000 || string(png[1:4]) != "PNG" {
		t.Fatalf("screenshot %s is not a PNG worth looking at (%v)", shot, err)
	}
	if dst := os.Getenv("KARAJO_SCREENSHOT"); dst != "" {
		_ = os.WriteFile(dst, png, 0o644)
	}
	t.Logf("screenshot: %s (%d bytes)", shot, len(png))

	// Pause, then resume, from the page: the secret is typed once and the
	// browser signs the requests.
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("secret"))); err != nil {
		t.Fatalf("the secret field is not shown without users: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.ID("secret"), testSecret)); err != nil {
		t.Fatal(err)
	}
	do(t, ctx, `(document.querySelector('article.job[data-job-id="good"] button[data-action="pause"]').click(), true)`)
	evalUntil(t, ctx, "paused on screen", statusJS("good"), "paused")
	if st := s.job(t, "Good").Status; st != "paused" {
		t.Fatalf("API status after pause from the page = %q", st)
	}
	// The row may show "paused" from the event stream before the pause
	// request has answered; until it has, the button is disabled and a
	// click does nothing, as for a person.
	evalUntil(t, ctx, "resume button enabled", `(function(){var b=document.querySelector('article.job[data-job-id="good"] button[data-action="resume"]');return b&&!b.disabled?'yes':'no'})()`, "yes")
	do(t, ctx, `(document.querySelector('article.job[data-job-id="good"] button[data-action="resume"]').click(), true)`)
	evalUntil(t, ctx, "resumed on screen", statusJS("good"), "started")
	if st := s.job(t, "Good").Status; st != "started" {
		t.Fatalf("API status after resume from the page = %q", st)
	}

	// A running job's log grows on screen without reload.
	s.trigger(t, "/slow", testSecret)
	s.waitRunning(t, "slow", 1, "line 1")
	if err := chromedp.Do(ctx, chromedp.Navigate(s.base+"/karajo/job_exec/log/?id=slow&counter=1")); err != nil {
		t.Fatal(err)
	}
	lenJS := `document.getElementById('log').textContent.length`
	evalUntil(t, ctx, "log shows first lines", `document.getElementById('log').textContent.includes('line 2')?'yes':'no'`, "yes")
	first, err := chromedp.Run(ctx, chromedp.Evaluate[int](lenJS))
	if err != nil {
		t.Fatal(err)
	}
	evalUntil(t, ctx, "log grows to the last line", `document.getElementById('log').textContent.includes('line 60')?'yes':'no'`, "yes")
	later, err := chromedp.Run(ctx, chromedp.Evaluate[int](lenJS))
	if err != nil {
		t.Fatal(err)
	}
	if later <= first {
		t.Fatalf("log on screen did not grow: %d then %d characters", first, later)
	}
	evalUntil(t, ctx, "log ends as success", `document.getElementById('log').textContent.includes('=== job: slow: finished.')?'yes':'no'`, "yes")

	// "next →" only where a next run exists (issue 16): not past the newest.
	nextJS := `(document.body.dataset.next||'') + (document.getElementById('next').classList.contains('hidden')?' hidden':' visible')`
	evalUntil(t, ctx, "no next past the run just ended", nextJS, "none hidden")
	s.trigger(t, "/good", testSecret)
	s.waitRun(t, "Good", 2, time.Minute)
	for _, c := range []struct{ counter, want string }{{"1", "shown visible"}, {"2", "none hidden"}} {
		if err := chromedp.Do(ctx, chromedp.Navigate(s.base+"/karajo/job_exec/log/?id=good&counter="+c.counter)); err != nil {
			t.Fatal(err)
		}
		evalUntil(t, ctx, "next link of good #"+c.counter, nextJS, c.want)
	}
}

// TestBrowserLogin: with users, an anonymous visit sees only the login
// page; a wrong password is refused on the page; the right one shows the
// dashboard.
func TestBrowserLogin(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	hash, err := bcrypt.GenerateFromPassword([]byte("correct horse"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	writeConfig(t, dir, configHeader(dir)+`
[job."Visible"]
path = "/visible"
commands = ["true"]
`)
	if err := os.WriteFile(filepath.Join(dir, "etc", "karajo", "user.toml"),
		[]byte(fmt.Sprintf("[user.\"alice\"]\npassword = %q\n", hash)), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startDir(t, dir)

	ctx := browser(t, 2*time.Minute)
	if err := chromedp.Do(ctx, chromedp.Navigate(s.base+"/karajo/app/")); err != nil {
		t.Fatal(err)
	}
	body, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.textContent`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(body, "Unauthorized") || strings.Contains(body, "Visible") {
		t.Fatalf("anonymous dashboard shows %q", body)
	}
	if err := chromedp.Do(ctx,
		chromedp.Navigate(s.base+"/karajo/"),
		chromedp.WaitVisible(chromedp.ID("login-name")),
		chromedp.SendKeys(chromedp.ID("login-name"), "alice"),
		chromedp.SendKeys(chromedp.ID("login-password"), "wrong"),
		chromedp.Click(chromedp.ID("login-submit")),
	); err != nil {
		t.Fatal(err)
	}
	evalUntil(t, ctx, "wrong password refused", `document.getElementById('login-error').textContent.includes('invalid')?'yes':'no'`, "yes")
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil || strings.Contains(loc, "/app/") {
		t.Fatalf("after a wrong password the page went to %q (%v)", loc, err)
	}
	// A failed login delays the account's next check by 1 s (answered 429
	// before that, even for the right password): wait it out.
	time.Sleep(1500 * time.Millisecond)
	do(t, ctx, `(document.getElementById('login-password').value = '', true)`)
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("login-password"), "correct horse"),
		chromedp.Click(chromedp.ID("login-submit")),
	); err != nil {
		t.Fatal(err)
	}
	evalUntil(t, ctx, "dashboard after login", statusJS("visible"), "started")
	if loc, err = chromedp.Run(ctx, chromedp.Location()); err != nil || !strings.HasSuffix(loc, "/karajo/app/") {
		t.Fatalf("after login the page is %q (%v)", loc, err)
	}
}
