package sqlstore

// The statements whose query plans plans_test.go checks.
var (
	ResourceListQuery = resourceListQuery
	OrphanedQuery     = orphanedQuery
)
