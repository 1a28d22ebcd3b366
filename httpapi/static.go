package httpapi

import (
	"embed"
	"html"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// uiFiles is the web UI, served under /karajo/ (SPEC 4.6, 11).
//
//go:embed ui
var uiFiles embed.FS

// uiModTime stands for the modification time of every embedded file: the
// embed package keeps none, so the process start is used. The ETag of an
// embedded file therefore changes on every start, never while it runs.
var uiModTime = time.Now().Truncate(time.Second)

// uiDevDir is where, with is_development, the UI is read from disk on
// every request (relative to the working directory, i.e. the repository
// root under `make run`), so edits show without a rebuild.
const uiDevDir = "httpapi/ui"

// Paths with their own access rule (SPEC 4.6, 9).
const (
	pathLogin   = "/karajo"
	pathApp     = "/karajo/app"
	appLocation = "/karajo/app/"
)

// uiCSP is the Content-Security-Policy of the embedded pages: scripts,
// styles and connections only from this server, so that a description
// that slipped past the sanitiser still cannot run script.
const uiCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// contentTypes fixes the types the UI depends on, whatever the host's
// mime.types says; other extensions go to mime.TypeByExtension.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".htm":  "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".mjs":  "text/javascript; charset=utf-8",
	".json": "application/json",
	".svg":  "image/svg+xml",
	".png":  "image/png",
	".ico":  "image/x-icon",
	".txt":  "text/plain; charset=utf-8",
	".md":   "text/markdown; charset=utf-8",
}

// layer is one tree of the virtual file system: the embedded UI mounted
// at /karajo, or dir_public mounted at /.
type layer struct {
	fsys  fs.FS
	mount string // "" for /, "karajo" for /karajo
	ui    bool   // files of the web UI: no-cache, CSP
}

// rel maps a cleaned name of the virtual tree ("." for /) into the layer,
// or reports that the layer does not cover it.
func (l layer) rel(name string) (string, bool) {
	switch {
	case l.mount == "":
		return name, true
	case name == l.mount:
		return ".", true
	case strings.HasPrefix(name, l.mount+"/"):
		return name[len(l.mount)+1:], true
	}
	return "", false
}

// serveStatic answers GET and HEAD requests that match no API route: the
// embedded web UI under /karajo/ and dir_public at / (SPEC 4.6).
//
// Resolution: the exact file; else the directory's index.html; else
// <path>.html; else a directory listing (302 to the slash form first).
// Embedded files win over dir_public. Access: the dashboard (/karajo/app
// and below) needs a session when users exist (IMP-20): 401 text
// "Unauthorized"; the login page redirects to the dashboard when no users
// exist or the request is logged in. Anything unsafe (dot segments, encoded
// slashes, backslashes, NUL, hidden files, symlinks out of dir_public) and
// anything missing is 404 (IMP-13).
func (s *Server) serveStatic(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	name, ok := cleanName(r)
	if !ok {
		http.NotFound(w, r)
		return
	}
	slash := strings.HasSuffix(p, "/") // asks for a directory
	lp := strings.ToLower(p)
	switch {
	case lp == pathLogin || lp == pathLogin+"/" || lp == pathLogin+"/index.html":
		if !s.usersConfigured() || s.loggedIn(r) {
			http.Redirect(w, r, appLocation, http.StatusFound)
			return
		}
		name, slash = "karajo/index.html", false
	case lp == pathApp || strings.HasPrefix(lp, pathApp+"/"):
		if s.usersConfigured() && !s.loggedIn(r) {
			h := w.Header()
			h.Set("Content-Type", "text/plain; charset=utf-8")
			h.Set("Cache-Control", "no-store")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, "Unauthorized")
			return
		}
	}

	layers := []layer{{fsys: s.uiFS(), mount: "karajo", ui: true}}
	if dir := s.conf.Load().env.DirPublic; dir != "" {
		root, err := os.OpenRoot(dir) // refuses any path or symlink leaving dir
		if err == nil {
			defer root.Close()
			layers = append(layers, layer{fsys: root.FS()})
		}
	}

	// The exact file.
	if l, f, fi := openFile(layers, name); f != nil {
		defer f.Close()
		if slash {
			http.NotFound(w, r) // a file is not a directory
			return
		}
		serveFile(w, r, l, f, fi)
		return
	}
	isDir := dirExists(layers, name)
	// The directory's index.html.
	if isDir {
		if l, f, fi := openFile(layers, path.Join(name, "index.html")); f != nil {
			defer f.Close()
			serveFile(w, r, l, f, fi)
			return
		}
	}
	// <path>.html.
	if name != "." && !slash {
		if l, f, fi := openFile(layers, name+".html"); f != nil {
			defer f.Close()
			serveFile(w, r, l, f, fi)
			return
		}
	}
	if !isDir {
		http.NotFound(w, r)
		return
	}
	if !slash {
		u := url.URL{Path: p + "/", RawQuery: r.URL.RawQuery}
		http.Redirect(w, r, u.String(), http.StatusFound)
		return
	}
	serveListing(w, r, layers, name)
}

