package main

import (
	"fmt"
	"os"
	"strings"
)

// tokenEnv is the environment variable a join token may come in, so that
// it is not on the command line, where any user's ps shows it.
const tokenEnv = "PARLEYD_TOKEN"

// joinToken returns the join token of a node that is to join a cluster:
// from --token, else from the file --token-file names, else from
// $PARLEYD_TOKEN.
func joinToken(flagToken, tokenFile string) (string, error) {
	if flagToken != "" && tokenFile != "" {
		return "", usageError{fmt.Errorf("--token and --token-file: give one")}
	}
	switch {
	case flagToken != "":
		return strings.TrimSpace(flagToken), nil
	case tokenFile != "":
		b, err := os.ReadFile(tokenFile)
		if err != nil {
			return "", fmt.Errorf("--token-file: %w", err)
		}
		tok := strings.TrimSpace(string(b))
		if tok == "" {
			return "", fmt.Errorf("--token-file: %s is empty", tokenFile)
		}
		return tok, nil
	default:
		return strings.TrimSpace(os.Getenv(tokenEnv)), nil
	}
}
