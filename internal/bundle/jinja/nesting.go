package jinja

import (
	"fmt"
	"strings"

	"github.com/nikolalohinski/gonja/v2/config"
	"github.com/nikolalohinski/gonja/v2/tokens"
)

// gonja's parser and evaluator recurse on nesting, and a Go stack overflow
// kills the process rather than panicking, so a template is refused before
// parsing when its nesting or its tags are beyond anything a real template
// writes.
const (
	maxNesting   = 64   // brackets inside one tag, and blocks inside blocks
	maxTagTokens = 1000 // tokens inside one {{ }} or {% %}
)

// blockOpeners are the statements that take a body up to an end tag.
var blockOpeners = map[string]bool{
	"if": true, "for": true, "with": true, "filter": true, "autoescape": true,
	"macro": true, "call": true, "block": true,
}

func checkNesting(source string, cfg *config.Config) error {
	s := tokens.LexAll(source, cfg)
	var (
		brackets, blocks, tagTokens int
		tagName                     string
		inBlock, wantName, assign   bool
	)
	for !s.End() {
		t := s.Next()
		switch t.Type {
		case tokens.VariableBegin:
			tagTokens = 0
			continue
		case tokens.BlockBegin:
			tagTokens, tagName, inBlock, wantName, assign = 0, "", true, true, false
			continue
		case tokens.Name:
			if wantName {
				tagName = t.Val
			}
		case tokens.Assign:
			assign = true
		case tokens.LeftParenthesis, tokens.LeftBracket, tokens.LeftBrace:
			brackets++
			if brackets > maxNesting {
				return nestingError(t, "brackets")
			}
		case tokens.RightParenthesis, tokens.RightBracket, tokens.RightBrace:
			brackets--
		case tokens.VariableEnd:
			brackets = 0
		case tokens.BlockEnd:
			brackets = 0
			if inBlock {
				switch {
				case blockOpeners[tagName] || (tagName == "set" && !assign):
					blocks++
					if blocks > maxNesting {
						return nestingError(t, "blocks")
					}
				case strings.HasPrefix(tagName, "end"):
					blocks--
				}
			}
			inBlock = false
		}
		wantName = false
		tagTokens++
		if tagTokens > maxTagTokens {
			return fmt.Errorf("line %d: a tag of more than %d tokens: %w", t.Line, maxTagTokens, ErrLimit)
		}
	}
	return nil
}

func nestingError(t *tokens.Token, what string) error {
	return fmt.Errorf("line %d: %s nested more than %d deep: %w", t.Line, what, maxNesting, ErrLimit)
}
