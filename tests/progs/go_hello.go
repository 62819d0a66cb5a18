// go_hello: a real Go program for greenrun --check, built by the test
// only where a Go compiler is found.
package main

import "fmt"

func main() {
	fmt.Println("hello from Go")
}
