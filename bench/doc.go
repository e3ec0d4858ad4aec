// Package bench measures a real Hadron over real HTTP: how fast a cancel
// stops a running provisioning command, how fast an accepted deployment
// starts its command, and how many GetEnvironment and ListEnvironments calls
// a server with 10,000 environments answers, beside a bare net/http handler
// that serves the same bytes from memory.
//
// Everything lives in the package's benchmarks; `go test ./...` runs none of
// them. README.md has the command, what each number means, and the numbers
// of the last run on the reference machine.
package bench
