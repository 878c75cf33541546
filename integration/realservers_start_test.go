package integration

// Real servers, installed from Debian's packages and npm, each started once
// per test binary with the corpus's own config (testdata/corpus/conf) on
// loopback ports and a temporary directory of its own. The corpus capture
// (TestCorpusCapture, run by testdata/corpus/capture.sh) and the
// integration tests through Caddy (realservers_test.go) start them the same
// way, here.

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// corpusDir is the corpus, relative to this package.
const corpusDir = "../testdata/corpus"

// realServer is one running server: the listeners the corpus's requests
// go to, by name, and its version.
type realServer struct {
	name    string
	version string
	addrs   map[string]string // listener name -> 127.0.0.1:port
	dir     string
	access  string // its access log, where it keeps one
	procs   []*exec.Cmd
	out     *bytes.Buffer
}

var (
	realMu      sync.Mutex
	realStarted = map[string]*realOnce{}
)

type realOnce struct {
	once sync.Once
	srv  *realServer
	err  error
	skip string
}

// needServer returns the running server name, starting it the first time.
// A server whose program is absent skips the test locally and fails it in
// CI, like the browser tests.
func needServer(t testing.TB, name string) *realServer {
	t.Helper()
	realMu.Lock()
	o := realStarted[name]
	if o == nil {
		o = &realOnce{}
		realStarted[name] = o
	}
	realMu.Unlock()
	o.once.Do(func() {
		start, ok := realStarters[name]
		if !ok {
			o.err = fmt.Errorf("no real server named %q", name)
			return
		}
		o.srv, o.skip, o.err = start()
	})
	switch {
	case o.skip != "" && os.Getenv("CI") != "":
		t.Fatalf("CI is set but %s (.ci/install.d/20-servers.sh installs it)", o.skip)
	case o.skip != "":
		t.Skip(o.skip)
	case o.err != nil:
		t.Fatalf("starting %s: %v", name, o.err)
	}
	return o.srv
}

// stopRealServers stops every server started; TestMain calls it.
func stopRealServers() {
	realMu.Lock()
	defer realMu.Unlock()
	for _, o := range realStarted {
		if o.srv != nil {
			o.srv.stop()
		}
	}
}

func (s *realServer) stop() {
	for _, c := range s.procs {
		if c.Process == nil {
			continue
		}
		// each was started in a process group of its own: end the group,
		// which holds the workers it forked, and only that
		_ = syscall.Kill(-c.Process.Pid, syscall.SIGTERM)
	}
	for _, c := range s.procs {
		done := make(chan struct{})
		go func() { _ = c.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
			<-done
		}
	}
	if s.dir != "" {
		os.RemoveAll(s.dir)
	}
}

var realStarters = map[string]func() (*realServer, string, error){
	"nginx":    startNginx,
	"apache":   startApache,
	"tomcat":   startTomcat,
	"lighttpd": startLighttpd,
	"haproxy":  startHAProxy,
	"varnish":  startVarnish,
	"python":   startPython,
	"node":     startNode,
	"phpfpm":   startPHPFPM,
}

// lookProgram finds a server's program, or says what is missing.
func lookProgram(path, pkg string) (string, string) {
	if p, err := exec.LookPath(path); err == nil {
		return p, ""
	}
	return "", fmt.Sprintf("%s is missing (Debian's %s package)", path, pkg)
}

// newRealServer makes the server's temporary directory, readable by the
// unprivileged users some servers switch to when started as root.
func newRealServer(name string) (*realServer, error) {
	dir, err := os.MkdirTemp("", "corpus-"+name+"-")
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, err
	}
	return &realServer{name: name, dir: dir, addrs: map[string]string{}, out: new(bytes.Buffer)}, nil
}

// conf writes the corpus's config file src into the server's directory
// with its {NAME} placeholders replaced, and returns its path.
func (s *realServer) conf(src, dst string, vars map[string]string) (string, error) {
	b, err := os.ReadFile(filepath.Join(corpusDir, "conf", src))
	if err != nil {
		return "", err
	}
	text := string(b)
	for k, v := range vars {
		text = strings.ReplaceAll(text, "{"+k+"}", v)
	}
	if m := regexp.MustCompile(`\{[A-Z0-9]+\}`).FindString(text); m != "" {
		return "", fmt.Errorf("%s: placeholder %s has no value", src, m)
	}
	p := filepath.Join(s.dir, dst)
	return p, os.WriteFile(p, []byte(text), 0o644)
}

