// Package cfnfake is a FAKE CloudFormation server, for tests only. It speaks
// the CloudFormation query protocol (form-encoded POST, XML answers) for the
// calls Hadron's stack driver makes — CreateStack, UpdateStack,
// DescribeStacks, DescribeStackEvents, ListStackResources,
// DescribeStackResources, CancelUpdateStack, ContinueUpdateRollback,
// DeleteStack — plus STS AssumeRole, and answers with CloudFormation's
// error shapes.
//
// Unlike moto, which completes every operation inside the call, the fake
// can hold a stack in each *_IN_PROGRESS state until the test releases it,
// fail a resource, and fail an update's rollback, so that cancels, failures
// and rollbacks can be tested. It creates no real resources: a resource is
// a logical id, a type and a made-up physical id, and an output resolves
// only a literal or a Ref to a parameter or resource.
package cfnfake

import (
	"context"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"
)

// Behavior says how the fake runs the operations on one stack.
type Behavior struct {
	// Hold keeps the stack in every *_IN_PROGRESS state it enters until
	// Release; without it an operation runs to its end inside the call.
	Hold bool
	// FailResource names the logical id whose create or update fails with
	// FailReason, which rolls the operation back.
	FailResource, FailReason string
	// FailRollback makes an update's rollback (or a continued rollback)
	// end UPDATE_ROLLBACK_FAILED.
	FailRollback bool
}

// Call is one request the fake received.
type Call struct {
	Action      string
	StackName   string // as sent: a name or a stack id
	AccessKeyID string // from the request's signature
}

// AssumedRole is one AssumeRole the fake answered.
type AssumedRole struct {
	RoleARN, SessionName, AccessKeyID string
}

// Server is the fake. Its zero value is not usable; call New.
type Server struct {
	// URL is the endpoint, for both CloudFormation and STS.
	URL string
	// EventPageSize is how many events one DescribeStackEvents page holds.
	EventPageSize int

	ts        *httptest.Server
	mu        sync.Mutex
	changed   chan struct{}
	stacks    []*stack
	behaviors map[string]Behavior
	calls     []Call
	roles     []AssumedRole
	seq       int
	down      bool // SetUnreachable
	dropped   int
}

// New starts a fake; Close stops it.
func New() *Server {
	s := &Server{EventPageSize: 100, changed: make(chan struct{}), behaviors: map[string]Behavior{}}
	s.ts = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.ts.URL
	return s
}

// Close stops the server.
func (s *Server) Close() { s.ts.Close() }

// SetUnreachable makes the fake drop every request's connection without
// an answer, as a network failure does, until it is set back to false.
func (s *Server) SetUnreachable(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

// Dropped is how many requests SetUnreachable dropped.
func (s *Server) Dropped() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dropped
}

// SetBehavior sets how the next operations on the named stack run.
func (s *Server) SetBehavior(stackName string, b Behavior) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.behaviors[stackName] = b
}

// Release lets the held in-progress state of the named stack go on to its
// next state (which may be held again). It fails if nothing is held.
func (s *Server) Release(stackName string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.live(stackName)
	if st == nil || st.pending == nil {
		return fmt.Errorf("cfnfake: stack %s has no held operation", stackName)
	}
	next := st.pending
	st.pending = nil
	next()
	s.notify()
	return nil
}

// Status returns the status of the named live stack, or "" if there is none.
func (s *Server) Status(stackName string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.live(stackName); st != nil {
		return st.status
	}
	return ""
}

// Template returns the template body of the named live stack.
func (s *Server) Template(stackName string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.live(stackName); st != nil {
		return st.template
	}
	return ""
}

// Tags returns the tags of the named live stack, nil when there is none.
func (s *Server) Tags(stackName string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.live(stackName)
	if st == nil {
		return nil
	}
	tags := map[string]string{}
	for _, kv := range st.tags {
		tags[kv[0]] = kv[1]
	}
	return tags
}

// Calls returns the requests received so far.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// AssumedRoles returns the AssumeRole calls answered so far.
func (s *Server) AssumedRoles() []AssumedRole {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.roles)
}

