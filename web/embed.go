// Package web embeds Session Lab's templates and static files, so the
// binary is the whole application.
package web

import "embed"

// Templates holds web/templates; they are parsed once, at start-up.
//
//go:embed templates/*.tmpl
var Templates embed.FS

// Static holds web/static, served under /static/.
//
//go:embed static
var Static embed.FS
