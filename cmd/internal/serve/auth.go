package serve

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// TokenCookie is the cookie the login form sets: the token (base64url, so
// that any token is a valid cookie value), HttpOnly, SameSite=Strict,
// Secure under TLS (or with Options.SecureCookie), for CookieMaxAge.
const (
	TokenCookie  = "chorus_token"
	CookieMaxAge = 12 * time.Hour
)

// validToken compares tok with every configured token in constant time:
// the SHA-256 digests are compared, so neither the tokens' contents nor
// their lengths show in the time taken, and every token is compared.
func (s *Server) validToken(tok string) bool {
	if tok == "" {
		return false
	}
	h := sha256.Sum256([]byte(tok))
	ok := 0
	for _, t := range s.tokens {
		ok |= subtle.ConstantTimeCompare(h[:], t[:])
	}
	return ok == 1
}

// bearer is the token of an Authorization: Bearer header.
func bearer(r *http.Request) string {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(tok)
}

// authorized reports whether the request carries a valid token, in the
// Authorization header or the login cookie.
func (s *Server) authorized(r *http.Request) bool {
	if s.validToken(bearer(r)) {
		return true
	}
	c, err := r.Cookie(TokenCookie)
	if err != nil {
		return false
	}
	tok, err := base64.RawURLEncoding.DecodeString(c.Value)
	return err == nil && s.validToken(string(tok))
}

// requireToken answers 401 with a JSON error unless the request is
// authorized.
func (s *Server) requireToken(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.authorized(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="chorus-elt"`)
			msg := "missing bearer token: send Authorization: Bearer <token>"
			if r.Header.Get("Authorization") != "" {
				msg = "invalid bearer token"
			}
			writeError(w, http.StatusUnauthorized, msg)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// requirePageToken sends a browser without a valid token to the login
// form, which brings it back to the page afterwards.
func (s *Server) requirePageToken(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.authorized(r) {
			http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), authedKey{}, true)))
	})
}

// authedKey marks the context of a page request that carried a valid
// token (the page then shows the navigation).
type authedKey struct{}

// localPath is next if it is a path on this server, else "/".
func localPath(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") || strings.ContainsAny(next, "\r\n") {
		return "/"
	}
	return next
}

// GET /login
func (s *Server) loginForm(w http.ResponseWriter, r *http.Request) {
	s.pages.render(w, r, http.StatusOK, "login", loginData{Next: localPath(r.URL.Query().Get("next"))})
}

// POST /login: a valid token in the form sets the cookie.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	if err := r.ParseForm(); err != nil {
		s.pages.render(w, r, http.StatusBadRequest, "login", loginData{Next: "/", Error: "The form could not be read."})
		return
	}
	next := localPath(r.PostForm.Get("next"))
	tok := strings.TrimSpace(r.PostForm.Get("token"))
	if !s.validToken(tok) {
		s.log.Warn("login refused", "remote", r.RemoteAddr)
		s.pages.render(w, r, http.StatusUnauthorized, "login", loginData{Next: next, Error: "That token is not valid."})
		return
	}
	http.SetCookie(w, &http.Cookie{Name: TokenCookie, Value: base64.RawURLEncoding.EncodeToString([]byte(tok)), Path: "/", MaxAge: int(CookieMaxAge.Seconds()),
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil || s.opts.SecureCookie})
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// POST /logout clears the cookie.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: TokenCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil || s.opts.SecureCookie})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

type loginData struct {
	Next  string
	Error string
}
