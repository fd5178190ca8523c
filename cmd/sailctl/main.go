// Command sailctl is Sail's command-line tool; see `sailctl --help`.
package main

import "github.com/sail-mesh/sail/internal/cli/sailctl"

func main() { sailctl.Main() }
