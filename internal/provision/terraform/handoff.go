package terraform

// The hand-off: Proton's self-managed provisioning.
//
// A deployment in hand-off mode writes Proton's files (render.go) next to
// the template's .tf files in the folder Proton used for the resource
// (Folder), on a new branch of the resource's provisioning repository,
// as one commit, and pushes it. With a forge configured for the
// repository's provider (GitHub's REST API), it opens a pull request of
// that branch into the repository's target branch, as Proton did;
// without one, the pushed branch is the hand-off. A delete is handed off
// the same way with only .proton/deployment-metadata.json rewritten, its
// isResourceDeleted true: the user's automation runs terraform destroy.
//
// The run then ends at once with a provision.Wait (see provision's
// "Waiting on an outside party"): the deployment stays IN_PROGRESS (or
// DELETE_IN_PROGRESS) for as long as the user's automation takes, hours
// or days, holding no worker and no lease, and survives restarts. It ends
// when the automation calls NotifyResourceDeploymentStatusChange with
// SUCCEEDED or FAILED (FinalStatusFromNotify: a hand-off takes its final
// status from the report, the local run does not). Meanwhile:
//
//   - with a pull request, a check every PollInterval reads it: closed
//     unmerged by a person ends the deployment CANCELLED; merged, the
//     checks stop and the report is awaited;
//   - a cancel takes the hand-off back: the pull request is closed and
//     the branch deleted (without a forge, the branch is deleted) →
//     CANCELLED. A pull request already merged, or a branch already in
//     the target branch, cannot be taken back: the cancel fails and the
//     deployment ends FAILED, as Proton's cancel that fails does.

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/hadronhq/hadron/internal/forge/github"
	"github.com/hadronhq/hadron/internal/gitrepo"
	"github.com/hadronhq/hadron/internal/provision"
)

// Defaults of HandOff.
const (
	// DefaultPollInterval is how often an open pull request is read.
	DefaultPollInterval = time.Minute
	// DefaultGitTimeout bounds the git and forge work of one run: it goes
	// on after a cancel or a shutdown, so that what was pushed is known.
	DefaultGitTimeout = 2 * time.Minute
)

// Forge opens, reads and closes pull requests (github.Client).
type Forge interface {
	CreatePullRequest(ctx context.Context, repo, head, base, title, body string) (github.PullRequest, error)
	GetPullRequest(ctx context.Context, repo string, number int) (github.PullRequest, error)
	ClosePullRequest(ctx context.Context, repo string, number int) (github.PullRequest, error)
}

var _ Forge = (*github.Client)(nil)

// HandOff configures the hand-off. The zero value pushes to the providers'
// default HTTPS remotes without credentials and opens no pull requests.
type HandOff struct {
	// Remotes maps provisioning repositories to git remotes.
	Remotes gitrepo.Remotes
	// Forge, when set, opens pull requests for GitHub and GitHub
	// Enterprise repositories; nil: the pushed branch is the hand-off.
	Forge Forge
	// PollInterval is how often an open pull request is read (DefaultPollInterval).
	PollInterval time.Duration
	// AuthorName and AuthorEmail sign the commits (Hadron, hadron@localhost).
	AuthorName, AuthorEmail string
}

// handOffState is what a waiting hand-off keeps in the store.
type handOffState struct {
	Provider    string `json:"provider"`
	Repository  string `json:"repository"`
	Base        string `json:"base"`
	Branch      string `json:"branch"`
	Commit      string `json:"commit"`
	Folder      string `json:"folder"`
	PullRequest int    `json:"pullRequest,omitempty"`
	URL         string `json:"url,omitempty"`
	Merged      bool   `json:"merged,omitempty"`
}

// Folder is the folder of the provisioning repository Proton wrote a
// resource's files to: an environment's is named after it, a service
// instance's is inside its environment's, a pipeline's is
// <service>/pipeline. Proton's guide names no folder for components:
// Hadron puts them in <environment>/components/<component>, inside their
// environment's folder and apart from its instances' folders.
func Folder(t provision.Target) string {
	switch t.Kind {
	case provision.KindServiceInstance:
		return path.Join(t.EnvironmentName, t.Name)
	case provision.KindServicePipeline:
		return path.Join(t.ServiceName, "pipeline")
	case provision.KindComponent:
		return path.Join(t.EnvironmentName, "components", t.Name)
	}
	return t.Name
}

// FinalStatusFromNotify is true for a hand-off: the user's automation
// reports its end. A local run ends with terraform.
func (e *Engine) FinalStatusFromNotify(p provision.Plan) bool {
	return planMode(p) == ModeHandOff
}

// planMode is the mode a plan was accepted with.
func planMode(p provision.Plan) string {
	var s spec
	if len(p.Spec) > 0 && json.Unmarshal(p.Spec, &s) == nil && s.Mode != "" {
		return s.Mode
	}
	if p.Target == nil {
		return ModeNone
	}
	var st provision.Settings
	if p.Settings != nil {
		st = *p.Settings
	}
	return Mode(p.Target.Kind, st)
}

