package web_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/downsignal/downsignal/web"
)

// The dashboard is mounted on two patterns beside the API; package api
// does this when its Options carry a Dashboard.
func ExampleNew() {
	d, err := web.New()
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", d)
	mux.Handle("GET /assets/", d)

	for _, path := range []string{"/", "/assets/js/chart.js"} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		fmt.Println(path, rec.Code, rec.Header().Get("Content-Type"))
	}
	// Output:
	// / 200 text/html; charset=utf-8
	// /assets/js/chart.js 200 text/javascript; charset=utf-8
}
