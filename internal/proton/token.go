package proton

import (
	"encoding/base64"
	"strings"
)

// Page sizes of list operations.
const (
	defaultPageSize = 100
	maxPageSize     = 100
)

// Page tokens are opaque to clients: the sort key of the last item returned,
// tagged with the list it belongs to so a token from one list is refused by another.
func encodeToken(list, after string) string {
	return base64.StdEncoding.EncodeToString([]byte(list + "\x00" + after))
}

func decodeToken(list, token string) (string, error) {
	if token == "" {
		return "", nil
	}
	raw, err := base64.StdEncoding.DecodeString(token)
	if err != nil {
		return "", validationf("nextToken is not a token this operation returned")
	}
	l, after, ok := strings.Cut(string(raw), "\x00")
	if !ok || l != list {
		return "", validationf("nextToken is not a token this operation returned")
	}
	return after, nil
}

func pageSize(maxResults *int32) int {
	if maxResults == nil {
		return defaultPageSize
	}
	return min(int(*maxResults), maxPageSize)
}