// WaitForCall waits until a call of action has been received.
func (s *Server) WaitForCall(ctx context.Context, action string) error {
	return s.waitFor(ctx, func() bool {
		return slices.ContainsFunc(s.calls, func(c Call) bool { return c.Action == action })
	}, "call "+action)
}

// WaitForStatus waits until the named live stack has status, and it is held
// there (when its behavior holds).
func (s *Server) WaitForStatus(ctx context.Context, stackName, status string) error {
	return s.waitFor(ctx, func() bool {
		st := s.live(stackName)
		return st != nil && st.status == status
	}, "stack "+stackName+" "+status)
}

func (s *Server) waitFor(ctx context.Context, cond func() bool, what string) error {
	for {
		s.mu.Lock()
		ok, ch := cond(), s.changed
		s.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cfnfake: waiting for %s: %w", what, context.Cause(ctx))
		case <-ch:
		}
	}
}

// notify wakes the waiters; s.mu is held.
func (s *Server) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

type stack struct {
	id, name       string
	status, reason string
	created        time.Time
	updated        time.Time
	deleted        bool

	template string
	params   map[string]string
	tags     [][2]string
	tpl      *template
	// prev is the last good configuration, restored by a rollback.
	prevTemplate string
	prevParams   map[string]string
	prevTpl      *template

	resources map[string]*resource
	events    []event // oldest first
	pending   func()
}

type resource struct {
	logicalID, physicalID, typ, status string
	updated                            time.Time
}

type event struct {
	id, logicalID, physicalID, typ, status, reason string
	at                                             time.Time
}

// live returns the stack that is not deleted and has this name or id.
func (s *Server) live(nameOrID string) *stack {
	for _, st := range s.stacks {
		if !st.deleted && (st.name == nameOrID || st.id == nameOrID) {
			return st
		}
	}
	return nil
}

// find also returns deleted stacks, by id only, as CloudFormation does.
func (s *Server) find(nameOrID string) *stack {
	if st := s.live(nameOrID); st != nil {
		return st
	}
	for _, st := range s.stacks {
		if st.id == nameOrID {
			return st
		}
	}
	return nil
}

// apiErr is a CloudFormation error answer.
type apiErr struct {
	status    int
	code, msg string
}

func validation(format string, args ...any) *apiErr {
	return &apiErr{400, "ValidationError", fmt.Sprintf(format, args...)}
}

func notExist(name string) *apiErr { return validation("Stack with id %s does not exist", name) }

var credentialRE = regexp.MustCompile(`Credential=([^/,\s]+)/`)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	down := s.down
	if down {
		s.dropped++
	}
	s.mu.Unlock()
	if down {
		panic(http.ErrAbortHandler) // the connection closes without an answer
	}
	if err := r.ParseForm(); err != nil {
		writeErr(w, &apiErr{400, "MalformedQueryString", err.Error()})
		return
	}
	f := r.PostForm
	action := f.Get("Action")
	key := ""
	if m := credentialRE.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
		key = m[1]
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, Call{Action: action, StackName: f.Get("StackName"), AccessKeyID: key})
	defer s.notify()

	var result any
	var e *apiErr
	switch action {
	case "AssumeRole":
		result, e = s.assumeRole(f.Get("RoleArn"), f.Get("RoleSessionName"))
	case "CreateStack":
		result, e = s.createStack(f)
	case "UpdateStack":
		result, e = s.updateStack(f)
	case "DescribeStacks":
		result, e = s.describeStacks(f.Get("StackName"))
	case "DescribeStackEvents":
		result, e = s.describeStackEvents(f.Get("StackName"), f.Get("NextToken"))
	case "ListStackResources":
		result, e = s.listStackResources(f.Get("StackName"))
	case "DescribeStackResources":
		result, e = s.describeStackResources(f.Get("StackName"))
	case "CancelUpdateStack":
		result, e = s.cancelUpdateStack(f.Get("StackName"))
	case "ContinueUpdateRollback":
		result, e = s.continueUpdateRollback(f.Get("StackName"))
	case "DeleteStack":
		result, e = s.deleteStack(f.Get("StackName"))
	default:
		e = &apiErr{400, "InvalidAction", fmt.Sprintf("The action %s is not valid for this web service.", action)}
	}
	if e != nil {
		writeErr(w, e)
		return
	}
	ns := "http://cloudformation.amazonaws.com/doc/2010-05-15/"
	if action == "AssumeRole" {
		ns = "https://sts.amazonaws.com/doc/2011-06-15/"
	}
	body := []byte{}
	if result != nil {
		var err error
		if body, err = xml.Marshal(result); err != nil {
			writeErr(w, &apiErr{500, "InternalFailure", err.Error()})
			return
		}
	} else {
		body = []byte("<" + action + "Result/>")
	}
	s.seq++
	w.Header().Set("Content-Type", "text/xml")
	fmt.Fprintf(w, `<%sResponse xmlns="%s">%s<ResponseMetadata><RequestId>fake-%d</RequestId></ResponseMetadata></%sResponse>`,
		action, ns, body, s.seq, action)
}

