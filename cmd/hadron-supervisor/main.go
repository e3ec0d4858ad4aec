// Command hadron-supervisor supervises the shell of one provisioning run
// for `hadron serve`, which starts it; package supervisor says what it does.
// It links little more than that package, so that it starts in a few
// milliseconds where a re-exec of the server's binary takes tens.
//
// Install it beside hadron (`go install ./cmd/...` does): a server finds it
// there, checks that it speaks its protocol, and uses it for every run.
// Without it the server re-executes itself as the supervisor, which works
// the same, only slower to start each run.
package main

import (
	"fmt"
	"os"

	"github.com/hadronhq/hadron/internal/provision/supervisor"
)

func main() {
	supervisor.Main() // returns only if this process is not a supervisor
	if len(os.Args) == 2 && os.Args[1] == supervisor.ProtocolArg {
		fmt.Println(supervisor.Protocol)
		return
	}
	fmt.Fprintln(os.Stderr, "hadron-supervisor is started by `hadron serve` for each provisioning run; it takes no commands of its own.\nInstall it beside the hadron binary (go install ./cmd/...) and hadron serve uses it.")
	os.Exit(2)
}
