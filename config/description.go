package config

import (
	"sync"

	"github.com/microcosm-cc/bluemonday"
)

var descriptionPolicy = sync.OnceValue(func() *bluemonday.Policy {
	p := bluemonday.NewPolicy()
	p.AllowElements("b", "i", "em", "strong", "u", "s", "small", "code", "pre", "kbd",
		"br", "p", "ul", "ol", "li", "span", "div", "blockquote", "h3", "h4")
	p.AllowAttrs("href").OnElements("a")
	p.AllowURLSchemes("http", "https", "mailto")
	p.RequireParseableURLs(true)
	p.RequireNoFollowOnLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(true)
	p.AllowAttrs("title").Globally()
	return p
})

// SanitizeDescription returns a job description with only simple HTML
// left: text formatting, lists, paragraphs and http(s)/mailto links. The
// web UI renders descriptions as HTML (SPEC 2.5), so a config must not be
// able to inject script, styles, frames, forms or event handlers.
func SanitizeDescription(html string) string {
	if html == "" {
		return ""
	}
	return descriptionPolicy().Sanitize(html)
}
