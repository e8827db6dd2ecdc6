package main

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestNoTestingInBinary: the production binary must not link package
// testing (it did while `imapmigrate demo` used testenv; the demo's servers
// are in internal/demoserver now). The failure names an import chain from
// the command to testing.
func TestNoTestingInBinary(t *testing.T) {
	for _, pkg := range []string{".", "../../internal/demoserver"} {
		imports := listDeps(t, pkg)
		if _, ok := imports["testing"]; !ok {
			continue
		}
		root := rootOf(t, pkg)
		if chain := importChain(imports, root, "testing"); chain != nil {
			t.Errorf("%s links package testing: %s", root, strings.Join(chain, " → "))
		} else {
			t.Errorf("%s links package testing", root)
		}
	}
}

// listDeps runs go list -deps on pkg and returns each dependency's imports.
func listDeps(t *testing.T, pkg string) map[string][]string {
	t.Helper()
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	out, err := exec.Command(goBin, "list", "-deps", "-f", `{{.ImportPath}}:{{range .Imports}} {{.}}{{end}}`, pkg).Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, ee.Stderr)
		}
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	imports := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		path, deps, _ := strings.Cut(line, ":")
		imports[path] = strings.Fields(deps)
	}
	return imports
}

func rootOf(t *testing.T, pkg string) string {
	t.Helper()
	out, err := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "list", pkg).Output()
	if err != nil {
		t.Fatalf("go list %s: %v", pkg, err)
	}
	return strings.TrimSpace(string(out))
}

// importChain is a shortest import path from root to target, or nil.
func importChain(imports map[string][]string, root, target string) []string {
	prev := map[string]string{root: ""}
	queue := []string{root}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if p == target {
			var chain []string
			for ; p != ""; p = prev[p] {
				chain = append([]string{p}, chain...)
			}
			return chain
		}
		for _, q := range imports[p] {
			if _, seen := prev[q]; !seen {
				prev[q] = p
				queue = append(queue, q)
			}
		}
	}
	return nil
}
