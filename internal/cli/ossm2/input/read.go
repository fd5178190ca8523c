// Package input reads the OpenShift Service Mesh 2 resources to convert: from YAML or JSON files, folders and
// standard input (ParseYAML, ReadFiles) or from a cluster (ReadCluster), and decodes them strictly into the
// OpenShift Service Mesh 2 types of this package (Decode), so that every unknown field and every value of the
// wrong type is reported with its path.
//
// The OpenShift Service Mesh 2 types are hand-written and minimal: they cover the fields the conversion rules
// know. Sections that are dropped as a whole (addons.*, policy.mixer, telemetry.mixer, cluster.meshExpansion, ...)
// are typed map[string]any and not looked into.
package input

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/sail-mesh/sail/internal/cli/ossm2/fieldpath"
	"github.com/sail-mesh/sail/internal/cli/ossm2/report"
)

// StdinName is the file name that stands for standard input.
const StdinName = "-"

// Document is one object read from the input.
type Document struct {
	// Loc says where the object came from, and which object it is.
	Loc report.Location
	// APIVersion and Kind of the object.
	APIVersion string
	Kind       string
	// Object is the object as decoded from JSON; numbers are json.Number.
	Object map[string]any
}

// At locates the field p of the document's object.
func (d Document) At(p fieldpath.Path) report.Location {
	l := d.Loc
	l.Path = p.String()
	return l
}

// HasKind tells whether one of docs is of kind.
func HasKind(docs []Document, kind string) bool {
	for _, d := range docs {
		if d.Kind == kind {
			return true
		}
	}
	return false
}

// fileReader collects the documents and problems of ReadFiles.
type fileReader struct {
	docs     []Document
	findings []report.Finding
}

// ReadFiles reads the objects of every named input: a file, a folder (its *.yaml, *.yml and *.json files, in
// sub-folders too, in name order) or "-" for stdin. Problems (a missing file, a document that is not YAML) are
// returned as error findings and reading goes on.
func ReadFiles(names []string, stdin io.Reader) ([]Document, []report.Finding) {
	r := &fileReader{}
	for _, name := range names {
		if name == StdinName {
			r.readStdin(stdin)
		} else {
			r.readPath(name)
		}
	}
	return r.docs, r.findings
}

func (r *fileReader) fail(file, format string, args ...any) {
	r.findings = append(r.findings, report.Finding{Severity: report.SeverityError, At: report.Location{File: file},
		Message: fmt.Sprintf(format, args...)})
}

// parse adds the objects of one file's content.
func (r *fileReader) parse(name string, data []byte) {
	d, f := ParseYAML(name, data)
	r.docs = append(r.docs, d...)
	r.findings = append(r.findings, f...)
}

func (r *fileReader) readStdin(stdin io.Reader) {
	if stdin == nil {
		r.fail(StdinName, "cannot read standard input")
		return
	}
	data, err := io.ReadAll(stdin)
	if err != nil {
		r.fail(StdinName, "reading standard input: %v", err)
		return
	}
	r.parse(StdinName, data)
}

// readPath reads a file, or every input file of a folder.
func (r *fileReader) readPath(name string) {
	info, err := os.Stat(name)
	if err != nil {
		r.fail(name, "cannot read the input: %v; check the path given to -f", err)
		return
	}
	if !info.IsDir() {
		r.readFile(name)
		return
	}
	files, err := inputFiles(name)
	if err != nil {
		r.fail(name, "cannot read the folder: %v", err)
		return
	}
	if len(files) == 0 {
		r.fail(name, "the folder has no .yaml, .yml or .json file")
		return
	}
	for _, f := range files {
		r.readFile(f)
	}
}

func (r *fileReader) readFile(name string) {
	data, err := os.ReadFile(name)
	if err != nil {
		r.fail(name, "cannot read the input: %v", err)
		return
	}
	r.parse(name, data)
}

// inputFiles lists the .yaml, .yml and .json files under dir, in name order, leaving out hidden sub-folders.
func inputFiles(dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != dir && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		switch strings.ToLower(filepath.Ext(p)) {
		case ".yaml", ".yml", ".json":
			files = append(files, p)
		}
		return nil
	})
	sort.Strings(files)
	return files, err
}
