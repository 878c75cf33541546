// Command upstream is the upstream server of bench/load.sh: on a loopback
// address it answers /ok with a 200 of 1 KiB of text and /conflict with an
// empty 409, as an application behind reverse_proxy would.
//
//	upstream -addr 127.0.0.1:0     serve; prints "listening HOST:PORT"
//	upstream -free 4               print 4 free loopback ports and exit
package main

import (
	"bytes"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "loopback address to listen on")
	free := flag.Int("free", 0, "print this many free loopback ports and exit")
	flag.Parse()
	if *free > 0 {
		if err := printFreePorts(*free); err != nil {
			log.Fatal(err)
		}
		return
	}
	host, _, err := net.SplitHostPort(*addr)
	if err != nil {
		log.Fatal(err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		log.Fatalf("%s: only loopback addresses", *addr)
	}
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("listening", l.Addr())
	_ = os.Stdout.Sync()
	log.Fatal(http.Serve(l, handler()))
}

// okBody is the 200's body: 1 KiB of text.
var okBody = bytes.Repeat([]byte("0123456789abcdef"), 64)

func handler() http.Handler {
	mux := http.NewServeMux()
	okLen := strconv.Itoa(len(okBody))
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "text/plain; charset=utf-8")
		h.Set("Content-Length", okLen)
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(okBody)
	})
	mux.HandleFunc("/conflict", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusConflict)
	})
	return mux
}

// printFreePorts prints n distinct loopback ports that nobody listens on
// now, holding them all open until every one is chosen.
func printFreePorts(n int) error {
	ls := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		ls = append(ls, l)
		fmt.Println(l.Addr().(*net.TCPAddr).Port)
	}
	return nil
}
