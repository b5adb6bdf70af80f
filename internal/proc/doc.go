// Package proc starts and stops the child processes of a harness: the
// nodes of a cluster under test or benchmark, and the commands a test
// drives. Every child is killed if the harness dies, so none outlives it.
package proc
