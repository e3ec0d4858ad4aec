package cloudformation

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cfn "github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/hadronhq/hadron/internal/provision/cloudformation/cfnfake"
)

// TestFakeAnswersLikeMoto runs the same calls against moto's CloudFormation
// and against cfnfake, and checks that the driver reads both the same way:
// the fake must behave like the real service where moto can show it.
func TestFakeAnswersLikeMoto(t *testing.T) {
	t.Parallel()
	fake := cfnfake.New()
	t.Cleanup(fake.Close)
	backends := map[string]func(t *testing.T) string{
		"moto": motoURL,
		"fake": func(*testing.T) string { return fake.URL },
	}
	for name, url := range backends {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			d := newTestDriver(t, url(t))
			ctx := context.Background()
			stack := EnvironmentStackName("conformance-" + name)
			client := cfn.NewFromConfig(d.access.Base())

			_, err := client.DescribeStacks(ctx, &cfn.DescribeStacksInput{StackName: aws.String(stack)})
			if !isNotExist(err) {
				t.Errorf("DescribeStacks of an absent stack: %v, want ValidationError does not exist", err)
			}
			created, err := d.Deploy(ctx, Request{StackName: stack, TemplateBody: templateV1, RoleARN: testRole, DeploymentID: "c1"})
			if err != nil {
				t.Fatal(err)
			}
			if created.Outputs["Greeting"] != "v1" || created.Outputs["BucketName"] == "" || len(created.Resources) != 2 {
				t.Errorf("after create: %+v", created)
			}
			_, err = client.UpdateStack(ctx, &cfn.UpdateStackInput{StackName: aws.String(stack), TemplateBody: aws.String(templateV1)})
			// CloudFormation refuses an update that changes nothing; moto
			// 5.2 runs it (a known difference, so the fake follows
			// CloudFormation and this pins moto's side too).
			if wantRefused := name == "fake"; isNoUpdates(err) != wantRefused {
				t.Errorf("UpdateStack without changes: %v, want refused: %v", err, wantRefused)
			}
			updated, err := d.Deploy(ctx, Request{StackName: stack, TemplateBody: templateV2, RoleARN: testRole, DeploymentID: "c2"})
			if err != nil {
				t.Fatal(err)
			}
			if updated.Outputs["Greeting"] != "v2" || len(updated.Resources) != 3 || updated.StackID != created.StackID {
				t.Errorf("after update: %+v", updated)
			}
			if err := d.Delete(ctx, DeleteRequest{StackName: stack, RoleARN: testRole}); err != nil {
				t.Fatal(err)
			}
			out, err := client.DescribeStacks(ctx, &cfn.DescribeStacksInput{StackName: aws.String(created.StackID)})
			if err != nil || len(out.Stacks) != 1 || out.Stacks[0].StackStatus != "DELETE_COMPLETE" {
				t.Errorf("DescribeStacks by id after delete: %+v, %v; want DELETE_COMPLETE", out, err)
			}
			if _, err := client.DeleteStack(ctx, &cfn.DeleteStackInput{StackName: aws.String(stack)}); err != nil {
				t.Errorf("DeleteStack of an absent stack: %v, want success", err)
			}
		})
	}
}