// withForge reports whether the hand-off to provider opens a pull request.
func (h *HandOff) withForge(provider string) bool {
	return h.Forge != nil && (provider == gitrepo.GitHub || provider == gitrepo.GitHubEnterprise)
}

// runHandOff hands the deployment off, or, when run.Waiting is set,
// checks on the hand-off or takes it back on a cancel.
func (e *Engine) runHandOff(ctx context.Context, run provision.Run, t provision.Target, log io.Writer) (provision.Result, error) {
	h := &e.HandOff
	if run.Waiting != nil {
		var st handOffState
		if err := json.Unmarshal(run.Waiting, &st); err != nil {
			return provision.Result{}, fmt.Errorf("record of the hand-off is unreadable: %w", err)
		}
		if cause := context.Cause(ctx); errors.Is(cause, provision.ErrUserCancelled) {
			return provision.Result{}, e.takeBack(ctx, st, log)
		}
		return e.check(ctx, st, log)
	}
	if err := ctx.Err(); err != nil {
		return provision.Result{}, fmt.Errorf("hand-off not started: %w", context.Cause(ctx))
	}
	var repo *provision.Repository
	if run.Plan.Settings != nil {
		repo = run.Plan.Settings.ProvisioningRepository
	}
	if repo == nil {
		if t.Kind == provision.KindServicePipeline {
			return provision.Result{}, errors.New("this pipeline's Terraform is handed off through the account's pipelineProvisioningRepository, " +
				"which is not set (UpdateAccountSettings), or run by Hadron with pipelineCodebuildRoleArn")
		}
		return provision.Result{}, errors.New("the environment has no provisioningRepository to hand the Terraform files off to")
	}
	remote, err := h.Remotes.Remote(repo.Provider, repo.Name)
	if err != nil {
		return provision.Result{}, err
	}
	deleting := run.Operation == provision.OperationDelete
	rendered, err := Render(Deployment{ID: run.DeploymentID, Deleted: deleting, Target: t, Inputs: run.Plan.Inputs})
	if err != nil {
		return provision.Result{}, fmt.Errorf("render Proton's Terraform files: %w", err)
	}
	files := map[string][]byte{MetadataFile: rendered[MetadataFile]}
	if !deleting {
		// The template's .tf files (the manifest's "*" matches only them),
		// then Proton's, which replace the bundle's own of the same name.
		for name, data := range run.Files {
			if strings.HasSuffix(name, ".tf") {
				files[name] = data
			}
		}
		for name, data := range rendered {
			if _, ok := run.Files[name]; ok {
				fmt.Fprintf(log, "[hadron] terraform: the bundle's own %s is replaced by the deployment's, as Proton replaced it\n", name)
			}
			files[name] = data
		}
	}
	verb := "Deploy"
	if deleting {
		verb = "Delete"
	}
	noun := strings.ReplaceAll(kindWord(t.Kind), "_", " ")
	title := fmt.Sprintf("%s %s %s (Proton deployment %s)", verb, noun, t.Name, run.DeploymentID)
	st := handOffState{
		Provider: repo.Provider, Repository: repo.Name, Base: repo.Branch, Folder: Folder(t),
		Branch: "hadron/" + kindWord(t.Kind) + "/" + t.Name + "/" + run.DeploymentID,
	}
	// Past this point the work goes on after a cancel or a shutdown (within
	// DefaultGitTimeout): what was pushed must be known, to be waited on
	// or taken back.
	gctx, done := context.WithTimeout(context.WithoutCancel(ctx), DefaultGitTimeout)
	defer done()
	st.Commit, err = remote.Push(gctx, gitrepo.Commit{
		Base: repo.Branch, Branch: st.Branch, Dir: st.Folder, Files: files, Replace: !deleting, Message: title,
		Author: object.Signature{Name: cmp.Or(h.AuthorName, "Hadron"), Email: cmp.Or(h.AuthorEmail, "hadron@localhost")},
	})
	if err != nil {
		err = fmt.Errorf("hand the Terraform files off to %s %s: %w", repo.Provider, repo.Name, err)
		if cause := context.Cause(ctx); errors.Is(cause, provision.ErrUserCancelled) {
			// Nothing was handed off: the cancel has nothing to take back.
			return provision.Result{}, fmt.Errorf("%w (%v)", cause, err)
		}
		return provision.Result{}, err
	}
	fmt.Fprintf(log, "[hadron] terraform: handed off to %s %s: commit %s on branch %s, folder %s/\n",
		repo.Provider, repo.Name, st.Commit, st.Branch, st.Folder)
	check := time.Duration(0)
	if h.withForge(repo.Provider) {
		body := fmt.Sprintf("AWS Proton deployment %s of %s.\n\nThe files are in `%s/`; `%s/%s` names the deployment "+
			"(isResourceDeleted: %t). Your automation applies them and reports the end with "+
			"`aws proton notify-resource-deployment-status-change --resource-arn %s --deployment-id %s --status SUCCEEDED|FAILED`.",
			run.DeploymentID, t.ARN, st.Folder, st.Folder, MetadataFile, deleting, t.ARN, run.DeploymentID)
		pr, err := h.Forge.CreatePullRequest(gctx, repo.Name, st.Branch, repo.Branch, title, body)
		if err != nil {
			if derr := remote.DeleteBranch(gctx, st.Branch); derr != nil {
				fmt.Fprintf(log, "[hadron] terraform: the branch %s could not be deleted: %v\n", st.Branch, derr)
			}
			err = fmt.Errorf("open the pull request of %s into %s: %w", st.Branch, repo.Branch, err)
			if cause := context.Cause(ctx); errors.Is(cause, provision.ErrUserCancelled) {
				return provision.Result{}, fmt.Errorf("%w (%v)", cause, err)
			}
			return provision.Result{}, err
		}
		st.PullRequest, st.URL = pr.Number, pr.HTMLURL
		check = cmp.Or(h.PollInterval, DefaultPollInterval)
		fmt.Fprintf(log, "[hadron] terraform: pull request #%d opened: %s\n", pr.Number, pr.HTMLURL)
	}
	raw, err := json.Marshal(st)
	if err != nil {
		return provision.Result{}, err
	}
	return provision.Result{Wait: &provision.Wait{State: raw, CheckAfter: check}}, nil
}

