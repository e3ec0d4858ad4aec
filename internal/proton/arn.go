package proton

import "fmt"

// arn returns the ARN of a resource from its key ("environment/prod").
func (s *API) arn(key string) string {
	return fmt.Sprintf("arn:aws:proton:%s:%s:%s", s.cfg.Region, s.cfg.AccountID, key)
}

func environmentKey(name string) string { return "environment/" + name }

func templateKey(kind, name string) string { return kind + "-template/" + name }

func templateVersionKey(kind, name string, major, minor int) string {
	return fmt.Sprintf("%s-template/%s:%d.%d", kind, name, major, minor)
}

func deploymentKey(id string) string { return "deployment/" + id }
