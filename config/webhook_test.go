package config

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// TestWebhookKeys: the webhook keys of issue 15 are read, normalised and
// defaulted; an empty allow_from, events or refs list is refused.
func TestWebhookKeys(t *testing.T) {
	env, err := loadString(t, `
[job.gh]
path = "/gh"
secret = "s"
auth_kind = "github"
require_delivery_id = true
allow_from = ["192.0.2.0/24", " 2001:db8::1 ", "::ffff:198.51.100.0/120"]
events = [" Push ", "release"]
refs = ["refs/heads/main", "refs/tags/v*"]
delivery_retention = 7
keep_delivery_body = true
commands = ["true"]

[job.plain]
path = "/plain"
secret = "s"
require_epoch = true
commands = ["true"]
`, nil)
	if err != nil {
		t.Fatal(err)
	}
	jobs := map[string]*Job{}
	for _, j := range env.Jobs {
		jobs[j.Name] = j
	}
	gh := jobs["gh"].Webhook
	wantFrom := []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("2001:db8::1/128"), netip.MustParsePrefix("198.51.100.0/24")}
	if !gh.RequireDeliveryID || gh.RequireEpoch || !slices.Equal(gh.AllowFrom, wantFrom) ||
		!slices.Equal(gh.Events, []string{"push", "release"}) || !slices.Equal(gh.Refs, []string{"refs/heads/main", "refs/tags/v*"}) ||
		gh.DeliveryRetention != 7 || !gh.KeepDeliveryBody {
		t.Errorf("gh: %+v", gh)
	}
	p := jobs["plain"].Webhook
	if !p.RequireEpoch || p.AllowFrom != nil || p.Events != nil || p.Refs != nil || p.DeliveryRetention != DefaultDeliveryRetention || p.KeepDeliveryBody {
		t.Errorf("plain: %+v", p)
	}
	for key, want := range map[string]string{
		`allow_from = []`: `job."x".allow_from: empty list`,
		`events = []`:     `job."x".events: empty list`,
		`refs = [" "]`:    `job."x".refs[0]: empty entry`,
	} {
		_, err := loadString(t, "[job.x]\npath = \"/x\"\nsecret = \"s\"\nauth_kind = \"github\"\ncommands = [\"true\"]\n"+key+"\n", nil)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", key, err, want)
		}
	}
}