func writeErr(w http.ResponseWriter, e *apiErr) {
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(e.status)
	var msg strings.Builder
	xml.EscapeText(&msg, []byte(e.msg))
	fmt.Fprintf(w, `<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>fake-error</RequestId></ErrorResponse>`,
		e.code, msg.String())
}

var sessionNameRE = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)

type assumeRoleResult struct {
	XMLName     xml.Name `xml:"AssumeRoleResult"`
	Credentials struct {
		AccessKeyId, SecretAccessKey, SessionToken, Expiration string
	}
	AssumedRoleUser struct{ Arn, AssumedRoleId string }
}

func (s *Server) assumeRole(roleARN, session string) (any, *apiErr) {
	if !strings.HasPrefix(roleARN, "arn:") {
		return nil, validation("%s is invalid", roleARN)
	}
	if !sessionNameRE.MatchString(session) {
		return nil, validation("1 validation error detected: Value '%s' at 'roleSessionName' failed to satisfy constraint", session)
	}
	s.seq++
	key := fmt.Sprintf("ASIAFAKE%08d", s.seq)
	s.roles = append(s.roles, AssumedRole{RoleARN: roleARN, SessionName: session, AccessKeyID: key})
	var res assumeRoleResult
	res.Credentials.AccessKeyId = key
	res.Credentials.SecretAccessKey = "fake-secret"
	res.Credentials.SessionToken = "fake-token-" + session
	res.Credentials.Expiration = time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	res.AssumedRoleUser.Arn = roleARN + "/" + session
	res.AssumedRoleUser.AssumedRoleId = "AROAFAKE:" + session
	return res, nil
}

// members reads a query-protocol list of structures: prefix.member.N.field.
func members(f url.Values, prefix string, fields ...string) [][]string {
	var out [][]string
	for i := 1; ; i++ {
		row := make([]string, len(fields))
		found := false
		for j, field := range fields {
			k := fmt.Sprintf("%s.member.%d.%s", prefix, i, field)
			if v, ok := f[k]; ok && len(v) > 0 {
				row[j], found = v[0], true
			}
		}
		if !found {
			return out
		}
		out = append(out, row)
	}
}

func formParams(f url.Values) map[string]string {
	m := map[string]string{}
	for _, kv := range members(f, "Parameters", "ParameterKey", "ParameterValue") {
		m[kv[0]] = kv[1]
	}
	return m
}

func (s *Server) behavior(name string) Behavior { return s.behaviors[name] }

type stackIDResult struct {
	XMLName xml.Name
	StackId string
}

