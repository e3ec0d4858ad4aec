package codebuild

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// readOutputs reads the outputs file that the commands may have written.
// Two forms are read: a flat object of scalars, {"VpcId": "vpc-1", "Port":
// 80}, whose numbers and booleans become their JSON text; and the list that
// NotifyResourceDeploymentStatusChange takes, [{"key": "VpcId",
// "valueString": "vpc-1"}]. Anything else is not Hadron's: CDK, for one,
// writes its own nested {"Stack": {"Key": "Value"}} under that name and
// converts it for a notify call. Such a file is left alone with a note in
// the log, and never fails the run. A missing file means no outputs (nil).
func readOutputs(path string, log *logger) map[string]string {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		log.notef("%s not read: %v", OutputsFile, err)
		return nil
	}
	outputs, err := parseOutputs(data)
	if err != nil {
		log.notef("%s is not a flat JSON object of strings, numbers and booleans (%v): left alone, no outputs taken from it", OutputsFile, err)
		return nil
	}
	return outputs
}

func parseOutputs(data []byte) (map[string]string, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, errors.New("empty file")
	}
	switch data[0] {
	case '{':
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(data, &obj); err != nil {
			return nil, err
		}
		outputs := make(map[string]string, len(obj))
		for k, raw := range obj {
			if k == "" {
				return nil, errors.New("empty output name")
			}
			v, err := outputValue(raw)
			if err != nil {
				return nil, fmt.Errorf("output %q: %w", k, err)
			}
			outputs[k] = v
		}
		return outputs, nil
	case '[':
		var list []struct {
			Key         *string `json:"key"`
			ValueString *string `json:"valueString"`
		}
		if err := json.Unmarshal(data, &list); err != nil {
			return nil, err
		}
		outputs := make(map[string]string, len(list))
		for i, o := range list {
			if o.Key == nil || *o.Key == "" {
				return nil, fmt.Errorf("output %d: missing key", i)
			}
			if _, dup := outputs[*o.Key]; dup {
				return nil, fmt.Errorf("output %d: key %q given twice", i, *o.Key)
			}
			outputs[*o.Key] = ""
			if o.ValueString != nil {
				outputs[*o.Key] = *o.ValueString
			}
		}
		return outputs, nil
	}
	return nil, errors.New("not a JSON object or list")
}

// outputValue turns a value of the object form into an output's string.
func outputValue(raw json.RawMessage) (string, error) {
	switch raw[0] {
	case '"':
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err
	case 't', 'f', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return string(raw), nil // JSON text of a number or boolean, already validated
	}
	return "", fmt.Errorf("value %s is not a string, number or boolean", raw)
}
