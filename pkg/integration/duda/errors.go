package duda

import "errors"

// ErrUnknownLink says a link names nothing known here: an unknown connection, a checkout or
// transaction not from it, or a token that does not match.
var ErrUnknownLink = errors.New("this link is not known here")