func (s *Server) createStack(f url.Values) (any, *apiErr) {
	name := f.Get("StackName")
	if st := s.live(name); st != nil {
		return nil, &apiErr{400, "AlreadyExistsException", fmt.Sprintf("Stack [%s] already exists", name)}
	}
	tpl, e := parseTemplate(f.Get("TemplateBody"))
	if e != nil {
		return nil, e
	}
	params, e := tpl.resolveParams(formParams(f))
	if e != nil {
		return nil, e
	}
	s.seq++
	now := time.Now()
	st := &stack{
		id:   fmt.Sprintf("arn:aws:cloudformation:us-east-1:123456789012:stack/%s/fake-%06d", name, s.seq),
		name: name, created: now, template: f.Get("TemplateBody"), params: params, tpl: tpl,
		resources: map[string]*resource{},
	}
	for _, kv := range members(f, "Tags", "Key", "Value") {
		st.tags = append(st.tags, [2]string{kv[0], kv[1]})
	}
	s.stacks = append(s.stacks, st)
	s.enter(st, "CREATE_IN_PROGRESS", "User Initiated", func() { s.runCreate(st) })
	return stackIDResult{XMLName: xml.Name{Local: "CreateStackResult"}, StackId: st.id}, nil
}

// enter moves the stack to status with a stack event, then runs next at
// once, or holds it for Release when the stack's behavior holds.
func (s *Server) enter(st *stack, status, reason string, next func()) {
	st.status, st.reason, st.updated = status, reason, time.Now()
	s.event(st, st.name, st.id, "AWS::CloudFormation::Stack", status, reason)
	if next == nil {
		return
	}
	if s.behavior(st.name).Hold {
		st.pending = next
		return
	}
	next()
}

func (s *Server) event(st *stack, logicalID, physicalID, typ, status, reason string) {
	s.seq++
	st.events = append(st.events, event{id: fmt.Sprintf("fake-event-%06d", s.seq), logicalID: logicalID,
		physicalID: physicalID, typ: typ, status: status, reason: reason, at: time.Now()})
}

// applyResources brings the stack's resources to tpl, failing at the
// behavior's FailResource; verb is CREATE or UPDATE. It reports success.
func (s *Server) applyResources(st *stack, tpl *template, verb string) bool {
	b := s.behavior(st.name)
	for _, id := range tpl.resourceIDs() {
		typ := tpl.resources[id]
		r := st.resources[id]
		step := "UPDATE"
		if r == nil {
			s.seq++
			r = &resource{logicalID: id, physicalID: fmt.Sprintf("%s-%s-%06d", st.name, id, s.seq)}
			st.resources[id] = r
			step = "CREATE"
		} else if verb == "CREATE" {
			continue
		}
		r.typ = typ
		physical := r.physicalID
		if step == "CREATE" {
			physical = "" // not known until the resource exists
		}
		s.event(st, id, physical, typ, step+"_IN_PROGRESS", "")
		if b.FailResource == id {
			r.status = step + "_FAILED"
			s.event(st, id, physical, typ, r.status, b.FailReason)
			return false
		}
		r.status, r.updated = step+"_COMPLETE", time.Now()
		s.event(st, id, r.physicalID, typ, r.status, "")
	}
	return true
}

func (s *Server) runCreate(st *stack) {
	if s.applyResources(st, st.tpl, "CREATE") {
		st.prevTemplate, st.prevParams, st.prevTpl = st.template, st.params, st.tpl
		s.enter(st, "CREATE_COMPLETE", "", nil)
		return
	}
	failed := s.behavior(st.name).FailResource
	s.enter(st, "ROLLBACK_IN_PROGRESS",
		fmt.Sprintf("The following resource(s) failed to create: [%s]. Rollback requested by user.", failed),
		func() {
			s.removeResources(st, nil)
			s.enter(st, "ROLLBACK_COMPLETE", "", nil)
		})
}

// removeResources deletes the stack's resources that keep does not
// declare (all of them when keep is nil).
func (s *Server) removeResources(st *stack, keep *template) {
	for _, id := range sortedKeys(st.resources) {
		if keep != nil {
			if _, ok := keep.resources[id]; ok {
				continue
			}
		}
		r := st.resources[id]
		s.event(st, id, r.physicalID, r.typ, "DELETE_IN_PROGRESS", "")
		s.event(st, id, r.physicalID, r.typ, "DELETE_COMPLETE", "")
		delete(st.resources, id)
	}
}

