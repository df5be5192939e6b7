// transfer-go pushes and pulls one image with Apptainer's Go library client (Debian
// golang-github-apptainer-container-library-client-dev), as `apptainer push` and
// `apptainer pull` do, for bench/transfer.sh. It prints nothing on success.
//
// Usage:
//
//	transfer-go push BASEURL TOKEN FILE PATH:TAG ARCH
//	transfer-go pull BASEURL TOKEN PATH TAG ARCH OUT
//	transfer-go pull-checked BASEURL TOKEN PATH TAG ARCH OUT
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/apptainer/container-library-client/client"
)

func fail(step string, err error) {
	fmt.Fprintf(os.Stderr, "transfer-go: %s: %v\n", step, err)
	os.Exit(1)
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: transfer-go push BASEURL TOKEN FILE PATH:TAG ARCH\n       transfer-go pull|pull-checked BASEURL TOKEN PATH TAG ARCH OUT")
	os.Exit(2)
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	switch {
	case os.Args[1] == "push" && len(os.Args) == 7:
		push(os.Args[2], os.Args[3], os.Args[4], os.Args[5], os.Args[6])
	case os.Args[1] == "pull" && len(os.Args) == 8:
		pull(os.Args[2], os.Args[3], os.Args[4], os.Args[5], os.Args[6], os.Args[7], false)
	case os.Args[1] == "pull-checked" && len(os.Args) == 8:
		pull(os.Args[2], os.Args[3], os.Args[4], os.Args[5], os.Args[6], os.Args[7], true)
	default:
		usage()
	}
}

func newClient(base, token string) *client.Client {
	c, err := client.NewClient(&client.Config{BaseURL: base, AuthToken: token, UserAgent: "berth-bench-transfer"})
	if err != nil {
		fail("client", err)
	}
	return c
}

// push uploads FILE as `apptainer push -U FILE library://PATH:TAG` does: UploadImage with
// the path and the tags apart.
func push(base, token, file, ref, arch string) {
	path, tag, ok := strings.Cut(ref, ":")
	if !ok {
		usage()
	}
	f, err := os.Open(file)
	if err != nil {
		fail("open", err)
	}
	defer f.Close()
	_, err = newClient(base, token).UploadImage(context.Background(), f, path, arch, []string{tag}, "pushed by bench/transfer-go", nil)
	if err != nil {
		fail("push", err)
	}
}

// pull downloads PATH:TAG to OUT as `apptainer pull --disable-cache` does: image metadata,
// then ConcurrentDownloadImage with Apptainer's default download settings. With checked,
// the file's SHA-256 is then compared with the image hash, as Apptainer's default (cached)
// pull does after downloading into its cache — the check berth always makes.
func pull(base, token, path, tag, arch, out string, checked bool) {
	ctx := context.Background()
	c := newClient(base, token)
	img, err := c.GetImage(ctx, arch, path+":"+tag)
	if err != nil {
		fail("image", err)
	}
	f, err := os.Create(out)
	if err != nil {
		fail("create", err)
	}
	// apptainer.conf defaults: download concurrency 3, part size 5 MiB, buffer 32 KiB.
	spec := &client.Downloader{Concurrency: 3, PartSize: 5242880, BufferSize: 32768}
	err = c.ConcurrentDownloadImage(ctx, f, arch, path, tag, spec, nil)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(out)
		fail("download", err)
	}
	if checked {
		r, err := os.Open(out)
		if err != nil {
			fail("open", err)
		}
		h := sha256.New()
		if _, err := io.Copy(h, r); err != nil {
			fail("hash", err)
		}
		r.Close()
		if got := "sha256." + hex.EncodeToString(h.Sum(nil)); got != img.Hash {
			os.Remove(out)
			fail("hash", fmt.Errorf("file hash %s does not match %s", got, img.Hash))
		}
	}
}
