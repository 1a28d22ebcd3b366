package config

import "testing"

func TestSanitizeDescription(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain text", "Backs up the database.", "Backs up the database."},
		{"simple markup kept", "A <b>success</b> job.<br>Second <i>line</i>.", "A <b>success</b> job.<br>Second <i>line</i>."},
		{"list kept", "<ul><li>one</li><li>two</li></ul>", "<ul><li>one</li><li>two</li></ul>"},
		{"link gets rel and target", `<a href="https://example.com/x">docs</a>`, `<a href="https://example.com/x" rel="nofollow noopener" target="_blank">docs</a>`},
		{"script removed", `hi<script>alert(1)</script>`, "hi"},
		{"event handler removed", `<b onclick="alert(1)">x</b>`, "<b>x</b>"},
		{"img onerror removed", `<img src=x onerror="alert(1)">`, ""},
		{"javascript url removed", `<a href="javascript:alert(1)">x</a>`, "x"},
		{"encoded javascript url removed", `<a href="jav&#x09;ascript:alert(1)">x</a>`, "x"},
		{"data url removed", `<a href="data:text/html;base64,PHNjcmlwdD4=">x</a>`, "x"},
		{"iframe removed", `<iframe src="https://evil.example"></iframe>ok`, "ok"},
		{"style removed", `<style>body{display:none}</style><span style="color:red">x</span>`, "<span>x</span>"},
		{"svg removed", `<svg onload=alert(1)><circle/></svg>ok`, "ok"},
		{"form removed", `<form action="https://evil.example"><input name=p></form>`, ""},
		{"unclosed tag left to the browser, which closes it at the container", `<b>bold`, "<b>bold"},
		{"comment removed", `a<!-- <script>x</script> -->b`, "ab"},
		{"escaped text stays escaped", `1 &lt; 2 &amp;&amp; 3 &gt; 2`, `1 &lt; 2 &amp;&amp; 3 &gt; 2`},
		{"attribute breakout", `<span title='"><script>alert(1)</script>'>x</span>`, `<span title="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;">x</span>`},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SanitizeDescription(tt.in); got != tt.want {
				t.Errorf("SanitizeDescription(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