// run starts a server process in a process group of its own and waits
// until every port in wait accepts connections.
func (s *realServer) run(env []string, wait []string, name string, args ...string) error {
	c := exec.Command(name, args...)
	c.Dir = s.dir
	c.Stdout, c.Stderr = s.out, s.out
	c.Env = append(os.Environ(), env...)
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := c.Start(); err != nil {
		return err
	}
	s.procs = append(s.procs, c)
	exited := make(chan struct{})
	go func() {
		// only to notice an early exit; stop waits for it again
		_, _ = c.Process.Wait()
		close(exited)
	}()
	deadline := time.Now().Add(60 * time.Second)
	for _, addr := range wait {
		for {
			conn, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				conn.Close()
				break
			}
			select {
			case <-exited:
				return fmt.Errorf("%s exited before listening on %s:\n%s", name, addr, s.out)
			default:
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s does not listen on %s: %v\n%s", name, addr, err, s.out)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return nil
}

// loopbackPort returns a loopback port that is free now. The configs use
// one also as {DEAD}, a port nobody listens on: nothing of ours takes it.
func loopbackPort() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return fmt.Sprint(l.Addr().(*net.TCPAddr).Port)
}

// programVersion runs a program's version command and returns the first match
// of re in its output.
func programVersion(re string, name string, args ...string) string {
	out, _ := exec.Command(name, args...).CombinedOutput()
	if m := regexp.MustCompile(re).FindSubmatch(out); m != nil {
		return string(m[len(m)-1])
	}
	return "unknown"
}

func absCorpus(p string) string {
	a, err := filepath.Abs(filepath.Join(corpusDir, p))
	if err != nil {
		panic(err)
	}
	return a
}

func startNginx() (*realServer, string, error) {
	bin, skip := lookProgram("/usr/sbin/nginx", "nginx")
	if skip != "" {
		return nil, skip, nil
	}
	s, err := newRealServer("nginx")
	if err != nil {
		return nil, "", err
	}
	s.version = programVersion(`nginx/(\S+)`, bin, "-v")
	vars := map[string]string{"DIR": s.dir, "WWW": absCorpus("www"), "P1": loopbackPort(), "P2": loopbackPort(), "P3": loopbackPort(), "DEAD": loopbackPort()}
	if err := os.MkdirAll(filepath.Join(s.dir, "dav"), 0o777); err != nil {
		return nil, "", err
	}
	cfg, err := s.conf("nginx.conf", "nginx.conf", vars)
	if err != nil {
		return nil, "", err
	}
	s.addrs["tokens-on"] = "127.0.0.1:" + vars["P1"]
	s.addrs["tokens-off"] = "127.0.0.1:" + vars["P2"]
	s.addrs["gzip"] = "127.0.0.1:" + vars["P3"]
	s.access = filepath.Join(s.dir, "access.log")
	return s, "", s.run(nil, []string{s.addrs["tokens-on"], s.addrs["tokens-off"], s.addrs["gzip"]}, bin, "-p", s.dir, "-c", cfg, "-e", filepath.Join(s.dir, "error.log"))
}

func startApache() (*realServer, string, error) {
	bin, skip := lookProgram("/usr/sbin/apache2", "apache2")
	if skip != "" {
		return nil, skip, nil
	}
	s, err := newRealServer("apache")
	if err != nil {
		return nil, "", err
	}
	s.version = programVersion(`Apache/(\S+)`, bin, "-v")
	vars := map[string]string{"DIR": s.dir, "WWW": absCorpus("www"), "P1": loopbackPort(), "P2": loopbackPort(), "MODS": "/usr/lib/apache2/modules"}
	if err := os.MkdirAll(filepath.Join(s.dir, "dav"), 0o777); err != nil {
		return nil, "", err
	}
	if err := os.Chmod(filepath.Join(s.dir, "dav"), 0o777); err != nil {
		return nil, "", err
	}
	cfg, err := s.conf("apache2.conf", "apache2.conf", vars)
	if err != nil {
		return nil, "", err
	}
	if os.Geteuid() == 0 {
		// as root Apache hands its workers to an unprivileged user, which
		// must be able to write the DAV directory and the lock database
		f, err := os.OpenFile(cfg, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			return nil, "", err
		}
		fmt.Fprintln(f, "User www-data\nGroup www-data")
		f.Close()
		_ = os.Chown(s.dir, 33, 33)
		_ = os.Chown(filepath.Join(s.dir, "dav"), 33, 33)
	}
	s.addrs["signature-on"] = "127.0.0.1:" + vars["P1"]
	s.addrs["signature-off"] = "127.0.0.1:" + vars["P2"]
	s.access = filepath.Join(s.dir, "access.log")
	return s, "", s.run([]string{"APACHE_RUN_DIR=" + s.dir}, []string{s.addrs["signature-on"], s.addrs["signature-off"]},
		bin, "-f", cfg, "-DFOREGROUND")
}

func startTomcat() (*realServer, string, error) {
	const home = "/usr/share/tomcat10"
	catalina := filepath.Join(home, "bin", "catalina.sh")
	if _, err := os.Stat(catalina); err != nil {
		return nil, catalina + " is missing (Debian's tomcat10 package)", nil
	}
	if _, skip := lookProgram("java", "default-jre-headless, which tomcat10 depends on"); skip != "" {
		return nil, skip, nil
	}
	s, err := newRealServer("tomcat")
	if err != nil {
		return nil, "", err
	}
	s.version = programVersion(`Server number:\s+(\S+)`, filepath.Join(home, "bin", "version.sh"))
	for _, d := range []string{"conf", "logs", "temp", "work"} {
		if err := os.MkdirAll(filepath.Join(s.dir, d), 0o755); err != nil {
			return nil, "", err
		}
	}
	// the stock web.xml (the default and JSP servlets) and the rest of the
	// stock conf; server.xml is the corpus's own
	for _, f := range []string{"web.xml", "context.xml", "catalina.properties", "logging.properties"} {
		b, err := os.ReadFile(filepath.Join(home, "etc", f))
		if err != nil {
			return nil, "", err
		}
		if err := os.WriteFile(filepath.Join(s.dir, "conf", f), b, 0o644); err != nil {
			return nil, "", err
		}
	}
	vars := map[string]string{"DIR": s.dir, "APPS": absCorpus("tomcat"), "P1": loopbackPort()}
	if _, err := s.conf("tomcat-server.xml", filepath.Join("conf", "server.xml"), vars); err != nil {
		return nil, "", err
	}
	s.addrs["tomcat"] = "127.0.0.1:" + vars["P1"]
	s.access = filepath.Join(s.dir, "logs", "access.log")
	env := []string{"CATALINA_HOME=" + home, "CATALINA_BASE=" + s.dir, "CATALINA_TMPDIR=" + filepath.Join(s.dir, "temp"),
		"CATALINA_PID=" + filepath.Join(s.dir, "tomcat.pid")}
	return s, "", s.run(env, []string{s.addrs["tomcat"]}, catalina, "run")
}

func startLighttpd() (*realServer, string, error) {
	bin, skip := lookProgram("/usr/sbin/lighttpd", "lighttpd")
	if skip != "" {
		return nil, skip, nil
	}
	s, err := newRealServer("lighttpd")
	if err != nil {
		return nil, "", err
	}
	s.version = programVersion(`lighttpd/(\S+)`, bin, "-v")
	vars := map[string]string{"DIR": s.dir, "WWW": absCorpus("www"), "P1": loopbackPort()}
	cfg, err := s.conf("lighttpd.conf", "lighttpd.conf", vars)
	if err != nil {
		return nil, "", err
	}
	s.addrs["lighttpd"] = "127.0.0.1:" + vars["P1"]
	s.access = filepath.Join(s.dir, "access.log")
	return s, "", s.run(nil, []string{s.addrs["lighttpd"]}, bin, "-D", "-f", cfg)
}

func startHAProxy() (*realServer, string, error) {
	bin, skip := lookProgram("/usr/sbin/haproxy", "haproxy")
	if skip != "" {
		return nil, skip, nil
	}
	s, err := newRealServer("haproxy")
	if err != nil {
		return nil, "", err
	}
	s.version = programVersion(`HAProxy version (\S+)`, bin, "-v")
	vars := map[string]string{"DIR": s.dir, "P1": loopbackPort(), "DEAD": loopbackPort()}
	cfg, err := s.conf("haproxy.cfg", "haproxy.cfg", vars)
	if err != nil {
		return nil, "", err
	}
	s.addrs["haproxy"] = "127.0.0.1:" + vars["P1"]
	return s, "", s.run(nil, []string{s.addrs["haproxy"]}, bin, "-db", "-f", cfg)
}

func startVarnish() (*realServer, string, error) {
	bin, skip := lookProgram("/usr/sbin/varnishd", "varnish")
	if skip != "" {
		return nil, skip, nil
	}
	s, err := newRealServer("varnish")
	if err != nil {
		return nil, "", err
	}
	s.version = programVersion(`varnish-(\S+)`, bin, "-V")
	vars := map[string]string{"P1": loopbackPort(), "DEAD": loopbackPort()}
	vcl, err := s.conf("varnish.vcl", "varnish.vcl", vars)
	if err != nil {
		return nil, "", err
	}
	s.addrs["varnish"] = "127.0.0.1:" + vars["P1"]
	args := []string{"-F", "-n", filepath.Join(s.dir, "work"), "-a", s.addrs["varnish"], "-f", vcl,
		"-T", "none", "-s", "malloc,16m", "-p", "thread_pools=1", "-p", "thread_pool_min=5"}
	return s, "", s.run(nil, []string{s.addrs["varnish"]}, bin, args...)
}

func startPython() (*realServer, string, error) {
	bin, skip := lookProgram("/usr/bin/python3", "python3")
	if skip != "" {
		return nil, skip, nil
	}
	s, err := newRealServer("python")
	if err != nil {
		return nil, "", err
	}
	s.version = programVersion(`Python (\S+)`, bin, "--version")
	port := loopbackPort()
	s.addrs["python"] = "127.0.0.1:" + port
	s.access = filepath.Join(s.dir, "access.log")
	return s, "", s.run(nil, []string{s.addrs["python"]}, bin, absCorpus("servers/pyserver.py"), port, s.access)
}

func startNode() (*realServer, string, error) {
	bin, skip := lookProgram("node", "nodejs")
	if skip != "" {
		return nil, skip, nil
	}
	if _, err := os.Stat(absCorpus("node/node_modules/express")); err != nil {
		return nil, "testdata/corpus/node/node_modules is missing (run npm ci there)", nil
	}
	s, err := newRealServer("node")
	if err != nil {
		return nil, "", err
	}
	s.version = "node " + programVersion(`v(\S+)`, bin, "--version") + ", express " + npmVersion("express") +
		", express-pouchdb " + npmVersion("express-pouchdb")
	port := loopbackPort()
	s.addrs["node"] = "127.0.0.1:" + port
	s.access = filepath.Join(s.dir, "access.log")
	return s, "", s.run([]string{"NODE_ENV=production", "ACCESS_LOG=" + s.access}, []string{s.addrs["node"]}, bin, absCorpus("node/server.js"), port)
}

// npmVersion is the installed version of a package in the node folder.
func npmVersion(pkg string) string {
	b, err := os.ReadFile(absCorpus(filepath.Join("node/node_modules", pkg, "package.json")))
	if err != nil {
		return "unknown"
	}
	if m := regexp.MustCompile(`"version"\s*:\s*"([^"]+)"`).FindSubmatch(b); m != nil {
		return string(m[1])
	}
	return "unknown"
}

func startPHPFPM() (*realServer, string, error) {
	bin, skip := lookProgram(phpFPM, "php8.2-fpm")
	if skip != "" {
		return nil, skip, nil
	}
	s, err := newRealServer("phpfpm")
	if err != nil {
		return nil, "", err
	}
	s.version = programVersion(`PHP (\S+)`, bin, "-v")
	vars := map[string]string{"DIR": s.dir, "P1": loopbackPort()}
	cfg, err := s.conf("php-fpm.conf", "php-fpm.conf", vars)
	if err != nil {
		return nil, "", err
	}
	s.addrs["fastcgi"] = "127.0.0.1:" + vars["P1"]
	s.access = filepath.Join(s.dir, "access.log")
	args := []string{"-F", "-n", "-y", cfg, "-p", s.dir}
	if os.Geteuid() == 0 {
		args = append(args, "-R")
	}
	return s, "", s.run(nil, []string{s.addrs["fastcgi"]}, bin, args...)
}

// caddyVersion is the version of the Caddy the tests built.
func caddyVersion() string {
	return programVersion(`(v\S+)`, caddyBin, "version")
}
