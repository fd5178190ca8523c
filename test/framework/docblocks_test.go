package framework

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"sigs.k8s.io/yaml"

	"github.com/sail-mesh/sail/internal/cli/ossm2"
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

// TestDocResources_AreAdmittedByTheCRDs checks every Sail resource that the docs and the README show in a
// ```yaml block, and every sample manifest under config/samples, against Sail's CRD schemas (unknown fields, wrong
// types and values), as `sailctl render` admits its input: a user who copies one gets no error from the API
// server. Blocks marked `invalid` show a refusal and must be refused.
func TestDocResources_AreAdmittedByTheCRDs(t *testing.T) {
	g := NewWithT(t)
	schemas, err := ossm2.LoadSchemas(ossm2.OfflineOptions{})
	g.Expect(err).NotTo(HaveOccurred())
	sources := map[string]string{}
	invalid := map[string]bool{}
	pages, err := filepath.Glob(filepath.Join(testenv.RepoRoot(), "docs", "*.md"))
	g.Expect(err).NotTo(HaveOccurred())
	for _, path := range append(pages, filepath.Join(testenv.RepoRoot(), "README.md")) {
		data, err := os.ReadFile(path)
		g.Expect(err).NotTo(HaveOccurred())
		blocks, err := ParseDocBlocks(string(data))
		g.Expect(err).NotTo(HaveOccurred(), path)
		for _, b := range blocks {
			if b.Lang == "yaml" {
				where := fmt.Sprintf("%s:%d", filepath.Base(path), b.Line)
				sources[where], invalid[where] = b.Text, b.Invalid
			}
		}
	}
	g.Expect(filepath.WalkDir(filepath.Join(testenv.RepoRoot(), "config", "samples"), func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".yaml") {
			data, readErr := os.ReadFile(path)
			sources[strings.TrimPrefix(path, testenv.RepoRoot()+"/")] = string(data)
			return readErr
		}
		return err
	})).To(Succeed())
	checked := 0
	for where, text := range sources {
		checked += admitSailResources(t, schemas, where, text, invalid[where])
	}
	g.Expect(checked).To(BeNumerically(">", 20), "Sail resources found in the docs and samples")
}

// admitSailResources checks the sailoperator.io documents of text (refused, when the block is marked invalid) and
// returns how many there were. Documents that are not YAML objects (fragments of values shown in the docs) are
// skipped.
func admitSailResources(t *testing.T, schemas *ossm2.SchemaSet, where, text string, wantRefused bool) int {
	n := 0
	for i, doc := range strings.Split(text, "\n---") {
		obj := map[string]any{}
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			continue
		}
		if api, _ := obj["apiVersion"].(string); !strings.HasPrefix(api, "sailoperator.io/") {
			continue
		}
		n++
		_, problems, known := schemas.Admit(obj)
		switch {
		case wantRefused && known && len(problems) == 0:
			t.Errorf("%s document %d (%v %v) is marked invalid but the CRDs admit it", where, i+1, obj["kind"], obj["metadata"])
		case !wantRefused && (!known || len(problems) > 0):
			t.Errorf("%s document %d (%v %v): known kind %v, problems: %v (mark the block `invalid` if it shows a "+
				"refusal)", where, i+1, obj["kind"], obj["metadata"], known, problems)
		}
	}
	return n
}
