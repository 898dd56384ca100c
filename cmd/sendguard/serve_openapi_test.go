package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// operation is one path and method of the OpenAPI document.
type operation struct{ method, path string }

// openAPIOperations returns the operations openapi.json documents.
func openAPIOperations(t *testing.T) []operation {
	t.Helper()
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openAPIDoc, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi.json: version %q, want 3.x", doc.OpenAPI)
	}
	var ops []operation
	for path, item := range doc.Paths {
		for method := range item {
			switch method {
			case "get", "put", "post", "delete", "patch", "head", "options":
				ops = append(ops, operation{strings.ToUpper(method), path})
			}
		}
	}
	return ops
}

// TestServeOpenAPIMatchesRoutes: every documented path and method is an
// admin route, and every admin route is documented.
func TestServeOpenAPIMatchesRoutes(t *testing.T) {
	t.Parallel()
	documented := openAPIOperations(t)
	var routed []operation
	for _, r := range adminRoutes() {
		routed = append(routed, operation{r.method, r.path})
	}
	for _, op := range documented {
		if !slices.Contains(routed, op) {
			t.Errorf("%s %s is documented but not routed", op.method, op.path)
		}
	}
	for _, op := range routed {
		if !slices.Contains(documented, op) {
			t.Errorf("%s %s is routed but not documented in openapi.json", op.method, op.path)
		}
	}
	if len(documented) < 6 {
		t.Fatalf("only %d operations documented", len(documented))
	}
}
