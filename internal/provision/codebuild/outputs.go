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
// Two forms are accepted: a flat object, {"VpcId": "vpc-1", "Port": 80},
// whose numbers and booleans become their JSON text; and the list that
// NotifyResourceDeploymentStatusChange takes, [{"key": "VpcId",
// "valueString": "vpc-1"}]. A missing file means no outputs (nil).
func readOutputs(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read outputs: %w", err)
	}
	outputs, err := parseOutputs(data)
	if err != nil {
		return nil, fmt.Errorf("malformed %s: %w", OutputsFile, err)
	}
	return outputs, nil
}

func parseOutputs(data []byte) (map[string]string, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, errors.New("empty file; want a JSON object or a list of {\"key\", \"valueString\"}")
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
	return nil, errors.New("want a JSON object or a list of {\"key\", \"valueString\"}")
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