func (s *Server) updateStack(f url.Values) (any, *apiErr) {
	name := f.Get("StackName")
	st := s.live(name)
	if st == nil {
		return nil, notExist(name)
	}
	switch st.status {
	case "CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE":
	default:
		return nil, validation("Stack:%s is in %s state and can not be updated.", st.id, st.status)
	}
	body := f.Get("TemplateBody")
	tpl, e := parseTemplate(body)
	if e != nil {
		return nil, e
	}
	params, e := tpl.resolveParams(formParams(f))
	if e != nil {
		return nil, e
	}
	if body == st.template && mapsEqual(params, st.params) {
		return nil, validation("No updates are to be performed.")
	}
	st.template, st.params, st.tpl = body, params, tpl
	s.enter(st, "UPDATE_IN_PROGRESS", "User Initiated", func() { s.runUpdate(st) })
	return stackIDResult{XMLName: xml.Name{Local: "UpdateStackResult"}, StackId: st.id}, nil
}

func (s *Server) runUpdate(st *stack) {
	if s.applyResources(st, st.tpl, "UPDATE") {
		s.enter(st, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", "", func() {
			s.removeResources(st, st.tpl)
			st.prevTemplate, st.prevParams, st.prevTpl = st.template, st.params, st.tpl
			s.enter(st, "UPDATE_COMPLETE", "", nil)
		})
		return
	}
	failed := s.behavior(st.name).FailResource
	s.rollback(st, fmt.Sprintf("The following resource(s) failed to update: [%s]. ", failed))
}

// rollback takes an update back to the previous template, or fails to when
// the behavior says so.
func (s *Server) rollback(st *stack, reason string) {
	s.enter(st, "UPDATE_ROLLBACK_IN_PROGRESS", reason, func() {
		b := s.behavior(st.name)
		if b.FailRollback {
			id := b.FailResource
			if id == "" {
				id = st.prevTpl.resourceIDs()[0]
			}
			r := st.resources[id]
			if r == nil {
				r = &resource{logicalID: id, typ: st.prevTpl.resources[id]}
			}
			s.event(st, id, r.physicalID, r.typ, "UPDATE_FAILED", "Resource rollback failed: the fake was told to fail the rollback")
			s.enter(st, "UPDATE_ROLLBACK_FAILED", "The following resource(s) failed to update: ["+id+"]. ", nil)
			return
		}
		st.template, st.params, st.tpl = st.prevTemplate, st.prevParams, st.prevTpl
		for _, id := range st.tpl.resourceIDs() {
			if r := st.resources[id]; r != nil {
				r.status = "UPDATE_COMPLETE"
				s.event(st, id, r.physicalID, r.typ, "UPDATE_COMPLETE", "")
			}
		}
		s.enter(st, "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS", "", func() {
			s.removeResources(st, st.tpl)
			s.enter(st, "UPDATE_ROLLBACK_COMPLETE", "", nil)
		})
	})
}

func (s *Server) cancelUpdateStack(name string) (any, *apiErr) {
	st := s.live(name)
	if st == nil {
		return nil, notExist(name)
	}
	if st.status != "UPDATE_IN_PROGRESS" {
		return nil, validation("CancelUpdateStack cannot be called from current stack status")
	}
	st.pending = nil
	s.rollback(st, "Stack update cancelled")
	return nil, nil
}

func (s *Server) continueUpdateRollback(name string) (any, *apiErr) {
	st := s.live(name)
	if st == nil {
		return nil, notExist(name)
	}
	if st.status != "UPDATE_ROLLBACK_FAILED" {
		return nil, validation("Stack %s is in %s state and can not continue update rollback", st.id, st.status)
	}
	s.rollback(st, "User Initiated")
	return nil, nil
}

func (s *Server) deleteStack(name string) (any, *apiErr) {
	st := s.live(name)
	if st == nil || st.status == "DELETE_IN_PROGRESS" {
		return nil, nil // CloudFormation answers success for a stack that is not there
	}
	st.pending = nil // a create or update in flight is abandoned, as CloudFormation does
	s.enter(st, "DELETE_IN_PROGRESS", "User Initiated", func() {
		s.removeResources(st, nil)
		s.enter(st, "DELETE_COMPLETE", "", nil)
		st.deleted = true
	})
	return nil, nil
}

