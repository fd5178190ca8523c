// Command funcstats reports function and file length figures for the project's non-test, non-generated Go code:
// the median, 90th percentile and longest function (in lines, signature to closing brace), the functions over a
// limit and the files over a limit. It is how the size targets in DEVELOPMENT.md are measured.
//
// Usage: go run ./hack/funcstats [-func-limit 120] [-file-limit 600] [dir...]   (default dir: .)
package main

import (
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// funcLen is one function's length and where it is.
type funcLen struct {
	name  string
	lines int
}

func main() {
	funcLimit := flag.Int("func-limit", 120, "report functions longer than this many lines")
	fileLimit := flag.Int("file-limit", 600, "report files longer than this many lines")
	flag.Parse()
	dirs := flag.Args()
	if len(dirs) == 0 {
		dirs = []string{"."}
	}
	funcs, files, err := measure(dirs)
	if err != nil {
		fmt.Fprintln(os.Stderr, "funcstats:", err)
		os.Exit(1)
	}
	report(funcs, files, *funcLimit, *fileLimit)
}

// measure parses every counted Go file under dirs.
func measure(dirs []string) ([]funcLen, map[string]int, error) {
	var funcs []funcLen
	files := map[string]int{}
	fset := token.NewFileSet()
	for _, dir := range dirs {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				return skipDir(path, d)
			}
			if !counted(path) {
				return nil
			}
			f, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
			if err != nil {
				return err
			}
			if ast.IsGenerated(f) {
				return nil
			}
			files[path] = fset.Position(f.End()).Line
			funcs = append(funcs, fileFuncs(fset, path, f)...)
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
	}
	return funcs, files, nil
}

// skipDir leaves out tool modules, vendored code, build outputs and hidden folders.
func skipDir(path string, d fs.DirEntry) error {
	name := d.Name()
	if path != "." && (strings.HasPrefix(name, ".") || name == "bin" || name == "vendor" || name == "tools" ||
		name == "testdata" || name == "_output") {
		return filepath.SkipDir
	}
	return nil
}

// counted says whether a file is non-test, hand-written Go.
func counted(path string) bool {
	return strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") &&
		!strings.HasPrefix(filepath.Base(path), "zz_generated")
}

// fileFuncs lists the length of every function and method declared in f.
func fileFuncs(fset *token.FileSet, path string, f *ast.File) []funcLen {
	var out []funcLen
	for _, decl := range f.Decls {
		fn, ok := decl.(*ast.FuncDecl)
		if !ok || fn.Body == nil {
			continue
		}
		start, end := fset.Position(fn.Pos()).Line, fset.Position(fn.End()).Line
		out = append(out, funcLen{name: fmt.Sprintf("%s:%d %s", path, start, fn.Name.Name), lines: end - start + 1})
	}
	return out
}

// report prints the figures.
func report(funcs []funcLen, files map[string]int, funcLimit, fileLimit int) {
	if len(funcs) == 0 {
		fmt.Println("no functions found")
		return
	}
	sort.Slice(funcs, func(i, j int) bool { return funcs[i].lines < funcs[j].lines })
	at := func(q float64) int { return funcs[int(q*float64(len(funcs)-1))].lines }
	fmt.Printf("functions: %d  median: %d  p90: %d  max: %d (%s)\n", len(funcs), at(0.5), at(0.9),
		funcs[len(funcs)-1].lines, funcs[len(funcs)-1].name)
	for i := len(funcs) - 1; i >= 0 && funcs[i].lines > funcLimit; i-- {
		fmt.Printf("  function over %d lines: %s (%d)\n", funcLimit, funcs[i].name, funcs[i].lines)
	}
	names := make([]string, 0, len(files))
	for name, n := range files {
		if n > fileLimit {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	fmt.Printf("files: %d  over %d lines: %d\n", len(files), fileLimit, len(names))
	for _, name := range names {
		fmt.Printf("  %s (%d)\n", name, files[name])
	}
}
