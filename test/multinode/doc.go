// Package multinode tests several Hadron processes on one PostgreSQL
// database: three real `hadron serve` processes, driven over HTTP, sharing
// deployments, cancels, crashes, conflicting updates and the branches
// template sync watches. The tests need HADRON_TEST_POSTGRES_URL (each test
// makes a database of its own there) and skip without it, unless
// HADRON_E2E_REQUIRE=1 makes that a failure.
package multinode