type xmlStack struct {
	StackId           string
	StackName         string
	CreationTime      string
	LastUpdatedTime   string `xml:",omitempty"`
	StackStatus       string
	StackStatusReason string      `xml:",omitempty"`
	Parameters        []xmlParam  `xml:"Parameters>member"`
	Outputs           []xmlOutput `xml:"Outputs>member"`
	Tags              []xmlTag    `xml:"Tags>member"`
}

type xmlParam struct{ ParameterKey, ParameterValue string }
type xmlOutput struct{ OutputKey, OutputValue string }
type xmlTag struct{ Key, Value string }

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func (s *Server) describeStacks(name string) (any, *apiErr) {
	var list []*stack
	if name == "" {
		for _, st := range s.stacks {
			if !st.deleted {
				list = append(list, st)
			}
		}
	} else if st := s.find(name); st != nil {
		list = append(list, st)
	} else {
		return nil, notExist(name)
	}
	type result struct {
		XMLName xml.Name   `xml:"DescribeStacksResult"`
		Stacks  []xmlStack `xml:"Stacks>member"`
	}
	var res result
	for _, st := range list {
		x := xmlStack{StackId: st.id, StackName: st.name, CreationTime: stamp(st.created), LastUpdatedTime: stamp(st.updated),
			StackStatus: st.status, StackStatusReason: st.reason}
		for _, k := range sortedKeys(st.params) {
			x.Parameters = append(x.Parameters, xmlParam{k, st.params[k]})
		}
		for _, t := range st.tags {
			x.Tags = append(x.Tags, xmlTag{t[0], t[1]})
		}
		// Outputs are there once an operation has completed, from the
		// configuration the stack now runs.
		if strings.HasSuffix(st.status, "_COMPLETE") && st.status != "ROLLBACK_COMPLETE" && st.status != "DELETE_COMPLETE" {
			for _, o := range st.tpl.outputs {
				x.Outputs = append(x.Outputs, xmlOutput{o.key, st.resolve(o.value)})
			}
		}
		res.Stacks = append(res.Stacks, x)
	}
	return res, nil
}

func (s *Server) describeStackEvents(name, token string) (any, *apiErr) {
	st := s.find(name)
	if st == nil {
		return nil, notExist(name)
	}
	type xmlEvent struct {
		EventId, StackId, StackName, LogicalResourceId string
		PhysicalResourceId                             string `xml:",omitempty"`
		ResourceType, Timestamp, ResourceStatus        string
		ResourceStatusReason                           string `xml:",omitempty"`
	}
	type result struct {
		XMLName     xml.Name   `xml:"DescribeStackEventsResult"`
		StackEvents []xmlEvent `xml:"StackEvents>member"`
		NextToken   string     `xml:",omitempty"`
	}
	start, _ := strconv.Atoi(token)
	var res result
	n := len(st.events)
	for i := start; i < n && len(res.StackEvents) < max(s.EventPageSize, 1); i++ {
		e := st.events[n-1-i] // newest first
		res.StackEvents = append(res.StackEvents, xmlEvent{e.id, st.id, st.name, e.logicalID, e.physicalID, e.typ, stamp(e.at), e.status, e.reason})
	}
	if next := start + len(res.StackEvents); next < n {
		res.NextToken = strconv.Itoa(next)
	}
	return res, nil
}

func (s *Server) listStackResources(name string) (any, *apiErr) {
	st := s.find(name)
	if st == nil {
		return nil, notExist(name)
	}
	type summary struct {
		LogicalResourceId, PhysicalResourceId, ResourceType, LastUpdatedTimestamp, ResourceStatus string
	}
	type result struct {
		XMLName   xml.Name  `xml:"ListStackResourcesResult"`
		Summaries []summary `xml:"StackResourceSummaries>member"`
	}
	var res result
	for _, id := range sortedKeys(st.resources) {
		r := st.resources[id]
		res.Summaries = append(res.Summaries, summary{r.logicalID, r.physicalID, r.typ, stamp(r.updated), r.status})
	}
	return res, nil
}

