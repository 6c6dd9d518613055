//go:build !contrast

package server

import (
	"net/http"

	"github.com/go-chi/chi/v5"
)

// The default build: every defence is always on.
//
// The switches of the contrast build (contrast_on.go, build tag
// "contrast", `make demo-insecure`) are not compiled in;
// TestContrast_AbsentFromTheDefaultBuild checks the binary.
//
// SECURITY(deployment): no setting can turn a defence off in a deployment
// of the default binary — ASVS 5.0 15.2.3.

const contrastBuild = false

func (a *app) defenceOff(string) bool                         { return false }
func (a *app) renewalOff() func() bool                        { return nil }
func (a *app) contrastRoutes(chi.Router)                      {}
func (a *app) contrastCookies(next http.Handler) http.Handler { return next }
func (a *app) contrastBanner() string                         { return "" }
