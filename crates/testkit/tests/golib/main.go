// golib drives the library test double with Apptainer's Go library client
// (Debian golang-github-apptainer-container-library-client-dev), printing one
// line per step for the Rust test to check.
//
// Usage: golib BASEURL TOKEN PATH TAG ARCH OUT [PUSHFILE PUSHPATH]
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/apptainer/container-library-client/client"
)

func fail(step string, err error) {
	fmt.Printf("error %s: %v\n", step, err)
	os.Exit(1)
}

func main() {
	if len(os.Args) != 7 && len(os.Args) != 9 {
		fmt.Fprintln(os.Stderr, "usage: golib BASEURL TOKEN PATH TAG ARCH OUT [PUSHFILE PUSHPATH]")
		os.Exit(2)
	}
	base, token, path, tag, arch, out := os.Args[1], os.Args[2], os.Args[3], os.Args[4], os.Args[5], os.Args[6]
	ctx := context.Background()
	c, err := client.NewClient(&client.Config{BaseURL: base, AuthToken: token, UserAgent: "berth-golib-interop"})
	if err != nil {
		fail("client", err)
	}

	v, err := c.GetVersion(ctx)
	if err != nil {
		fail("version", err)
	}
	fmt.Printf("version %s\n", v.APIVersion)

	img, err := c.GetImage(ctx, arch, path+":"+tag)
	if err != nil {
		fail("image", err)
	}
	fmt.Printf("image %s %s %d\n", img.ID, img.Hash, img.Size)

	res, err := c.Search(ctx, map[string]string{"value": path[len(path)-3:], "arch": arch})
	if err != nil {
		fail("search", err)
	}
	fmt.Printf("search %d\n", len(res.Images))

	f, err := os.Create(out)
	if err != nil {
		fail("create", err)
	}
	// Small parts so that a 303 redirect exercises several ranged requests.
	err = c.ConcurrentDownloadImage(ctx, f, arch, path, tag, &client.Downloader{Concurrency: 3, PartSize: 1000, BufferSize: 512}, nil)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		fail("download", err)
	}
	st, err := os.Stat(out)
	if err != nil {
		fail("stat", err)
	}
	fmt.Printf("downloaded %d\n", st.Size())

	if len(os.Args) == 9 {
		r, err := os.Open(os.Args[7])
		if err != nil {
			fail("open", err)
		}
		defer r.Close()
		done, err := c.UploadImage(ctx, r, os.Args[8], arch, []string{"pushed"}, "pushed by golib", nil)
		if err != nil {
			fail("push", err)
		}
		fmt.Printf("pushed %s %d %d\n", done.ContainerURL, done.Quota.QuotaTotalBytes, done.Quota.QuotaUsageBytes)

		// Delete the extra image the push left behind: the original stays.
		if err := c.DeleteImage(ctx, path+":"+tag, arch); err != nil {
			fail("delete", err)
		}
		fmt.Println("deleted")
	}
}
