// Package panel is the Admin Panel: the server-rendered dashboard on the admin backend where
// operators run their organisation — overview, checkouts (and creating ad-hoc ones),
// transactions (refund, mark paid, IPN resend), sites, providers, API keys, users, audit log,
// and organisations for platform administrators.
//
// Every page reads and writes through the same platform functions as the REST API, with the
// signed-in user as the actor: the platform authorises each call (viewer reads, editor creates
// checkouts and refunds, admin manages sites, providers, keys and users) and writes the audit
// entry. Controls the actor cannot use are hidden (auth.Can), but the server never relies on
// that: a forbidden POST renders a 403 page.
//
// Sessions are short-lived HS256 JWTs (auth.Sessions) in an HttpOnly, Secure, SameSite=Strict
// cookie, renewed when less than half their life is left and invalidated by a password change.
// Every POST is checked twice against cross-site request forgery: its Origin (or Referer) must
// be the admin origin, and its hidden csrf field must carry a token bound to the session (an
// HMAC of the user id and the session's issue time under a key derived from the signing key;
// before sign-in, an HMAC of a random cookie).
//
// Templates are parsed once by New and rendered with html/template only; static files are
// served at content-hashed URLs under /assets/ so pages can run under a strict
// Content-Security-Policy (no inline script or style) with long-lived caching. The route table
// is in routes.go; each page or action is one thin handler: bind, validate, one platform call,
// render or redirect.
package panel