func (s *Server) describeStackResources(name string) (any, *apiErr) {
	st := s.find(name)
	if st == nil {
		return nil, notExist(name)
	}
	type xmlResource struct {
		StackName, StackId, LogicalResourceId, PhysicalResourceId, ResourceType, Timestamp, ResourceStatus string
	}
	type result struct {
		XMLName   xml.Name      `xml:"DescribeStackResourcesResult"`
		Resources []xmlResource `xml:"StackResources>member"`
	}
	var res result
	for _, id := range sortedKeys(st.resources) {
		r := st.resources[id]
		res.Resources = append(res.Resources, xmlResource{st.name, st.id, r.logicalID, r.physicalID, r.typ, stamp(r.updated), r.status})
	}
	return res, nil
}

// template is what the fake reads of a template body.
type template struct {
	params    map[string]*string // default, nil when none
	resources map[string]string  // logical id -> type
	outputs   []output
}

type output struct{ key, value string } // value: a literal, or "ref:<name>"

func (t *template) resourceIDs() []string { return sortedKeys(t.resources) }

func parseTemplate(body string) (*template, *apiErr) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(body), &doc); err != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, validation("Template format error: YAML not well-formed. %v", err)
	}
	t := &template{params: map[string]*string{}, resources: map[string]string{}}
	root := doc.Content[0]
	for i := 0; i+1 < len(root.Content); i += 2 {
		section, val := root.Content[i].Value, root.Content[i+1]
		for j := 0; j+1 < len(val.Content); j += 2 {
			key, node := val.Content[j].Value, val.Content[j+1]
			switch section {
			case "Parameters":
				if d := child(node, "Default"); d != nil {
					t.params[key] = &d.Value
				} else {
					t.params[key] = nil
				}
			case "Resources":
				typ := child(node, "Type")
				if typ == nil {
					return nil, validation("Template format error: [/Resources/%s] Every Resources object must contain a Type member.", key)
				}
				t.resources[key] = typ.Value
			case "Outputs":
				v := child(node, "Value")
				o := output{key: key}
				switch {
				case v == nil:
				case v.Tag == "!Ref":
					o.value = "ref:" + v.Value
				case v.Kind == yaml.MappingNode && child(v, "Ref") != nil:
					o.value = "ref:" + child(v, "Ref").Value
				case v.Kind == yaml.ScalarNode:
					o.value = v.Value
				default:
					o.value = "fake-unresolved"
				}
				t.outputs = append(t.outputs, o)
			}
		}
	}
	if len(t.resources) == 0 {
		return nil, validation("Template format error: At least one Resources member must be defined.")
	}
	for _, o := range t.outputs {
		if ref, ok := strings.CutPrefix(o.value, "ref:"); ok {
			_, isParam := t.params[ref]
			_, isRes := t.resources[ref]
			if !isParam && !isRes {
				return nil, validation("Template format error: Unresolved resource dependencies [%s] in the Outputs block of the template", ref)
			}
		}
	}
	return t, nil
}

func child(n *yaml.Node, key string) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func (t *template) resolveParams(given map[string]string) (map[string]string, *apiErr) {
	out := map[string]string{}
	for k, v := range given {
		if _, ok := t.params[k]; !ok {
			return nil, validation("Parameters: [%s] do not exist in the template", k)
		}
		out[k] = v
	}
	var missing []string
	for k, d := range t.params {
		if _, ok := out[k]; ok {
			continue
		}
		if d == nil {
			missing = append(missing, k)
			continue
		}
		out[k] = *d
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, validation("Parameters: [%s] must have values", strings.Join(missing, ", "))
	}
	return out, nil
}

func (st *stack) resolve(v string) string {
	ref, ok := strings.CutPrefix(v, "ref:")
	if !ok {
		return v
	}
	if p, ok := st.params[ref]; ok {
		return p
	}
	if r := st.resources[ref]; r != nil {
		return r.physicalID
	}
	return ""
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
