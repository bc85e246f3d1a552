// Package web is the analysts' dashboard: a few static pages, embedded in
// the binary, that read the JSON API of package api from the browser and
// draw what matters during an outage (which services are above their
// normal level now, how far, who is saying what, which error codes they
// quote, the incidents and their webhook deliveries).
//
// It owns the HTML, CSS and JavaScript modules under assets/ (plain ES
// modules, no build step, no third-party code: the charts are SVG drawn by
// assets/js/chart.js) and the http.Handler that serves them with a strict
// Content-Security-Policy, so the page loads nothing from another origin
// and works on a machine without internet. It owns no data and no API:
// everything on screen comes from /v1 over HTTP, as any other client
// would get it.
package web
