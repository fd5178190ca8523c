package framework

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/sail-mesh/sail/internal/devtools/testenv"
)

func TestParseDocBlocks(t *testing.T) {
	page := "# Title\n\n```yaml file=istio.yaml\nkind: Istio\n```\n\n```sh\nkubectl apply -f istio.yaml\n```\n\n" +
		"```console\n$ kubectl get istio\n```\n\n```sh norun\nmake run\n```\n"
	got, err := ParseDocBlocks(page)
	if err != nil {
		t.Fatal(err)
	}
	want := []DocBlock{
		{Line: 3, Lang: "yaml", File: "istio.yaml", Text: "kind: Istio\n"},
		{Line: 7, Lang: "sh", Run: true, Text: "kubectl apply -f istio.yaml\n"},
		{Line: 11, Lang: "console", Text: "$ kubectl get istio\n"},
		{Line: 15, Lang: "sh", Text: "make run\n"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
	if _, err := ParseDocBlocks("```sh\nfoo\n"); err == nil || err.Error() != "line 1: code block is never closed" {
		t.Fatalf("unclosed fence: got error %v", err)
	}
}

// TestDocPages_EveryPageWithCommandsIsListed fails when a page of docs/ has commands to run but is not in DocPages.
func TestDocPages_EveryPageWithCommandsIsListed(t *testing.T) {
	pages, err := filepath.Glob(filepath.Join(testenv.RepoRoot(), "docs", "*.md"))
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	listed := map[string]bool{}
	for _, p := range DocPages {
		listed[p] = true
	}
	for _, path := range pages {
		data, err := os.ReadFile(path)
		NewWithT(t).Expect(err).NotTo(HaveOccurred())
		blocks, err := ParseDocBlocks(string(data))
		NewWithT(t).Expect(err).NotTo(HaveOccurred(), path)
		for _, b := range blocks {
			if b.Run && !listed[filepath.Base(path)] {
				t.Errorf("%s:%d has commands to run (```sh) but is not in DocPages (test/framework/docblocks.go): add the page there, or mark "+
					"commands that cannot run in the test cluster ```sh norun", filepath.Base(path), b.Line)
				break
			}
		}
	}
}
