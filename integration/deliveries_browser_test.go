package integration

import (
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserDeliveries (issue 15): a webhook job's details show its
// delivery records — each verdict with its reason — after "Show
// deliveries", and "Refresh deliveries" picks up a new one; a job
// without a path has no such part.
func TestBrowserDeliveries(t *testing.T) {
	t.Parallel()
	s := start(t, `
[job."gh"]
path = "/gh"
auth_kind = "github"
secret = "gh-secret"
events = ["push"]
commands = ["true"]

[job."plain"]
commands = ["true"]
`)
	body := []byte(`{"ref":"refs/heads/main"}`)
	wantEnvelope(t, ghDelivery(t, s, "gh", "gh-secret", "push", "d-1", body, nil), http.StatusOK)
	s.waitRun(t, "gh", 1, 60*time.Second)
	wantEnvelope(t, ghDelivery(t, s, "gh", "gh-secret", "push", "d-1", body, nil), http.StatusConflict)
	wantEnvelope(t, ghDelivery(t, s, "gh", "wrong", "push", "d-2", body, nil), http.StatusForbidden)
	wantEnvelope(t, ghDelivery(t, s, "gh", "gh-secret", "issues", "d-3", body, nil), http.StatusAccepted)

	ctx := browser(t, 2*time.Minute)
	if err := chromedp.Do(ctx, chromedp.Navigate(s.base+"/karajo/app/")); err != nil {
		t.Fatal(err)
	}
	evalUntil(t, ctx, "gh row", statusJS("gh"), "success")
	do(t, ctx, `(document.querySelector('article.job[data-job-id="gh"] .head').click(), true)`)
	btn := `document.querySelector('article.job[data-job-id="gh"] .deliveries-toggle')`
	evalUntil(t, ctx, "the deliveries button", `(function(){var b=`+btn+`;return b?b.textContent:''})()`, "Show deliveries")
	do(t, ctx, `(`+btn+`.click(), true)`)
	rows := `(function(){return Array.prototype.map.call(document.querySelectorAll('article.job[data-job-id="gh"] table.deliveries tbody tr'),function(r){return r.querySelector('.verdict').textContent+': '+r.querySelector('.reason').textContent}).join(' | ')})()`
	evalUntil(t, ctx, "each verdict with its reason", rows,
		"ignored: ignored: event issues not in events (secret #1) | forbidden: forbidden: github: header X-Hub-Signature-256 does not match the body | replayed: delivery d-1 already accepted as run #1 | accepted: accepted as run #1 (secret #1)")

	wantEnvelope(t, ghDelivery(t, s, "gh", "gh-secret", "ping", "d-4", body, nil), http.StatusOK)
	evalUntil(t, ctx, "refresh label", `(function(){var b=`+btn+`;return b?b.textContent:''})()`, "Refresh deliveries")
	do(t, ctx, `(`+btn+`.click(), true)`)
	first := `(function(){var r=document.querySelector('article.job[data-job-id="gh"] table.deliveries tbody tr');return r?r.querySelector('.verdict').textContent+': '+r.querySelector('.reason').textContent:''})()`
	evalUntil(t, ctx, "the new delivery on top", first, "pong: pong (secret #1)")

	do(t, ctx, `(document.querySelector('article.job[data-job-id="plain"] .head').click(), true)`)
	evalUntil(t, ctx, "plain details open", `(function(){return String(!!document.querySelector('article.job[data-job-id="plain"] .details'))})()`, "true")
	evalUntil(t, ctx, "no deliveries part without a path", `(function(){return String(!!document.querySelector('article.job[data-job-id="plain"] .deliveries-toggle'))})()`, "false")
}