// check reads the pull request of a waiting hand-off.
func (e *Engine) check(ctx context.Context, st handOffState, log io.Writer) (provision.Result, error) {
	h := &e.HandOff
	wait := func(after time.Duration) (provision.Result, error) {
		raw, err := json.Marshal(st)
		return provision.Result{Wait: &provision.Wait{State: raw, CheckAfter: after}}, err
	}
	poll := cmp.Or(h.PollInterval, DefaultPollInterval)
	if st.PullRequest == 0 || st.Merged {
		return wait(0)
	}
	if h.Forge == nil {
		// The forge was unconfigured since: the report is awaited.
		return wait(0)
	}
	pr, err := h.Forge.GetPullRequest(ctx, st.Repository, st.PullRequest)
	switch {
	case err != nil && errors.Is(context.Cause(ctx), provision.ErrUserCancelled):
		// The cancel came during the check (seen at a lease renewal).
		return provision.Result{}, e.takeBack(ctx, st, log)
	case err != nil && ctx.Err() != nil:
		return provision.Result{}, fmt.Errorf("check pull request #%d: %w", st.PullRequest, context.Cause(ctx))
	case err != nil:
		// The forge may be out of reach for a while: the hand-off stands.
		fmt.Fprintf(log, "[hadron] terraform: reading pull request #%d failed, trying again in %s: %v\n", st.PullRequest, poll, err)
		return wait(poll)
	case pr.Merged:
		st.Merged = true
		fmt.Fprintf(log, "[hadron] terraform: pull request #%d was merged: waiting for the automation's report\n", st.PullRequest)
		return wait(0)
	case pr.State == "closed":
		return provision.Result{}, fmt.Errorf("the pull request #%d (%s) was closed without being merged: %w", st.PullRequest, st.URL, provision.ErrCancelledOutside)
	}
	return wait(poll)
}

// takeBack undoes a hand-off for a cancel: it returns an error wrapping
// provision.ErrUserCancelled when the hand-off was taken back, another
// when it could not be.
func (e *Engine) takeBack(ctx context.Context, st handOffState, log io.Writer) error {
	h := &e.HandOff
	gctx, done := context.WithTimeout(context.WithoutCancel(ctx), DefaultGitTimeout)
	defer done()
	remote, err := h.Remotes.Remote(st.Provider, st.Repository)
	if err != nil {
		return fmt.Errorf("cancel failed: %w", err)
	}
	if st.PullRequest != 0 && h.Forge != nil {
		_, err := h.Forge.ClosePullRequest(gctx, st.Repository, st.PullRequest)
		switch {
		case errors.Is(err, github.ErrMerged):
			return fmt.Errorf("cancel failed: the pull request #%d (%s) is already merged into %s, so the automation may apply it", st.PullRequest, st.URL, st.Base)
		case err != nil:
			return fmt.Errorf("cancel failed: the pull request #%d could not be closed: %w", st.PullRequest, err)
		}
		fmt.Fprintf(log, "[hadron] terraform: pull request #%d closed\n", st.PullRequest)
	} else {
		merged, err := remote.Contains(gctx, st.Base, st.Commit)
		switch {
		case err != nil:
			return fmt.Errorf("cancel failed: %w", err)
		case merged:
			return fmt.Errorf("cancel failed: the branch %s is already merged into %s, so the automation may apply it", st.Branch, st.Base)
		}
	}
	if err := remote.DeleteBranch(gctx, st.Branch); err != nil {
		if st.PullRequest == 0 {
			return fmt.Errorf("cancel failed: %w", err)
		}
		fmt.Fprintf(log, "[hadron] terraform: the pull request is closed, but its branch could not be deleted: %v\n", err)
	} else {
		fmt.Fprintf(log, "[hadron] terraform: branch %s deleted\n", st.Branch)
	}
	return fmt.Errorf("hand-off taken back: %w", provision.ErrUserCancelled)
}