// uiFS is the web UI's tree: the embedded copy, or with is_development
// the files on disk when they are there.
func (s *Server) uiFS() fs.FS {
	if s.conf.Load().env.IsDevelopment {
		if fi, err := os.Stat(uiDevDir); err == nil && fi.IsDir() {
			return os.DirFS(uiDevDir)
		}
	}
	sub, _ := fs.Sub(uiFiles, "ui") // cannot fail: "ui" is a valid path
	return sub
}

// cleanName turns the request path into a name of the virtual tree ("."
// for /), refusing anything that is not plainly a path inside it: "." and
// ".." segments, empty segments, hidden (dot) names, backslashes, NUL and
// encoded slashes or backslashes (the decoded path would hide them).
func cleanName(r *http.Request) (string, bool) {
	p := r.URL.Path
	if !strings.HasPrefix(p, "/") || strings.ContainsAny(p, "\\\x00") {
		return "", false
	}
	if esc := strings.ToLower(r.URL.EscapedPath()); strings.Contains(esc, "%2f") || strings.Contains(esc, "%5c") {
		return "", false
	}
	name := strings.TrimPrefix(p, "/")
	name = strings.TrimSuffix(name, "/")
	if name == "" {
		return ".", true
	}
	for seg := range strings.SplitSeq(name, "/") {
		if seg == "" || seg[0] == '.' {
			return "", false
		}
	}
	if !fs.ValidPath(name) {
		return "", false
	}
	return name, true
}

// openFile opens the first regular file called name, embedded UI first.
func openFile(layers []layer, name string) (layer, fs.File, fs.FileInfo) {
	for _, l := range layers {
		rel, ok := l.rel(name)
		if !ok {
			continue
		}
		f, err := l.fsys.Open(rel)
		if err != nil {
			continue
		}
		fi, err := f.Stat()
		if err != nil || !fi.Mode().IsRegular() {
			f.Close()
			continue
		}
		return l, f, fi
	}
	return layer{}, nil, nil
}

// dirExists reports whether name is a directory in any layer; a layer's
// mount point is one.
func dirExists(layers []layer, name string) bool {
	for _, l := range layers {
		if l.mount != "" && (name == "." || name == l.mount) {
			return true
		}
		if rel, ok := l.rel(name); ok {
			if fi, err := fs.Stat(l.fsys, rel); err == nil && fi.IsDir() {
				return true
			}
		}
	}
	return false
}

