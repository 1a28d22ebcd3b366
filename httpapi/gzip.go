package httpapi

import (
	"compress/gzip"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

var gzipWriters = sync.Pool{New: func() any { return gzip.NewWriter(io.Discard) }}

// compressed returns the writer for a response body: gzip when the
// request's Accept-Encoding allows it (IMP-38), else w itself. It sets
// Vary and Content-Encoding, so call it before WriteHeader; call done after
// the last write.
func compressed(w http.ResponseWriter, r *http.Request) (out io.Writer, done func()) {
	w.Header().Add("Vary", "Accept-Encoding")
	if !acceptsGzip(r.Header.Get("Accept-Encoding")) {
		return w, func() {}
	}
	w.Header().Set("Content-Encoding", "gzip")
	w.Header().Del("Content-Length")
	zw := gzipWriters.Get().(*gzip.Writer)
	zw.Reset(w)
	return zw, func() {
		_ = zw.Close()
		zw.Reset(io.Discard)
		gzipWriters.Put(zw)
	}
}

// acceptsGzip reports whether an Accept-Encoding value allows gzip: a
// "gzip" or "*" coding whose q is not 0.
func acceptsGzip(h string) bool {
	for part := range strings.SplitSeq(h, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		coding = strings.ToLower(strings.TrimSpace(coding))
		if coding != "gzip" && coding != "x-gzip" && coding != "*" {
			continue
		}
		q := 1.0
		if k, v, ok := strings.Cut(strings.TrimSpace(params), "="); ok && strings.TrimSpace(k) == "q" {
			if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
				q = f
			}
		}
		return q > 0
	}
	return false
}
