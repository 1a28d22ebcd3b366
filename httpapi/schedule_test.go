package httpapi

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestPreview(t *testing.T) {
	now := time.Date(2025, 3, 8, 17, 0, 0, 0, time.UTC)
	v, err := preview("30 2 * * *", "America/New_York", "", "2", now)
	if err != nil {
		t.Fatal(err)
	}
	if v.Timezone != "America/New_York" || len(v.Runs) != 2 ||
		v.Runs[0].At != "2025-03-09T03:00:00-04:00" || v.Runs[0].UTC != "2025-03-09T07:00:00Z" ||
		v.Runs[1].At != "2025-03-10T02:30:00-04:00" {
		t.Errorf("preview = %+v", v)
	}
	v, err = preview("daily@06:00", "", "2025-01-01T06:00:00Z", "", now)
	if err != nil || len(v.Runs) != defaultPreview || v.Runs[0].UTC != "2025-01-02T06:00:00Z" || v.Timezone != "UTC" {
		t.Errorf("preview default n = %+v, %v", v, err)
	}
	bad := []struct{ expr, zone, after, n, want string }{
		{"0 9 * * mon-fry", "", "", "", `field 5 (day of week): unknown name "fry"`},
		{"0 9 * * *", "Mars/Base", "", "", `unknown time zone "Mars/Base"`},
		{"0 9 * * *", "", "yesterday", "", `invalid after "yesterday"`},
		{"0 9 * * *", "", "", "0", `invalid n "0"`},
		{"0 9 * * *", "", "", "101", `invalid n "101"`},
		{"0 0 30 2 *", "", "", "", `never fires`},
		{"@every 1ms", "", "", "", `under the 1s minimum`},
		{"", "", "", "", `missing cron`},
	}
	for _, tt := range bad {
		_, err := preview(tt.expr, tt.zone, tt.after, tt.n, now)
		var ae *apiError
		if !errors.As(err, &ae) || ae.Code != http.StatusBadRequest || ae.Name != nameInvalidSchedule || !strings.Contains(ae.Message, tt.want) {
			t.Errorf("preview(%q, %q, %q, %q) = %v; want 400 with %q", tt.expr, tt.zone, tt.after, tt.n, err, tt.want)
		}
	}
}