// serveFile writes one file with its type, ETag (the modification time in
// decimal Unix seconds, as v0.9.3 writes it) and conditional and range
// handling.
func serveFile(w http.ResponseWriter, r *http.Request, l layer, f fs.File, fi fs.FileInfo) {
	mod := fi.ModTime()
	if l.ui && mod.IsZero() {
		mod = uiModTime
	}
	etag := strconv.FormatInt(mod.Unix(), 10)
	h := w.Header()
	h.Set("ETag", etag)
	h.Set("X-Content-Type-Options", "nosniff")
	if l.ui {
		h.Set("Cache-Control", "no-cache") // revalidate, so an upgrade shows at once
		h.Set("Content-Security-Policy", uiCSP)
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
	}
	if ct := contentType(fi.Name()); ct != "" {
		h.Set("Content-Type", ct)
	}
	// The ETag is not quoted (v0.9.3's form), which http.ServeContent
	// cannot match; If-None-Match is decided here, If-Modified-Since and
	// Range by ServeContent.
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		if etagMatch(inm, etag) {
			h.Del("Content-Type")
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	rs, ok := f.(io.ReadSeeker)
	if !ok { // every fs used here has seekable files; be safe anyway
		b, err := io.ReadAll(f)
		if err != nil {
			http.Error(w, "read error", http.StatusInternalServerError)
			return
		}
		rs = strings.NewReader(string(b))
	}
	http.ServeContent(w, r, fi.Name(), mod, rs)
}

// etagMatch reports whether an If-None-Match list names etag, quoted or
// not, weak or strong, or is "*".
func etagMatch(list, etag string) bool {
	for item := range strings.SplitSeq(list, ",") {
		item = strings.TrimSpace(item)
		if item == "*" {
			return true
		}
		item = strings.TrimPrefix(item, "W/")
		item = strings.Trim(item, `"`)
		if item == etag {
			return true
		}
	}
	return false
}

// contentType is the Content-Type for a file name, or "" to let
// http.ServeContent sniff it.
func contentType(name string) string {
	ext := strings.ToLower(path.Ext(name))
	if ct, ok := contentTypes[ext]; ok {
		return ct
	}
	if ext == "" {
		return ""
	}
	return mime.TypeByExtension(ext)
}

// serveListing writes an HTML listing of the directory name, merged over
// the layers; hidden names are left out and every name is escaped.
func serveListing(w http.ResponseWriter, r *http.Request, layers []layer, name string) {
	type entry struct {
		name string
		dir  bool
	}
	seen := map[string]bool{}
	var entries []entry
	add := func(n string, dir bool) {
		if n == "" || n[0] == '.' || seen[n] {
			return
		}
		seen[n] = true
		entries = append(entries, entry{n, dir})
	}
	for _, l := range layers {
		if l.mount != "" && name == "." {
			add(l.mount, true)
			continue
		}
		rel, ok := l.rel(name)
		if !ok {
			continue
		}
		des, err := fs.ReadDir(l.fsys, rel)
		if err != nil {
			continue
		}
		for _, de := range des {
			dir := de.IsDir()
			if de.Type()&fs.ModeSymlink != 0 {
				fi, err := fs.Stat(l.fsys, path.Join(rel, de.Name()))
				if err != nil {
					continue // dangling, or pointing out of dir_public
				}
				dir = fi.IsDir()
			}
			add(de.Name(), dir)
		}
	}
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.name, b.name) })

	title := "/"
	if name != "." {
		title = "/" + name + "/"
	}
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">" +
		"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">" +
		"<title>Index of ")
	b.WriteString(html.EscapeString(title))
	b.WriteString("</title></head><body><h1>Index of ")
	b.WriteString(html.EscapeString(title))
	b.WriteString("</h1>\n<ul>\n")
	if name != "." {
		b.WriteString("<li><a href=\"../\">../</a></li>\n")
	}
	for _, e := range entries {
		n := e.name
		if e.dir {
			n += "/"
		}
		b.WriteString("<li><a href=\"")
		b.WriteString(html.EscapeString((&url.URL{Path: "./" + n}).EscapedPath()))
		b.WriteString("\">")
		b.WriteString(html.EscapeString(n))
		b.WriteString("</a></li>\n")
	}
	b.WriteString("</ul></body></html>\n")

	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = io.WriteString(w, b.String())
	}
}
