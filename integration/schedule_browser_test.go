package integration

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserSchedule: the dashboard shows a cron job's expression, time
// zone and next five runs; the zone toggle shows times in the job's zone
// with weekday names and is remembered across a reload; a paused job
// shows "paused" where its next run would be.
func TestBrowserSchedule(t *testing.T) {
	t.Parallel()
	s := start(t, `
[job."Kolkata"]
cron = "0 3 * * *"
timezone = "Asia/Kolkata"
commands = ["true"]

[job."Held"]
cron = "0 4 * * *"
commands = ["true"]
`)
	preview := s.schedule(t, "/karajo/api/job_exec/schedule?id=kolkata&n=5")
	s.act(t, "pause", "held")

	ctx := browser(t, 2*time.Minute)
	if err := chromedp.Do(ctx, chromedp.Navigate(s.base+"/karajo/app/")); err != nil {
		t.Fatal(err)
	}
	evalUntil(t, ctx, "kolkata row", statusJS("kolkata"), "started")
	evalUntil(t, ctx, "held shows paused", `(function(){var e=document.querySelector('article.job[data-job-id="held"] .when.next .abs');return e?e.textContent:''})()`, "paused")
	do(t, ctx, `(document.querySelector('article.job[data-job-id="kolkata"] .head').click(), true)`)
	details := `(function(){var d=document.querySelector('article.job[data-job-id="kolkata"] .details');return d?d.textContent:''})()`
	evalUntil(t, ctx, "cron and zone in the details",
		fmt.Sprintf(`(function(){var t=%s;return String(t.indexOf('0 3 * * *')>=0 && t.indexOf('Asia/Kolkata')>=0)})()`, details), "true")
	runs := `(function(){return Array.prototype.map.call(document.querySelectorAll('article.job[data-job-id="kolkata"] .next-runs time'),function(x){return x.dateTime}).join(' ')})()`
	want := ""
	for i, r := range preview.Runs {
		if i > 0 {
			want += " "
		}
		want += r.At
	}
	evalUntil(t, ctx, "next five runs", runs, want)

	// Job zone mode: 03:00 in Kolkata, a weekday name, the zone's offset.
	mode := `document.getElementById('tz-toggle').textContent`
	if got, _ := chromedp.Run(ctx, chromedp.Evaluate[string](mode)); got != "Times: each job's zone" {
		do(t, ctx, `(document.getElementById('tz-toggle').click(), true)`)
	}
	first := `(function(){var e=document.querySelector('article.job[data-job-id="kolkata"] .next-runs time');return e?e.textContent:''})()`
	at, _ := time.Parse(time.RFC3339, preview.Runs[0].At)
	evalUntil(t, ctx, "first run in the job's zone", first, at.Weekday().String()[:3]+" "+at.Format("2006-01-02")+" 03:00:00 GMT+5:30")
	if err := chromedp.Do(ctx, chromedp.Reload()); err != nil {
		t.Fatal(err)
	}
	evalUntil(t, ctx, "the mode survives a reload", mode, "Times: each job's zone")
	evalUntil(t, ctx, "row in the job's zone",
		`(function(){var e=document.querySelector('article.job[data-job-id="kolkata"] .when.next .abs');return e?e.textContent:''})()`,
		at.Weekday().String()[:3]+" "+at.Format("2006-01-02")+" 03:00:00 GMT+5:30")
}
